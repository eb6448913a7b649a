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
	"time"

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
// and is not safe for concurrent use; the only other goroutine is the one
// preparing the next segment (spare), which shares nothing with it but its
// own spare struct.
//
// Records are encoded into buf and written with one pwrite per segment when the
// batch is synced (or when buf grows large); fdatasync follows. A write or sync
// error is sticky: the log refuses every later call and the node fail-stops.
type wal struct {
	dir     string
	segSize int64 // Config.SegmentSize: the largest a segment grows to
	nodeID  uint64
	fs      *fsHooks
	log     *slog.Logger

	segs       []segment // live segments, oldest first; the last one is written
	f          *os.File  // the last segment
	segCap     int64     // bytes prepared in f; records past it cut a new segment
	off        int64     // offset in f where buf goes
	buf        []byte    // encoded records not yet written
	segHasData bool      // the last segment holds more than its head records
	lastIndex  uint64    // index of the last entry appended
	hs         *pb.HardState
	spare      *spare // the next segment being prepared, nil if none
	failed     error
}

// spare is a segment file being prepared in the background under a *.tmp
// name. The goroutine preparing it sets f and err, then closes donec; only
// after that does the wal read them. Closing hurryc ends the pacing of the
// zero-fill (cut is waiting for it); closing stopc abandons it (close).
type spare struct {
	path   string
	size   int64
	hurryc chan struct{}
	stopc  chan struct{}
	donec  chan struct{}
	f      *os.File
	err    error
}

var errSpareStopped = errors.New("wal: spare abandoned")

const (
	maxPendingWrite = 1 << 20  // unsynced bytes buffered before writing them anyway
	maxIdleBuf      = 16 << 20 // larger buffers are dropped after use

	// firstSegmentSize is the size of a new log's first segment; each later
	// one doubles the previous one's, up to Config.SegmentSize. Segments are
	// zero-filled, so small first ones keep a new server from writing 64 MiB
	// before its first entry, and give the spare time to be ready.
	firstSegmentSize = 1 << 20
)

