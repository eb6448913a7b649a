package raftnode

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"maps"
	"slices"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
)

// FuzzWALRecord feeds arbitrary bytes to the record decoder and to the
// segment scanner. Neither may panic; what decodes must re-encode the same.
func FuzzWALRecord(f *testing.F) {
	var seed []byte
	seed = appendMetaRecord(seed, 7)
	seed = appendHardStateRecord(seed, &pb.HardState{Term: new(uint64(3)), Vote: new(uint64(1)), Commit: new(uint64(9))})
	seed = appendEntryRecord(seed, testEntry(10, 3, "hello"))
	seed, _ = appendSnapshotRecord(seed, snapMarker{index: 9, term: 3, conf: &pb.ConfState{Voters: []uint64{1, 2, 3}}})
	f.Add(seed)
	f.Add(appendEntryRecord(nil, testEntry(1, 1, "")))
	f.Add(seed[:len(seed)-3])
	f.Add(append(bytes.Clone(seed), make([]byte, 64)...))
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := data
		for len(b) > 0 {
			typ, payload, n, err := decodeRecord(b)
			if err != nil {
				break
			}
			if n < recHeaderLen+1 || n > len(b) {
				t.Fatalf("decodeRecord consumed %d of %d bytes", n, len(b))
			}
			r, err := decodePayload(typ, payload)
			if err == nil && r.entry != nil {
				again, err := decodeEntry(appendEntryPayload(nil, r.entry))
				if err != nil || again.GetIndex() != r.entry.GetIndex() || again.GetTerm() != r.entry.GetTerm() ||
					again.GetType() != r.entry.GetType() || !bytes.Equal(again.Data, r.entry.Data) {
					t.Fatalf("entry %v does not survive re-encoding: %v, %v", r.entry, again, err)
				}
			}
			b = b[n:]
		}
		for _, last := range []bool{false, true} {
			end, dirty, err := scanSegment("fuzz.wal", data, last, func(int64, byte, []byte) error { return nil })
			if err == nil && (end > len(data) || dirty < end || dirty > len(data)) {
				t.Fatalf("scanSegment: end %d, dirty %d, len %d", end, dirty, len(data))
			}
		}
	})
}

// FuzzSnapshotHeader feeds arbitrary bytes to the snapshot header decoder.
// It may not panic, and a header it accepts must re-encode the same.
func FuzzSnapshotHeader(f *testing.F) {
	hdr, err := encodeSnapshotHeader(snapHeader{index: 100, term: 4, bodyLen: 12345, bodyCRC: 0xdeadbeef,
		conf: &pb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(hdr)
	f.Add(hdr[:snapFixedHdrLen])
	f.Add(append(bytes.Clone(hdr), "body"...))
	empty, _ := encodeSnapshotHeader(snapHeader{conf: &pb.ConfState{}})
	f.Add(empty)
	withAddrs, _ := encodeSnapshotHeader(snapHeader{index: 7, term: 2, conf: &pb.ConfState{Voters: []uint64{1, 2}},
		addrs: map[uint64]string{1: "a:2888", 2: "b.example:2888"}})
	f.Add(withAddrs)
	f.Add(encodeSnapshotHeaderV1(f, snapHeader{index: 100, term: 4, conf: &pb.ConfState{Voters: []uint64{1}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, n, err := decodeSnapshotHeader(data)
		if err != nil {
			return
		}
		if n > len(data) {
			t.Fatalf("header length %d beyond %d bytes", n, len(data))
		}
		if _, _, err := readSnapshotHeader(bytes.NewReader(data)); err != nil {
			t.Fatalf("decodeSnapshotHeader accepts what readSnapshotHeader rejects: %v", err)
		}
		again, err := encodeSnapshotHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if h2, _, err := decodeSnapshotHeader(again); err != nil || h2.index != h.index || h2.term != h.term ||
			h2.bodyLen != h.bodyLen || h2.bodyCRC != h.bodyCRC || !maps.Equal(h2.addrs, h.addrs) {
			t.Fatalf("header %+v does not survive re-encoding: %+v, %v", h, h2, err)
		}
	})
}

// encodeSnapshotHeaderV1 encodes h in format version 1, without addresses.
func encodeSnapshotHeaderV1(t testing.TB, h snapHeader) []byte {
	t.Helper()
	b, err := encodeSnapshotHeader(snapHeader{index: h.index, term: h.term, bodyLen: h.bodyLen, bodyCRC: h.bodyCRC, conf: h.conf})
	if err != nil {
		t.Fatal(err)
	}
	n := snapFixedHdrLen + int(binary.LittleEndian.Uint32(b[44:]))
	v1 := slices.Clone(b[:n])
	binary.LittleEndian.PutUint32(v1[8:], snapVersionNoAddrs)
	binary.LittleEndian.PutUint32(v1[12:], uint32(n+4))
	return binary.LittleEndian.AppendUint32(v1, crc32.Checksum(v1, crcTable))
}

// FuzzConfContext feeds arbitrary bytes to the decoder of a membership
// change's context, which apply runs on what the log holds. It may not
// panic, and what it accepts must re-encode the same.
func FuzzConfContext(f *testing.F) {
	f.Add(appendConfContext(nil, confContext{proposer: 1, seq: 42, addrs: map[uint64]string{4: "d.example:2888", 5: ""}}))
	f.Add(appendConfContext(nil, confContext{proposer: 3}))
	f.Add([]byte{confContextV1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeConfContext(data)
		if err != nil {
			return
		}
		if again := appendConfContext(nil, c); !bytes.Equal(again, data) {
			t.Fatalf("context %+v re-encodes as %x, was %x", c, again, data)
		}
	})
}
