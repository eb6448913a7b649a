package proto

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
)

func TestConnectRequestSizes(t *testing.T) {
	r := ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true}
	b := Marshal(nil, &r)
	if len(b) != 45 {
		t.Fatalf("ConnectRequest is %d bytes, want 45", len(b))
	}
	var got ConnectRequest
	if err := Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !got.HasReadOnly || got.TimeOut != 30000 {
		t.Fatalf("decoded %+v", got)
	}
	// Without the trailing readOnly byte (clients <= 3.3).
	if err := Unmarshal(b[:44], &got); err != nil || got.HasReadOnly {
		t.Fatalf("short form: %v %+v", err, got)
	}
	resp := ConnectResponse{TimeOut: 30000, SessionID: 1, Passwd: make([]byte, 16)}
	if n := len(Marshal(nil, &resp)); n != 36 {
		t.Fatalf("ConnectResponse without readOnly is %d bytes, want 36", n)
	}
}

func TestStatSize(t *testing.T) {
	if n := len(Marshal(nil, &Stat{})); n != StatSize {
		t.Fatalf("stat is %d bytes", n)
	}
}

func TestRoundTrip(t *testing.T) {
	acl := []ACL{{Perms: PermAll, ID: ID{Scheme: "world", ID: "anyone"}}}
	st := Stat{Czxid: 1, Mzxid: 2, Ctime: 3, Mtime: 4, Version: 5, Cversion: 6, Aversion: 7, EphemeralOwner: 8, DataLength: 9, NumChildren: 10, Pzxid: 11}
	cases := []struct {
		in, out Record
	}{
		{&CreateRequest{Path: "/a", Data: []byte("x"), ACL: acl, Flags: 3}, &CreateRequest{}},
		{&CreateTTLRequest{Path: "/a", Data: []byte{}, ACL: acl, Flags: 5, TTL: 100}, &CreateTTLRequest{}},
		{&DeleteRequest{Path: "/a", Version: -1}, &DeleteRequest{}},
		{&PathWatchRequest{Path: "/a", Watch: true}, &PathWatchRequest{}},
		{&SetDataRequest{Path: "/a", Data: []byte("y"), Version: 2}, &SetDataRequest{}},
		{&SetACLRequest{Path: "/a", ACL: acl, Version: 1}, &SetACLRequest{}},
		{&ReconfigRequest{JoiningServers: "server.4=h:1:2", LeavingNull: true, NewMembersNull: true, CurConfigID: -1}, &ReconfigRequest{}},
		{&WatchesRequest{Path: "/a", Type: WatcherAny}, &WatchesRequest{}},
		{&AddWatchRequest{Path: "/a", Mode: 1}, &AddWatchRequest{}},
		{&AuthPacket{Scheme: "digest", Auth: []byte("u:p")}, &AuthPacket{}},
		{&SetWatches{RelativeZxid: 9, DataWatches: []string{"/a"}, ExistWatches: []string{}, ChildWatches: []string{"/b", "/c"}}, &SetWatches{}},
		{&SetWatches{V2: true, RelativeZxid: 9, DataWatches: []string{}, ExistWatches: []string{}, ChildWatches: []string{}, PersistentWatches: []string{"/p"}, PersistentRecursive: []string{"/r"}}, &SetWatches{V2: true}},
		{&Create2Response{Path: "/a", Stat: st}, &Create2Response{}},
		{&GetDataResponse{Data: []byte("d"), Stat: st}, &GetDataResponse{}},
		{&GetACLResponse{ACL: acl, Stat: st}, &GetACLResponse{}},
		{&ChildrenResponse{Children: []string{"a", "b"}, Stat: st, HasStat: true}, &ChildrenResponse{HasStat: true}},
		{&WhoAmIResponse{Infos: []ClientInfo{{AuthScheme: "ip", User: "127.0.0.1"}}}, &WhoAmIResponse{}},
		{&WatcherEvent{Type: EventNodeCreated, State: StateSyncConnected, Path: "/a"}, &WatcherEvent{}},
		{&MultiRequest{Ops: []MultiOp{
			{Type: OpCreate, Path: "/a", Data: []byte("1"), ACL: acl},
			{Type: OpCheck, Path: "/a", Version: 0},
			{Type: OpSetData, Path: "/a", Data: []byte("2"), Version: -1},
			{Type: OpDelete, Path: "/a", Version: -1},
		}}, &MultiRequest{}},
		{&MultiResponse{Results: []MultiResult{
			{Type: OpCreate, Path: "/a"}, {Type: OpCreate2, Path: "/b", Stat: st}, {Type: OpCheck},
			{Type: OpSetData, Stat: st}, {Type: OpDelete}, {Type: OpError, Err: CodeNoNode},
			{Type: OpGetData, Data: []byte("x"), Stat: st}, {Type: OpGetChildren, Children: []string{"c"}},
		}}, &MultiResponse{}},
	}
	for _, c := range cases {
		b := Marshal(nil, c.in)
		if err := Unmarshal(b, c.out); err != nil {
			t.Fatalf("%T: %v", c.in, err)
		}
		if !reflect.DeepEqual(c.in, c.out) {
			t.Fatalf("%T: round trip\n got %+v\nwant %+v", c.in, c.out, c.in)
		}
	}
}

