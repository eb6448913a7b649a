package client_test

import (
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
)

var seqSuffix = regexp.MustCompile(`^[0-9]{10}$`)

func testCreate(t *testing.T, e *env) {
	c := connect(t, e.addr, client.Options{})
	r := root(t, c, "create")

	p, st, err := c.Create2(ctx(t), r+"/p", []byte("data"), client.ModePersistent, nil)
	must(t, err)
	if p != r+"/p" || st.Version != 0 || st.DataLength != 4 || st.EphemeralOwner != 0 || st.Czxid == 0 || st.Czxid != st.Mzxid {
		t.Errorf("Create2 persistent = %q %+v", p, st)
	}
	_, st, err = c.Create2(ctx(t), r+"/e", nil, client.ModeEphemeral, nil)
	must(t, err)
	if st.EphemeralOwner != c.SessionID() {
		t.Errorf("ephemeral owner %x, want session %x", st.EphemeralOwner, c.SessionID())
	}
	for _, mode := range []client.CreateMode{client.ModePersistentSequential, client.ModeEphemeralSequential} {
		p, err := c.Create(ctx(t), r+"/seq-", nil, mode, nil)
		must(t, err)
		if len(p) != len(r+"/seq-")+10 || !seqSuffix.MatchString(p[len(r+"/seq-"):]) {
			t.Errorf("Create %v = %q, want %s/seq-<10 digits>", mode, p, r)
		}
	}
	p, st, err = c.Create2(ctx(t), r+"/container", nil, client.ModeContainer, nil)
	must(t, err)
	if p != r+"/container" || st.EphemeralOwner != 0 {
		t.Errorf("container: %q %+v", p, st)
	}
	p, st, err = c.CreateTTL(ctx(t), r+"/ttl", []byte("t"), client.ModePersistentWithTTL, nil, time.Hour)
	must(t, err)
	if p != r+"/ttl" || st.EphemeralOwner != 0 || st.DataLength != 1 {
		t.Errorf("ttl: %q %+v", p, st)
	}
	p, _, err = c.CreateTTL(ctx(t), r+"/ttlseq-", nil, client.ModePersistentSequentialWithTTL, nil, time.Hour)
	must(t, err)
	if !seqSuffix.MatchString(p[len(r+"/ttlseq-"):]) {
		t.Errorf("sequential ttl: %q", p)
	}

	// nil data stays nil, empty data stays empty.
	_, err = c.Create(ctx(t), r+"/empty", []byte{}, client.ModePersistent, nil)
	must(t, err)
	if d, _, err := c.GetData(ctx(t), r+"/empty"); err != nil || d == nil || len(d) != 0 {
		t.Errorf("GetData empty = %v %v, want a non-nil empty slice", d, err)
	}
	if d, _, err := c.GetData(ctx(t), r+"/e"); err != nil || d != nil {
		t.Errorf("GetData of nil data = %v %v, want nil", d, err)
	}

	_, err = c.Create(ctx(t), r+"/p", nil, client.ModePersistent, nil)
	wantErr(t, "create existing", err, client.ErrNodeExists)
	_, err = c.Create(ctx(t), r+"/nope/x", nil, client.ModePersistent, nil)
	wantErr(t, "create orphan", err, client.ErrNoNode)
	_, err = c.Create(ctx(t), r+"/e/x", nil, client.ModePersistent, nil)
	wantErr(t, "create under ephemeral", err, client.ErrNoChildrenForEphemerals)
	_, err = c.Create(ctx(t), "relative", nil, client.ModePersistent, nil)
	wantErr(t, "create relative path", err, client.ErrInvalidPath)
	_, err = c.Create(ctx(t), r+"/slash/", nil, client.ModePersistent, nil)
	wantErr(t, "create path ending in /", err, client.ErrInvalidPath)
	_, err = c.Create(ctx(t), r+"/ttl2", nil, client.ModePersistentWithTTL, nil)
	wantErr(t, "Create with a TTL mode", err, client.ErrBadArguments)
	_, _, err = c.CreateTTL(ctx(t), r+"/ttl3", nil, client.ModePersistent, nil, time.Hour)
	wantErr(t, "CreateTTL with a plain mode", err, client.ErrBadArguments)
	_, _, err = c.CreateTTL(ctx(t), r+"/ttl4", nil, client.ModePersistentWithTTL, nil, 0)
	wantErr(t, "CreateTTL with ttl 0", err, client.ErrBadArguments)
	_, err = c.Create(ctx(t), r+"/badacl", nil, client.ModePersistent, []client.ACL{})
	wantErr(t, "create with an empty ACL", err, client.ErrInvalidACL)

	var oe *client.OpError
	if !errors.As(err, &oe) || oe.Op != "create" || oe.Path != r+"/badacl" {
		t.Errorf("error %v is not an *OpError for create %s/badacl", err, r)
	}
	if client.CodeOf(err) != client.ErrInvalidACL.Code || client.CodeOf(nil) != 0 {
		t.Errorf("CodeOf(%v) = %v", err, client.CodeOf(err))
	}
}

