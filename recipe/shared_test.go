package recipe_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/recipe"
	"github.com/paddock/paddock/tests/harness"
)

func testBarrier(t *testing.T, e *env) {
	s := session(t, e.addr, recipe.SessionOptions{})
	path := e.path("barrier")
	b := recipe.NewBarrier(s, path)
	must(t, b.Wait(ctx(t))) // not set: no wait
	must(t, b.Set(ctx(t)))
	must(t, b.Set(ctx(t)))
	short, cancel := context.WithTimeout(ctx(t), 200*time.Millisecond)
	if err := recipe.NewBarrier(s, path).Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait on a set barrier = %v", err)
	}
	cancel()
	var wg sync.WaitGroup
	released := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			released <- recipe.NewBarrier(session(t, e.addr, recipe.SessionOptions{}), path).Wait(ctx(t))
		}()
	}
	must(t, b.Remove(ctx(t)))
	must(t, b.Remove(ctx(t)))
	wg.Wait()
	for range 3 {
		must(t, recv(t, released, "a waiter's release"))
	}
}

func testDoubleBarrier(t *testing.T, e *env) {
	path := e.path("double")
	const n = 3
	var entered, left atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := session(t, e.addr, recipe.SessionOptions{})
			d := recipe.NewDoubleBarrier(s, path, n)
			if i == 0 {
				// One member arrives last.
				harness.CheckFor(t, waitTime, func() error {
					if entered.Load() != n-1 {
						return fmt.Errorf("%d entering", entered.Load())
					}
					return nil
				})
			}
			entered.Add(1)
			if err := d.Enter(ctx(t)); err != nil {
				t.Error(err)
				return
			}
			if k := entered.Load(); k != n {
				t.Errorf("Enter returned with %d of %d members entering", k, n)
			}
			left.Add(1)
			if err := d.Leave(ctx(t)); err != nil {
				t.Error(err)
				return
			}
			if k := left.Load(); k != n {
				t.Errorf("Leave returned with %d of %d members leaving", k, n)
			}
		}()
	}
	wg.Wait()
	c := connect(t, e.addr)
	if kids := children(t, c, path); len(kids) != 0 {
		t.Errorf("nodes %q left in the barrier", kids)
	}
}

func testSharedCount(t *testing.T, e *env) {
	s1 := session(t, e.addr, recipe.SessionOptions{})
	s2 := session(t, e.addr, recipe.SessionOptions{})
	c := connect(t, e.addr)
	path := e.path("count")
	seen := make(chan int32, 16)
	sc1 := recipe.NewSharedCount(s1, path, 7, nil)
	sc2 := recipe.NewSharedCount(s2, path, 9, func(v int32) { seen <- v })
	must(t, sc1.Start(ctx(t)))
	must(t, sc2.Start(ctx(t)))
	t.Cleanup(func() { sc1.Close(); sc2.Close() })
	if sc2.Count() != 7 || recv(t, seen, "the first value") != 7 {
		t.Errorf("second count = %d, want the first one's seed 7", sc2.Count())
	}
	must(t, sc1.SetCount(ctx(t), -5))
	if v := recv(t, seen, "a change"); v != -5 {
		t.Errorf("change seen as %d", v)
	}
	data, _, err := c.GetData(ctx(t), path)
	must(t, err)
	if !bytes.Equal(data, []byte{0xff, 0xff, 0xff, 0xfb}) {
		t.Errorf("count node holds %x, want 4 bytes big-endian", data)
	}
	v, ver := sc2.VersionedCount()
	ok, err := sc2.TrySetCount(ctx(t), ver, v+1)
	if !ok || err != nil {
		t.Errorf("TrySetCount at the current version = %v %v", ok, err)
	}
	ok, err = sc1.TrySetCount(ctx(t), ver, 100)
	if ok || err != nil {
		t.Errorf("TrySetCount at a stale version = %v %v", ok, err)
	}
	harness.CheckFor(t, waitTime, func() error {
		if a, b := sc1.Count(), sc2.Count(); a != -4 || b != -4 {
			return fmt.Errorf("counts %d and %d, want -4", a, b)
		}
		return nil
	})
}

