package containers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/paddock/paddock/tests/harness"
)

// sessionTimeout is what the test clients ask for: long enough to ride out a member's
// restart or a leader's death, which must never expire a session.
const sessionTimeout = 15 * time.Second

// srvrMode sends the srvr four-letter word to addr and returns its Mode line's value.
func srvrMode(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "srvr"); err != nil {
		return "", err
	}
	out, err := io.ReadAll(c)
	if err != nil && len(out) == 0 {
		return "", err
	}
	for _, l := range strings.Split(string(out), "\n") {
		if m, ok := strings.CutPrefix(l, "Mode: "); ok {
			return strings.TrimSpace(m), nil
		}
	}
	return "", fmt.Errorf("srvr at %s: no Mode line in %q", addr, firstLine(string(out)))
}

// memberHosts is a zk.HostProvider over member names that never resolves them itself
// (this machine cannot): the session's dialer looks up where each member is published.
type memberHosts struct {
	mu      sync.Mutex
	servers []string
	next    int
	tried   int
}

func (h *memberHosts) Init(servers []string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.servers = slices.Clone(servers)
	return nil
}

func (h *memberHosts) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.servers)
}

func (h *memberHosts) Next() (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.servers[h.next]
	h.next = (h.next + 1) % len(h.servers)
	h.tried++
	return s, h.tried > len(h.servers)
}

func (h *memberHosts) Connected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tried = 0
}

// zkLogger sends go-zookeeper's log to the test log until the test is over.
type zkLogger struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (l *zkLogger) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Logf("zk: "+format, args...)
	}
}

func (l *zkLogger) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
}

// session is a go-zookeeper session that counts its expiries (there must be none).
type session struct {
	*zk.Conn
	id      int64
	expired atomic.Int32
}

// connect opens a session to the named members, reached through lookup (name -> current
// host:port), and waits until it is established. t.Cleanup closes it.
func connect(t *testing.T, lookup func(name string) (string, error), names ...string) *session {
	t.Helper()
	log := &zkLogger{t: t}
	dial := func(network, address string, timeout time.Duration) (net.Conn, error) {
		name, _, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		a, err := lookup(name)
		if err != nil {
			return nil, err
		}
		return net.DialTimeout(network, a, timeout)
	}
	servers := make([]string, len(names))
	for i, n := range names {
		servers[i] = n + ":2181"
	}
	c, evc, err := zk.Connect(servers, sessionTimeout,
		zk.WithHostProvider(&memberHosts{}), zk.WithDialer(dial), zk.WithLogger(log), zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	t.Cleanup(log.stop) // runs first: nothing logs after the test
	s := &session{Conn: c}
	connected := make(chan struct{})
	go func() {
		var once sync.Once
		for ev := range evc {
			switch ev.State {
			case zk.StateHasSession:
				once.Do(func() { close(connected) })
			case zk.StateExpired:
				s.expired.Add(1)
			}
		}
	}()
	select {
	case <-connected:
	case <-time.After(time.Minute):
		t.Fatalf("no session with %v within a minute", names)
	}
	s.id = c.SessionID()
	return s
}

// connect opens a session to the given members of the project (all when none is given).
func (p *project) connect(services ...string) *session {
	p.t.Helper()
	if len(services) == 0 {
		services = p.services
	}
	return connect(p.t, p.clientAddr, services...)
}

// reconnecting reports whether err is what a client sees while it moves to another
// member: the request may or may not have been applied, and is to be retried.
func reconnecting(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) ||
		errors.Is(err, zk.ErrClosing) || errors.Is(err, zk.ErrSessionMoved)
}

// retry runs op until it succeeds or fails with something other than a reconnect, for at
// most limit. It returns the number of tries and op's last error.
func retry(limit time.Duration, op func() error) (int, error) {
	deadline := time.Now().Add(limit)
	for tries := 1; ; tries++ {
		err := op()
		if err == nil || !reconnecting(err) || time.Now().After(deadline) {
			return tries, err
		}
	}
}

var openACL = zk.WorldACL(zk.PermAll)

// ensurePath creates path (one level) unless it exists.
func ensurePath(t *testing.T, s *session, path string) {
	t.Helper()
	_, err := retry(time.Minute, func() error {
		_, err := s.Create(path, nil, 0, openACL)
		if errors.Is(err, zk.ErrNodeExists) {
			return nil
		}
		return err
	})
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
}

// writer creates numbered children of root one at a time, and remembers which creates
// were acknowledged and which ended in a reconnect (outcome unknown).
type writer struct {
	s    *session
	root string

	mu      sync.Mutex
	acked   []string // guarded by mu
	unknown []string // guarded by mu
	errs    []error  // guarded by mu: anything but a reconnect
	n       atomic.Int64
}

func (w *writer) run(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(5 * time.Millisecond) // a steady trickle, not a benchmark
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		path := fmt.Sprintf("%s/n-%07d", w.root, i)
		_, err := w.s.Create(path, []byte(path), 0, openACL)
		w.mu.Lock()
		switch {
		case err == nil:
			w.acked = append(w.acked, path)
			w.n.Add(1)
		case reconnecting(err):
			w.unknown = append(w.unknown, path)
		default:
			w.errs = append(w.errs, fmt.Errorf("create %s: %w", path, err))
		}
		w.mu.Unlock()
	}
}

