package tree

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"unsafe"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/proto"
)

// checkCache verifies that every entry names the node a walk finds, with the same
// ownership.
func checkCache(t *Tree) error {
	if t.cache == nil {
		return nil
	}
	for i := range t.cache.slots {
		e := t.cache.slots[i].Load()
		if e == nil {
			continue
		}
		n, owned := t.walk(e.path)
		if n != e.n || owned != (e.gen == t.gen) {
			return fmt.Errorf("cache entry %q: node %p owned %v, walk finds %p owned %v", e.path, e.n, e.gen == t.gen, n, owned)
		}
	}
	return nil
}

// uncached returns a tree like New's without the path cache, to compare against.
func uncached(opts Options) *Tree {
	t := New(opts)
	t.cache = nil
	return t
}

// tinyCache returns a tree like New's with a path cache of 4 slots: the few paths the
// generator uses then evict each other, and land in either slot of a pair.
func tinyCache(opts Options) *Tree {
	t := New(opts)
	t.cache = newPathCache(4)
	return t
}

// compareReads makes the same lookups and reads on both trees.
func compareReads(t *testing.T, where string, a, b *Tree, g *txnGen) {
	t.Helper()
	for _, p := range genPaths {
		sa, aa, oka := a.Lookup(p)
		sb, ab, okb := b.Lookup(p)
		if sa != sb || !reflect.DeepEqual(aa, ab) || oka != okb {
			t.Fatalf("%s: Lookup(%q) = %+v %v %v, uncached %+v %v %v", where, p, sa, aa, oka, sb, ab, okb)
		}
		na, oa := a.lookup(p)
		nb, ob := b.lookup(p)
		if (na == nil) != (nb == nil) || oa != ob {
			t.Fatalf("%s: lookup(%q) found %v owned %v, uncached %v %v", where, p, na != nil, oa, nb != nil, ob)
		}
	}
	for range 8 {
		op, req, sid, auth := g.read()
		ca, ra := a.Read(op, req, sid, auth)
		cb, rb := b.Read(op, req, sid, auth)
		if ca != cb || !reflect.DeepEqual(ra, rb) {
			t.Fatalf("%s: read %v %+v: %v %+v, uncached %v %+v", where, op, req, ca, ra, cb, rb)
		}
	}
}

// TestPathCacheDifferential applies random txns (creates, sets, deletes, multis that fail
// and roll back, session closes removing ephemerals, reaping) with snapshots in between to
// a tree with the path cache and one without: every result, lookup and read must agree,
// every entry the cache would serve must be right, and the final snapshots equal.
func TestPathCacheDifferential(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		n := 4000
		if testing.Short() {
			n = 800
		}
		opts := Options{ExtendedTypes: true, MaxNeverUsed: int64(seed%2) * 300}
		a, b := New(opts), uncached(opts)
		if seed%2 == 0 {
			a = tinyCache(opts)
		}
		r := rand.New(rand.NewPCG(seed, 77))
		g := &txnGen{src: randSource{r}}
		for i := 1; i <= n; i++ {
			where := fmt.Sprintf("seed %d txn %d", seed, i)
			txn := g.txn(a)
			ra, rb := a.Apply(int64(i), txn), b.Apply(int64(i), txn)
			if !reflect.DeepEqual(ra, rb) {
				t.Fatalf("%s: results differ:\n%+v\n%+v", where, ra, rb)
			}
			compareReads(t, where, a, b, g)
			if r.IntN(40) == 0 {
				// Both, so that both take the same copy-on-write paths from here on.
				a.Snapshot()
				b.Snapshot()
			}
			if i%50 == 0 {
				if err := checkInvariants(a); err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				if err := checkCache(a); err != nil {
					t.Fatalf("%s: %v", where, err)
				}
			}
		}
		if !bytes.Equal(snapshotBytes(t, a), snapshotBytes(t, b)) {
			t.Fatalf("seed %d: final snapshots differ", seed)
		}
	}
}

