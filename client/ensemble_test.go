package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/tests/harness"
)

// TestEnsemble runs a client against a 3-member paddock ensemble, each member behind a proxy:
// the client loses its connection, its member dies, the others change what it watches, and
// it must come back on another member with its session, ephemeral node and watches, missing
// nothing. Then the ensemble loses its quorum: a read-only client is served reads by the last
// member, and moves on to a read-write session when the quorum is back.
func TestEnsemble(t *testing.T) {
	ens := harness.StartEnsemble(t, harness.EnsembleOptions{
		TickTime: 500 * time.Millisecond, // sessions of up to 10 s
		Config:   []string{"readonlymode.enabled=true"},
	})
	var proxies []*harness.Proxy
	var paddrs []string
	for _, m := range ens.Members {
		p := harness.NewProxy(t, m.Addr())
		proxies = append(proxies, p)
		paddrs = append(paddrs, p.Addr())
	}
	member := func(addr string) *harness.Member {
		for i, p := range paddrs {
			if p == addr {
				return ens.Members[i]
			}
		}
		t.Fatalf("connected to %q, not one of the proxies", addr)
		return nil
	}
	c := connect(t, strings.Join(paddrs, ","), client.Options{SessionTimeout: 10 * time.Second})
	w := connect(t, strings.Join(ens.Addrs(), ","), client.Options{})
	nextState(t, c) // Connected
	sid := c.SessionID()
	r := root(t, w, "ensemble")
	must(t, c.Sync(ctx(t), r))

	_, err := c.Create(ctx(t), r+"/eph", nil, client.ModeEphemeral, nil)
	must(t, err)
	_, err = c.Create(ctx(t), r+"/n", nil, client.ModePersistent, nil)
	must(t, err)
	_, _, dataCh, err := c.GetDataW(ctx(t), r+"/n")
	must(t, err)
	_, childCh, err := c.GetChildrenW(ctx(t), r+"/n")
	must(t, err)
	_, _, existCh, err := c.ExistsW(ctx(t), r+"/m")
	must(t, err)
	pw, err := c.AddWatch(ctx(t), r, client.AddWatchPersistentRecursive)
	must(t, err)

	// Cut the client off, kill its member, and change everything it watches.
	first := member(c.Server())
	for _, p := range proxies {
		p.Block()
	}
	waitState(t, c, client.StateDisconnected)
	first.Kill()
	var others []string
	for _, m := range ens.Members {
		if m != first {
			others = append(others, m.Addr())
		}
	}
	w = connect(t, strings.Join(others, ","), client.Options{})
	_, err = w.SetData(ctx(t), r+"/n", []byte("while away"), client.AnyVersion)
	must(t, err)
	_, err = w.Create(ctx(t), r+"/n/k", nil, client.ModePersistent, nil)
	must(t, err)
	_, err = w.Create(ctx(t), r+"/m", nil, client.ModePersistent, nil)
	must(t, err)
	for _, p := range proxies {
		p.Unblock()
	}

	ev := waitState(t, c, client.StateReconnected)
	if ev.SessionID != sid {
		t.Fatalf("reconnected with session %x, want %x", ev.SessionID, sid)
	}
	if second := member(c.Server()); second == first {
		t.Fatalf("reconnected to member %d, which is dead", first.ID)
	}
	wantEvent(t, dataCh, client.EventNodeDataChanged, r+"/n")
	wantEvent(t, childCh, client.EventNodeChildrenChanged, r+"/n")
	wantEvent(t, existCh, client.EventNodeCreated, r+"/m")
	if d, _, err := c.GetData(ctx(t), r+"/n"); err != nil || string(d) != "while away" {
		t.Errorf("read after reconnect = %q %v", d, err)
	}
	_, st, err := w.Exists(ctx(t), r+"/eph")
	if err != nil || st.EphemeralOwner != sid {
		t.Errorf("ephemeral after moving to another member: owner %x %v, want %x", st.EphemeralOwner, err, sid)
	}
	_, err = w.Create(ctx(t), r+"/after", nil, client.ModePersistent, nil)
	must(t, err)
	for {
		ev := nextEvent(t, pw.Events())
		if ev.Path == r+"/after" {
			break
		}
	}

	// The configuration lists every member (once the leader has recorded it); reconfig is off.
	harness.CheckFor(t, waitTime, func() error {
		if err := c.Sync(ctx(t), "/"); err != nil {
			return err
		}
		cfg, _, err := c.GetConfig(ctx(t))
		if err != nil {
			return err
		}
		if !bytes.Contains(cfg, []byte("server.1=")) || !bytes.Contains(cfg, []byte("version=")) {
			return fmt.Errorf("GetConfig = %q", cfg)
		}
		return nil
	})
	_, _, err = c.Reconfig(ctx(t), nil, []string{"3"}, nil, -1)
	wantErr(t, "reconfig with reconfigEnabled=false", err, client.ErrReconfigDisabled)

	// Lose the quorum: one member is left, and serves read-only clients only.
	var last *harness.Member
	for _, m := range ens.Members {
		if m == first || !m.Running() {
			continue
		}
		if last == nil {
			last = m
			continue
		}
		m.Kill()
	}
	harness.CheckFor(t, waitTime, func() error {
		mode, err := last.Mode(time.Second)
		if err != nil {
			return err
		}
		if mode != "read-only" {
			return errors.New("mode " + mode)
		}
		return nil
	})
	ro := connect(t, strings.Join(ens.Addrs(), ","), client.Options{ReadOnly: true})
	if ev := nextState(t, ro); ev.State != client.StateConnectedReadOnly || ro.State() != client.StateConnectedReadOnly {
		t.Fatalf("read-only client: event %v, state %v", ev, ro.State())
	}
	if kids, err := ro.GetChildren(ctx(t), r); err != nil || !slices.Contains(kids, "after") {
		t.Errorf("read on a read-only server = %q %v", kids, err)
	}
	_, err = ro.Create(ctx(t), r+"/ro", nil, client.ModePersistent, nil)
	wantErr(t, "create on a read-only server", err, client.ErrNotReadOnly)

	// Quorum back: the read-only connection ends and the client gets a read-write session.
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	ev = waitState(t, ro, client.StateConnected)
	if ev.SessionID == 0 || ro.State() != client.StateConnected {
		t.Errorf("after the quorum came back: %v, state %v", ev, ro.State())
	}
	_, err = ro.Create(ctx(t), r+"/rw", nil, client.ModeEphemeral, nil)
	must(t, err)
}