// createWAL starts a log in an empty dir: segment 0, whose head holds the node
// ID and a snapshot marker at index 0 carrying the initial membership.
func createWAL(dir string, segSize int64, nodeID uint64, conf *pb.ConfState, fs *fsHooks, log *slog.Logger) (*wal, error) {
	w := &wal{dir: dir, segSize: segSize, nodeID: nodeID, fs: fs, log: log}
	seg := segment{seq: 0, first: 1, path: filepath.Join(dir, segmentName(0, 1))}
	size := w.nextSegmentSize()
	f, err := w.createSegment(seg, size)
	if err != nil {
		return nil, err
	}
	w.segs, w.f, w.segCap = []segment{seg}, f, size
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

// nextSegmentSize is the size of the segment after the current one: twice
// its capacity, at least firstSegmentSize, at most Config.SegmentSize.
func (w *wal) nextSegmentSize() int64 {
	return min(max(2*w.segCap, firstSegmentSize), w.segSize)
}

// createSegment prepares seg's file under a temporary name, then renames it
// into place, so a crash never leaves a half-made segment.
func (w *wal) createSegment(seg segment, size int64) (*os.File, error) {
	tmp := seg.path + ".tmp"
	f, err := prepareSegment(tmp, size, w.fs, nil)
	if err != nil {
		return nil, fmt.Errorf("wal: create segment %s: %w", seg.path, err)
	}
	return w.install(f, tmp, seg)
}

// install renames a prepared segment file from tmp to seg's name, syncs the
// directory, and returns the file opened under its new name, so that errors
// name the segment. It closes f.
func (w *wal) install(f *os.File, tmp string, seg segment) (*os.File, error) {
	defer f.Close()
	if err := os.Rename(tmp, seg.path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("wal: create segment %s: %w", seg.path, err)
	}
	if err := w.fs.syncDir(w.dir); err != nil {
		return nil, fmt.Errorf("wal: create segment %s: %w", seg.path, err)
	}
	nf, err := os.OpenFile(seg.path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	return nf, nil
}

// prepareSegment creates a segment file at path and makes its size bytes
// durable zeros. fallocate reserves the space, so a full disk fails here
// rather than mid-write; writing the zeros then turns fallocate's unwritten
// extents into written ones. Otherwise the first write into each extent
// converts it, a metadata change every following fdatasync must journal:
// on ext4 that made a 3000-byte append's fdatasync cost 88-100 µs of CPU
// and 162 µs instead of 57-67 µs and 104-114 µs. Zero bytes read as the end
// of the records, so a zero-filled segment is an empty one.
//
// pause paces the zero-fill (see zeroFill); nil fills at full speed.
func prepareSegment(path string, size int64, fs *fsHooks, pause func(time.Duration) error) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	err = preallocate(f, size)
	if err == nil {
		err = zeroFill(f, size, fs, pause)
	}
	if err == nil {
		err = fs.fsync(f)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return f, nil
}

// startSpare starts preparing the next segment once the current one is half
// full, so that cut rarely waits for the zero-fill. Called after a batch is
// written, never from close.
func (w *wal) startSpare() {
	if w.spare != nil || w.off < w.segCap/2 {
		return
	}
	next := w.segs[len(w.segs)-1].seq + 1
	sp := &spare{
		path:   filepath.Join(w.dir, fmt.Sprintf("%016x.spare.tmp", next)),
		size:   w.nextSegmentSize(),
		hurryc: make(chan struct{}),
		stopc:  make(chan struct{}),
		donec:  make(chan struct{}),
	}
	fs := w.fs
	go func() {
		defer close(sp.donec)
		pause := func(d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-sp.hurryc:
			case <-sp.stopc:
				return errSpareStopped
			}
			return nil
		}
		sp.f, sp.err = prepareSegment(sp.path, sp.size, fs, pause)
	}()
	w.spare = sp
}

// waitSpare hurries the spare's goroutine, or with stop set abandons its
// work, and waits for it to finish; the wal no longer has a spare afterwards.
func (w *wal) waitSpare(stop bool) *spare {
	sp := w.spare
	if sp != nil {
		w.spare = nil
		if stop {
			close(sp.stopc)
		} else {
			close(sp.hurryc)
		}
		<-sp.donec
	}
	return sp
}

// takeSpare waits for the spare, if any, and returns it (nil if there is none
// or its preparation failed); the wal no longer has one afterwards.
func (w *wal) takeSpare() *spare {
	sp := w.waitSpare(false)
	if sp == nil {
		return nil
	}
	if sp.err != nil {
		w.log.Warn("wal: preparing the next segment failed, creating it now", "file", sp.path, "err", sp.err)
		return nil
	}
	return sp
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
	var err error
	if sync {
		err = w.sync()
	} else if len(w.buf) >= maxPendingWrite {
		err = w.flush()
	}
	if err == nil {
		w.startSpare()
	}
	return err
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
	if err := w.sync(); err != nil {
		return err
	}
	w.startSpare()
	return nil
}

// reserve makes room for a record of n bytes, cutting a new segment when the
// current one cannot hold it. A record larger than a whole segment goes into a
// fresh segment of its own, which grows past its prepared size.
func (w *wal) reserve(n int) error {
	if !w.segHasData || w.off+int64(len(w.buf))+int64(n) <= w.segCap {
		return nil
	}
	return w.cut()
}

// cut syncs the current segment and moves to the next one: the spare, or one
// created now if there is no spare or it failed. Creating it now can fail,
// and that is fatal like any write error.
func (w *wal) cut() error {
	if err := w.sync(); err != nil {
		return err
	}
	last := w.segs[len(w.segs)-1]
	seg := segment{seq: last.seq + 1, first: w.lastIndex + 1}
	seg.path = filepath.Join(w.dir, segmentName(seg.seq, seg.first))
	var (
		f    *os.File
		size int64
		err  error
	)
	if sp := w.takeSpare(); sp != nil {
		size = sp.size
		f, err = w.install(sp.f, sp.path, seg)
	} else {
		size = w.nextSegmentSize()
		f, err = w.createSegment(seg, size)
	}
	if err != nil {
		return w.fail(err)
	}
	if err := w.f.Close(); err != nil {
		f.Close()
		return w.fail(fmt.Errorf("wal: close %s: %w", last.path, err))
	}
	w.segs = append(w.segs, seg)
	w.f, w.segCap, w.off, w.segHasData = f, size, 0, false
	w.appendHead()
	w.log.Debug("wal: new segment", "file", seg.path, "size", size)
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
// current segment. It stops a spare being prepared and removes it.
func (w *wal) close() error {
	var err error
	if w.f != nil {
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
	}
	if sp := w.waitSpare(true); sp != nil && sp.err == nil {
		sp.f.Close()
		os.Remove(sp.path)
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
