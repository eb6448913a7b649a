package raftnode

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// noSyncFS skips fsync calls: for tests that reopen a log thousands of times
// and are not about durability.
var noSyncFS = fsHooks{
	pwrite:   defaultFS.pwrite,
	datasync: func(*os.File) error { return nil },
	fsync:    func(*os.File) error { return nil },
}

func testEntry(index, term uint64, data string) *pb.Entry {
	return &pb.Entry{Term: new(term), Index: new(index), Type: pb.EntryNormal.Enum(), Data: []byte(data)}
}

// buildWAL writes entries 1..count in batches of 7, each batch followed by a
// hard state, into a new log in dir, and returns its segments.
func buildWAL(t *testing.T, dir string, segSize int64, count int) []segment {
	t.Helper()
	lb := &logBuffer{}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	w, err := createWAL(dir, segSize, 1, &pb.ConfState{Voters: []uint64{1}}, &noSyncFS, testLogger(lb))
	if err != nil {
		t.Fatal(err)
	}
	var batch []*pb.Entry
	for i := 1; i <= count; i++ {
		batch = append(batch, testEntry(uint64(i), 2, fmt.Sprintf("entry-%d-%s", i, strings.Repeat("x", i%23))))
		if len(batch) == 7 || i == count {
			hs := &pb.HardState{Term: new(uint64(2)), Vote: new(uint64(1)), Commit: new(uint64(i))}
			if err := w.save(hs, batch, true); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

// recordSpan is where one record lies in a segment.
type recordSpan struct {
	off, end int
	index    uint64 // entry index, 0 for other records
}

func spans(t *testing.T, path string) []recordSpan {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []recordSpan
	_, _, err = scanSegment(path, data, true, func(off int64, typ byte, payload []byte) error {
		_, _, n, _ := decodeRecord(data[off:])
		s := recordSpan{off: int(off), end: int(off) + n}
		if typ == recEntry {
			e, err := decodeEntry(payload)
			if err != nil {
				return err
			}
			s.index = e.GetIndex()
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEntryEncodingMatchesProtobuf(t *testing.T) {
	for _, e := range []*pb.Entry{
		testEntry(1, 1, "hello"),
		testEntry(1<<40, 1<<33, ""),
		{Term: new(uint64(7)), Index: new(uint64(9)), Type: pb.EntryConfChangeV2.Enum(), Data: []byte{0, 1, 2}},
		{Term: new(uint64(3)), Index: new(uint64(4)), Type: pb.EntryNormal.Enum()},
	} {
		want, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got := appendEntryPayload(nil, e)
		var back pb.Entry
		if err := proto.Unmarshal(got, &back); err != nil || !proto.Equal(&back, e) {
			t.Errorf("%v: our encoding %x decodes via protobuf to %v (%v)", e, got, &back, err)
		}
		dec, err := decodeEntry(want)
		if err != nil || dec.GetIndex() != e.GetIndex() || dec.GetTerm() != e.GetTerm() ||
			dec.GetType() != e.GetType() || !bytes.Equal(dec.Data, e.Data) {
			t.Errorf("%v: protobuf encoding %x decodes to %v (%v)", e, want, dec, err)
		}
		if n := len(appendEntryRecord(nil, e)); n != entryRecordSize(e) {
			t.Errorf("%v: record is %d bytes, entryRecordSize says %d", e, n, entryRecordSize(e))
		}
	}
	hs := &pb.HardState{Term: new(uint64(1 << 60)), Vote: new(uint64(3)), Commit: new(^uint64(0))}
	if n := len(appendHardStateRecord(nil, hs)); n > maxHardStateRecordSize {
		t.Errorf("hard state record is %d bytes, more than %d", n, maxHardStateRecordSize)
	}
}

// TestWALTornTailAtEveryOffset cuts the last segment at every byte offset
// (the file truncated there) and at a dense sample of them (every fifth
// offset and around every record header) two more ways: the rest zeroed as
// if preallocated, and the rest garbage. Each time the log must open with
// every record that ended before the cut, and keep working after the repair.
func TestWALTornTailAtEveryOffset(t *testing.T) {
	const segSize = 4096
	base := t.TempDir()
	segs := buildWAL(t, filepath.Join(base, "orig"), segSize, 110)
	if len(segs) < 2 {
		t.Fatalf("want at least 2 segments, got %d", len(segs))
	}
	first, err := os.ReadFile(segs[0].path)
	if err != nil {
		t.Fatal(err)
	}
	lastPath := segs[len(segs)-1].path
	last, err := os.ReadFile(lastPath)
	if err != nil {
		t.Fatal(err)
	}
	recs := spans(t, lastPath)
	endOfRecords := recs[len(recs)-1].end
	firstSeg := segs[0].path
	var lastInFirst uint64 // last entry before the last segment
	for _, seg := range segs[:len(segs)-1] {
		for _, s := range spans(t, seg.path) {
			lastInFirst = max(lastInFirst, s.index)
		}
	}

	lb := &logBuffer{}
	dir := filepath.Join(base, "cut")
	garbage := bytes.Repeat([]byte{0xa5, 0x5a, 0x13}, 40)
	nearBoundary := func(cut int) bool {
		for _, s := range recs {
			if d := cut - s.off; d >= -2 && d <= 9 {
				return true
			}
		}
		return false
	}
	for cut := 0; cut <= endOfRecords+8; cut++ {
		modes := []string{"truncate"}
		if cut%5 == 0 || nearBoundary(cut) {
			modes = append(modes, "zero", "garbage")
		}
		for _, mode := range modes {
			var tail []byte
			switch mode {
			case "truncate":
				tail = bytes.Clone(last[:cut])
			case "zero":
				tail = make([]byte, segSize)
				copy(tail, last[:cut])
			case "garbage":
				tail = make([]byte, segSize)
				copy(tail, last[:cut])
				copy(tail[cut:], garbage)
			}
			os.RemoveAll(dir)
			os.MkdirAll(dir, 0o750)
			os.WriteFile(filepath.Join(dir, filepath.Base(firstSeg)), first, 0o600)
			for _, s := range segs[1 : len(segs)-1] {
				b, _ := os.ReadFile(s.path)
				os.WriteFile(filepath.Join(dir, filepath.Base(s.path)), b, 0o600)
			}
			os.WriteFile(filepath.Join(dir, filepath.Base(lastPath)), tail, 0o600)

			want := lastInFirst
			for _, s := range recs {
				if s.end <= cut && s.index > 0 {
					want = s.index
				}
			}
			cutSegs, _ := listSegments(dir)
			w, st, err := openWAL(dir, cutSegs, segSize, 0, &noSyncFS, testLogger(lb))
			if err != nil {
				t.Fatalf("cut at %d (%s): open: %v", cut, mode, err)
			}
			if st.lastIndex != want || len(st.ents) != int(want) {
				w.close()
				t.Fatalf("cut at %d (%s): log ends at %d with %d entries, want %d", cut, mode, st.lastIndex, len(st.ents), want)
			}
			for i, e := range st.ents {
				if e.GetIndex() != uint64(i+1) {
					t.Fatalf("cut at %d (%s): entry %d has index %d", cut, mode, i, e.GetIndex())
				}
			}
			// The repaired log takes new records and reopens cleanly.
			if cut%17 == 0 {
				if err := w.save(nil, []*pb.Entry{testEntry(want+1, 3, "after-repair")}, true); err != nil {
					t.Fatal(err)
				}
				w.close()
				cutSegs, _ = listSegments(dir)
				w, st, err = openWAL(dir, cutSegs, segSize, 0, &noSyncFS, testLogger(lb))
				if err != nil {
					t.Fatalf("cut at %d (%s): reopen after repair: %v", cut, mode, err)
				}
				if st.lastIndex != want+1 || string(st.ents[want].Data) != "after-repair" {
					t.Fatalf("cut at %d (%s): after repair the log ends at %d", cut, mode, st.lastIndex)
				}
			}
			w.close()
		}
	}
	if !strings.Contains(lb.String(), "repairing torn tail") {
		t.Errorf("no torn-tail repair was logged")
	}
}

func TestWALCorruption(t *testing.T) {
	const segSize = 4096
	type damage func(t *testing.T, segs []segment) (path string, off int)
	flipIn := func(seg int, pick func([]recordSpan) recordSpan) damage {
		return func(t *testing.T, segs []segment) (string, int) {
			if seg < 0 { // from the end
				seg += len(segs)
			}
			p := segs[seg].path
			s := pick(spans(t, p))
			flipByte(t, p, int64(s.off+(s.end-s.off)/2))
			return p, s.off
		}
	}
	middle := func(r []recordSpan) recordSpan { return r[len(r)/2] }
	lastRec := func(r []recordSpan) recordSpan { return r[len(r)-1] }
	for _, tc := range []struct {
		name    string
		damage  damage
		corrupt bool // else: a torn tail, repaired
	}{
		{"bit flip in a sealed segment", flipIn(0, middle), true},
		{"bit flip in the last record of a sealed segment", flipIn(0, lastRec), true},
		{"bit flip mid last segment, valid records follow", flipIn(-1, middle), true},
		{"bit flip in the last record of the last segment", flipIn(-1, lastRec), false},
		{"zeroed header mid last segment", func(t *testing.T, segs []segment) (string, int) {
			p := segs[len(segs)-1].path
			s := middle(spans(t, p))
			f, _ := os.OpenFile(p, os.O_RDWR, 0)
			f.WriteAt(make([]byte, 4), int64(s.off))
			f.Close()
			return p, s.off
		}, true},
		{"data after the end of a sealed segment", func(t *testing.T, segs []segment) (string, int) {
			p := segs[0].path
			s := lastRec(spans(t, p))
			f, _ := os.OpenFile(p, os.O_RDWR, 0)
			f.WriteAt([]byte{0, 0, 0, 0, 1, 2, 3}, int64(s.end))
			f.Close()
			return p, s.end
		}, true},
		{"valid CRC, malformed payload at the tail", func(t *testing.T, segs []segment) (string, int) {
			p := segs[len(segs)-1].path
			s := lastRec(spans(t, p))
			rec := appendRecord(nil, recEntry, func(b []byte) []byte { return append(b, 0xff, 0xff) })
			f, _ := os.OpenFile(p, os.O_RDWR, 0)
			f.WriteAt(rec, int64(s.end))
			f.Close()
			return p, s.end
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			segs := buildWAL(t, dir, segSize, 110)
			if len(segs) < 2 {
				t.Fatalf("want 2+ segments")
			}
			path, off := tc.damage(t, segs)
			lb := &logBuffer{}
			w, st, err := openWAL(dir, segs, segSize, 0, &noSyncFS, testLogger(lb))
			if !tc.corrupt {
				if err != nil {
					t.Fatalf("open: %v, want a repaired torn tail", err)
				}
				defer w.close()
				// The last record is the hard state of the last batch.
				if st.lastIndex != 110 || st.hs.GetCommit() != 105 {
					t.Fatalf("log ends at %d, commit %d; want 110 and the previous hard state (105)", st.lastIndex, st.hs.GetCommit())
				}
				if !strings.Contains(lb.String(), "repairing torn tail") {
					t.Fatalf("repair not logged")
				}
				return
			}
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("open = %v, want a CorruptError", err)
			}
			if ce.File != path || ce.Offset != int64(off) {
				t.Fatalf("error %q names %s at %d, want %s at %d", err, ce.File, ce.Offset, path, off)
			}
			if want := fmt.Sprintf("wal: corrupt record in %s at offset %d: ", path, off); !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error %q, want prefix %q", err, want)
			}
		})
	}
}

// TestWALReplayOverwrites checks the replay of a follower's log whose tail
// was replaced by its leader: the last write of an index wins, and what
// followed the replaced entries is gone.
func TestWALReplayOverwrites(t *testing.T) {
	dir := t.TempDir()
	lb := &logBuffer{}
	w, err := createWAL(dir, 1<<20, 1, &pb.ConfState{Voters: []uint64{1, 2, 3}}, &noSyncFS, testLogger(lb))
	if err != nil {
		t.Fatal(err)
	}
	var ents []*pb.Entry
	for i := uint64(1); i <= 10; i++ {
		ents = append(ents, testEntry(i, 1, "old"))
	}
	for _, batch := range [][]*pb.Entry{ents, {testEntry(8, 2, "new8"), testEntry(9, 2, "new9")}} {
		if err := w.save(nil, batch, true); err != nil {
			t.Fatal(err)
		}
	}
	w.close()
	segs, _ := listSegments(dir)
	for _, tc := range []struct {
		after    uint64
		want     []string
		snapTerm uint64
	}{
		{0, []string{"old", "old", "old", "old", "old", "old", "old", "new8", "new9"}, 0},
		{8, []string{"new9"}, 2},
		{9, nil, 2},
	} {
		w, st, err := openWAL(dir, segs, 1<<20, tc.after, &noSyncFS, testLogger(lb))
		if err != nil {
			t.Fatal(err)
		}
		w.close()
		var got []string
		for i, e := range st.ents {
			if e.GetIndex() != tc.after+uint64(i)+1 {
				t.Fatalf("after %d: entry %d has index %d", tc.after, i, e.GetIndex())
			}
			got = append(got, string(e.Data))
		}
		if !slices.Equal(got, tc.want) || st.lastIndex != 9 || (tc.after > 0 && (!st.sawSnapAt || st.snapTerm != tc.snapTerm)) {
			t.Fatalf("after %d: entries %v, last %d, term at snapshot %d; want %v, 9, %d",
				tc.after, got, st.lastIndex, st.snapTerm, tc.want, tc.snapTerm)
		}
	}
}

// fsLog records the files an fs hook saw, once each, by base name; safe for
// the spare's goroutine.
type fsLog struct {
	mu     sync.Mutex
	synced []string
}

func (l *fsLog) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Contains(l.synced, filepath.Base(name)) {
		l.synced = append(l.synced, filepath.Base(name))
	}
}

func (l *fsLog) names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.synced)
}

// appendEntries saves entries from..from+count-1 with size bytes of data,
// one synced batch each.
func appendEntries(t *testing.T, w *wal, from uint64, count, size int) {
	t.Helper()
	for i := range uint64(count) {
		data := fmt.Sprintf("%d:%s", from+i, strings.Repeat("v", size))
		if err := w.save(nil, []*pb.Entry{testEntry(from+i, 1, data)}, true); err != nil {
			t.Fatalf("save %d: %v", from+i, err)
		}
	}
}

// checkReplay reopens the log in dir and checks that it holds entries 1..last.
func checkReplay(t *testing.T, dir string, segSize int64, last uint64) {
	t.Helper()
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, st, err := openWAL(dir, segs, segSize, 0, &noSyncFS, testLogger(&logBuffer{}))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if st.lastIndex != last || len(st.ents) != int(last) {
		t.Fatalf("replay ends at %d with %d entries, want %d", st.lastIndex, len(st.ents), last)
	}
	for i, e := range st.ents {
		if want := fmt.Sprintf("%d:", i+1); e.GetIndex() != uint64(i+1) || !strings.HasPrefix(string(e.Data), want) {
			t.Fatalf("entry %d is %d %.20q", i+1, e.GetIndex(), e.Data)
		}
	}
}

func fileSizes(t *testing.T, segs []segment) []int64 {
	t.Helper()
	var out []int64
	for _, s := range segs {
		fi, err := os.Stat(s.path)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fi.Size())
	}
	return out
}

func checkNoTemps(t *testing.T, dir string) {
	t.Helper()
	if tmps, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(tmps) > 0 {
		t.Fatalf("left behind: %v", tmps)
	}
}

// TestWALSegmentSizesGrow checks that segments start at 1 MiB and double up
// to the configured size, that a small configured size is used throughout,
// and that a record larger than a segment gets a fresh segment of its own.
func TestWALSegmentSizesGrow(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		segSize   int64
		entrySize int
		want      []int64 // sizes of all segments but the last
	}{
		{8 * mib, 60 << 10, []int64{mib, 2 * mib, 4 * mib, 8 * mib, 8 * mib}},
		{3 * mib, 60 << 10, []int64{mib, 2 * mib, 3 * mib, 3 * mib}},
		{4096, 100, []int64{4096, 4096, 4096, 4096, 4096}},
	} {
		t.Run(fmt.Sprint(tc.segSize), func(t *testing.T) {
			dir := t.TempDir()
			w, err := createWAL(dir, tc.segSize, 1, &pb.ConfState{Voters: []uint64{1}}, &noSyncFS, testLogger(&logBuffer{}))
			if err != nil {
				t.Fatal(err)
			}
			idx := uint64(1)
			for len(w.segs) <= len(tc.want) {
				appendEntries(t, w, idx, 1, tc.entrySize)
				idx++
			}
			if err := w.close(); err != nil {
				t.Fatal(err)
			}
			checkNoTemps(t, dir)
			segs, _ := listSegments(dir)
			if got := fileSizes(t, segs); !slices.Equal(got[:len(got)-1], tc.want) {
				t.Fatalf("segment sizes %v, want %v and one more", got, tc.want)
			}
			checkReplay(t, dir, tc.segSize, idx-1)
		})
	}

	t.Run("oversized record", func(t *testing.T) {
		dir := t.TempDir()
		w, err := createWAL(dir, 4096, 1, &pb.ConfState{Voters: []uint64{1}}, &noSyncFS, testLogger(&logBuffer{}))
		if err != nil {
			t.Fatal(err)
		}
		appendEntries(t, w, 1, 3, 100)
		appendEntries(t, w, 4, 1, 10000)
		appendEntries(t, w, 5, 1, 100)
		if err := w.close(); err != nil {
			t.Fatal(err)
		}
		segs, _ := listSegments(dir)
		sizes := fileSizes(t, segs)
		if len(segs) != 3 || segs[1].first != 4 || segs[2].first != 5 || sizes[1] <= 10000 || sizes[2] != 4096 {
			t.Fatalf("segments %v of sizes %v, want the 10000-byte entry alone in the second one", segs, sizes)
		}
		checkReplay(t, dir, 4096, 5)
	})
}

