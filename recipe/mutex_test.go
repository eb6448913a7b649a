package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/recipe"
	"github.com/paddock/paddock/tests/harness"
)

var lockNodeName = regexp.MustCompile(`^_c_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-lock-[0-9]{10}$`)

func testSession(t *testing.T, e *env) {
	s := session(t, e.addr, recipe.SessionOptions{})
	if st := s.State(); st != recipe.StateConnected {
		t.Fatalf("State() = %v after NewSession", st)
	}
	if s.Client() == nil {
		t.Fatal("Client() = nil")
	}

	// The ensemble expires the session: while it is cut off, another client takes it over
	// and closes it; the Session hears of it when it reconnects.
	ps, through := proxies(t, e.addr)
	s1 := session(t, through, recipe.SessionOptions{})
	log := watchStates(s1)
	first := s1.Client()
	sid := first.SessionID()
	blockAll(ps)
	log.waitFor(t, recipe.StateSuspended, 1)
	thief, err := client.Connect(ctx(t), e.addr, client.Options{SessionID: sid, Password: first.Password()})
	must(t, err)
	must(t, thief.Close())
	unblockAll(ps)
	log.waitFor(t, recipe.StateLost, 1)
	log.waitFor(t, recipe.StateReconnected, 1)
	harness.CheckFor(t, waitTime, func() error {
		c := s1.Client()
		if c == nil || c.SessionID() == sid {
			return fmt.Errorf("no new session yet")
		}
		return nil
	})
	if _, _, err := s1.Client().Exists(ctx(t), "/"); err != nil {
		t.Fatalf("the new session does not work: %v", err)
	}

	// The session is cut off for longer than its timeout: the Session declares it lost
	// itself, and gets a new one once the servers can be reached again.
	s2 := session(t, through, recipe.SessionOptions{Client: client.Options{SessionTimeout: shortSession}})
	log2 := watchStates(s2)
	sid2 := s2.Client().SessionID()
	blockAll(ps)
	log2.waitFor(t, recipe.StateSuspended, 1)
	log2.waitFor(t, recipe.StateLost, 1)
	if c := s2.Client(); c != nil {
		t.Errorf("Client() = %v while the new session is not established", c)
	}
	unblockAll(ps)
	log2.waitFor(t, recipe.StateReconnected, 1)
	if c := s2.Client(); c == nil || c.SessionID() == sid2 {
		t.Errorf("after StateReconnected following StateLost: client %v, want a new session", c)
	}

	// Close ends the session.
	must(t, s2.Close())
	if st := s2.State(); st != recipe.StateClosed {
		t.Errorf("State() = %v after Close", st)
	}
	m := recipe.NewMutex(s2, e.path("closed"))
	if err := m.Lock(ctx(t)); !errors.Is(err, recipe.ErrClosed) {
		t.Errorf("Lock on a closed session = %v, want ErrClosed", err)
	}
}

