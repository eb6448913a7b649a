package tree

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/paddock/paddock/internal/proto"
)

// seedTree builds a tree with a bit of everything, from the random generator.
func seedTree(seed uint64, n int) *Tree {
	tr := New(Options{ExtendedTypes: true})
	g := &txnGen{src: randSource{rand.New(rand.NewPCG(seed, 1))}}
	for i := 1; i <= n; i++ {
		tr.Apply(int64(i), g.txn(tr))
	}
	return tr
}

func FuzzTxn(f *testing.F) {
	g := &txnGen{src: randSource{rand.New(rand.NewPCG(3, 3))}}
	tr := New(Options{})
	for i := 0; i < 40; i++ {
		f.Add(g.txn(tr).Marshal(nil))
	}
	f.Add([]byte{})
	f.Add([]byte{txnVersion})
	f.Add([]byte{2, 0, 0, 0, 1})
	f.Add([]byte{txnVersionV1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 7})
	f.Fuzz(func(t *testing.T, b []byte) {
		var txn Txn
		if err := txn.Unmarshal(b); err != nil {
			return
		}
		// Re-encoded (in the current version, with null strings as empty ones), it decodes to
		// the same txn, and encodes to the same bytes again.
		again := txn.Marshal(nil)
		var txn2 Txn
		if err := txn2.Unmarshal(again); err != nil || !reflect.DeepEqual(txn2, txn) {
			t.Fatalf("re-encoded txn decodes to %+v (%v), want %+v", txn2, err, txn)
		}
		if third := txn2.Marshal(nil); !bytes.Equal(third, again) {
			t.Fatalf("encoding is not stable:\n%x\n%x", again, third)
		}
		// Whatever it decodes to, applying it must not panic or break the tree.
		tr := New(Options{ExtendedTypes: true})
		tr.Apply(1, &Txn{Type: proto.OpCreateSession, SessionID: txn.SessionID, Body: proto.Marshal(nil, &CreateSessionTxn{})})
		tr.Apply(2, &txn)
		if err := checkInvariants(tr); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzSnapshot(f *testing.F) {
	for seed := uint64(1); seed <= 4; seed++ {
		f.Add(snapshotBytes(f, seedTree(seed, 300)))
	}
	f.Add(snapshotBytes(f, New(Options{})))
	f.Add([]byte(snapMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		restoreAndCheck(t, b)
		// Again with a valid checksum, so the fuzzer gets past it to the structure.
		if len(b) >= 4 {
			fixed := bytes.Clone(b)
			binary.BigEndian.PutUint32(fixed[len(fixed)-4:], crc32.Checksum(fixed[:len(fixed)-4], castagnoli))
			restoreAndCheck(t, fixed)
		}
	})
}

func restoreAndCheck(t *testing.T, b []byte) {
	tr, err := Restore(bytes.NewReader(b), Options{ExtendedTypes: true})
	if err != nil {
		return
	}
	if err := checkInvariants(tr); err != nil {
		t.Fatalf("restored tree: %v", err)
	}
	// The encoding is canonical: a snapshot that restores re-encodes to itself.
	if again := snapshotBytes(t, tr); !bytes.Equal(again, b) {
		t.Fatalf("re-encoding differs")
	}
}

// FuzzApply drives a tree with txns, reads and snapshots chosen by the fuzzer's bytes;
// nothing may panic, the invariants must hold after every txn, a twin without the path cache
// must answer the same, and a restored snapshot must match.
func FuzzApply(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte("create some nodes and sessions, then delete them again, please"))
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 8; i++ {
		b := make([]byte, 256)
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		src := &byteSource{b: b[1:]}
		opts := Options{ExtendedTypes: b[0]&1 != 0, SkipACL: b[0]&2 != 0, MaxNeverUsed: int64(b[0]>>2) * 10}
		tr, plain := tinyCache(opts), uncached(opts)
		g := &txnGen{src: src}
		var zxid int64
		for !src.done {
			switch src.intn(8) {
			case 0, 1:
				op, req, sid, auth := g.read()
				c, r := tr.Read(op, req, sid, auth)
				pc, pr := plain.Read(op, req, sid, auth)
				if c != pc || !reflect.DeepEqual(r, pr) {
					t.Fatalf("read %v %+v: %v %+v, uncached %v %+v", op, req, c, r, pc, pr)
				}
				continue
			case 2:
				if src.intn(4) == 0 {
					tr.Snapshot()
					plain.Snapshot()
					continue
				}
			}
			zxid++
			txn := g.txn(tr)
			if r, pr := tr.Apply(zxid, txn), plain.Apply(zxid, txn); !reflect.DeepEqual(r, pr) {
				t.Fatalf("txn %d: %+v, uncached %+v", zxid, r, pr)
			}
			if err := checkInvariants(tr); err != nil {
				t.Fatalf("after txn %d: %v", zxid, err)
			}
		}
		if err := checkCache(tr); err != nil {
			t.Fatal(err)
		}
		snap := snapshotBytes(t, tr)
		r, err := Restore(bytes.NewReader(snap), opts)
		if err != nil {
			t.Fatalf("restore: %v", err)
		}
		if dumpTree(r) != dumpTree(tr) || !reflect.DeepEqual(r.Sessions(), tr.Sessions()) || r.Stats() != tr.Stats() {
			t.Fatal("restored tree differs")
		}
	})
}
