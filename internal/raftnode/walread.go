package raftnode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"

	pb "go.etcd.io/raft/v3/raftpb"
)

// Torn tail or corruption?
//
// Records are scanned from the start of a segment until the first record that
// does not decode (bad length, short, CRC mismatch, unknown type) or the end
// marker (a zero length). Call that offset the end of the segment's records.
//
//   - In the LAST segment, if no valid record starts anywhere after the end,
//     whatever lies there (zeros, or garbage from a write that never completed)
//     is a torn tail: it is logged, zeroed on disk, and appends continue at the
//     end. Only unsynced, hence unacknowledged, data can be lost this way.
//   - If a valid record follows the end, the damage is in the middle of the log:
//     CorruptError, whatever the segment.
//   - In any other segment, a bad record, or any non-zero byte after the end
//     marker, is a CorruptError: those segments were synced in full before the
//     next one was created, so they cannot have a torn tail.
//   - A record whose CRC matches but whose payload does not decode is always a
//     CorruptError.
//
// A consequence: a power failure that persisted a later page of an unsynced
// batch but not an earlier one leaves a valid record after a bad one, and is
// reported as corruption rather than silently discarding that record. The
// server refuses to start and the operator decides.

// scanSegment walks the records of one segment held in data. For each valid
// record it calls fn with the record's offset, type and payload. It returns
// the end of the valid records and, for the last segment, the end of the
// non-zero bytes after it (dirty == end when the tail is clean).
func scanSegment(path string, data []byte, last bool, fn func(off int64, typ byte, payload []byte) error) (end, dirty int, err error) {
	off := 0
	for {
		typ, payload, n, derr := decodeRecord(data[off:])
		if derr == nil {
			if err := fn(int64(off), typ, payload); err != nil {
				return off, off, err
			}
			off += n
			continue
		}
		// off is the end of the valid records.
		if next, ok := findValidRecord(data, off+1); ok {
			reason := derr.Error()
			if errors.Is(derr, errEndOfRecords) {
				reason = "zero length"
			}
			follows := fmt.Sprintf("a valid record follows at offset %d", next)
			if next < 0 {
				follows = "too much data follows to rule out valid records"
			}
			return off, off, &CorruptError{File: path, Offset: int64(off), Reason: reason + ", but " + follows}
		}
		dirty = lastNonZero(data, off)
		if last || dirty == off {
			return off, dirty, nil
		}
		if errors.Is(derr, errEndOfRecords) {
			return off, off, &CorruptError{File: path, Offset: int64(off),
				Reason: fmt.Sprintf("non-zero data after the end of records (up to offset %d) in a sealed segment", dirty)}
		}
		return off, off, &CorruptError{File: path, Offset: int64(off), Reason: derr.Error()}
	}
}

// maxSearchCRC bounds the bytes findValidRecord checksums. Past it, it
// reports offset -1 as if a valid record followed: the tail is then reported
// as corruption, never silently repaired.
const maxSearchCRC = 1 << 30

// findValidRecord reports the first offset >= from at which a record decodes.
// Runs of zeros are skipped a word at a time, since a record's length field is
// never zero; the length and type are checked before the CRC.
func findValidRecord(data []byte, from int) (int, bool) {
	budget := maxSearchCRC
	for off := from; off+recHeaderLen+1 <= len(data); off++ {
		length := binary.LittleEndian.Uint32(data[off:])
		if length != 0 && uint64(length) <= uint64(len(data)-off-recHeaderLen) && validType(data[off+recHeaderLen]) {
			if budget -= int(length); budget < 0 {
				return -1, true
			}
			if _, _, _, err := decodeRecord(data[off:]); err == nil {
				return off, true
			}
			continue
		}
		if length == 0 {
			nz := nextNonZero(data, off+4)
			if nz < 0 {
				return 0, false
			}
			// The length field of a record at o covers data[o:o+4]; the first
			// one that can be non-zero starts at nz-3.
			if o := nz - 3; o > off+1 {
				off = o - 1
			}
		}
	}
	return 0, false
}

// nextNonZero returns the index of the first non-zero byte at or after i, or -1.
func nextNonZero(data []byte, i int) int {
	for ; i < len(data) && i%8 != 0; i++ {
		if data[i] != 0 {
			return i
		}
	}
	for ; i+8 <= len(data); i += 8 {
		if binary.LittleEndian.Uint64(data[i:]) != 0 {
			break
		}
	}
	for ; i < len(data); i++ {
		if data[i] != 0 {
			return i
		}
	}
	return -1
}

// lastNonZero returns one past the last non-zero byte in data[from:], or from.
func lastNonZero(data []byte, from int) int {
	for i := len(data); i > from; i-- {
		if data[i-1] != 0 {
			return i
		}
	}
	return from
}

// walState is what replaying the log yields.
type walState struct {
	nodeID    uint64        // from the meta records; 0 if none was read
	hs        *pb.HardState // the last hard state, nil if none
	ents      []*pb.Entry   // live entries after the snapshot, contiguous
	markers   []snapMarker  // in log order
	snapTerm  uint64        // term of the entry at the snapshot index, if read
	sawSnapAt bool          // whether the entry at the snapshot index was read
	lastIndex uint64        // index of the last live entry (>= snapshot index)
}

