package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/tests/harness"
)

func testChroot(t *testing.T, e *env) {
	plain := connect(t, e.addr, client.Options{})
	r := root(t, plain, "chroot")
	c := connect(t, e.addr+r, client.Options{})

	p, err := c.Create(ctx(t), "/x", []byte("x"), client.ModePersistent, nil)
	if err != nil || p != "/x" {
		t.Fatalf("Create in chroot = %q %v", p, err)
	}
	if d, _, err := plain.GetData(ctx(t), r+"/x"); err != nil || string(d) != "x" {
		t.Errorf("node created in the chroot: %q %v", d, err)
	}
	p, err = c.Create(ctx(t), "/x/s-", nil, client.ModeEphemeralSequential, nil)
	must(t, err)
	if len(p) != len("/x/s-")+10 || !seqSuffix.MatchString(p[len("/x/s-"):]) {
		t.Errorf("sequential create in chroot = %q", p)
	}
	kids, err := c.GetChildren(ctx(t), "/")
	if err != nil || !slices.Equal(kids, []string{"x"}) {
		t.Errorf("GetChildren(/) in chroot = %q %v", kids, err)
	}
	eph, err := c.GetEphemerals(ctx(t), "/")
	if err != nil || !slices.Equal(eph, []string{p}) {
		t.Errorf("GetEphemerals(/) in chroot = %q %v, want [%s]", eph, err, p)
	}

	_, _, ch, err := c.GetDataW(ctx(t), "/x")
	must(t, err)
	_, _, rootCh, err := c.GetDataW(ctx(t), "/")
	must(t, err)
	rw, err := c.AddWatch(ctx(t), "/", client.AddWatchPersistentRecursive)
	must(t, err)
	_, err = plain.SetData(ctx(t), r+"/x", []byte("y"), client.AnyVersion)
	must(t, err)
	wantEvent(t, ch, client.EventNodeDataChanged, "/x")
	wantEvent(t, rw.Events(), client.EventNodeDataChanged, "/x")
	_, err = plain.SetData(ctx(t), r, []byte("y"), client.AnyVersion)
	must(t, err)
	wantEvent(t, rootCh, client.EventNodeDataChanged, "/")
	wantEvent(t, rw.Events(), client.EventNodeDataChanged, "/")

	res, err := c.Multi(ctx(t), client.CreateOp("/m", nil, client.ModePersistent, nil), client.SetDataOp("/x", nil, client.AnyVersion))
	if err != nil || res[0].Path != "/m" {
		t.Errorf("Multi in chroot = %+v %v", res, err)
	}
	rr, err := c.MultiRead(ctx(t), client.GetChildrenOp("/"))
	if err != nil || len(rr) != 1 || len(rr[0].Children) != 2 {
		t.Errorf("MultiRead in chroot = %+v %v", rr, err)
	}
	must(t, c.Sync(ctx(t), "/"))
	must(t, c.Delete(ctx(t), "/m", client.AnyVersion))
	if ok, _, _ := plain.Exists(ctx(t), r+"/m"); ok {
		t.Error("Delete in chroot left the node")
	}
	// The configuration node is outside every chroot.
	if _, _, err := c.GetConfig(ctx(t)); err != nil {
		t.Errorf("GetConfig in chroot: %v", err)
	}
}

func testAuth(t *testing.T, e *env) {
	owner := connect(t, e.addr, client.Options{})
	r := root(t, owner, "auth")
	must(t, owner.AddAuth(ctx(t), "digest", []byte("alice:pw")))
	who, err := owner.WhoAmI(ctx(t))
	must(t, err)
	if !slices.Contains(who, client.ClientInfo{AuthScheme: "digest", User: "alice"}) {
		t.Errorf("WhoAmI after digest auth = %+v", who)
	}
	_, err = owner.Create(ctx(t), r+"/secret", []byte("s"), client.ModePersistent, client.DigestACL(client.PermAll, "alice", "pw"))
	must(t, err)
	_, err = owner.Create(ctx(t), r+"/mine", []byte("m"), client.ModePersistent, client.AuthACL(client.PermAll))
	must(t, err)
	acl, _, err := owner.GetACL(ctx(t), r+"/mine")
	if err != nil || len(acl) != 1 || acl[0].Scheme != "digest" || acl[0].ID != client.DigestID("alice", "pw") {
		t.Errorf("auth ACL became %+v %v, want alice's digest", acl, err)
	}

	stranger := connect(t, e.addr, client.Options{})
	_, _, err = stranger.GetData(ctx(t), r+"/secret")
	wantErr(t, "getData without credentials", err, client.ErrNoAuth)
	_, err = stranger.SetData(ctx(t), r+"/mine", nil, client.AnyVersion)
	wantErr(t, "setData without credentials", err, client.ErrNoAuth)
	_, err = stranger.Create(ctx(t), r+"/secret/x", nil, client.ModePersistent, nil)
	wantErr(t, "create without credentials", err, client.ErrNoAuth)
	must(t, stranger.AddAuth(ctx(t), "digest", []byte("alice:wrong")))
	_, _, err = stranger.GetData(ctx(t), r+"/secret")
	wantErr(t, "getData with a wrong password", err, client.ErrNoAuth)
	must(t, stranger.AddAuth(ctx(t), "digest", []byte("super:"+superPassword)))
	if d, _, err := stranger.GetData(ctx(t), r+"/secret"); err != nil || string(d) != "s" {
		t.Errorf("getData as super = %q %v", d, err)
	}

	// Credentials given at Connect come before any request.
	alice := connect(t, e.addr, client.Options{Credentials: []client.Credential{{Scheme: "digest", Auth: []byte("alice:pw")}}})
	if d, _, err := alice.GetData(ctx(t), r+"/secret"); err != nil || string(d) != "s" {
		t.Errorf("getData with Options.Credentials = %q %v", d, err)
	}
}

