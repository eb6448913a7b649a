package tree

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/proto"
)

func TestAppendSeq(t *testing.T) {
	for _, tc := range []struct {
		v    int32
		want string
	}{
		{0, "/p/0000000000"},
		{7, "/p/0000000007"},
		{1234567890, "/p/1234567890"},
		{math.MaxInt32, "/p/2147483647"},
		{-1, "/p/-000000001"},
		{-123456789, "/p/-123456789"},
		{math.MinInt32, "/p/-2147483648"},
	} {
		if got := appendSeq("/p/", tc.v); got != tc.want {
			t.Errorf("appendSeq(%d) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func mustApply(t *testing.T, tr *Tree, zxid int64, txn *Txn) Result {
	t.Helper()
	r := tr.Apply(zxid, txn)
	if err := checkInvariants(tr); err != nil {
		t.Fatal(err)
	}
	return r
}

func createTxn(sid int64, path string, flags int32) *Txn {
	return &Txn{Type: proto.OpCreate, SessionID: sid, Time: 5, Body: proto.Marshal(nil, &proto.CreateRequest{Path: path, ACL: acl.OpenUnsafe, Flags: flags})}
}

func sessionTxn(sid int64) *Txn {
	return &Txn{Type: proto.OpCreateSession, SessionID: sid, Body: proto.Marshal(nil, &CreateSessionTxn{Timeout: 1000, Passwd: []byte("pw")})}
}

// The sequence counter is a signed int32 and wraps, as Java's int does.
func TestSequentialWrap(t *testing.T) {
	tr := New(Options{})
	mustApply(t, tr, 1, sessionTxn(1))
	mustApply(t, tr, 2, createTxn(1, "/p", 0))
	tr.mut("/p").cversion = math.MaxInt32
	var got []string
	for i := int64(3); i < 6; i++ {
		r := mustApply(t, tr, i, createTxn(1, "/p/s", int32(proto.ModePersistentSequential)))
		got = append(got, r.Resp.(*proto.PathRequest).Path)
	}
	want := []string{"/p/s2147483647", "/p/s-2147483648", "/p/s-2147483647"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	st, _, _ := tr.Lookup("/p")
	if st.Cversion != 1 { // (MinInt32+2)*2-3 in int32 arithmetic
		t.Fatalf("cversion %d", st.Cversion)
	}
}

func TestTxnRoundTrip(t *testing.T) {
	for _, txn := range []Txn{
		{},
		{Type: proto.OpCreate, SessionID: -5, Cxid: 7, Owner: 1<<56 | 42, Seq: 3, Time: 123456789, Auth: []proto.ID{{Scheme: "ip", ID: "1.2.3.4"}, acl.SuperID}, Body: []byte{1, 2, 3}},
		{Type: proto.OpCloseSession, SessionID: 1, Body: []byte{}},
	} {
		b := txn.Marshal([]byte("prefix"))
		var got Txn
		if err := got.Unmarshal(b[len("prefix"):]); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, txn) {
			t.Fatalf("got %+v, want %+v", got, txn)
		}
	}
	// One Txn decoded again and again (as the server's apply loop does) gives each txn, and
	// an unchanged auth vector costs no allocation.
	var reused Txn
	for _, txn := range []Txn{
		{Type: proto.OpSetData, Auth: []proto.ID{{Scheme: "ip", ID: "1.2.3.4"}, acl.SuperID}, Body: []byte{1}},
		{Type: proto.OpSetData, Auth: []proto.ID{{Scheme: "ip", ID: "1.2.3.5"}}, Body: []byte{2}},
		{Type: proto.OpDelete, Body: []byte{3}},
		{Type: proto.OpCreate, Auth: []proto.ID{{Scheme: "ip", ID: "1.2.3.5"}, {Scheme: "digest", ID: "u:x"}}, Body: []byte{4}},
	} {
		b := txn.Marshal(nil)
		if err := reused.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(reused.Auth, txn.Auth) || reused.Type != txn.Type || !bytes.Equal(reused.Body, txn.Body) {
			t.Fatalf("decoded again: got %+v, want %+v", reused, txn)
		}
		if allocs := testing.AllocsPerRun(10, func() { reused.Unmarshal(b) }); allocs != 0 {
			t.Fatalf("decoding the same auth again: %v allocations", allocs)
		}
	}
	var txn Txn
	good := (&Txn{Type: 1, Body: []byte{9}}).Marshal(nil)
	for i := range good {
		if err := txn.Unmarshal(good[:i]); !errors.Is(err, ErrBadTxn) {
			t.Fatalf("prefix %d: err %v", i, err)
		}
	}
	if err := txn.Unmarshal(append(good, 0)); !errors.Is(err, ErrBadTxn) {
		t.Fatalf("trailing byte: err %v", err)
	}
	bad := bytes.Clone(good)
	bad[0] = 3
	if err := txn.Unmarshal(bad); !errors.Is(err, ErrBadTxn) {
		t.Fatalf("version 3: err %v", err)
	}
	// Version 1, written before owners: the same fields without the owner.
	v2 := (&Txn{Type: proto.OpSetData, SessionID: 9, Cxid: 3, Owner: 77, Seq: 4, Time: 5, Body: []byte{1}}).Marshal(nil)
	v1 := append([]byte{1}, v2[1:17]...)
	v1 = append(v1, v2[33:]...)
	if err := txn.Unmarshal(v1); err != nil {
		t.Fatalf("version 1: %v", err)
	}
	if want := (Txn{Type: proto.OpSetData, SessionID: 9, Cxid: 3, Time: 5, Body: []byte{1}}); !reflect.DeepEqual(txn, want) {
		t.Fatalf("version 1: got %+v, want %+v", txn, want)
	}
}

func withCRC(b []byte) []byte {
	b = bytes.Clone(b)
	binary.BigEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], castagnoli))
	return b
}