// TestWALCutUsesSpare checks that a cut takes the segment prepared in the
// background rather than creating one, that the new segment is zeros past
// its records, and that close leaves no spare behind.
func TestWALCutUsesSpare(t *testing.T) {
	const segSize = 4 << 20
	dir := t.TempDir()
	var synced, written fsLog
	fs := noSyncFS
	fs.fsync = func(f *os.File) error { synced.add(f.Name()); return nil }
	fs.pwrite = func(f *os.File, b []byte, off int64) (int, error) {
		if off == 0 {
			written.add(f.Name())
		}
		return defaultFS.pwrite(f, b, off)
	}
	w, err := createWAL(dir, segSize, 1, &pb.ConfState{Voters: []uint64{1}}, &fs, testLogger(&logBuffer{}))
	if err != nil {
		t.Fatal(err)
	}
	idx := uint64(1)
	for len(w.segs) < 3 {
		appendEntries(t, w, idx, 1, 30<<10)
		idx++
	}
	for w.spare == nil {
		appendEntries(t, w, idx, 1, 30<<10)
		idx++
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	checkNoTemps(t, dir)
	tmps := func(l *fsLog) []string {
		var out []string
		for _, n := range l.names() {
			if strings.HasSuffix(n, ".tmp") {
				out = append(out, n)
			}
		}
		return out
	}
	// The first segment is created in place; the next two come from spares,
	// and a third spare, started, was abandoned when the log was closed.
	want := []string{segmentName(0, 1) + ".tmp",
		"0000000000000001.spare.tmp", "0000000000000002.spare.tmp", "0000000000000003.spare.tmp"}
	if got := tmps(&written); !slices.Equal(got, want) {
		t.Fatalf("files prepared: %v, want %v", got, want)
	}
	if got := tmps(&synced); !slices.Equal(got, want[:3]) {
		t.Fatalf("files prepared and synced: %v, want %v", got, want[:3])
	}

	segs, _ := listSegments(dir)
	last := segs[len(segs)-1].path
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	recs := spans(t, last)
	end := recs[len(recs)-1].end
	if len(data) != 4<<20 || end < 2<<20 || nextNonZero(data, end) != -1 {
		t.Fatalf("last segment: %d bytes, records end at %d, first non-zero byte after them at %d; want 4 MiB of zeros after the records",
			len(data), end, nextNonZero(data, end))
	}
	checkReplay(t, dir, segSize, idx-1)
}

// TestWALSpareFailureFallsBack checks that a cut whose spare failed creates
// the segment itself, and that if that fails too the log stops for good.
func TestWALSpareFailureFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name     string
		inject   func(fs *fsHooks)
		fallback bool // whether creating the segment in place works
	}{
		{"spare fsync fails", func(fs *fsHooks) {
			fs.fsync = func(f *os.File) error {
				if strings.HasSuffix(f.Name(), ".spare.tmp") {
					return syscall.EIO
				}
				return nil
			}
		}, true},
		{"spare disk full", func(fs *fsHooks) {
			fs.pwrite = func(f *os.File, b []byte, off int64) (int, error) {
				if strings.HasSuffix(f.Name(), ".spare.tmp") {
					return 0, syscall.ENOSPC
				}
				return defaultFS.pwrite(f, b, off)
			}
		}, true},
		{"spare and fallback fsync fail", func(fs *fsHooks) {
			fs.fsync = func(f *os.File) error {
				if strings.HasSuffix(f.Name(), ".spare.tmp") || strings.HasSuffix(f.Name(), ".wal.tmp") && !strings.HasPrefix(filepath.Base(f.Name()), segmentName(0, 1)) {
					return syscall.EIO
				}
				return nil
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fs := noSyncFS
			tc.inject(&fs)
			lb := &logBuffer{}
			w, err := createWAL(dir, 4096, 1, &pb.ConfState{Voters: []uint64{1}}, &fs, testLogger(lb))
			if err != nil {
				t.Fatal(err)
			}
			idx := uint64(1)
			for ; idx <= 200 && len(w.segs) < 3; idx++ {
				if err = w.save(nil, []*pb.Entry{testEntry(idx, 1, fmt.Sprintf("%d:%s", idx, strings.Repeat("v", 100)))}, true); err != nil {
					break
				}
			}
			if !strings.Contains(lb.String(), "preparing the next segment failed") {
				t.Errorf("the spare's failure was not logged")
			}
			if tc.fallback {
				if err != nil || len(w.segs) < 3 {
					t.Fatalf("after %d entries: %d segments, error %v; want the fallback to cut", idx-1, len(w.segs), err)
				}
				if err := w.close(); err != nil {
					t.Fatal(err)
				}
				checkNoTemps(t, dir)
				checkReplay(t, dir, 4096, idx-1)
				return
			}
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("save = %v, want the fallback's EIO", err)
			}
			if err2 := w.save(nil, []*pb.Entry{testEntry(idx+1, 1, "later")}, true); err2 != err {
				t.Fatalf("save after the failure = %v, want the same error %v", err2, err)
			}
			w.close()
			checkNoTemps(t, dir)
			checkReplay(t, dir, 4096, idx-1)
		})
	}
}