func testAuthFailed(t *testing.T, e *env) {
	c := connect(t, e.addr, client.Options{})
	sid := c.SessionID()
	nextState(t, c) // Connected
	wantErr(t, "auth with an unknown scheme", c.AddAuth(ctx(t), "no-such-scheme", []byte("x")), client.ErrAuthFailed)
	ev := waitState(t, c, client.StateAuthFailed)
	if !errors.Is(ev.Err, client.ErrAuthFailed) {
		t.Errorf("AuthFailed event %v", ev)
	}
	// The server closes the connection after a failed auth; the session goes on.
	ev = waitState(t, c, client.StateReconnected)
	if ev.SessionID != sid {
		t.Errorf("reconnected to session %x, want %x", ev.SessionID, sid)
	}
	r := root(t, c, "authfailed")
	if ok, _, err := c.Exists(ctx(t), r); err != nil || !ok {
		t.Errorf("client unusable after a failed auth: %v %v", ok, err)
	}
}

// testReconnect takes a client's connection away (the server and the session stay), changes
// what its watches look at meanwhile, and checks that after the reconnect the session, its
// ephemeral node, its credentials and its watches are intact, and no change was missed.
func testReconnect(t *testing.T, e *env) {
	p := harness.NewProxy(t, e.addr)
	c := connect(t, p.Addr(), client.Options{Credentials: []client.Credential{{Scheme: "digest", Auth: []byte("bob:pw")}}})
	w := connect(t, e.addr, client.Options{})
	r := root(t, w, "reconnect")
	sid := c.SessionID()
	nextState(t, c) // Connected

	_, err := c.Create(ctx(t), r+"/eph", nil, client.ModeEphemeral, nil)
	must(t, err)
	_, err = c.Create(ctx(t), r+"/bob", []byte("b"), client.ModePersistent, client.DigestACL(client.PermAll, "bob", "pw"))
	must(t, err)
	_, err = w.Create(ctx(t), r+"/n", nil, client.ModePersistent, nil)
	must(t, err)
	_, _, dataCh, err := c.GetDataW(ctx(t), r+"/n")
	must(t, err)
	_, childCh, err := c.GetChildrenW(ctx(t), r+"/n")
	must(t, err)
	_, _, existCh, err := c.ExistsW(ctx(t), r+"/m")
	must(t, err)
	_, _, quietCh, err := c.GetDataW(ctx(t), r+"/eph") // nothing changes it
	must(t, err)
	rw, err := c.AddWatch(ctx(t), r, client.AddWatchPersistentRecursive)
	must(t, err)

	p.Block()
	ev := waitState(t, c, client.StateDisconnected)
	if ev.SessionID != sid || ev.Err == nil {
		t.Errorf("Disconnected event %v", ev)
	}
	if c.State() != client.StateDisconnected || c.Server() != "" {
		t.Errorf("while disconnected: state %v, server %q", c.State(), c.Server())
	}
	// A call made while disconnected waits for the next connection.
	queued := make(chan error, 1)
	go func() {
		_, err := c.Create(ctx(t), r+"/queued", nil, client.ModePersistent, nil)
		queued <- err
	}()
	_, err = w.SetData(ctx(t), r+"/n", []byte("changed"), client.AnyVersion)
	must(t, err)
	_, err = w.Create(ctx(t), r+"/n/k", nil, client.ModePersistent, nil)
	must(t, err)
	_, err = w.Create(ctx(t), r+"/m", nil, client.ModePersistent, nil)
	must(t, err)
	p.Unblock()

	ev = waitState(t, c, client.StateReconnected)
	if ev.SessionID != sid || c.SessionID() != sid {
		t.Errorf("Reconnected event %v, want session %x", ev, sid)
	}
	must(t, <-queued)
	wantEvent(t, dataCh, client.EventNodeDataChanged, r+"/n")
	wantEvent(t, childCh, client.EventNodeChildrenChanged, r+"/n")
	wantEvent(t, existCh, client.EventNodeCreated, r+"/m")
	if ev, ok := ready(quietCh); ok {
		t.Errorf("a watch on an unchanged node fired: %+v", ev)
	}
	// The persistent watch is set again. What it missed is not replayed (the creation of
	// /n/k); it only shares the events the one-shot watches fire at reconnect.
	_, err = w.Create(ctx(t), r+"/after", nil, client.ModePersistent, nil)
	must(t, err)
	for {
		ev := nextEvent(t, rw.Events())
		if ev.Path == r+"/n/k" {
			t.Errorf("recursive watch got a change made while disconnected: %+v", ev)
		}
		if ev.Path == r+"/after" {
			break
		}
	}

	_, st, err := w.Exists(ctx(t), r+"/eph")
	if err != nil || st.EphemeralOwner != sid {
		t.Errorf("ephemeral after reconnect: owner %x %v, want %x", st.EphemeralOwner, err, sid)
	}
	if d, _, err := c.GetData(ctx(t), r+"/bob"); err != nil || string(d) != "b" {
		t.Errorf("credentials lost in the reconnect: %q %v", d, err)
	}
	if c.LastZxid() == 0 {
		t.Error("LastZxid is 0")
	}
}

