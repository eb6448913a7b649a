package client_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/tests/harness"
)

// dialLog is a Dialer that records the addresses the client dials, and refuses the first
// fail of them.
type dialLog struct {
	fail int

	mu  sync.Mutex
	log []string // guarded by mu
}

func (d *dialLog) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.log = append(d.log, addr)
	refuse := len(d.log) <= d.fail
	d.mu.Unlock()
	if refuse {
		return nil, errors.New("refused by the test")
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (d *dialLog) addrs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.log)
}

// isPermutation reports whether got holds each of want once.
func isPermutation(got, want []string) bool {
	return len(got) == len(want) && slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

// TestHostShuffle checks how a client goes through a connect string of several hosts (proxies
// in front of one paddock server, so that a session lives across them): each client tries
// them in an order of its own, so that first connections spread over the hosts; it tries
// every host once before any again; and each reconnection moves on to the next host of its
// order.
func TestHostShuffle(t *testing.T) {
	srv := harness.StartPaddock(t, harness.PaddockOptions{TickTime: 500 * time.Millisecond})
	const n = 4
	var hosts []string
	proxies := map[string]*harness.Proxy{}
	for range n {
		p := harness.NewProxy(t, srv.Addr())
		hosts = append(hosts, p.Addr())
		proxies[p.Addr()] = p
	}
	servers := strings.Join(hosts, ",")

	// Every client's first n attempts fail: it must have tried each host once, and then
	// start again with the first of its order.
	firsts := map[string]int{}
	const clients = 12
	for i := range clients {
		d := &dialLog{fail: n}
		c := connect(t, servers, client.Options{Dialer: d.dial})
		got := d.addrs()
		if len(got) != n+1 || !isPermutation(got[:n], hosts) || got[n] != got[0] || c.Server() != got[0] {
			t.Fatalf("client %d dialed %q and is connected to %q; want every one of %q once, then the first again",
				i, got, c.Server(), hosts)
		}
		firsts[got[0]]++
		must(t, c.Close())
	}
	if len(firsts) < 2 {
		// All 12 alike by chance: probability 4^-11.
		t.Errorf("%d clients all tried %v first: the connect string is not shuffled", clients, firsts)
	}

	// Each reconnection goes to the next host: the client visits all of them, each once, and
	// then comes back to the first.
	d := &dialLog{}
	c := connect(t, servers, client.Options{Dialer: d.dial, SessionTimeout: 10 * time.Second})
	if ev := nextState(t, c); ev.State != client.StateConnected {
		t.Fatalf("first event %v", ev)
	}
	sid := c.SessionID()
	visited := []string{c.Server()}
	for len(visited) <= n {
		cur := visited[len(visited)-1]
		proxies[cur].Block()
		if ev := waitState(t, c, client.StateReconnected); ev.SessionID != sid {
			t.Fatalf("reconnected with session %x, want %x", ev.SessionID, sid)
		}
		proxies[cur].Unblock()
		visited = append(visited, c.Server())
	}
	if !isPermutation(visited[:n], hosts) || visited[n] != visited[0] {
		t.Errorf("reconnections visited %q; want each of %q once, then the first again", visited, hosts)
	}
	if got := d.addrs(); !slices.Equal(got, visited) {
		t.Errorf("dialed %q, want exactly the hosts visited %q", got, visited)
	}
}