// TestWALRestartInGrownSegment reopens the log in the middle of a 2 MiB
// segment: appends stay in it up to its size, the next one is 4 MiB, and
// everything replays.
func TestWALRestartInGrownSegment(t *testing.T) {
	const segSize = 16 << 20
	dir := t.TempDir()
	lg := testLogger(&logBuffer{})
	w, err := createWAL(dir, segSize, 1, &pb.ConfState{Voters: []uint64{1}}, &noSyncFS, lg)
	if err != nil {
		t.Fatal(err)
	}
	idx := uint64(1)
	for len(w.segs) < 2 || w.off < 1<<20 {
		appendEntries(t, w, idx, 1, 50<<10)
		idx++
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	checkNoTemps(t, dir)

	segs, _ := listSegments(dir)
	w, st, err := openWAL(dir, segs, segSize, 0, &noSyncFS, lg)
	if err != nil {
		t.Fatal(err)
	}
	if st.lastIndex != idx-1 || w.segCap != 2<<20 {
		t.Fatalf("reopened at entry %d with capacity %d, want %d and 2 MiB", st.lastIndex, w.segCap, idx-1)
	}
	for w.off < 2<<20-(60<<10) {
		appendEntries(t, w, idx, 1, 50<<10)
		idx++
		if len(w.segs) != 2 {
			t.Fatalf("cut at offset %d of a 2 MiB segment", w.off)
		}
	}
	appendEntries(t, w, idx, 3, 50<<10)
	idx += 3
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	segs, _ = listSegments(dir)
	if got := fileSizes(t, segs); !slices.Equal(got, []int64{1 << 20, 2 << 20, 4 << 20}) {
		t.Fatalf("segment sizes %v, want 1, 2 and 4 MiB", got)
	}
	checkReplay(t, dir, segSize, idx-1)
}

// TestLeftoverSpareRemovedAtStart checks that a spare left by a crash, even
// one holding valid records, is deleted at Start and not replayed.
func TestLeftoverSpareRemovedAtStart(t *testing.T) {
	dir := t.TempDir()
	lb := &logBuffer{}
	cfg := testConfig(dir, lb)
	r := &recorder{}
	n := mustStart(t, cfg, r)
	proposeAll(t, n, r, "a", 0, 200, 200)
	n.Stop()
	walDir := filepath.Join(dir, "wal")
	segs, _ := listSegments(walDir)
	if len(segs) < 2 {
		t.Fatalf("want 2+ segments, got %d", len(segs))
	}
	checkNoTemps(t, walDir)
	first, err := os.ReadFile(segs[0].path)
	if err != nil {
		t.Fatal(err)
	}
	// The next spare's name, which the new log may reuse at once, and an
	// older one's.
	next := filepath.Join(walDir, fmt.Sprintf("%016x.spare.tmp", segs[len(segs)-1].seq+1))
	old := filepath.Join(walDir, fmt.Sprintf("%016x.spare.tmp", segs[len(segs)-1].seq))
	for _, p := range []string{next, old} {
		if err := os.WriteFile(p, first, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	r2 := &recorder{}
	n2 := mustStart(t, cfg, r2)
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover spare still there after Start: %v", err)
	}
	if b, err := os.ReadFile(next); err == nil && bytes.Equal(b, first) {
		t.Fatalf("leftover spare %s still there after Start", next)
	}
	proposeAll(t, n2, r2, "b", 0, 60, 260)
	n2.Stop()
	r3 := &recorder{}
	mustStart(t, cfg, r3)
	state, _, _, _ := r3.snapshot()
	if got, want := datas(state), append(seq("a", 0, 200), seq("b", 0, 60)...); !slices.Equal(got, want) {
		t.Fatalf("after restarts the state is %v, want %v", got, want)
	}
	checkNoProblems(t, r3)
}
