package thirdparty

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/paddock/paddock/tests/harness"
)

const (
	gozkSessionTimeout = 10 * time.Second
	gozkWait           = 10 * time.Second // for a session or a watch event
	// gozkTestTimeout bounds each subtest: go-zookeeper waits for a reply without a
	// deadline, so a watchdog closes the subtest's sessions when it overruns.
	gozkTestTimeout = 15 * time.Second
)

var openACL = zk.WorldACL(zk.PermAll)

// TestGoZooKeeper drives github.com/go-zookeeper/zk through the core API: CRUD with
// versions and stats, sequential names, multi (including its all-or-nothing failure),
// data/child/exists watches, ephemerals vanishing with their session, ACLs with digest
// auth and a super user, and the container and TTL node types.
func TestGoZooKeeper(t *testing.T) {
	opts := serverOpts{Properties: map[string]string{
		"zookeeper.extendedTypesEnabled":                     "true",
		"zookeeper.DigestAuthenticationProvider.superDigest": harness.Digest("super", "su-secret"),
	}}
	forEachTarget(t, opts, func(t *testing.T, _ string, srv *harness.Server) {
		t.Run("CRUD", func(t *testing.T) { gozkCRUD(t, srv.Addr()) })
		t.Run("Sequential", func(t *testing.T) { gozkSequential(t, srv.Addr()) })
		t.Run("Multi", func(t *testing.T) { gozkMulti(t, srv.Addr()) })
		t.Run("Watches", func(t *testing.T) { gozkWatches(t, srv.Addr()) })
		t.Run("Ephemeral", func(t *testing.T) { gozkEphemeral(t, srv.Addr()) })
		t.Run("ACL", func(t *testing.T) { gozkACL(t, srv.Addr()) })
		t.Run("ExtendedTypes", func(t *testing.T) { gozkExtendedTypes(t, srv.Addr()) })
	})
}

func gozkCRUD(t *testing.T, addr string) {
	c := gozkConnect(t, addr)
	before := time.Now().Add(-time.Minute).UnixMilli()

	must(t, gozkCreate(c, "/crud", "v0", 0))
	data, st, err := c.Get("/crud")
	check(t, err)
	if string(data) != "v0" || st.Version != 0 || st.Cversion != 0 || st.Aversion != 0 ||
		st.DataLength != 2 || st.NumChildren != 0 || st.EphemeralOwner != 0 ||
		st.Czxid != st.Mzxid || st.Czxid != st.Pzxid || st.Ctime != st.Mtime || st.Ctime < before {
		t.Errorf("Get /crud = %q, %+v", data, st)
	}
	wantErr(t, "create existing", gozkCreate(c, "/crud", "", 0), zk.ErrNodeExists)
	wantErr(t, "create orphan", gozkCreate(c, "/nope/x", "", 0), zk.ErrNoNode)
	if ok, _, err := c.Exists("/nope"); err != nil || ok {
		t.Errorf("Exists /nope = %v, %v", ok, err)
	}
	_, _, err = c.Get("/nope")
	wantErr(t, "get missing", err, zk.ErrNoNode)

	st1, err := c.Set("/crud", []byte("v1"), 0)
	check(t, err)
	if st1.Version != 1 || st1.Czxid != st.Czxid || st1.Mzxid <= st.Mzxid || st1.DataLength != 2 || st1.Mtime < st.Mtime {
		t.Errorf("Set /crud: %+v after %+v", st1, st)
	}
	_, err = c.Set("/crud", []byte("v2"), 0)
	wantErr(t, "set stale version", err, zk.ErrBadVersion)
	st2, err := c.Set("/crud", nil, -1)
	check(t, err)
	if st2.Version != 2 || st2.DataLength != 0 {
		t.Errorf("Set /crud empty: %+v", st2)
	}

	must(t, gozkCreate(c, "/crud/b", "", 0))
	must(t, gozkCreate(c, "/crud/a", "", 0))
	kids, st3, err := c.Children("/crud")
	check(t, err)
	slices.Sort(kids) // the server's order is unspecified
	if !slices.Equal(kids, []string{"a", "b"}) || st3.NumChildren != 2 || st3.Cversion != 2 ||
		st3.Pzxid <= st2.Mzxid || st3.Mzxid != st2.Mzxid {
		t.Errorf("Children /crud = %v, %+v", kids, st3)
	}

	wantErr(t, "delete non-empty", c.Delete("/crud", -1), zk.ErrNotEmpty)
	wantErr(t, "delete stale version", c.Delete("/crud/a", 5), zk.ErrBadVersion)
	check(t, c.Delete("/crud/a", 0))
	check(t, c.Delete("/crud/b", -1))
	if p, err := c.Sync("/crud"); err != nil || p != "/crud" {
		t.Errorf("Sync = %q, %v", p, err)
	}
	check(t, c.Delete("/crud", 2))
	wantErr(t, "delete missing", c.Delete("/crud", -1), zk.ErrNoNode)
}