// waitWrites waits until the writer has n more acknowledged writes than it had at from.
func (w *writer) waitWrites(t *testing.T, timeout time.Duration, from, n int64) {
	t.Helper()
	harness.CheckFor(t, timeout, func() error {
		if got := w.n.Load() - from; got < n {
			return fmt.Errorf("%d of %d writes acknowledged", got, n)
		}
		return nil
	})
}

// checkChildren verifies, through a session of its own with member svc, that after a
// sync the children of root are every path of want and nothing outside want+maybe.
func checkChildren(t *testing.T, p *project, svc, root string, want, maybe []string) {
	t.Helper()
	s := p.connect(svc)
	defer s.Close()
	compareChildren(t, svc, s, root, want, maybe)
}

// compareChildren checks through s, after a sync, that the children of root are every path
// of want and nothing outside want+maybe; where names the member in the errors.
func compareChildren(t *testing.T, where string, s *session, root string, want, maybe []string) {
	t.Helper()
	var kids []string
	_, err := retry(time.Minute, func() error {
		if _, err := s.Sync(root); err != nil {
			return err
		}
		var err error
		kids, _, err = s.Children(root)
		return err
	})
	if err != nil {
		t.Fatalf("%s: children of %s: %v", where, root, err)
	}
	have := make(map[string]bool, len(kids))
	for _, k := range kids {
		have[root+"/"+k] = true
	}
	var lost []string
	for _, p := range want {
		if !have[p] {
			lost = append(lost, p)
		}
		delete(have, p)
	}
	for _, p := range maybe {
		delete(have, p)
	}
	if len(lost) > 0 {
		t.Errorf("%s: %d acknowledged writes lost, e.g. %v", where, len(lost), lost[:min(len(lost), 5)])
	}
	if len(have) > 0 {
		t.Errorf("%s: %d children nobody wrote, e.g. %v", where, len(have), keys(have)[:min(len(have), 5)])
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// load runs workers that each create a znode and read it back, retrying an operation
// only when the session is moving to another member; any other error, a wrong read or an
// operation that cannot complete within a minute of retries is a failure.
type load struct {
	ops     atomic.Int64 // operations completed
	retries atomic.Int64 // extra tries after a reconnect

	mu       sync.Mutex
	failures []string // guarded by mu
	created  []string // guarded by mu
}

func (l *load) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, fmt.Sprintf(format, args...))
}

func (l *load) worker(s *session, root string, id int, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		path := fmt.Sprintf("%s/w%d-%07d", root, id, i)
		data := []byte(path)
		tries, err := retry(time.Minute, func() error {
			_, err := s.Create(path, data, 0, openACL)
			return err
		})
		if errors.Is(err, zk.ErrNodeExists) && tries > 1 {
			err = nil // an earlier try was applied before the connection went
		}
		l.retries.Add(int64(tries - 1))
		if err != nil {
			l.fail("create %s: %v (after %d tries)", path, err, tries)
			continue
		}
		l.mu.Lock()
		l.created = append(l.created, path)
		l.mu.Unlock()
		var got []byte
		tries, err = retry(time.Minute, func() error {
			var err error
			got, _, err = s.Get(path)
			return err
		})
		l.retries.Add(int64(tries - 1))
		switch {
		case err != nil:
			l.fail("get %s: %v (after %d tries)", path, err, tries)
		case !bytes.Equal(got, data):
			l.fail("get %s = %q, want %q", path, got, data)
		default:
			l.ops.Add(2)
		}
	}
}

// waitOps waits until the load has completed n more operations than it had at from.
// run starts one worker per session under root and returns the function that stops them
// and waits for them; it may be called more than once.
func (l *load) run(sessions []*session, root string) (stop func()) {
	stopc := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Add(1)
		go l.worker(s, root, i, stopc, &wg)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stopc)
			wg.Wait()
		})
	}
}

// report, once the load has stopped, logs its totals, fails the test for every failed
// operation and every session that expired, and returns the paths it created.
func (l *load) report(t *testing.T, sessions []*session) (created []string) {
	t.Helper()
	l.mu.Lock()
	t.Logf("%d operations, %d retries after reconnects, %d failures", l.ops.Load(), l.retries.Load(), len(l.failures))
	if len(l.failures) > 0 {
		t.Errorf("%d operations failed, e.g.:\n%s", len(l.failures), strings.Join(l.failures[:min(len(l.failures), 10)], "\n"))
	}
	created = slices.Clone(l.created)
	l.mu.Unlock()
	for i, s := range sessions {
		if n := s.expired.Load(); n > 0 {
			t.Errorf("session %d expired %d times", i, n)
		}
	}
	return created
}

func (l *load) waitOps(t *testing.T, timeout time.Duration, from, n int64) {
	t.Helper()
	harness.CheckFor(t, timeout, func() error {
		if got := l.ops.Load() - from; got < n {
			l.mu.Lock()
			defer l.mu.Unlock()
			return fmt.Errorf("%d of %d operations completed (%d failures so far)", got, n, len(l.failures))
		}
		return nil
	})
}