func testData(t *testing.T, e *env) {
	c := connect(t, e.addr, client.Options{})
	r := root(t, c, "data")
	n := r + "/n"
	_, err := c.Create(ctx(t), n, []byte("v0"), client.ModePersistent, nil)
	must(t, err)

	ok, st, err := c.Exists(ctx(t), n)
	if err != nil || !ok || st.Version != 0 || st.DataLength != 2 {
		t.Errorf("Exists = %v %+v %v", ok, st, err)
	}
	ok, st, err = c.Exists(ctx(t), r+"/missing")
	if err != nil || ok || st != (client.Stat{}) {
		t.Errorf("Exists missing = %v %+v %v", ok, st, err)
	}
	st, err = c.SetData(ctx(t), n, []byte("v1"), 0)
	must(t, err)
	if st.Version != 1 || st.Mzxid <= st.Czxid {
		t.Errorf("SetData stat %+v", st)
	}
	_, err = c.SetData(ctx(t), n, []byte("v2"), 0)
	wantErr(t, "setData stale version", err, client.ErrBadVersion)
	st, err = c.SetData(ctx(t), n, []byte("v2"), client.AnyVersion)
	must(t, err)
	data, st2, err := c.GetData(ctx(t), n)
	if err != nil || string(data) != "v2" || st2 != st {
		t.Errorf("GetData = %q %+v %v, want v2 %+v", data, st2, err, st)
	}
	_, _, err = c.GetData(ctx(t), r+"/missing")
	wantErr(t, "getData missing", err, client.ErrNoNode)
	_, err = c.SetData(ctx(t), r+"/missing", nil, client.AnyVersion)
	wantErr(t, "setData missing", err, client.ErrNoNode)

	_, err = c.Create(ctx(t), n+"/child", nil, client.ModePersistent, nil)
	must(t, err)
	wantErr(t, "delete non-empty", c.Delete(ctx(t), n, client.AnyVersion), client.ErrNotEmpty)
	wantErr(t, "delete bad version", c.Delete(ctx(t), n+"/child", 7), client.ErrBadVersion)
	must(t, c.Delete(ctx(t), n+"/child", 0))
	wantErr(t, "delete missing", c.Delete(ctx(t), n+"/child", client.AnyVersion), client.ErrNoNode)
	must(t, c.Delete(ctx(t), n, 2))
	if ok, _, _ := c.Exists(ctx(t), n); ok {
		t.Error("node still exists after Delete")
	}
	wantErr(t, "delete /zookeeper", c.Delete(ctx(t), "/zookeeper", client.AnyVersion), client.ErrBadArguments)
}

func testChildren(t *testing.T, e *env) {
	c := connect(t, e.addr, client.Options{})
	r := root(t, c, "children")
	for _, p := range []string{"/a", "/b", "/c", "/a/x", "/a/y", "/a/x/z"} {
		_, err := c.Create(ctx(t), r+p, nil, client.ModePersistent, nil)
		must(t, err)
	}
	kids, err := c.GetChildren(ctx(t), r)
	must(t, err)
	slices.Sort(kids)
	if !slices.Equal(kids, []string{"a", "b", "c"}) {
		t.Errorf("GetChildren = %q", kids)
	}
	kids, st, err := c.GetChildren2(ctx(t), r+"/a")
	must(t, err)
	slices.Sort(kids)
	if !slices.Equal(kids, []string{"x", "y"}) || st.NumChildren != 2 || st.Cversion != 2 {
		t.Errorf("GetChildren2 = %q %+v", kids, st)
	}
	kids, err = c.GetChildren(ctx(t), r+"/b")
	if err != nil || kids == nil || len(kids) != 0 {
		t.Errorf("GetChildren of a leaf = %#v %v, want an empty list", kids, err)
	}
	_, err = c.GetChildren(ctx(t), r+"/missing")
	wantErr(t, "getChildren missing", err, client.ErrNoNode)

	n, err := c.GetAllChildrenNumber(ctx(t), r)
	if err != nil || n != 6 {
		t.Errorf("GetAllChildrenNumber = %d %v, want 6", n, err)
	}
	_, err = c.GetAllChildrenNumber(ctx(t), r+"/missing")
	wantErr(t, "getAllChildrenNumber missing", err, client.ErrNoNode)
}

