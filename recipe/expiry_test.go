package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/recipe"
	"github.com/paddock/paddock/tests/harness"
)

// The bodies of this file cut a Session off through proxies (blockAll) until it reports
// StateLost, and check what each recipe documents for connection and session loss. Each
// uses a Session with the short timeout for the side that is cut off, and a plain one for
// the side that goes on.

// cutSession opens a Session with the short timeout through proxies, and its state log.
func cutSession(t *testing.T, e *env) ([]*harness.Proxy, *recipe.Session, *stateLog) {
	ps, through := proxies(t, e.addr)
	s := session(t, through, recipe.SessionOptions{Client: client.Options{SessionTimeout: shortSession}})
	return ps, s, watchStates(s)
}

// loseSession cuts s off until it reports StateLost for the n-th time, and lets it connect
// again.
func loseSession(t *testing.T, ps []*harness.Proxy, log *stateLog, n int) {
	t.Helper()
	blockAll(ps)
	log.waitFor(t, recipe.StateLost, n)
	unblockAll(ps)
}

// watching waits until s's current session has a data or exists watch on path, as the
// server's "wchp" command lists them (child watches are not listed), so that a test cuts a
// waiter off while it waits on its watch.
func watching(t *testing.T, addr string, s *recipe.Session, path string) {
	t.Helper()
	harness.CheckFor(t, waitTime, func() error {
		c := s.Client()
		if c == nil {
			return errors.New("no session")
		}
		sid := fmt.Sprintf("0x%x", c.SessionID())
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write([]byte("wchp")); err != nil {
			return err
		}
		out, err := io.ReadAll(conn)
		if err != nil {
			return err
		}
		cur := ""
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "/") {
				cur = strings.TrimSpace(l)
			} else if cur == path && strings.TrimSpace(l) == sid {
				return nil
			}
		}
		return fmt.Errorf("session %s does not watch %s: wchp says %q", sid, path, out)
	})
}

// noChildren waits until path has no children (the ensemble has expired the sessions whose
// ephemeral nodes were there).
func noChildren(t *testing.T, c *client.Client, path string) {
	t.Helper()
	harness.CheckFor(t, waitTime, func() error {
		if kids := children(t, c, path); len(kids) != 0 {
			return fmt.Errorf("nodes %q under %s", kids, path)
		}
		return nil
	})
}

// testRWMutexLost: a writer whose connection is cut hears of it on Lost before a reader of
// another session gets the lock, and Unlock then reports ErrLockLost; likewise a reader
// before a writer. The cut-off side takes the lock again with its next session.
func testRWMutexLost(t *testing.T, e *env) {
	ps, sA, logA := cutSession(t, e)
	sB := session(t, e.addr, recipe.SessionOptions{})
	path := e.path("rw")
	a, b := recipe.NewRWMutex(sA, path), recipe.NewRWMutex(sB, path)
	c := connect(t, e.addr)

	// rounds: which of A's locks is cut off, and which of B's waits for it.
	rounds := []struct {
		name   string
		held   *recipe.Mutex
		waiter *recipe.Mutex
	}{
		{"writer, then a reader", a.WriteLock(), b.ReadLock()},
		{"reader, then a writer", a.ReadLock(), b.WriteLock()},
	}
	for n, r := range rounds {
		var x exclusive
		must(t, r.held.Lock(ctx(t)))
		x.enter(1)
		left := make(chan struct{})
		go func() {
			<-r.held.Lost()
			x.leave(1)
			close(left)
		}()
		got := make(chan error, 1)
		go func() {
			err := r.waiter.Lock(ctx(t))
			if err == nil {
				x.enter(2)
			}
			got <- err
		}()
		blockAll(ps)
		closed(t, left, r.name+": Lost() after the connection was cut")
		must(t, recv(t, got, r.name+": B's lock after A's session expired"))
		if v := x.violations.Load(); v != 0 {
			t.Errorf("%s: B held the lock before A knew it had lost it", r.name)
		}
		if err := r.held.Unlock(ctx(t)); !errors.Is(err, recipe.ErrLockLost) {
			t.Errorf("%s: Unlock after the loss = %v, want ErrLockLost", r.name, err)
		}
		if r.held.IsHeld() {
			t.Errorf("%s: IsHeld() after the loss", r.name)
		}
		unblockAll(ps)
		logA.waitFor(t, recipe.StateLost, n+1)
		logA.waitFor(t, recipe.StateReconnected, n+1)
		// A, with its new session, waits for B and then gets the lock.
		again := make(chan error, 1)
		go func() { again <- r.held.Lock(ctx(t)) }()
		harness.CheckFor(t, waitTime, func() error {
			if kids := children(t, c, path); len(kids) != 2 {
				return fmt.Errorf("%s: lock nodes %q, want B's and A's", r.name, kids)
			}
			return nil
		})
		select {
		case err := <-again:
			t.Errorf("%s: A locked (%v) while B held the lock", r.name, err)
		default:
		}
		x.leave(2)
		must(t, r.waiter.Unlock(ctx(t)))
		must(t, recv(t, again, r.name+": A's lock after B's unlock"))
		must(t, r.held.Unlock(ctx(t)))
	}
	noChildren(t, c, path)
}