// openWAL replays the log for a state machine restored from a snapshot at
// index after (0: none) and returns it positioned for appending. Segments
// wholly before the one that covers after+1 are not read. A torn tail of the
// last segment is repaired; see scanSegment for what counts as corruption.
func openWAL(dir string, segs []segment, segSize int64, after uint64, fs *fsHooks, log *slog.Logger) (*wal, *walState, error) {
	// Without a snapshot, replay starts at segment 0: it holds the bootstrap
	// membership, and more than one segment may start at index 1.
	start := 0
	for i, s := range segs {
		if after > 0 && s.first <= after+1 {
			start = i
		}
	}
	if segs[start].first > after+1 {
		return nil, nil, fmt.Errorf("wal: the log starts at index %d (%s) but the state is restored only up to index %d: the entries in between are gone",
			segs[start].first, segs[start].path, after)
	}
	st := &walState{lastIndex: after}
	var (
		lastData    []byte
		end, dirty  int
		lastHasData bool
	)
	for i := start; i < len(segs); i++ {
		s := segs[i]
		data, err := os.ReadFile(s.path)
		if err != nil {
			return nil, nil, fmt.Errorf("wal: %w", err)
		}
		last := i == len(segs)-1
		hasData := false
		end, dirty, err = scanSegment(s.path, data, last, func(off int64, typ byte, payload []byte) error {
			r, err := decodePayload(typ, payload)
			if err != nil {
				return &CorruptError{File: s.path, Offset: off, Reason: err.Error()}
			}
			switch {
			case r.entry != nil:
				hasData = true
				return st.addEntry(r.entry, after, s.path, off)
			case r.hs != nil:
				st.hs = r.hs
			case r.marker != nil:
				hasData = true
				st.markers = append(st.markers, *r.marker)
				if m := r.marker; after > 0 && m.index == after && st.sawSnapAt && st.snapTerm != m.term {
					// A snapshot from the leader replaced a divergent local
					// log: what came before the marker is superseded.
					st.ents, st.lastIndex, st.sawSnapAt = st.ents[:0], after, false
				}
			default:
				if st.nodeID != 0 && st.nodeID != r.nodeID {
					return &CorruptError{File: s.path, Offset: off,
						Reason: fmt.Sprintf("node ID %d differs from %d in earlier segments", r.nodeID, st.nodeID)}
				}
				st.nodeID = r.nodeID
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if last {
			lastData, lastHasData = data, hasData
		}
	}

	lastSeg := segs[len(segs)-1]
	f, err := os.OpenFile(lastSeg.path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("wal: %w", err)
	}
	// The segment was prepared to its file size, which also fixes the size
	// of the next one; segments grow toward segSize.
	w := &wal{dir: dir, segSize: segSize, nodeID: st.nodeID, fs: fs, log: log,
		segs: segs, f: f, segCap: int64(len(lastData)), off: int64(end), segHasData: lastHasData,
		lastIndex: st.lastIndex, hs: st.hs}
	if dirty > end {
		log.Warn("wal: repairing torn tail", "file", lastSeg.path, "offset", end, "discarded_bytes", dirty-end)
		if _, err := fs.pwrite(f, make([]byte, dirty-end), int64(end)); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("wal: repair %s: %w", lastSeg.path, err)
		}
		if err := fs.datasync(f); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("wal: repair %s: %w", lastSeg.path, err)
		}
	}
	if end == 0 {
		// The segment was created but nothing reached it: give it a head.
		w.appendHead()
	}
	return w, st, nil
}

// addEntry adds e, read from path at off, to the replayed log.
func (st *walState) addEntry(e *pb.Entry, after uint64, path string, off int64) error {
	idx := e.GetIndex()
	switch {
	case idx == 0:
		return &CorruptError{File: path, Offset: off, Reason: "entry with index 0"}
	case idx <= after:
		// Covered by the snapshot. If it overwrites entries (a follower's
		// log corrected by its leader), the later entries are gone too.
		st.ents, st.lastIndex = st.ents[:0], after
		st.snapTerm, st.sawSnapAt = e.GetTerm(), idx == after
		return nil
	case idx > st.lastIndex+1:
		return &CorruptError{File: path, Offset: off,
			Reason: fmt.Sprintf("entry %d leaves a gap after entry %d", idx, st.lastIndex)}
	}
	st.ents = append(st.ents[:idx-after-1], e)
	st.lastIndex = idx
	return nil
}

// scanMarkers returns the (term, index) of every snapshot marker in the
// segments, reading all of them. Damage is left for openWAL to judge: a
// segment's scan stops at its first bad record.
func scanMarkers(segs []segment) (map[[2]uint64]bool, error) {
	out := map[[2]uint64]bool{}
	for _, s := range segs {
		data, err := os.ReadFile(s.path)
		if err != nil {
			return nil, fmt.Errorf("wal: %w", err)
		}
		scanSegment(s.path, data, true, func(_ int64, typ byte, payload []byte) error {
			if typ != recSnapshot {
				return nil
			}
			if r, err := decodePayload(typ, payload); err == nil {
				out[[2]uint64{r.marker.term, r.marker.index}] = true
			}
			return nil
		})
	}
	return out, nil
}