func gozkSequential(t *testing.T, addr string) {
	c := gozkConnect(t, addr)
	must(t, gozkCreate(c, "/seq", "", 0))
	must(t, gozkCreate(c, "/seq/x", "", 0))

	// The suffix counts the parent's child creations, whatever the prefix. Deletes bump the
	// parent's cversion but not that counter (ZooKeeper 3.8 does so, and clients see it).
	p1, err := c.Create("/seq/n-", nil, zk.FlagSequence, openACL)
	check(t, err)
	p2, err := c.Create("/seq/n-", nil, zk.FlagEphemeralSequential, openACL)
	check(t, err)
	check(t, c.Delete("/seq/x", -1))
	p3, err := c.Create("/seq/other-", nil, zk.FlagSequence, openACL)
	check(t, err)
	_, st, err := c.Exists("/seq")
	check(t, err)
	if p1 != "/seq/n-0000000001" || p2 != "/seq/n-0000000002" || p3 != "/seq/other-0000000003" || st.Cversion != 5 {
		t.Errorf("sequential names %q %q %q, cversion %d; want n-1, n-2, other-3, cversion 5", p1, p2, p3, st.Cversion)
	}
	if _, st, err := c.Exists(p2); err != nil || st.EphemeralOwner != c.SessionID() {
		t.Errorf("ephemeral sequential %s: %+v, %v", p2, st, err)
	}
}

func gozkMulti(t *testing.T, addr string) {
	c := gozkConnect(t, addr)
	must(t, gozkCreate(c, "/multi", "", 0))
	must(t, gozkCreate(c, "/multi/old", "", 0))

	res, err := c.Multi(
		&zk.CreateRequest{Path: "/multi/new", Data: []byte("n"), Acl: openACL},
		&zk.SetDataRequest{Path: "/multi", Data: []byte("m"), Version: 0},
		&zk.CheckVersionRequest{Path: "/multi/old", Version: 0},
		&zk.DeleteRequest{Path: "/multi/old", Version: 0},
	)
	check(t, err)
	if len(res) != 4 || res[0].String != "/multi/new" || res[1].Stat == nil || res[1].Stat.Version != 1 ||
		res[0].Error != nil || res[1].Error != nil || res[2].Error != nil || res[3].Error != nil {
		t.Fatalf("multi results: %+v", res)
	}
	if ok, _, _ := c.Exists("/multi/old"); ok {
		t.Error("multi did not delete /multi/old")
	}

	// One failing op fails them all and changes nothing: the ops before it report OK,
	// the failing one its error, the ones after it a runtime inconsistency (-2).
	res, err = c.Multi(
		&zk.CreateRequest{Path: "/multi/ghost", Acl: openACL},
		&zk.CheckVersionRequest{Path: "/multi", Version: 0},
		&zk.DeleteRequest{Path: "/multi/new", Version: -1},
	)
	wantErr(t, "failing multi", err, zk.ErrBadVersion)
	if len(res) != 3 || res[0].Error != nil || !errors.Is(res[1].Error, zk.ErrBadVersion) ||
		res[2].Error == nil || !strings.Contains(res[2].Error.Error(), "-2") {
		t.Errorf("failing multi results: %+v", res)
	}
	if ok, _, _ := c.Exists("/multi/ghost"); ok {
		t.Error("failed multi created /multi/ghost")
	}
	if ok, _, _ := c.Exists("/multi/new"); !ok {
		t.Error("failed multi deleted /multi/new")
	}
}