func testMutex(t *testing.T, e *env) {
	s1 := session(t, e.addr, recipe.SessionOptions{DefaultData: []byte("s1")})
	s2 := session(t, e.addr, recipe.SessionOptions{})
	c := connect(t, e.addr)
	path := e.path("lock")

	m1 := recipe.NewMutex(s1, path)
	must(t, m1.Lock(ctx(t)))
	if !m1.IsHeld() {
		t.Error("IsHeld() = false after Lock")
	}
	kids := children(t, c, path)
	if len(kids) != 1 || !lockNodeName.MatchString(kids[0]) || m1.Node() != path+"/"+kids[0] {
		t.Fatalf("lock nodes %q, Node() %q; want one protected lock- node", kids, m1.Node())
	}
	data, st, err := c.GetData(ctx(t), path+"/"+kids[0])
	must(t, err)
	if string(data) != "s1" || st.EphemeralOwner != s1.Client().SessionID() {
		t.Errorf("lock node data %q owner 0x%x; want the session's default data, ephemeral", data, st.EphemeralOwner)
	}
	select {
	case <-m1.Lost():
		t.Error("Lost() closed while held")
	default:
	}

	// TryLock fails while the lock is held, and leaves no node.
	m2 := recipe.NewMutex(s2, path)
	if ok, err := m2.TryLock(ctx(t)); ok || err != nil {
		t.Errorf("TryLock while held = %v %v", ok, err)
	}
	// A Lock whose context ends gives up and leaves no node.
	short, cancel := context.WithTimeout(ctx(t), 200*time.Millisecond)
	err = m2.Lock(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock while held with a short context = %v", err)
	}
	harness.CheckFor(t, waitTime, func() error {
		if kids := children(t, c, path); len(kids) != 1 {
			return fmt.Errorf("lock nodes %q, want only the holder's", kids)
		}
		return nil
	})

	// A waiter is a participant after the holder.
	waiting := make(chan error, 1)
	go func() { waiting <- m2.Lock(ctx(t)) }()
	harness.CheckFor(t, waitTime, func() error {
		ps, err := m1.Participants(ctx(t))
		if err != nil {
			return err
		}
		if len(ps) != 2 || ps[0] != m1.Node() {
			return fmt.Errorf("participants %q, want the holder %s first and a waiter", ps, m1.Node())
		}
		return nil
	})
	must(t, m1.Unlock(ctx(t)))
	if err := m1.Unlock(ctx(t)); !errors.Is(err, recipe.ErrNotHeld) {
		t.Errorf("second Unlock = %v, want ErrNotHeld", err)
	}
	must(t, recv(t, waiting, "lock after the holder's unlock"))
	must(t, m2.Unlock(ctx(t)))
	if kids := children(t, c, path); len(kids) != 0 {
		t.Errorf("lock nodes %q after every unlock", kids)
	}

	// Contention: goroutines with their own Mutex on two sessions, and goroutines sharing one.
	var x exclusive
	var wg sync.WaitGroup
	const rounds = 5
	shared := recipe.NewMutex(s1, path)
	for g := 1; g <= 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m *recipe.Mutex
			switch {
			case g <= 2:
				m = shared
			case g%2 == 0:
				m = recipe.NewMutex(s1, path)
			default:
				m = recipe.NewMutex(s2, path)
			}
			for range rounds {
				if err := m.Lock(ctx(t)); err != nil {
					t.Error(err)
					return
				}
				x.enter(int64(g))
				time.Sleep(time.Millisecond) // hold it a moment, for overlaps to show
				x.leave(int64(g))
				if err := m.Unlock(ctx(t)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if v, n := x.violations.Load(), x.entries.Load(); v != 0 || n != 8*rounds {
		t.Errorf("%d holds, %d of them overlapping another; want %d, none", n, v, 8*rounds)
	}
}

func testMutexLost(t *testing.T, e *env) {
	ps, through := proxies(t, e.addr)
	sA := session(t, through, recipe.SessionOptions{Client: client.Options{SessionTimeout: shortSession}})
	sB := session(t, e.addr, recipe.SessionOptions{})
	logA := watchStates(sA)
	path := e.path("lock")
	mA := recipe.NewMutex(sA, path)
	mB := recipe.NewMutex(sB, path)

	var x exclusive
	must(t, mA.Lock(ctx(t)))
	x.enter(1)
	left := make(chan struct{})
	go func() {
		<-mA.Lost()
		x.leave(1)
		close(left)
	}()
	got := make(chan error, 1)
	go func() {
		err := mB.Lock(ctx(t))
		if err == nil {
			x.enter(2)
		}
		got <- err
	}()
	blockAll(ps)
	closed(t, left, "Lost() after the connection was cut")
	must(t, recv(t, got, "B's lock after A's session expired"))
	if v := x.violations.Load(); v != 0 {
		t.Errorf("B held the lock before A knew it had lost it")
	}
	if err := mA.Unlock(ctx(t)); !errors.Is(err, recipe.ErrLockLost) {
		t.Errorf("Unlock after the loss = %v, want ErrLockLost", err)
	}
	unblockAll(ps)
	logA.waitFor(t, recipe.StateLost, 1)
	logA.waitFor(t, recipe.StateReconnected, 1)
	x.leave(2)
	must(t, mB.Unlock(ctx(t)))
	must(t, mA.Lock(ctx(t)))
	must(t, mA.Unlock(ctx(t)))

	// Under SessionErrorPolicy a connection loss alone does not end the hold.
	ps2, through2 := proxies(t, e.addr)
	sC := session(t, through2, recipe.SessionOptions{ErrorPolicy: recipe.SessionErrorPolicy})
	logC := watchStates(sC)
	mC := recipe.NewMutex(sC, path)
	must(t, mC.Lock(ctx(t)))
	ps2[0].Block()
	logC.waitFor(t, recipe.StateSuspended, 1)
	ps2[0].Unblock()
	logC.waitFor(t, recipe.StateReconnected, 1)
	select {
	case <-mC.Lost():
		t.Error("hold lost on a connection loss under SessionErrorPolicy")
	default:
	}
	kids := children(t, connect(t, e.addr), path)
	if !slices.Contains(kids, mC.Node()[len(path)+1:]) {
		t.Errorf("lock nodes %q lack the holder's %s", kids, mC.Node())
	}
	must(t, mC.Unlock(ctx(t)))
}