// testExpiry ends a client's session behind its back (another client takes the session over
// and closes it) and checks what the client reports when it comes back.
func testExpiry(t *testing.T, e *env) {
	p := harness.NewProxy(t, e.addr)
	var hooked []client.Event
	var hookMu sync.Mutex
	c, err := client.Connect(ctx(t), p.Addr(), client.Options{OnEvent: func(ev client.Event) {
		hookMu.Lock()
		hooked = append(hooked, ev)
		hookMu.Unlock()
	}})
	must(t, err)
	t.Cleanup(func() { c.Close() })
	w := connect(t, e.addr, client.Options{})
	r := root(t, w, "expiry")
	_, err = c.Create(ctx(t), r+"/eph", nil, client.ModeEphemeral, nil)
	must(t, err)
	_, _, ch, err := c.GetDataW(ctx(t), r)
	must(t, err)
	pw, err := c.AddWatch(ctx(t), r, client.AddWatchPersistent)
	must(t, err)

	p.Block()
	waitState(t, c, client.StateDisconnected)
	thief, err := client.Connect(ctx(t), e.addr, client.Options{SessionID: c.SessionID(), Password: c.Password()})
	must(t, err)
	if thief.SessionID() != c.SessionID() {
		t.Fatalf("took over session %x, want %x", thief.SessionID(), c.SessionID())
	}
	must(t, thief.Close())
	if ok, _, _ := w.Exists(ctx(t), r+"/eph"); ok {
		t.Error("ephemeral survived the end of its session")
	}
	p.Unblock()

	ev := waitState(t, c, client.StateExpired)
	if !errors.Is(ev.Err, client.ErrSessionExpired) {
		t.Errorf("Expired event %v", ev)
	}
	if _, ok := <-c.Events(); ok {
		t.Error("events channel not closed after Expired")
	}
	if c.State() != client.StateExpired {
		t.Errorf("state %v", c.State())
	}
	we := nextEvent(t, ch)
	if we.Type != client.EventNotWatching || !errors.Is(we.Err, client.ErrSessionExpired) {
		t.Errorf("one-shot watch after expiry: %+v", we)
	}
	we = nextEvent(t, pw.Events())
	if we.Type != client.EventNotWatching || !errors.Is(we.Err, client.ErrSessionExpired) {
		t.Errorf("persistent watch after expiry: %+v", we)
	}
	if _, open := <-pw.Events(); open {
		t.Error("persistent watch channel open after expiry")
	}
	_, _, err = c.GetData(ctx(t), r)
	wantErr(t, "getData after expiry", err, client.ErrSessionExpired)
	must(t, c.Close())

	// Resuming a session that is gone fails.
	_, err = client.Connect(ctx(t), e.addr, client.Options{SessionID: c.SessionID(), Password: c.Password()})
	wantErr(t, "Connect to an expired session", err, client.ErrSessionExpired)

	var states []client.State
	deadline := time.Now().Add(waitTime)
	for {
		hookMu.Lock()
		states = states[:0]
		for _, ev := range hooked {
			states = append(states, ev.State)
		}
		hookMu.Unlock()
		if len(states) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling the callback's record, with a deadline
	}
	if !slices.Equal(states, []client.State{client.StateConnected, client.StateDisconnected, client.StateExpired}) {
		t.Errorf("OnEvent saw %v", states)
	}
}