func gozkWatches(t *testing.T, addr string) {
	c := gozkConnect(t, addr)
	w := gozkConnect(t, addr) // another session makes the changes
	must(t, gozkCreate(c, "/w", "0", 0))

	_, _, dataW, err := c.GetW("/w")
	check(t, err)
	_, _, childW, err := c.ChildrenW("/w")
	check(t, err)
	ok, _, existW, err := c.ExistsW("/w/later")
	check(t, err)
	if ok {
		t.Fatal("/w/later exists")
	}

	_, err = w.Set("/w", []byte("1"), -1)
	check(t, err)
	wantEvent(t, dataW, zk.EventNodeDataChanged, "/w")
	must(t, gozkCreate(w, "/w/later", "", 0))
	wantEvent(t, existW, zk.EventNodeCreated, "/w/later")
	wantEvent(t, childW, zk.EventNodeChildrenChanged, "/w")

	// A session sees the event of its own change before the change's reply.
	_, _, dataW, err = c.GetW("/w")
	check(t, err)
	_, err = c.Set("/w", []byte("2"), -1)
	check(t, err)
	select {
	case ev := <-dataW:
		if ev.Type != zk.EventNodeDataChanged || ev.Path != "/w" {
			t.Errorf("event %+v, want NodeDataChanged /w", ev)
		}
	default:
		t.Error("the watch event of a session's own set came after the set's reply")
	}

	// Watches fire once: the set above consumed the data watch, so this one is new.
	_, _, delW, err := c.GetW("/w/later")
	check(t, err)
	_, _, childW, err = c.ChildrenW("/w")
	check(t, err)
	check(t, w.Delete("/w/later", -1))
	wantEvent(t, delW, zk.EventNodeDeleted, "/w/later")
	wantEvent(t, childW, zk.EventNodeChildrenChanged, "/w")
}

func gozkEphemeral(t *testing.T, addr string) {
	owner := gozkConnect(t, addr)
	obs := gozkConnect(t, addr)
	must(t, gozkCreate(obs, "/eph", "", 0))

	p, err := owner.Create("/eph/e", []byte("x"), zk.FlagEphemeral, openACL)
	check(t, err)
	ps, err := owner.Create("/eph/es-", nil, zk.FlagEphemeralSequential, openACL)
	check(t, err)
	if p != "/eph/e" || ps != "/eph/es-0000000001" {
		t.Errorf("created %q, %q", p, ps)
	}
	_, st, err := obs.Exists(p)
	check(t, err)
	if st.EphemeralOwner != owner.SessionID() || owner.SessionID() == 0 {
		t.Errorf("ephemeralOwner 0x%x, owner session 0x%x", st.EphemeralOwner, owner.SessionID())
	}
	wantErr(t, "child of ephemeral", gozkCreate(owner, "/eph/e/child", "", 0), zk.ErrNoChildrenForEphemerals)

	_, _, goneW, err := obs.ExistsW(p)
	check(t, err)
	_, _, kidsW, err := obs.ChildrenW("/eph")
	check(t, err)
	owner.Close()

	wantEvent(t, goneW, zk.EventNodeDeleted, p)
	wantEvent(t, kidsW, zk.EventNodeChildrenChanged, "/eph")
	harness.CheckFor(t, gozkWait, func() error {
		kids, _, err := obs.Children("/eph")
		if err == nil && len(kids) > 0 {
			err = fmt.Errorf("children left after the owner closed: %v", kids)
		}
		return err
	})
}

func gozkACL(t *testing.T, addr string) {
	alice := gozkConnect(t, addr)
	other := gozkConnect(t, addr)
	check(t, alice.AddAuth("digest", []byte("alice:secret")))

	_, err := alice.Create("/acl", []byte("private"), 0, zk.DigestACL(zk.PermAll, "alice", "secret"))
	check(t, err)
	acl, st, err := alice.GetACL("/acl")
	check(t, err)
	want := []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: harness.Digest("alice", "secret")}}
	if !slices.Equal(acl, want) || st.Aversion != 0 {
		t.Errorf("GetACL = %+v, %+v", acl, st)
	}
	_, _, err = other.Get("/acl")
	wantErr(t, "get without auth", err, zk.ErrNoAuth)

	super := gozkConnect(t, addr)
	check(t, super.AddAuth("digest", []byte("super:su-secret")))
	if data, _, err := super.Get("/acl"); err != nil || string(data) != "private" {
		t.Errorf("super Get = %q, %v", data, err)
	}

	st, err = alice.SetACL("/acl", zk.WorldACL(zk.PermRead), 0)
	check(t, err)
	if st.Aversion != 1 {
		t.Errorf("aversion after SetACL = %d", st.Aversion)
	}
	_, err = alice.SetACL("/acl", openACL, 0)
	wantErr(t, "SetACL without ADMIN", err, zk.ErrNoAuth) // checked before the stale version
	if data, _, err := other.Get("/acl"); err != nil || string(data) != "private" {
		t.Errorf("world-readable Get = %q, %v", data, err)
	}
	_, err = other.Set("/acl", []byte("x"), -1)
	wantErr(t, "set read-only", err, zk.ErrNoAuth)
}