// A failed multi as ZooKeeper 3.8 sends it: create ok (err 0), the failing check, a later op.
func TestMultiResponseWireShape(t *testing.T) {
	r := MultiResponse{Results: []MultiResult{
		{Type: OpError, Err: CodeOK}, {Type: OpError, Err: CodeBadVersion}, {Type: OpError, Err: CodeRuntimeInconsistency},
	}}
	got := hex.EncodeToString(Marshal(nil, &r))
	want := "ffffffff" + "00" + "00000000" + "00000000" +
		"ffffffff" + "00" + "ffffff99" + "ffffff99" +
		"ffffffff" + "00" + "fffffffe" + "fffffffe" +
		"ffffffff" + "01" + "ffffffff"
	if got != want {
		t.Fatalf("multi error response\n got %s\nwant %s", got, want)
	}
}

func TestNullsAndLimits(t *testing.T) {
	b := Marshal(nil, &GetDataResponse{Data: nil})
	var r GetDataResponse
	if err := Unmarshal(b, &r); err != nil || r.Data != nil {
		t.Fatalf("null buffer: %v %v", err, r.Data)
	}
	// A huge vector count must fail without allocating.
	e := Encoder{}
	e.Int(0x7fffffff)
	var s StringsResponse
	if err := Unmarshal(e.B, &s); !errors.Is(err, ErrMalformed) {
		t.Fatalf("huge vector: %v", err)
	}
	// A string longer than the bound fails.
	e = Encoder{}
	e.Int(DefaultMaxBuffer + 1)
	var p PathRequest
	if err := Unmarshal(e.B, &p); !errors.Is(err, ErrMalformed) {
		t.Fatalf("long string: %v", err)
	}
	// Trailing bytes fail.
	if err := Unmarshal(append(Marshal(nil, &PathRequest{Path: "/"}), 0), &p); err == nil {
		t.Fatal("trailing bytes accepted")
	}
}

func TestReadFrame(t *testing.T) {
	var buf bytes.Buffer
	buf.Write(AppendReply(nil, ReplyHeader{Xid: 1, Zxid: 2}, &PathRequest{Path: "/x"}))
	buf.Write([]byte{0x7f, 0, 0, 0})
	r := bufio.NewReader(&buf)
	p, err := ReadFrame(r, nil, DefaultMaxBuffer)
	if err != nil || len(p) != 16+6 {
		t.Fatalf("frame: %v len %d", err, len(p))
	}
	if _, err := ReadFrame(r, nil, DefaultMaxBuffer); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversized frame: %v", err)
	}
}

func TestValidatePath(t *testing.T) {
	good := []string{"/", "/a", "/a/b", "/zookeeper", "/a.b", "/...", "/ü"}
	bad := []string{"", "a", "/a/", "//a", "/a//b", "/a/./b", "/..", "/a/.", "/a\x00b", "/a\x01", "/a\u0085", "/a\ufff0"}
	for _, p := range good {
		if err := ValidatePath(p, false); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range bad {
		if err := ValidatePath(p, false); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
	if err := ValidatePath("/parent/", true); err != nil {
		t.Errorf("sequential /parent/: %v", err)
	}
	if Parent("/a/b") != "/a" || Parent("/a") != "/" || Base("/a/b") != "b" {
		t.Error("Parent/Base")
	}
}
