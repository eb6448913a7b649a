package tree

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
)

func snapshotBytes(t testing.TB, tr *Tree) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tr.Snapshot()(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDeterminism applies the same random txns to two trees, and to a third restored
// halfway from a snapshot of the first; results, events and final snapshots must be
// identical. The halfway snapshot of the first tree is written while it keeps applying, on
// another goroutine (run with -race), and must equal the second tree's snapshot taken at
// the same point.
func TestDeterminism(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		n := 3000
		if testing.Short() {
			n = 600
		}
		opts := Options{ExtendedTypes: seed%2 == 1, MaxNeverUsed: int64(seed%3) * 500}
		a, b := New(opts), New(opts)
		var c *Tree
		g := &txnGen{src: randSource{rand.New(rand.NewPCG(seed, 42))}}
		var wg sync.WaitGroup
		var lateSnap bytes.Buffer
		var lateErr error
		var halfway []byte
		for i := 1; i <= n; i++ {
			txn := g.txn(a)
			zxid := int64(i)
			ra := a.Apply(zxid, txn)
			rb := b.Apply(zxid, txn)
			if !reflect.DeepEqual(ra, rb) {
				t.Fatalf("seed %d txn %d: results differ:\n%+v\n%+v", seed, i, ra, rb)
			}
			if c != nil {
				if rc := c.Apply(zxid, txn); !reflect.DeepEqual(ra, rc) {
					t.Fatalf("seed %d txn %d: restored tree differs:\n%+v\n%+v", seed, i, ra, rc)
				}
			}
			if i == n/2 {
				write := a.Snapshot()
				wg.Add(1)
				go func() {
					defer wg.Done()
					lateErr = write(&lateSnap)
				}()
				halfway = snapshotBytes(t, b)
				var err error
				if c, err = Restore(bytes.NewReader(halfway), opts); err != nil {
					t.Fatalf("seed %d: restore: %v", seed, err)
				}
			}
			if i%97 == 0 {
				for _, tr := range []*Tree{a, b, c} {
					if tr == nil {
						continue
					}
					if err := checkInvariants(tr); err != nil {
						t.Fatalf("seed %d txn %d: %v", seed, i, err)
					}
				}
			}
		}
		wg.Wait()
		if lateErr != nil {
			t.Fatal(lateErr)
		}
		if !bytes.Equal(lateSnap.Bytes(), halfway) {
			t.Fatalf("seed %d: snapshot written concurrently with apply differs from the one taken at the same point", seed)
		}
		sa, sb, sc := snapshotBytes(t, a), snapshotBytes(t, b), snapshotBytes(t, c)
		if !bytes.Equal(sa, sb) || !bytes.Equal(sa, sc) {
			t.Fatalf("seed %d: final snapshots differ (%d, %d, %d bytes)", seed, len(sa), len(sb), len(sc))
		}
		if a.Stats() != c.Stats() || a.LastZxid() != c.LastZxid() {
			t.Fatalf("seed %d: stats differ: %+v %+v", seed, a.Stats(), c.Stats())
		}
		// Reads agree too.
		for i := 0; i < 300; i++ {
			op, req, sid, auth := g.read()
			ca, ra := a.Read(op, req, sid, auth)
			cc, rc := c.Read(op, req, sid, auth)
			if ca != cc || !reflect.DeepEqual(ra, rc) {
				t.Fatalf("seed %d: read %v %+v differs: %v %+v / %v %+v", seed, op, req, ca, ra, cc, rc)
			}
		}
		t.Logf("seed %d: %d nodes, %d sessions, %d snapshot bytes", seed, a.Stats().NodeCount, len(a.Sessions()), len(sa))
	}
}

// TestSnapshotWhileApplying hammers the copy-on-write path: many snapshots in flight while
// the tree changes under them; each must equal a copy taken synchronously at its point.
func TestSnapshotWhileApplying(t *testing.T) {
	opts := Options{ExtendedTypes: true}
	a, b := New(opts), New(opts)
	g := &txnGen{src: randSource{rand.New(rand.NewPCG(7, 7))}}
	type pending struct {
		want []byte
		got  bytes.Buffer
		err  error
	}
	var wg sync.WaitGroup
	var all []*pending
	for i := 1; i <= 2000; i++ {
		txn := g.txn(a)
		a.Apply(int64(i), txn)
		b.Apply(int64(i), txn)
		if i%50 == 0 {
			p := &pending{want: snapshotBytes(t, b)}
			write := a.Snapshot()
			all = append(all, p)
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.err = write(&p.got)
			}()
		}
	}
	wg.Wait()
	for i, p := range all {
		if p.err != nil || !bytes.Equal(p.got.Bytes(), p.want) {
			t.Fatalf("snapshot %d differs (err %v)", i, p.err)
		}
	}
}