func gozkExtendedTypes(t *testing.T, addr string) {
	c := gozkConnect(t, addr)
	p, err := c.CreateContainer("/container", nil, zk.FlagContainer, openACL)
	check(t, err)
	pt, err := c.CreateTTL("/ttl", nil, zk.FlagTTL, openACL, time.Hour)
	check(t, err)
	if p != "/container" || pt != "/ttl" {
		t.Errorf("created %q, %q", p, pt)
	}
	for _, p := range []string{"/container", "/ttl"} {
		if ok, st, err := c.Exists(p); err != nil || !ok || st.EphemeralOwner != 0 && p == "/container" {
			t.Errorf("Exists %s = %v, %+v, %v", p, ok, st, err)
		}
	}
}

// gozkConnect opens a session and waits until it is established; a cleanup closes it. The
// session is closed early, failing the test, if the test runs past gozkTestTimeout.
func gozkConnect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, evc, err := zk.Connect([]string{addr}, gozkSessionTimeout, zk.WithLogger(newTestLogger(t)), zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	watchdogFor(t).watch(c)
	deadline := time.After(gozkWait)
	for {
		select {
		case ev := <-evc:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-deadline:
			t.Fatalf("no session with %s within %v (state %v)", addr, gozkWait, c.State())
		}
	}
}

// watchdog closes a test's sessions when the test overruns, so that a request the server
// never answers fails the test (the blocked call returns an error) instead of hanging it.
type watchdog struct {
	mu    sync.Mutex
	conns []*zk.Conn // guarded by mu
	fired bool       // guarded by mu
	done  bool       // guarded by mu; the test has ended, so it may not be failed
}

var watchdogs sync.Map // *testing.T -> *watchdog

func watchdogFor(t *testing.T) *watchdog {
	if w, ok := watchdogs.Load(t); ok {
		return w.(*watchdog)
	}
	w := &watchdog{}
	watchdogs.Store(t, w)
	timer := time.AfterFunc(gozkTestTimeout, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.done {
			return
		}
		w.fired = true
		t.Errorf("test still running after %v: closing its sessions", gozkTestTimeout)
		for _, c := range w.conns {
			go c.Close()
		}
	})
	t.Cleanup(func() {
		timer.Stop()
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
		watchdogs.Delete(t)
	})
	return w
}

func (w *watchdog) watch(c *zk.Conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.conns = append(w.conns, c)
	if w.fired {
		go c.Close()
	}
}

// testLogger sends go-zookeeper's log to the test's log until the test ends; the client's
// goroutines may log after that, which testing does not allow.
type testLogger struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func newTestLogger(t *testing.T) *testLogger {
	l := &testLogger{t: t}
	t.Cleanup(func() {
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	})
	return l
}

func (l *testLogger) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Logf("go-zookeeper: "+format, args...)
	}
}

func gozkCreate(c *zk.Conn, path, data string, flags int32) error {
	_, err := c.Create(path, []byte(data), flags, openACL)
	return err
}

func wantEvent(t *testing.T, ch <-chan zk.Event, typ zk.EventType, path string) {
	t.Helper()
	select {
	case ev := <-ch:
		if ev.Type != typ || ev.Path != path || ev.Err != nil {
			t.Errorf("event %+v, want %v on %s", ev, typ, path)
		}
	case <-time.After(gozkWait):
		t.Errorf("no %v on %s within %v", typ, path, gozkWait)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) { t.Helper(); check(t, err) }