func testACL(t *testing.T, e *env) {
	c := connect(t, e.addr, client.Options{})
	r := root(t, c, "acl")
	acl, st, err := c.GetACL(ctx(t), r)
	must(t, err)
	if !slices.Equal(acl, client.WorldACL(client.PermAll)) || st.Aversion != 0 {
		t.Errorf("GetACL = %+v %+v", acl, st)
	}
	readOnly := client.WorldACL(client.PermRead | client.PermAdmin)
	st, err = c.SetACL(ctx(t), r, readOnly, 0)
	must(t, err)
	if st.Aversion != 1 {
		t.Errorf("SetACL aversion %d", st.Aversion)
	}
	_, err = c.SetACL(ctx(t), r, readOnly, 0)
	wantErr(t, "setACL stale version", err, client.ErrBadVersion)
	_, err = c.Create(ctx(t), r+"/x", nil, client.ModePersistent, nil)
	wantErr(t, "create without CREATE", err, client.ErrNoAuth)
	_, err = c.SetData(ctx(t), r, []byte("x"), client.AnyVersion)
	wantErr(t, "setData without WRITE", err, client.ErrNoAuth)
	acl, _, err = c.GetACL(ctx(t), r)
	if err != nil || !slices.Equal(acl, readOnly) {
		t.Errorf("GetACL after SetACL = %+v %v", acl, err)
	}
	_, err = c.SetACL(ctx(t), r+"/missing", nil, client.AnyVersion)
	wantErr(t, "setACL missing", err, client.ErrNoNode)
	_, err = c.Create(ctx(t), "/acl-auth", nil, client.ModePersistent, client.AuthACL(client.PermAll))
	wantErr(t, "auth ACL without credentials", err, client.ErrInvalidACL)
	_, err = c.SetACL(ctx(t), r, client.WorldACL(client.PermAll), client.AnyVersion)
	must(t, err)
}

func testMisc(t *testing.T, e *env) {
	c := connect(t, e.addr, client.Options{})
	other := connect(t, e.addr, client.Options{})
	r := root(t, c, "misc")
	must(t, c.Sync(ctx(t), r))
	wantErr(t, "sync invalid path", c.Sync(ctx(t), "x"), client.ErrInvalidPath)

	for _, p := range []string{"/e1", "/e2", "/sub"} {
		mode := client.ModeEphemeral
		if p == "/sub" {
			mode = client.ModePersistent
		}
		_, err := c.Create(ctx(t), r+p, nil, mode, nil)
		must(t, err)
	}
	_, err := c.Create(ctx(t), r+"/sub/e3", nil, client.ModeEphemeral, nil)
	must(t, err)
	_, err = other.Create(ctx(t), r+"/theirs", nil, client.ModeEphemeral, nil)
	must(t, err)
	eph, err := c.GetEphemerals(ctx(t), r)
	must(t, err)
	slices.Sort(eph)
	if !slices.Equal(eph, []string{r + "/e1", r + "/e2", r + "/sub/e3"}) {
		t.Errorf("GetEphemerals(%s) = %q", r, eph)
	}
	eph, err = c.GetEphemerals(ctx(t), r+"/sub")
	if err != nil || !slices.Equal(eph, []string{r + "/sub/e3"}) {
		t.Errorf("GetEphemerals(%s/sub) = %q %v", r, eph, err)
	}

	who, err := c.WhoAmI(ctx(t))
	must(t, err)
	if !slices.Contains(who, client.ClientInfo{AuthScheme: "ip", User: "127.0.0.1"}) {
		t.Errorf("WhoAmI = %+v, want ip 127.0.0.1", who)
	}

	// A standalone server has no ensemble to change.
	_, _, err = c.Reconfig(ctx(t), []string{"server.9=127.0.0.1:1:2;3"}, nil, nil, -1)
	if !errors.Is(err, client.ErrUnimplemented) && !errors.Is(err, client.ErrReconfigDisabled) {
		t.Errorf("Reconfig on a standalone server: %v, want ErrUnimplemented or ErrReconfigDisabled", err)
	}
	if _, _, err := c.GetConfig(ctx(t)); err != nil {
		t.Errorf("GetConfig: %v", err)
	}
}