// testSemaphoreLost: a lease whose connection is cut is lost (Lost, then Release reports
// ErrLockLost) before another session gets it; and a waiter whose connection is cut while
// it waits, with its session living on, does not keep the others from leases.
func testSemaphoreLost(t *testing.T, e *env) {
	ps, sA, logA := cutSession(t, e)
	sB := session(t, e.addr, recipe.SessionOptions{})
	path := e.path("sem")
	semA, semB := recipe.NewSemaphore(sA, path, 1, nil), recipe.NewSemaphore(sB, path, 1, nil)

	var x exclusive
	la, err := semA.Acquire(ctx(t), 1)
	must(t, err)
	x.enter(1)
	left := make(chan struct{})
	go func() {
		<-la[0].Lost()
		x.leave(1)
		close(left)
	}()
	got := make(chan []*recipe.Lease, 1)
	go func() {
		l, err := semB.Acquire(ctx(t), 1)
		if err != nil {
			t.Error(err)
		} else {
			x.enter(2)
		}
		got <- l
	}()
	blockAll(ps)
	closed(t, left, "Lost() after the connection was cut")
	lb := recv(t, got, "B's lease after A's session expired")
	if v := x.violations.Load(); v != 0 {
		t.Error("B held the lease before A knew it had lost it")
	}
	if err := la[0].Release(ctx(t)); !errors.Is(err, recipe.ErrLockLost) {
		t.Errorf("Release after the loss = %v, want ErrLockLost", err)
	}
	unblockAll(ps)
	logA.waitFor(t, recipe.StateReconnected, 1)
	x.leave(2)
	must(t, lb[0].Release(ctx(t)))
	la, err = semA.Acquire(ctx(t), 1)
	must(t, err)
	must(t, la[0].Release(ctx(t)))

	// A waits for the lease that B holds; its connection is cut and comes back (the session
	// lives on); a third contender waits too. Once B releases, both get the lease in turn.
	ps2, through2 := proxies(t, e.addr)
	sW := session(t, through2, recipe.SessionOptions{})
	logW := watchStates(sW)
	semW, semC := recipe.NewSemaphore(sW, path, 1, nil), recipe.NewSemaphore(session(t, e.addr, recipe.SessionOptions{}), path, 1, nil)
	lb, err = semB.Acquire(ctx(t), 1)
	must(t, err)
	c := connect(t, e.addr)
	leases := func(n int) {
		t.Helper()
		harness.CheckFor(t, waitTime, func() error {
			if kids := children(t, c, path+"/leases"); len(kids) != n {
				return fmt.Errorf("lease nodes %q, want %d", kids, n)
			}
			return nil
		})
	}
	type result struct {
		who string
		ls  []*recipe.Lease
		err error
	}
	results := make(chan result, 2)
	acquire := func(who string, sem *recipe.Semaphore) {
		l, err := sem.Acquire(ctx(t), 1)
		results <- result{who, l, err}
	}
	go acquire("W", semW)
	leases(2) // W's lease node waits behind B's, W holding the lock
	wLock := children(t, c, path+"/locks")
	blockAll(ps2)
	logW.waitFor(t, recipe.StateSuspended, 1)
	unblockAll(ps2)
	logW.waitFor(t, recipe.StateReconnected, 1)
	go acquire("C", semC)
	// Let W and C settle before B releases: W's lost lock node is gone, and W and C wait with
	// four nodes in all (a lease node and a lock node each, or, were W to keep its lease
	// node without the lock, C's lease node too).
	harness.CheckFor(t, waitTime, func() error {
		locks, leases := children(t, c, path+"/locks"), children(t, c, path+"/leases")
		if len(wLock) != 1 || slices.Contains(locks, wLock[0]) || len(locks)+len(leases) != 4 {
			return fmt.Errorf("lock nodes %q (W's lost one %q), lease nodes %q", locks, wLock, leases)
		}
		return nil
	})
	must(t, lb[0].Release(ctx(t)))
	for range 2 {
		r := recv(t, results, "a lease after B's release")
		if r.err != nil {
			t.Fatalf("%s: %v", r.who, r.err)
		}
		must(t, r.ls[0].Release(ctx(t)))
	}
}