func TestRestoreErrors(t *testing.T) {
	tr := seedTree(5, 400)
	good := snapshotBytes(t, tr)
	if _, err := Restore(bytes.NewReader(good), Options{ExtendedTypes: true}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(good); i++ {
		if _, err := Restore(bytes.NewReader(good[:i]), Options{}); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("truncated at %d: err %v", i, err)
		}
	}
	for i := 0; i < len(good); i += 7 {
		b := bytes.Clone(good)
		b[i] ^= 0x40
		if _, err := Restore(bytes.NewReader(b), Options{}); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("flipped byte %d: err %v", i, err)
		}
	}
	if _, err := Restore(bytes.NewReader(append(bytes.Clone(good), 0)), Options{}); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("trailing byte: err %v", err)
	}
	// Structural checks, with a valid checksum.
	fresh := snapshotBytes(t, New(Options{}))
	for name, mutate := range map[string]func(b []byte){
		"version":    func(b []byte) { b[11] = 3 },
		"node count": func(b []byte) { b[27]++ },
		"root kind":  func(b []byte) { b[36] = 2 },
		"root name": func(b []byte) {
			copy(b[32:], []byte{0, 0, 0, 1})
		},
	} {
		b := bytes.Clone(fresh)
		mutate(b)
		if _, err := Restore(bytes.NewReader(withCRC(b)), Options{}); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

// A name holding a '/' would read as a valid path, one level deeper than the node is: the
// snapshot must be refused, not restored into a tree whose lookups cannot reach the node.
func TestRestoreRefusesSlashInName(t *testing.T) {
	tr := New(Options{})
	mustApply(t, tr, 1, sessionTxn(1))
	mustApply(t, tr, 2, createTxn(1, "/abcd", 0))
	b := snapshotBytes(t, tr)
	if _, err := Restore(bytes.NewReader(b), Options{}); err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("abcd"))
	copy(b[i:], "ab/d")
	if _, err := Restore(bytes.NewReader(withCRC(b)), Options{}); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("a node named \"ab/d\": err %v", err)
	}
}

func TestSnapshotFormat(t *testing.T) {
	b := snapshotBytes(t, New(Options{}))
	if string(b[:8]) != snapMagic || binary.BigEndian.Uint32(b[8:]) != snapVersion {
		t.Fatalf("header %q", b[:12])
	}
	// lastZxid 0, 4 nodes, no sessions, then the root record: name "", kind 0.
	if binary.BigEndian.Uint64(b[20:]) != 4 || binary.BigEndian.Uint32(b[28:]) != 0 || binary.BigEndian.Uint32(b[32:]) != 0 || b[36] != 0 {
		t.Fatalf("unexpected layout % x", b[:40])
	}
}