func testCancel(t *testing.T, e *env) {
	p := harness.NewProxy(t, e.addr)
	c := connect(t, p.Addr(), client.Options{})
	w := connect(t, e.addr, client.Options{})
	r := root(t, w, "cancel")
	nextState(t, c)

	done, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Create(done, r+"/never", nil, client.ModePersistent, nil)
	wantErr(t, "create with a cancelled context", err, context.Canceled)

	p.Block()
	waitState(t, c, client.StateDisconnected)
	short, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err = c.Create(short, r+"/late", nil, client.ModePersistent, nil)
	cancel2()
	wantErr(t, "create while disconnected, past its deadline", err, context.DeadlineExceeded)
	p.Unblock()
	waitState(t, c, client.StateReconnected)
	must(t, c.Sync(ctx(t), r))
	for _, n := range []string{"/never", "/late"} {
		if ok, _, _ := c.Exists(ctx(t), r+n); ok {
			t.Errorf("%s%s was created although its call was cancelled before it was sent", r, n)
		}
	}
}

// testPipelining runs many goroutines on one session at once; each checks its own results.
func testPipelining(t *testing.T, e *env) {
	c := connect(t, e.addr, client.Options{})
	r := root(t, c, "pipeline")
	const workers, rounds = 16, 60
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- func() error {
				n := fmt.Sprintf("%s/w%d", r, g)
				if _, err := c.Create(ctx(t), n, nil, client.ModePersistent, nil); err != nil {
					return err
				}
				for i := range rounds {
					want := []byte(fmt.Sprintf("%d-%d", g, i))
					st, err := c.SetData(ctx(t), n, want, int32(i))
					if err != nil {
						return err
					}
					if st.Version != int32(i+1) {
						return fmt.Errorf("%s: version %d after set %d", n, st.Version, i)
					}
					got, st2, err := c.GetData(ctx(t), n)
					if err != nil {
						return err
					}
					if !bytes.Equal(got, want) || st2.Version != st.Version {
						return fmt.Errorf("%s: read %q v%d, want %q v%d", n, got, st2.Version, want, st.Version)
					}
					if _, err := c.Create(ctx(t), n, nil, client.ModePersistent, nil); !errors.Is(err, client.ErrNodeExists) {
						return fmt.Errorf("%s: create again: %v", n, err)
					}
				}
				return c.Delete(ctx(t), n, rounds)
			}()
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Error(err)
		}
	}
	if n, err := c.GetAllChildrenNumber(ctx(t), r); err != nil || n != 0 {
		t.Errorf("left %d nodes (%v)", n, err)
	}
}

func testClose(t *testing.T, e *env) {
	w := connect(t, e.addr, client.Options{})
	r := root(t, w, "close")
	c, err := client.Connect(ctx(t), e.addr, client.Options{})
	must(t, err)
	_, err = c.Create(ctx(t), r+"/eph", nil, client.ModeEphemeral, nil)
	must(t, err)
	_, _, ch, err := c.GetDataW(ctx(t), r)
	must(t, err)
	must(t, c.Close())
	must(t, c.Close())
	if ok, _, _ := w.Exists(ctx(t), r+"/eph"); ok {
		t.Error("ephemeral survived Close")
	}
	_, _, err = c.GetData(ctx(t), r)
	wantErr(t, "getData after Close", err, client.ErrClosed)
	if ev := nextEvent(t, ch); ev.Type != client.EventNotWatching || !errors.Is(ev.Err, client.ErrClosed) {
		t.Errorf("watch after Close: %+v", ev)
	}
	var states []client.State
	for ev := range c.Events() {
		states = append(states, ev.State)
	}
	if !slices.Equal(states, []client.State{client.StateConnected, client.StateClosed}) || c.State() != client.StateClosed {
		t.Errorf("events %v, state %v", states, c.State())
	}

	// Connect gives up with its context.
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	p := harness.NewProxy(t, e.addr)
	p.Block()
	_, err = client.Connect(short, p.Addr(), client.Options{})
	wantErr(t, "Connect to a server that refuses", err, context.DeadlineExceeded)
	_, err = client.Connect(ctx(t), "", client.Options{})
	wantErr(t, "Connect with an empty connect string", err, client.ErrBadConnectString)
}