// TestPathCacheConcurrentReaders runs readers on goroutines between applies, as the server
// does under its RWMutex, with snapshots written concurrently; run with -race. Each reader
// compares the cached tree's answers with an uncached twin's.
func TestPathCacheConcurrentReaders(t *testing.T) {
	t.Run("default", func(t *testing.T) { testConcurrentReaders(t, New) })
	t.Run("tiny", func(t *testing.T) { testConcurrentReaders(t, tinyCache) })
}

func testConcurrentReaders(t *testing.T, newTree func(Options) *Tree) {
	opts := Options{ExtendedTypes: true}
	a, b := newTree(opts), uncached(opts)
	var mu sync.RWMutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := &txnGen{src: randSource{rand.New(rand.NewPCG(uint64(w), 5))}, next: 8}
			for {
				select {
				case <-done:
					return
				default:
				}
				mu.RLock()
				op, req, sid, auth := g.read()
				ca, ra := a.Read(op, req, sid, auth)
				cb, rb := b.Read(op, req, sid, auth)
				p := g.pick(genPaths)
				sa, _, oka := a.Lookup(p)
				sb, _, okb := b.Lookup(p)
				mu.RUnlock()
				if ca != cb || !reflect.DeepEqual(ra, rb) || sa != sb || oka != okb {
					errc <- fmt.Errorf("read %v %+v / Lookup(%q) differs", op, req, p)
					return
				}
			}
		}()
	}
	g := &txnGen{src: randSource{rand.New(rand.NewPCG(11, 11))}}
	var snaps sync.WaitGroup
	for i := 1; i <= 3000 && len(errc) == 0; i++ {
		mu.Lock()
		txn := g.txn(a)
		a.Apply(int64(i), txn)
		b.Apply(int64(i), txn)
		if i%100 == 0 {
			write := a.Snapshot()
			b.Snapshot()
			snaps.Add(1)
			go func() {
				defer snaps.Done()
				write(discard{})
			}()
		}
		mu.Unlock()
	}
	close(done)
	wg.Wait()
	snaps.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	if err := checkCache(a); err != nil {
		t.Fatal(err)
	}
}