// testBarrierLost: a waiter keeps waiting through the loss of its session, and is released
// when the barrier is removed, whether after it came back or while it was cut off.
func testBarrierLost(t *testing.T, e *env) {
	ps, sA, logA := cutSession(t, e)
	sB := session(t, e.addr, recipe.SessionOptions{})
	path := e.path("barrier")
	b := recipe.NewBarrier(sB, path)
	for n, removeWhileLost := range []bool{false, true} {
		must(t, b.Set(ctx(t)))
		released := make(chan error, 1)
		go func() { released <- recipe.NewBarrier(sA, path).Wait(ctx(t)) }()
		watching(t, e.addr, sA, path)
		blockAll(ps)
		logA.waitFor(t, recipe.StateLost, n+1)
		if removeWhileLost {
			must(t, b.Remove(ctx(t)))
		}
		unblockAll(ps)
		logA.waitFor(t, recipe.StateReconnected, n+1)
		if !removeWhileLost {
			select {
			case err := <-released:
				t.Fatalf("Wait returned (%v) while the barrier was set", err)
			default:
			}
			must(t, b.Remove(ctx(t)))
		}
		must(t, recv(t, released, "the waiter's release"))
	}
}

// testDoubleBarrierLost: a member whose session is lost while it waits in Enter, or before
// it leaves, gets ErrLockLost from Enter or Leave at once (before its Session reconnects);
// the other members are not held up by it once the ensemble has expired its session.
func testDoubleBarrierLost(t *testing.T, e *env) {
	ps, sA, logA := cutSession(t, e)
	sB := session(t, e.addr, recipe.SessionOptions{})
	c := connect(t, e.addr)
	path := e.path("double")

	// Enter: A waits for a second member; its session is lost.
	dA := recipe.NewDoubleBarrier(sA, path, 2)
	entered := make(chan error, 1)
	go func() { entered <- dA.Enter(ctx(t)) }()
	harness.CheckFor(t, waitTime, func() error {
		if kids := children(t, c, path); len(kids) != 1 {
			return fmt.Errorf("nodes %q, want A's", kids)
		}
		return nil
	})
	watching(t, e.addr, sA, path+"/ready")
	blockAll(ps)
	logA.waitFor(t, recipe.StateLost, 1)
	if err := recv(t, entered, "Enter's return after the session was lost"); !errors.Is(err, recipe.ErrLockLost) {
		t.Errorf("Enter after the session was lost = %v, want ErrLockLost", err)
	}
	unblockAll(ps)
	logA.waitFor(t, recipe.StateReconnected, 1)
	noChildren(t, c, path) // A's node went with its session (or was deleted after it)
	// A enters again, with B; both leave.
	dB := recipe.NewDoubleBarrier(sB, path, 2)
	done := make(chan error, 2)
	for _, d := range []*recipe.DoubleBarrier{dA, dB} {
		go func() {
			err := d.Enter(ctx(t))
			if err == nil {
				err = d.Leave(ctx(t))
			}
			done <- err
		}()
	}
	must(t, recv(t, done, "a member through the barrier"))
	must(t, recv(t, done, "a member through the barrier"))
	noChildren(t, c, path)

	// Leave: A and B are in; A's session is lost before A leaves.
	entered2 := make(chan error, 2)
	dA, dB = recipe.NewDoubleBarrier(sA, path, 2), recipe.NewDoubleBarrier(sB, path, 2)
	for _, d := range []*recipe.DoubleBarrier{dA, dB} {
		go func() { entered2 <- d.Enter(ctx(t)) }()
	}
	must(t, recv(t, entered2, "a member's Enter"))
	must(t, recv(t, entered2, "a member's Enter"))
	blockAll(ps)
	logA.waitFor(t, recipe.StateLost, 2)
	if err := dA.Leave(ctx(t)); !errors.Is(err, recipe.ErrLockLost) {
		t.Errorf("Leave after the session was lost = %v, want ErrLockLost", err)
	}
	// B leaves once A's node is gone: with A's expired session, or deleted after it.
	left := make(chan error, 1)
	go func() { left <- dB.Leave(ctx(t)) }()
	unblockAll(ps)
	must(t, recv(t, left, "B's Leave"))
	noChildren(t, c, path)
}

