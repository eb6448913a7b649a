package client_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
)

func testMulti(t *testing.T, e *env) {
	c := connect(t, e.addr, client.Options{})
	r := root(t, c, "multi")
	_, err := c.Create(ctx(t), r+"/old", []byte("x"), client.ModePersistent, nil)
	must(t, err)

	res, err := c.Multi(ctx(t),
		client.CreateOp(r+"/a", []byte("a"), client.ModePersistent, nil),
		client.CreateOp(r+"/s-", nil, client.ModePersistentSequential, nil),
		client.CreateOp(r+"/box", nil, client.ModeContainer, nil),
		client.CreateTTLOp(r+"/ttl", nil, client.ModePersistentWithTTL, nil, time.Hour),
		client.SetDataOp(r+"/a", []byte("a2"), 0),
		client.CheckOp(r+"/old", 0),
		client.DeleteOp(r+"/old", 0),
	)
	must(t, err)
	if len(res) != 7 {
		t.Fatalf("Multi returned %d results, want 7", len(res))
	}
	// ZooKeeper before 3.9 answers a create2 inside a multi as a plain create, with no Stat
	// (ZOOKEEPER-4026); containers and TTL nodes always come with theirs.
	statOK := e.kind != "zookeeper"
	if res[0].Path != r+"/a" || statOK && (res[0].Stat.Version != 0 || res[0].Stat.Czxid == 0) {
		t.Errorf("create result %+v", res[0])
	}
	if !seqSuffix.MatchString(res[1].Path[len(r+"/s-"):]) {
		t.Errorf("sequential create result %+v", res[1])
	}
	if res[2].Path != r+"/box" || res[3].Path != r+"/ttl" {
		t.Errorf("container and TTL results %+v %+v", res[2], res[3])
	}
	// The whole multi is one txn: every result carries the same zxid.
	z := res[2].Stat.Czxid
	if z == 0 || res[3].Stat.Czxid != z || res[4].Stat.Version != 1 || res[4].Stat.Mzxid != z || statOK && res[1].Stat.Czxid != z {
		t.Errorf("results %+v: not all of one zxid", res)
	}
	for i, x := range res {
		if x.Err != nil {
			t.Errorf("result %d: %v", i, x.Err)
		}
	}
	if ok, _, _ := c.Exists(ctx(t), r+"/old"); ok {
		t.Error("deleted in a multi, still exists")
	}

	// A failing op fails them all.
	res, err = c.Multi(ctx(t),
		client.CreateOp(r+"/b", nil, client.ModePersistent, nil),
		client.CheckOp(r+"/a", 0), // version is 1
		client.DeleteOp(r+"/a", client.AnyVersion),
	)
	var me *client.MultiError
	if !errors.As(err, &me) || me.Index != 1 || !errors.Is(err, client.ErrBadVersion) {
		t.Fatalf("failing multi: error %v, want a *MultiError at op 1 wrapping ErrBadVersion", err)
	}
	if len(res) != 3 || res[0].Err != nil || !errors.Is(res[1].Err, client.ErrBadVersion) || !errors.Is(res[2].Err, client.ErrRuntimeInconsistency) {
		t.Errorf("failing multi results %+v", res)
	}
	if ok, _, _ := c.Exists(ctx(t), r+"/b"); ok {
		t.Error("a failed multi created a node")
	}
	_, err = c.Multi(ctx(t), client.CreateOp(r+"/nope/x", nil, client.ModePersistent, nil))
	wantErr(t, "multi create orphan", err, client.ErrNoNode)

	// Checked before anything is sent.
	_, err = c.Multi(ctx(t), client.CreateOp("bad", nil, client.ModePersistent, nil))
	wantErr(t, "multi with a bad path", err, client.ErrInvalidPath)
	_, err = c.Multi(ctx(t), client.CreateOp(r+"/t", nil, client.ModePersistentWithTTL, nil))
	wantErr(t, "multi create with a TTL mode", err, client.ErrBadArguments)
	_, err = c.Multi(ctx(t), client.Op{})
	wantErr(t, "multi with a zero Op", err, client.ErrBadArguments)

	res, err = c.Multi(ctx(t))
	if err != nil || len(res) != 0 {
		t.Errorf("empty multi = %+v %v", res, err)
	}
}

func testMultiRead(t *testing.T, e *env) {
	c := connect(t, e.addr, client.Options{})
	r := root(t, c, "multiread")
	for _, p := range []string{"/x", "/y", "/x/k1", "/x/k2"} {
		_, err := c.Create(ctx(t), r+p, []byte(p), client.ModePersistent, nil)
		must(t, err)
	}
	res, err := c.MultiRead(ctx(t),
		client.GetDataOp(r+"/x"),
		client.GetChildrenOp(r+"/x"),
		client.GetDataOp(r+"/missing"),
		client.GetChildrenOp(r+"/y"),
	)
	must(t, err)
	if len(res) != 4 {
		t.Fatalf("MultiRead returned %d results", len(res))
	}
	if string(res[0].Data) != "/x" || res[0].Stat.NumChildren != 2 || res[0].Err != nil {
		t.Errorf("getData result %+v", res[0])
	}
	slices.Sort(res[1].Children)
	if !slices.Equal(res[1].Children, []string{"k1", "k2"}) || res[1].Err != nil {
		t.Errorf("getChildren result %+v", res[1])
	}
	if !errors.Is(res[2].Err, client.ErrNoNode) {
		t.Errorf("getData of a missing node: %+v", res[2])
	}
	if res[3].Children == nil || len(res[3].Children) != 0 || res[3].Err != nil {
		t.Errorf("getChildren of a leaf: %#v", res[3])
	}
	_, err = c.MultiRead(ctx(t), client.ReadOp{})
	wantErr(t, "multiRead with a zero ReadOp", err, client.ErrBadArguments)
}
