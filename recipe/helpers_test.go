package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/recipe"
	"github.com/paddock/paddock/tests/harness"
)

// waitTime bounds every wait for something that should happen: generous, since the machine
// is small and shared; tests never wait that long when things work.
const waitTime = 60 * time.Second

// shortSession is the session timeout of the sessions a test lets expire. The servers'
// tickTime of 500 ms allows 1 s to 10 s.
const shortSession = 2 * time.Second

// target is a kind of server the same test bodies run against.
type target struct {
	name  string
	start func(t *testing.T) *harness.Server
}

var targets = []target{
	{"zookeeper", func(t *testing.T) *harness.Server {
		return harness.StartZooKeeper(t, harness.ZKOptions{TickTime: 500 * time.Millisecond})
	}},
	{"paddock", func(t *testing.T) *harness.Server {
		return harness.StartPaddock(t, harness.PaddockOptions{TickTime: 500 * time.Millisecond})
	}},
}

// env is what a test body gets: the connect string of a server shared with the other bodies
// of its target, and a fresh root path for this body.
type env struct {
	kind string
	addr string
	root string
}

// path returns a path under the body's root.
func (e *env) path(name string) string { return e.root + "/" + name }

// ctx returns a context bounded by waitTime, cancelled at the end of the test.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), waitTime)
	t.Cleanup(cancel)
	return c
}

// session opens a Session that the test's cleanup closes.
func session(t testing.TB, servers string, opts recipe.SessionOptions) *recipe.Session {
	t.Helper()
	s, err := recipe.NewSession(ctx(t), servers, opts)
	if err != nil {
		t.Fatalf("NewSession(%q): %v", servers, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// connect opens a plain client that the test's cleanup closes.
func connect(t testing.TB, servers string) *client.Client {
	t.Helper()
	c, err := client.Connect(ctx(t), servers, client.Options{})
	if err != nil {
		t.Fatalf("Connect(%q): %v", servers, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// children returns the children of path, none if it does not exist.
func children(t testing.TB, c *client.Client, path string) []string {
	t.Helper()
	kids, err := c.GetChildren(ctx(t), path)
	if err != nil && !isNoNode(err) {
		t.Fatalf("GetChildren(%s): %v", path, err)
	}
	return kids
}

func isNoNode(err error) bool { return errors.Is(err, client.ErrNoNode) }

// stateLog records a Session's state changes for a test to wait on.
type stateLog struct {
	mu     sync.Mutex
	states []recipe.ConnState
}

func watchStates(s *recipe.Session) *stateLog {
	l := &stateLog{}
	s.Listen(func(st recipe.ConnState) {
		l.mu.Lock()
		l.states = append(l.states, st)
		l.mu.Unlock()
	})
	return l
}

// waitFor waits until the log has seen st, at least n times in all.
func (l *stateLog) waitFor(t testing.TB, st recipe.ConnState, n int) {
	t.Helper()
	harness.CheckFor(t, waitTime, func() error {
		l.mu.Lock()
		defer l.mu.Unlock()
		k := 0
		for _, s := range l.states {
			if s == st {
				k++
			}
		}
		if k < n {
			return fmt.Errorf("seen %v %d times of %d; states %v", st, k, n, l.states)
		}
		return nil
	})
}

// exclusive records who holds something that at most one may hold at a time.
type exclusive struct {
	holder     atomic.Int64 // 0 when free
	violations atomic.Int64
	entries    atomic.Int64
}

func (x *exclusive) enter(id int64) {
	x.entries.Add(1)
	if !x.holder.CompareAndSwap(0, id) {
		x.violations.Add(1)
		x.holder.Store(id)
	}
}

func (x *exclusive) leave(id int64) {
	x.holder.CompareAndSwap(id, 0)
}

// proxies puts a proxy in front of every server of a connect string and returns them and
// the connect string through them.
func proxies(t testing.TB, servers string) ([]*harness.Proxy, string) {
	var ps []*harness.Proxy
	var addrs []string
	for _, a := range strings.Split(servers, ",") {
		p := harness.NewProxy(t, a)
		ps = append(ps, p)
		addrs = append(addrs, p.Addr())
	}
	return ps, strings.Join(addrs, ",")
}

func blockAll(ps []*harness.Proxy) {
	for _, p := range ps {
		p.Block()
	}
}

func unblockAll(ps []*harness.Proxy) {
	for _, p := range ps {
		p.Unblock()
	}
}

// recv waits for a value on ch.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTime):
		t.Fatalf("no %s within %v", what, waitTime)
	}
	panic("unreachable")
}

// closed waits until ch is closed.
func closed(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTime):
		t.Fatalf("%s did not happen within %v", what, waitTime)
	}
}
