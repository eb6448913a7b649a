package raftnode

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"
)

// segment names one WAL file: LogDir/wal/<seq>-<first>.wal, both 16 hex digits.
// seq numbers the segments 0, 1, 2, ... without gaps; first is the index the
// next entry had when the segment was cut, so every live entry of the earlier
// segments has a lower index.
type segment struct {
	seq   uint64
	first uint64
	path  string
}

func segmentName(seq, first uint64) string {
	return fmt.Sprintf("%016x-%016x.wal", seq, first)
}

func parseSegmentName(name string) (seq, first uint64, ok bool) {
	base, found := strings.CutSuffix(name, ".wal")
	if !found || len(base) != 33 || base[16] != '-' {
		return 0, 0, false
	}
	seq, err1 := strconv.ParseUint(base[:16], 16, 64)
	first, err2 := strconv.ParseUint(base[17:], 16, 64)
	return seq, first, err1 == nil && err2 == nil
}

// listSegments returns the segments in dir ordered by sequence number and
// checks that none is missing in between.
func listSegments(dir string) ([]segment, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var segs []segment
	for _, de := range des {
		seq, first, ok := parseSegmentName(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue
		}
		segs = append(segs, segment{seq: seq, first: first, path: filepath.Join(dir, de.Name())})
	}
	slices.SortFunc(segs, func(a, b segment) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	for i := 1; i < len(segs); i++ {
		if segs[i].seq != segs[i-1].seq+1 {
			return nil, fmt.Errorf("wal: segment sequence broken between %s and %s",
				filepath.Base(segs[i-1].path), filepath.Base(segs[i].path))
		}
	}
	return segs, nil
}

// wal is the write side of the write-ahead log. It is owned by the Ready loop
// and is not safe for concurrent use.
//
// Records are encoded into buf and written with one pwrite per segment when the
// batch is synced (or when buf grows large); fdatasync follows. A write or sync
// error is sticky: the log refuses every later call and the node fail-stops.
type wal struct {
	dir     string
	segSize int64
	nodeID  uint64
	fs      *fsHooks
	log     *slog.Logger

	segs       []segment // live segments, oldest first; the last one is written
	f          *os.File  // the last segment
	off        int64     // offset in f where buf goes
	buf        []byte    // encoded records not yet written
	segHasData bool      // the last segment holds more than its head records
	lastIndex  uint64    // index of the last entry appended
	hs         *pb.HardState
	failed     error
}

const (
	maxPendingWrite = 1 << 20  // unsynced bytes buffered before writing them anyway
	maxIdleBuf      = 16 << 20 // larger buffers are dropped after use
)

// createWAL starts a log in an empty dir: segment 0, whose head holds the node
// ID and a snapshot marker at index 0 carrying the initial membership.
func createWAL(dir string, segSize int64, nodeID uint64, conf *pb.ConfState, fs *fsHooks, log *slog.Logger) (*wal, error) {
	w := &wal{dir: dir, segSize: segSize, nodeID: nodeID, fs: fs, log: log}
	seg := segment{seq: 0, first: 1, path: filepath.Join(dir, segmentName(0, 1))}
	f, err := w.createSegment(seg)
	if err != nil {
		return nil, err
	}
	w.segs, w.f = []segment{seg}, f
	w.buf = appendMetaRecord(w.buf, nodeID)
	if w.buf, err = appendSnapshotRecord(w.buf, snapMarker{conf: conf}); err != nil {
		f.Close()
		return nil, err
	}
	if err := w.sync(); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// createSegment creates and preallocates seg's file under a temporary name,
// then renames it into place, so a crash never leaves a half-made segment.
func (w *wal) createSegment(seg segment) (*os.File, error) {
	tmp := seg.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wal: create segment: %w", err)
	}
	fail := func(err error) (*os.File, error) {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("wal: create segment %s: %w", seg.path, err)
	}
	if err := preallocate(f, w.segSize); err != nil {
		return fail(err)
	}
	if err := w.fs.fsync(f); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, seg.path); err != nil {
		return fail(err)
	}
	if err := w.fs.syncDir(w.dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("wal: create segment %s: %w", seg.path, err)
	}
	return f, nil
}

// fail records err as the log's permanent failure and returns it.
func (w *wal) fail(err error) error {
	if w.failed == nil {
		w.failed = err
	}
	return w.failed
}

func entryRecordSize(e *pb.Entry) int {
	n := recHeaderLen + 1 + 3 + protowire.SizeVarint(uint64(e.GetType())) +
		protowire.SizeVarint(e.GetTerm()) + protowire.SizeVarint(e.GetIndex())
	if e.Data != nil {
		n += 1 + protowire.SizeBytes(len(e.Data))
	}
	return n
}

const maxHardStateRecordSize = recHeaderLen + 1 + 3*(1+10) // three tagged varints of at most 10 bytes