func testAtomicLong(t *testing.T, e *env) {
	s1 := session(t, e.addr, recipe.SessionOptions{})
	s2 := session(t, e.addr, recipe.SessionOptions{})
	c := connect(t, e.addr)
	path := e.path("long")
	a := recipe.NewAtomicLong(s1, path)
	if v, err := a.Get(ctx(t)); v != 0 || err != nil {
		t.Errorf("Get of a missing node = %d %v", v, err)
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := recipe.NewAtomicLong([]*recipe.Session{s1, s2}[g%2], path)
			for range 10 {
				if _, _, err := l.Increment(ctx(t)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if v, err := a.Get(ctx(t)); v != 60 || err != nil {
		t.Errorf("after 60 increments: %d %v", v, err)
	}
	data, _, err := c.GetData(ctx(t), path)
	must(t, err)
	if !bytes.Equal(data, binary.BigEndian.AppendUint64(nil, 60)) {
		t.Errorf("long node holds %x, want 8 bytes big-endian", data)
	}
	if ok, err := a.CompareAndSet(ctx(t), 59, 1); ok || err != nil {
		t.Errorf("CompareAndSet with a wrong expectation = %v %v", ok, err)
	}
	if ok, err := a.CompareAndSet(ctx(t), 60, -1); !ok || err != nil {
		t.Errorf("CompareAndSet = %v %v", ok, err)
	}
	if pre, post, err := a.Add(ctx(t), 10); pre != -1 || post != 9 || err != nil {
		t.Errorf("Add = %d %d %v", pre, post, err)
	}
	if ok, err := a.Initialize(ctx(t), 5); ok || err != nil {
		t.Errorf("Initialize of an existing node = %v %v", ok, err)
	}
	must(t, a.ForceSet(ctx(t), 42))
	if pre, err := a.Set(ctx(t), 43); pre != 42 || err != nil {
		t.Errorf("Set = %d %v", pre, err)
	}
	b := recipe.NewAtomicLong(s2, path+"-new")
	if ok, err := b.Initialize(ctx(t), 5); !ok || err != nil {
		t.Errorf("Initialize = %v %v", ok, err)
	}
	if _, post, err := b.Decrement(ctx(t)); post != 4 || err != nil {
		t.Errorf("Decrement = %d %v", post, err)
	}
}

func TestQueueItems(t *testing.T) {
	items := [][]byte{[]byte("a"), {}, []byte("xyz")}
	enc := recipe.EncodeQueueItems(items)
	want := []byte{0, 1, 0, 1, 1, 0, 0, 0, 1, 'a', 1, 0, 0, 0, 0, 1, 0, 0, 0, 3, 'x', 'y', 'z', 2}
	if !bytes.Equal(enc, want) {
		t.Errorf("EncodeQueueItems = %v, want %v", enc, want)
	}
	dec, err := recipe.DecodeQueueItems(enc)
	if err != nil || len(dec) != 3 || string(dec[2]) != "xyz" || len(dec[1]) != 0 {
		t.Errorf("DecodeQueueItems = %q %v", dec, err)
	}
	for _, bad := range [][]byte{nil, {0, 1, 0, 2, 2}, {0, 1, 0, 1}, {0, 1, 0, 1, 1, 0, 0, 0, 9, 'a', 2}, {0, 1, 0, 1, 3}} {
		if _, err := recipe.DecodeQueueItems(bad); !errors.Is(err, recipe.ErrCorrupt) {
			t.Errorf("DecodeQueueItems(%v) = %v", bad, err)
		}
	}
}

func FuzzQueueItems(f *testing.F) {
	f.Add(recipe.EncodeQueueItems([][]byte{[]byte("a"), []byte("bc")}))
	f.Add([]byte{0, 1, 0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := recipe.DecodeQueueItems(b)
		if err != nil {
			return
		}
		again, err := recipe.DecodeQueueItems(recipe.EncodeQueueItems(items))
		if err != nil || len(again) != len(items) {
			t.Fatalf("re-encoding %q: %q %v", items, again, err)
		}
	})
}

func testQueue(t *testing.T, e *env) {
	s1 := session(t, e.addr, recipe.SessionOptions{})
	s2 := session(t, e.addr, recipe.SessionOptions{})
	c := connect(t, e.addr)
	path := e.path("queue")
	q1, q2 := recipe.NewQueue(s1, path), recipe.NewQueue(s2, path)
	p, err := q1.Put(ctx(t), []byte("first"))
	must(t, err)
	data, _, err := c.GetData(ctx(t), p)
	must(t, err)
	if nodeOf(p) != "queue-0000000000" || !bytes.Equal(data, recipe.EncodeQueueItems([][]byte{[]byte("first")})) {
		t.Errorf("queue node %s holds %x", p, data)
	}
	_, err = q1.Put(ctx(t), []byte("second"), []byte("third"))
	must(t, err)
	if n, err := q2.Len(ctx(t)); n != 2 || err != nil {
		t.Errorf("Len = %d %v", n, err)
	}
	if items, err := q2.Take(ctx(t)); err != nil || len(items) != 1 || string(items[0]) != "first" {
		t.Errorf("Take = %q %v", items, err)
	}
	if items, err := q2.Take(ctx(t)); err != nil || len(items) != 2 || string(items[1]) != "third" {
		t.Errorf("Take of a multi-item node = %q %v", items, err)
	}

	// Producers and consumers: every item is taken once.
	const per = 15
	var mu sync.Mutex
	var taken []string
	var wg sync.WaitGroup
	cctx, stop := context.WithCancel(ctx(t))
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := recipe.NewQueue([]*recipe.Session{s1, s2}[g%2], path)
			for {
				items, err := q.Take(cctx)
				if err != nil {
					return
				}
				mu.Lock()
				for _, it := range items {
					taken = append(taken, string(it))
				}
				mu.Unlock()
			}
		}()
	}
	for g := range 2 {
		q := []*recipe.Queue{q1, q2}[g]
		for i := range per {
			if _, err := q.Put(ctx(t), fmt.Appendf(nil, "%d-%d", g, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	harness.CheckFor(t, waitTime, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(taken) < 2*per {
			return fmt.Errorf("%d items taken", len(taken))
		}
		return nil
	})
	stop()
	wg.Wait()
	slices.Sort(taken)
	if len(slices.Compact(taken)) != 2*per {
		t.Errorf("items taken %q, want each of %d once", taken, 2*per)
	}
}

func nodeOf(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

var protectedSeq = regexp.MustCompile(`^_c_[0-9a-f-]{36}-node-[0-9]{10}$`)

func testTreeCache(t *testing.T, e *env) {
	ps, through := proxies(t, e.addr)
	s := session(t, through, recipe.SessionOptions{Client: client.Options{SessionTimeout: shortSession}})
	log := watchStates(s)
	c := connect(t, e.addr)
	path := e.path("tree")
	_, err := c.Create(ctx(t), e.root, nil, client.ModePersistent, nil)
	must(t, err)
	_, err = c.Create(ctx(t), path, []byte("root"), client.ModePersistent, nil)
	must(t, err)
	_, err = c.Create(ctx(t), path+"/a", []byte("a"), client.ModePersistent, nil)
	must(t, err)
	var mu sync.Mutex
	var events []string
	tc := recipe.NewTreeCache(s, path, func(ev recipe.CacheEvent) {
		mu.Lock()
		defer mu.Unlock()
		switch ev.Type {
		case recipe.CacheNodeDeleted:
			events = append(events, fmt.Sprint(ev.Type, " ", ev.Old.Path))
		case recipe.CacheInitialized:
			events = append(events, ev.Type.String())
		default:
			events = append(events, fmt.Sprint(ev.Type, " ", ev.New.Path, " ", string(ev.New.Data)))
		}
	})
	must(t, tc.Start())
	t.Cleanup(func() { tc.Close() })
	closed(t, tc.Initialized(), "the first load")
	want := func(what string, cond func() error) {
		t.Helper()
		harness.CheckFor(t, waitTime, func() error {
			if err := cond(); err != nil {
				mu.Lock()
				defer mu.Unlock()
				return fmt.Errorf("%s: %v; events %q", what, err, events)
			}
			return nil
		})
	}
	has := func(p, data string) func() error {
		return func() error {
			d, ok := tc.Get(p)
			if !ok || string(d.Data) != data {
				return fmt.Errorf("%s cached as %q (%v), want %q", p, d.Data, ok, data)
			}
			return nil
		}
	}
	gone := func(p string) func() error {
		return func() error {
			if _, ok := tc.Get(p); ok {
				return fmt.Errorf("%s still cached", p)
			}
			return nil
		}
	}
	want("first load", has(path+"/a", "a"))
	_, err = c.Create(ctx(t), path+"/a/b", []byte("b"), client.ModePersistent, nil)
	must(t, err)
	want("a created grandchild", has(path+"/a/b", "b"))
	_, err = c.SetData(ctx(t), path+"/a", []byte("a2"), client.AnyVersion)
	must(t, err)
	want("a change", has(path+"/a", "a2"))
	if kids := tc.Children(path); !slices.Equal(kids, []string{"a"}) {
		t.Errorf("Children = %q", kids)
	}
	must(t, c.Delete(ctx(t), path+"/a/b", client.AnyVersion))
	want("a deletion", gone(path+"/a/b"))

	// What changes while the session is lost is picked up by the reload.
	blockAll(ps)
	log.waitFor(t, recipe.StateLost, 1)
	_, err = c.Create(ctx(t), path+"/c", []byte("c"), client.ModePersistent, nil)
	must(t, err)
	must(t, c.Delete(ctx(t), path+"/a", client.AnyVersion))
	unblockAll(ps)
	want("changes made while lost", func() error {
		if err := has(path+"/c", "c")(); err != nil {
			return err
		}
		return gone(path + "/a")()
	})
	_, err = c.Create(ctx(t), path+"/d", nil, client.ModePersistent, nil)
	must(t, err)
	want("a creation after the new session", has(path+"/d", ""))
	if n := len(tc.Nodes()); n != 3 {
		t.Errorf("Nodes() has %d nodes, want 3", n)
	}
	mu.Lock()
	if events[0] != "NODE_CREATED "+path+" root" || !slices.Contains(events, "INITIALIZED") ||
		!slices.Contains(events, "NODE_CHANGED "+path+"/a a2") || !slices.Contains(events, "NODE_DELETED "+path+"/a/b") {
		t.Errorf("events %q", events)
	}
	mu.Unlock()
}

func testPersistentNode(t *testing.T, e *env) {
	ps, through := proxies(t, e.addr)
	s := session(t, through, recipe.SessionOptions{Client: client.Options{SessionTimeout: shortSession}})
	log := watchStates(s)
	c := connect(t, e.addr)
	path := e.path("pn/node")
	n := recipe.NewPersistentNode(s, path, client.ModeEphemeral, false, []byte("v1"))
	must(t, n.Start())
	must(t, n.WaitForInitialCreate(ctx(t)))
	owned := func(want string) func() error {
		return func() error {
			cur := s.Client()
			data, st, err := c.GetData(ctx(t), path)
			if err != nil {
				return err
			}
			if cur == nil || st.EphemeralOwner != cur.SessionID() || string(data) != want {
				return fmt.Errorf("node %q owned by 0x%x, want %q by the current session", data, st.EphemeralOwner, want)
			}
			return nil
		}
	}
	harness.CheckFor(t, waitTime, owned("v1"))
	// Deleted by someone else: created again.
	must(t, c.Delete(ctx(t), path, client.AnyVersion))
	harness.CheckFor(t, waitTime, owned("v1"))
	must(t, n.SetData(ctx(t), []byte("v2")))
	// The session is lost: created again by the next one.
	blockAll(ps)
	log.waitFor(t, recipe.StateLost, 1)
	unblockAll(ps)
	// Until the next session is established, Client is the lost one, and its node (which the
	// server may not have expired yet) would pass for the re-created one.
	log.waitFor(t, recipe.StateReconnected, 1)
	harness.CheckFor(t, waitTime, owned("v2"))
	must(t, n.Close(ctx(t)))
	if ok, _, err := c.Exists(ctx(t), path); ok || err != nil {
		t.Errorf("node exists after Close: %v %v", ok, err)
	}

	// A protected sequential node.
	seq := recipe.NewPersistentNode(s, path+"-", client.ModeEphemeralSequential, true, nil)
	must(t, seq.Start())
	must(t, seq.WaitForInitialCreate(ctx(t)))
	harness.CheckFor(t, waitTime, func() error {
		if p := seq.ActualPath(); !protectedSeq.MatchString(nodeOf(p)) {
			return fmt.Errorf("sequential node %q", p)
		}
		return nil
	})
	must(t, seq.Close(ctx(t)))
}

func testGroupMember(t *testing.T, e *env) {
	path := e.path("group")
	s1 := session(t, e.addr, recipe.SessionOptions{})
	s2 := session(t, e.addr, recipe.SessionOptions{})
	g1 := recipe.NewGroupMember(s1, path, "one", []byte("p1"))
	g2 := recipe.NewGroupMember(s2, path, "two", []byte("p2"))
	must(t, g1.Start())
	must(t, g2.Start())
	members := func(g *recipe.GroupMember, want map[string]string) func() error {
		return func() error {
			got := map[string]string{}
			for k, v := range g.Members() {
				got[k] = string(v)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("members %v, want %v", got, want)
			}
			return nil
		}
	}
	harness.CheckFor(t, waitTime, members(g1, map[string]string{"one": "p1", "two": "p2"}))
	must(t, g2.SetData(ctx(t), []byte("p2b")))
	harness.CheckFor(t, waitTime, members(g1, map[string]string{"one": "p1", "two": "p2b"}))
	must(t, g2.Close(ctx(t)))
	harness.CheckFor(t, waitTime, members(g1, map[string]string{"one": "p1"}))
	must(t, g1.Close(ctx(t)))
}