func TestAccessors(t *testing.T) {
	tr := New(Options{})
	if s := tr.Stats(); s != (Stats{NodeCount: 5, ApproximateDataSize: 44}) {
		t.Fatalf("fresh stats %+v", s)
	}
	mustApply(t, tr, 1, sessionTxn(9))
	mustApply(t, tr, 2, sessionTxn(3))
	mustApply(t, tr, 3, createTxn(9, "/e2", 1))
	mustApply(t, tr, 4, createTxn(9, "/e1", 1))
	if got := tr.SessionEphemerals(9); !reflect.DeepEqual(got, []string{"/e1", "/e2"}) {
		t.Fatalf("ephemerals %v", got)
	}
	if got := tr.SessionEphemerals(1); got != nil {
		t.Fatalf("ephemerals of unknown session %v", got)
	}
	s, ok := tr.Session(9)
	if !ok || s.Timeout != 1000 || string(s.Passwd) != "pw" || s.Ephemerals != 2 {
		t.Fatalf("session %+v %v", s, ok)
	}
	if ids := tr.Sessions(); len(ids) != 2 || ids[0].ID != 3 || ids[1].ID != 9 {
		t.Fatalf("sessions %+v", ids)
	}
	st, l, ok := tr.Lookup("/e1")
	if !ok || st.EphemeralOwner != 9 || st.Czxid != 4 || !reflect.DeepEqual(l, acl.OpenUnsafe) {
		t.Fatalf("lookup %+v %v %v", st, l, ok)
	}
	if _, _, ok := tr.Lookup("/nope"); ok {
		t.Fatal("lookup of a missing node")
	}
	if tr.LastZxid() != 4 {
		t.Fatalf("lastZxid %d", tr.LastZxid())
	}
	// A lower zxid does not move LastZxid back.
	tr.Apply(2, &Txn{Type: proto.OpError})
	if tr.LastZxid() != 4 {
		t.Fatalf("lastZxid %d", tr.LastZxid())
	}
	r := mustApply(t, tr, 5, &Txn{Type: proto.OpCloseSession, SessionID: 9})
	if !r.ClosedSession || len(r.Events) != 4 || tr.Stats().EphemeralCount != 0 {
		t.Fatalf("close: %+v", r)
	}
}

// Read results never alias the tree in a way a later Apply could change.
func TestReadResultsAreStable(t *testing.T) {
	tr := New(Options{})
	mustApply(t, tr, 1, sessionTxn(1))
	mustApply(t, tr, 2, &Txn{Type: proto.OpCreate, SessionID: 1, Body: proto.Marshal(nil, &proto.CreateRequest{Path: "/d", Data: []byte("one"), ACL: acl.OpenUnsafe})})
	_, resp := tr.Read(proto.OpGetData, &proto.PathWatchRequest{Path: "/d"}, 1, nil)
	_, kids := tr.Read(proto.OpGetChildren, &proto.PathWatchRequest{Path: "/"}, 1, nil)
	body := proto.Marshal(nil, &proto.SetDataRequest{Path: "/d", Data: []byte("two"), Version: -1})
	mustApply(t, tr, 3, &Txn{Type: proto.OpSetData, SessionID: 1, Body: body})
	body[len(body)-5] = 'X' // the txn body is not retained either
	mustApply(t, tr, 4, createTxn(1, "/a", 0))
	if got := string(resp.(*proto.GetDataResponse).Data); got != "one" {
		t.Fatalf("data changed under the reader: %q", got)
	}
	if got := kids.(*proto.ChildrenResponse).Children; !reflect.DeepEqual(got, []string{"d", "zookeeper"}) {
		t.Fatalf("children changed under the reader: %v", got)
	}
	_, resp = tr.Read(proto.OpGetData, &proto.PathWatchRequest{Path: "/d"}, 1, nil)
	if got := string(resp.(*proto.GetDataResponse).Data); got != "two" {
		t.Fatalf("data %q", got)
	}
}