// testSharedCountLost: a count cut off keeps its last value, and reads the value set
// meanwhile by another session when it reconnects, with the same session or a new one;
// conditional updates from both sides after that neither lose nor repeat an increment.
func testSharedCountLost(t *testing.T, e *env) {
	ps, sA, logA := cutSession(t, e)
	sB := session(t, e.addr, recipe.SessionOptions{})
	path := e.path("count")
	var mu sync.Mutex
	var seenA []int32
	scA := recipe.NewSharedCount(sA, path, 1, func(v int32) {
		mu.Lock()
		seenA = append(seenA, v)
		mu.Unlock()
	})
	scB := recipe.NewSharedCount(sB, path, 1, nil)
	must(t, scA.Start(ctx(t)))
	must(t, scB.Start(ctx(t)))
	t.Cleanup(func() { scA.Close(); scB.Close() })
	countIs := func(sc *recipe.SharedCount, who string, want int32) {
		t.Helper()
		harness.CheckFor(t, waitTime, func() error {
			if v := sc.Count(); v != want {
				return fmt.Errorf("%s's count %d, want %d", who, v, want)
			}
			return nil
		})
	}
	// A connection loss: the same session comes back.
	blockAll(ps)
	logA.waitFor(t, recipe.StateSuspended, 1)
	must(t, scB.SetCount(ctx(t), 10))
	if v := scA.Count(); v != 1 {
		t.Errorf("count %d while cut off, want the last value read, 1", v)
	}
	unblockAll(ps)
	countIs(scA, "A", 10)
	// The session is lost: the next one reads the value again.
	watching(t, e.addr, sA, path)
	blockAll(ps)
	logA.waitFor(t, recipe.StateLost, 1)
	must(t, scB.SetCount(ctx(t), 20))
	unblockAll(ps)
	logA.waitFor(t, recipe.StateReconnected, 2)
	countIs(scA, "A", 20)
	mu.Lock()
	if !slices.Contains(seenA, 10) || !slices.Contains(seenA, 20) {
		t.Errorf("A's onChange saw %v, want 10 and 20 among them", seenA)
	}
	mu.Unlock()

	// Conditional increments from both sides: every one counts once.
	const per = 10
	var wg sync.WaitGroup
	for _, sc := range []*recipe.SharedCount{scA, scB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < per; {
				v, ver := sc.VersionedCount()
				ok, err := sc.TrySetCount(ctx(t), ver, v+1)
				if err != nil {
					t.Errorf("TrySetCount: %v", err)
					return
				}
				if ok {
					n++
				}
			}
		}()
	}
	wg.Wait()
	countIs(scA, "A", 20+2*per)
	countIs(scB, "B", 20+2*per)
	_, ver := scA.VersionedCount()
	if ok, err := scB.TrySetCount(ctx(t), ver-1, 0); ok || err != nil {
		t.Errorf("TrySetCount at a stale version = %v %v", ok, err)
	}
}

