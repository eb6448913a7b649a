package client_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/tests/harness"
)

// TestReconfig changes the membership of a 3-member paddock ensemble with reconfigEnabled=true:
// GetConfigW returns the configuration and a watch that fires when Reconfig removes a member;
// Reconfig returns the new configuration, which GetConfig then reads; a Reconfig from the
// configuration version it replaced is refused with ErrBadVersion.
func TestReconfig(t *testing.T) {
	ens := harness.StartEnsemble(t, harness.EnsembleOptions{
		TickTime: 500 * time.Millisecond,
		Config:   []string{"reconfigEnabled=true", "skipACL=yes"},
	})
	// The client stays off member 3, which is removed.
	c := connect(t, strings.Join(ens.Addrs()[:2], ","), client.Options{})
	lines := func(cfg []byte) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(string(cfg), "\n") {
			if id, _, ok := strings.Cut(l, "="); ok && strings.HasPrefix(id, "server.") {
				m[id] = true
			}
		}
		return m
	}
	// The configuration lists every member once the leader has recorded it.
	harness.CheckFor(t, waitTime, func() error {
		if err := c.Sync(ctx(t), "/"); err != nil {
			return err
		}
		cfg, _, err := c.GetConfig(ctx(t))
		if err != nil {
			return err
		}
		if len(lines(cfg)) != 3 {
			return fmt.Errorf("GetConfig = %q", cfg)
		}
		return nil
	})
	cfg, st, ch, err := c.GetConfigW(ctx(t))
	must(t, err)
	if !bytes.Contains(cfg, []byte(fmt.Sprintf("version=%x", st.Mzxid))) || len(lines(cfg)) != 3 {
		t.Fatalf("GetConfigW = %q, mzxid %x: want three members and version=<mzxid>", cfg, st.Mzxid)
	}
	if ev, ok := ready(ch); ok {
		t.Fatalf("config watch fired before any change: %+v", ev)
	}

	newCfg, newSt, err := c.Reconfig(ctx(t), nil, []string{"3"}, nil, st.Mzxid)
	must(t, err)
	if m := lines(newCfg); len(m) != 2 || !m["server.1"] || !m["server.2"] {
		t.Errorf("Reconfig removing 3 returned %q", newCfg)
	}
	if newSt.Mzxid <= st.Mzxid || !bytes.Contains(newCfg, []byte(fmt.Sprintf("version=%x", newSt.Mzxid))) {
		t.Errorf("Reconfig returned mzxid %x and %q; the old version was %x", newSt.Mzxid, newCfg, st.Mzxid)
	}
	wantEvent(t, ch, client.EventNodeDataChanged, client.ConfigPath)

	must(t, c.Sync(ctx(t), "/"))
	got, gotSt, err := c.GetConfig(ctx(t))
	must(t, err)
	if !bytes.Equal(got, newCfg) || gotSt.Mzxid != newSt.Mzxid {
		t.Errorf("GetConfig after Reconfig = %q (mzxid %x), want %q (mzxid %x)", got, gotSt.Mzxid, newCfg, newSt.Mzxid)
	}
	_, _, err = c.Reconfig(ctx(t), nil, []string{"2"}, nil, st.Mzxid)
	wantErr(t, "reconfig from the replaced version", err, client.ErrBadVersion)
}