// TestPathCacheInvalidation walks through each way a node leaves its path.
func TestPathCacheInvalidation(t *testing.T) {
	tr := New(Options{ExtendedTypes: true})
	zxid := int64(0)
	apply := func(txn *Txn) Result {
		zxid++
		return mustApply(t, tr, zxid, txn)
	}
	body := func(op proto.Op, r proto.Record) *Txn {
		return &Txn{Type: op, SessionID: 1, Time: zxid, Body: proto.Marshal(nil, r)}
	}
	data := func(p string) string {
		t.Helper()
		code, rec := tr.Read(proto.OpGetData, &proto.PathWatchRequest{Path: p}, 1, nil)
		if code != proto.CodeOK {
			return code.String()
		}
		return string(rec.(*proto.GetDataResponse).Data)
	}
	want := func(p, d string) {
		t.Helper()
		for range 2 { // a miss, then a hit
			if got := data(p); got != d {
				t.Fatalf("%s: %q, want %q", p, got, d)
			}
		}
		if err := checkCache(tr); err != nil {
			t.Fatal(err)
		}
	}
	apply(sessionTxn(1))
	apply(createTxn(1, "/a", 0))
	apply(body(proto.OpCreate, &proto.CreateRequest{Path: "/a/b", Data: []byte("1"), ACL: acl.OpenUnsafe}))
	want("/a/b", "1")

	// Delete, then create again: a new node at the same path.
	apply(body(proto.OpDelete, &proto.DeleteRequest{Path: "/a/b", Version: -1}))
	want("/a/b", proto.CodeNoNode.String())
	apply(body(proto.OpCreate, &proto.CreateRequest{Path: "/a/b", Data: []byte("2"), ACL: acl.OpenUnsafe}))
	want("/a/b", "2")

	// A snapshot shares the node; the write after it clones it.
	tr.Snapshot()
	want("/a/b", "2")
	if _, owned := tr.lookup("/a/b"); owned {
		t.Fatal("node shared with a snapshot is owned")
	}
	apply(body(proto.OpSetData, &proto.SetDataRequest{Path: "/a/b", Data: []byte("3"), Version: -1}))
	want("/a/b", "3")
	if _, owned := tr.lookup("/a/b"); !owned {
		t.Fatal("cloned node is not owned")
	}

	// A multi that creates, reads through the cache, then fails: rolled back.
	multi := &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Path: "/a/c", Data: []byte("m"), ACL: acl.OpenUnsafe},
		{Type: proto.OpSetData, Path: "/a/c", Data: []byte("m2"), Version: -1},
		{Type: proto.OpDelete, Path: "/a/b", Version: -1},
		{Type: proto.OpCheck, Path: "/a/c", Version: 7},
	}}
	apply(body(proto.OpMulti, multi))
	want("/a/c", proto.CodeNoNode.String())
	want("/a/b", "3")

	// A session's ephemerals go with it.
	apply(sessionTxn(2))
	apply(&Txn{Type: proto.OpCreate, SessionID: 2, Body: proto.Marshal(nil, &proto.CreateRequest{Path: "/a/e", Data: []byte("e"), ACL: acl.OpenUnsafe, Flags: int32(proto.ModeEphemeral)})})
	want("/a/e", "e")
	apply(&Txn{Type: proto.OpCloseSession, SessionID: 2})
	want("/a/e", proto.CodeNoNode.String())

	// The reaper.
	apply(body(proto.OpCreateContainer, &proto.CreateRequest{Path: "/k", ACL: acl.OpenUnsafe, Flags: int32(proto.ModeContainer)}))
	apply(createTxn(1, "/k/x", 0))
	apply(body(proto.OpDelete, &proto.DeleteRequest{Path: "/k/x", Version: -1}))
	want("/k", "")
	apply(body(proto.OpDeleteContainer, &proto.PathRequest{Path: "/k"}))
	want("/k", proto.CodeNoNode.String())
}

// TestPathCacheHitAllocs: a hit allocates nothing, and a hit is what a repeated lookup gets.
func TestPathCacheHitAllocs(t *testing.T) {
	tr := New(Options{})
	mustApply(t, tr, 1, sessionTxn(1))
	for i, p := range []string{"/a", "/a/b", "/a/b/c", "/a/b/c/d"} {
		mustApply(t, tr, int64(i+2), createTxn(1, p, 0))
	}
	path := "/a/b/c/d"
	n := tr.find(path)
	e := tr.cache.slots[hashSlot(tr, path)].Load()
	if e == nil || e.n != n {
		t.Fatal("found node not cached")
	}
	if allocs := testing.AllocsPerRun(100, func() { tr.find(path) }); allocs != 0 {
		t.Fatalf("hit: %v allocs", allocs)
	}
	if s := unsafe.Sizeof(cacheEntry{}); s != 112 {
		t.Fatalf("cacheEntry is %d bytes, want 112 (a size class)", s)
	}
}

func hashSlot(t *Tree, path string) uint64 {
	return maphash.String(t.cache.seed, path) & t.cache.mask
}

// TestPathCacheUnlinkSubtree: the tree never unlinks a node with children today, but if it
// did, no descendant's entry may survive.
func TestPathCacheUnlinkSubtree(t *testing.T) {
	tr := New(Options{})
	mustApply(t, tr, 1, sessionTxn(1))
	mustApply(t, tr, 2, createTxn(1, "/a", 0))
	mustApply(t, tr, 3, createTxn(1, "/a/b", 0))
	if tr.find("/a/b") == nil {
		t.Fatal("no /a/b")
	}
	tr.unlink(tr.mut(""), "/a")
	if tr.find("/a/b") != nil || tr.find("/a") != nil {
		t.Fatal("unlinked subtree still found")
	}
}