// testAtomicLongLost: an increment begun while the session is cut off completes once with
// the next session, increments of another session meanwhile all count, and a
// compare-and-set with the value read before the loss fails after it.
func testAtomicLongLost(t *testing.T, e *env) {
	ps, sA, logA := cutSession(t, e)
	sB := session(t, e.addr, recipe.SessionOptions{})
	path := e.path("long")
	a, b := recipe.NewAtomicLong(sA, path), recipe.NewAtomicLong(sB, path)
	must(t, a.ForceSet(ctx(t), 100))
	before, err := a.Get(ctx(t))
	must(t, err)

	blockAll(ps)
	logA.waitFor(t, recipe.StateSuspended, 1)
	type result struct{ pre, post int64 }
	incremented := make(chan result, 1)
	go func() {
		pre, post, err := a.Increment(ctx(t))
		if err != nil {
			t.Errorf("Increment across the loss: %v", err)
		}
		incremented <- result{pre, post}
	}()
	const per = 5
	for range per {
		_, _, err := b.Increment(ctx(t))
		must(t, err)
	}
	logA.waitFor(t, recipe.StateLost, 1)
	select {
	case r := <-incremented:
		t.Fatalf("Increment returned %+v while cut off", r)
	default:
	}
	unblockAll(ps)
	r := recv(t, incremented, "the increment after the new session")
	if r.pre != before+per || r.post != before+per+1 {
		t.Errorf("Increment across the loss = %d -> %d, want %d -> %d", r.pre, r.post, before+per, before+per+1)
	}
	if ok, err := a.CompareAndSet(ctx(t), before, 0); ok || err != nil {
		t.Errorf("CompareAndSet with the value read before the loss = %v %v", ok, err)
	}
	var wg sync.WaitGroup
	for _, l := range []*recipe.AtomicLong{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				if _, _, err := l.Increment(ctx(t)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if v, err := b.Get(ctx(t)); v != before+3*per+1 || err != nil {
		t.Errorf("value %d %v, want %d: an increment lost or repeated", v, err, before+3*per+1)
	}
}

// testQueueLost: a Take begun while its session is cut off, or waiting on an empty queue
// when the session is lost, gets an item with the next session; every item is taken once.
func testQueueLost(t *testing.T, e *env) {
	ps, sA, logA := cutSession(t, e)
	sB := session(t, e.addr, recipe.SessionOptions{})
	path := e.path("queue")
	qA, qB := recipe.NewQueue(sA, path), recipe.NewQueue(sB, path)
	var taken []string
	take := func(q *recipe.Queue) {
		t.Helper()
		items, err := q.Take(ctx(t))
		must(t, err)
		for _, it := range items {
			taken = append(taken, string(it))
		}
	}
	for _, it := range []string{"a", "b", "c"} {
		_, err := qB.Put(ctx(t), []byte(it))
		must(t, err)
	}
	take(qA)

	// A Take while cut off waits for the next session; B takes meanwhile.
	blockAll(ps)
	logA.waitFor(t, recipe.StateSuspended, 1)
	got := make(chan [][]byte, 1)
	go func() {
		items, err := qA.Take(ctx(t))
		if err != nil {
			t.Error(err)
		}
		got <- items
	}()
	take(qB)
	logA.waitFor(t, recipe.StateLost, 1)
	unblockAll(ps)
	for _, it := range recv(t, got, "A's item after the new session") {
		taken = append(taken, string(it))
	}

	// A Take waiting on the empty queue when the session is lost gets an item put after. (The
	// servers' "wchp" lists no child watches, so the test cannot tell whether the Take has
	// set its watch before the cut: either way, it must go on with the next session.)
	go func() {
		items, err := qA.Take(ctx(t))
		if err != nil {
			t.Error(err)
		}
		got <- items
	}()
	loseSession(t, ps, logA, 2)
	logA.waitFor(t, recipe.StateReconnected, 2)
	_, err := qB.Put(ctx(t), []byte("d"))
	must(t, err)
	for _, it := range recv(t, got, "A's item put after its session was lost") {
		taken = append(taken, string(it))
	}
	slices.Sort(taken)
	if !slices.Equal(taken, []string{"a", "b", "c", "d"}) {
		t.Errorf("items taken %q, want a, b, c and d once each", taken)
	}
	if n, err := qB.Len(ctx(t)); n != 0 || err != nil {
		t.Errorf("Len = %d %v, want an empty queue", n, err)
	}
}

// testGroupMemberLost: a member whose session is lost leaves the group as the others see it,
// and joins again with the next session, with its payload.
func testGroupMemberLost(t *testing.T, e *env) {
	ps, sA, logA := cutSession(t, e)
	sB := session(t, e.addr, recipe.SessionOptions{})
	c := connect(t, e.addr)
	path := e.path("group")
	gA := recipe.NewGroupMember(sA, path, "a", []byte("pa"))
	gB := recipe.NewGroupMember(sB, path, "b", []byte("pb"))
	must(t, gA.Start())
	must(t, gB.Start())
	t.Cleanup(func() { gA.Close(context.Background()); gB.Close(context.Background()) })
	members := func(g *recipe.GroupMember, who string, want map[string]string) {
		t.Helper()
		harness.CheckFor(t, waitTime, func() error {
			got := map[string]string{}
			for k, v := range g.Members() {
				got[k] = string(v)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("%s sees members %v, want %v", who, got, want)
			}
			return nil
		})
	}
	both := map[string]string{"a": "pa", "b": "pb"}
	members(gA, "A", both)
	members(gB, "B", both)
	// A connection loss: A's node stays, the one its session created.
	_, st0, err := c.GetData(ctx(t), path+"/a")
	must(t, err)
	blockAll(ps)
	logA.waitFor(t, recipe.StateSuspended, 1)
	unblockAll(ps)
	logA.waitFor(t, recipe.StateReconnected, 1)
	_, st, err := c.GetData(ctx(t), path+"/a")
	must(t, err)
	if st.Czxid != st0.Czxid || st.EphemeralOwner != st0.EphemeralOwner {
		t.Errorf("A's node was created again (%+v, before %+v) after a connection loss", st, st0)
	}
	// The session is lost: B sees A leave, then join again with the next session.
	blockAll(ps)
	logA.waitFor(t, recipe.StateLost, 1)
	members(gB, "B", map[string]string{"b": "pb"})
	unblockAll(ps)
	members(gB, "B", both)
	harness.CheckFor(t, waitTime, func() error {
		cur := sA.Client()
		_, st, err := c.GetData(ctx(t), path+"/a")
		if err != nil {
			return err
		}
		if cur == nil || st.EphemeralOwner != cur.SessionID() {
			return fmt.Errorf("A's node owned by 0x%x, not by A's new session", st.EphemeralOwner)
		}
		return nil
	})
	must(t, gA.SetData(ctx(t), []byte("pa2")))
	members(gB, "B", map[string]string{"a": "pa2", "b": "pb"})
	members(gA, "A", map[string]string{"a": "pa2", "b": "pb"})
}