// save appends entries, then the hard state (if not empty), and with sync set
// makes everything appended so far durable with one fdatasync per segment
// touched. Entries that overwrite earlier indexes (a follower's log being
// truncated by its leader) are simply appended: replay keeps the last write.
func (w *wal) save(hs *pb.HardState, ents []*pb.Entry, sync bool) error {
	if w.failed != nil {
		return w.failed
	}
	for _, e := range ents {
		if err := w.reserve(entryRecordSize(e)); err != nil {
			return err
		}
		w.buf = appendEntryRecord(w.buf, e)
		w.lastIndex = e.GetIndex()
		w.segHasData = true
	}
	if hs != nil && !raft.IsEmptyHardState(hs) {
		if err := w.reserve(maxHardStateRecordSize); err != nil {
			return err
		}
		w.buf = appendHardStateRecord(w.buf, hs)
		w.hs = hs
	}
	if sync {
		return w.sync()
	}
	if len(w.buf) >= maxPendingWrite {
		return w.flush()
	}
	return nil
}

// saveSnapshot appends a snapshot marker and syncs.
func (w *wal) saveSnapshot(m snapMarker) error {
	if w.failed != nil {
		return w.failed
	}
	b, err := appendSnapshotRecord(nil, m)
	if err != nil {
		return err
	}
	if err := w.reserve(len(b)); err != nil {
		return err
	}
	w.buf = append(w.buf, b...)
	w.segHasData = true
	return w.sync()
}

// reserve makes room for a record of n bytes, cutting a new segment when the
// current one cannot hold it. A record larger than a whole segment goes into a
// fresh segment of its own, which grows past the preallocated size.
func (w *wal) reserve(n int) error {
	if !w.segHasData || w.off+int64(len(w.buf))+int64(n) <= w.segSize {
		return nil
	}
	return w.cut()
}

func (w *wal) cut() error {
	if err := w.sync(); err != nil {
		return err
	}
	last := w.segs[len(w.segs)-1]
	seg := segment{seq: last.seq + 1, first: w.lastIndex + 1}
	seg.path = filepath.Join(w.dir, segmentName(seg.seq, seg.first))
	f, err := w.createSegment(seg)
	if err != nil {
		return w.fail(err)
	}
	if err := w.f.Close(); err != nil {
		f.Close()
		return w.fail(fmt.Errorf("wal: close %s: %w", last.path, err))
	}
	w.segs = append(w.segs, seg)
	w.f, w.off, w.segHasData = f, 0, false
	w.appendHead()
	w.log.Debug("wal: new segment", "file", seg.path)
	return nil
}

// appendHead starts a segment with the node ID and the current hard state, so
// that replay can begin at any segment.
func (w *wal) appendHead() {
	w.buf = appendMetaRecord(w.buf, w.nodeID)
	if w.hs != nil {
		w.buf = appendHardStateRecord(w.buf, w.hs)
	}
}

// flush writes buf to the current segment without syncing.
func (w *wal) flush() error {
	if w.failed != nil {
		return w.failed
	}
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.fs.pwrite(w.f, w.buf, w.off)
	if err == nil && n != len(w.buf) {
		err = fmt.Errorf("short write: %d of %d bytes", n, len(w.buf))
	}
	if err != nil {
		return w.fail(fmt.Errorf("wal: write %s at offset %d: %w", w.f.Name(), w.off, err))
	}
	w.off += int64(n)
	if cap(w.buf) > maxIdleBuf {
		w.buf = nil
	} else {
		w.buf = w.buf[:0]
	}
	return nil
}

// sync writes buf and fdatasyncs the current segment.
func (w *wal) sync() error {
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.fs.datasync(w.f); err != nil {
		return w.fail(fmt.Errorf("wal: fdatasync %s: %w", w.f.Name(), err))
	}
	return nil
}

// close syncs what is buffered (unless the log already failed) and closes the
// current segment.
func (w *wal) close() error {
	if w.f == nil {
		return nil
	}
	var err error
	if w.failed == nil {
		err = w.sync()
	}
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("wal: close: %w", cerr)
	}
	w.f = nil
	if w.failed == nil && err != nil {
		w.failed = err
	}
	return err
}

// purge removes the segments that hold nothing at or after index keep+1,
// i.e. every segment before the last one whose first index is <= keep+1. The
// segment being written is never removed.
func (w *wal) purge(keep uint64) ([]string, error) {
	cut := 0
	for i, s := range w.segs {
		if s.first <= keep+1 {
			cut = i
		}
	}
	if cut == 0 {
		return nil, nil
	}
	var removed []string
	for _, s := range w.segs[:cut] {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("wal: purge: %w", err)
		}
		removed = append(removed, s.path)
	}
	w.segs = slices.Delete(w.segs, 0, cut)
	return removed, w.fs.syncDir(w.dir)
}
