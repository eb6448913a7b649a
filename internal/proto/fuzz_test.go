package proto

import (
	"bytes"
	"reflect"
	"testing"
)

func seedRequests(f *testing.F) {
	acl := []ACL{{Perms: PermAll, ID: ID{Scheme: "world", ID: "anyone"}}}
	seeds := []struct {
		op Op
		r  Record
	}{
		{OpCreate, &CreateRequest{Path: "/a", Data: []byte("x"), ACL: acl}},
		{OpCreateTTL, &CreateTTLRequest{Path: "/a", ACL: acl, Flags: 5, TTL: 10}},
		{OpSetData, &SetDataRequest{Path: "/a", Data: []byte("y"), Version: -1}},
		{OpMulti, &MultiRequest{Ops: []MultiOp{{Type: OpCreate, Path: "/m", ACL: acl}, {Type: OpCheck, Path: "/m"}}}},
		{OpSetWatches2, &SetWatches{V2: true, DataWatches: []string{"/a"}}},
		{OpReconfig, &ReconfigRequest{JoiningServers: "server.2=h:1:2", LeavingNull: true, NewMembersNull: true}},
		{OpAuth, &AuthPacket{Scheme: "digest", Auth: []byte("a:b")}},
	}
	for _, s := range seeds {
		f.Add(int32(s.op), Marshal(nil, s.r))
	}
}

// FuzzRequest decodes arbitrary bytes as the body of every request type: errors are fine,
// panics and unbounded allocations are not; what decodes must re-encode to a decodable record.
func FuzzRequest(f *testing.F) {
	seedRequests(f)
	f.Fuzz(func(t *testing.T, op int32, body []byte) {
		r, ok := NewRequest(Op(op))
		if !ok || r == nil {
			return
		}
		view, _ := NewRequest(Op(op))
		var d Decoder
		err, verr := Unmarshal(body, r), d.Unmarshal(body, view, true)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Unmarshal says %v, decoding views %v", err, verr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(r, view) {
			t.Fatalf("decoding views gave %+v, Unmarshal %+v", view, r)
		}
		again, _ := NewRequest(Op(op))
		if err := Unmarshal(Marshal(nil, r), again); err != nil {
			t.Fatalf("re-encoded %T does not decode: %v", r, err)
		}
	})
}

// FuzzFrame reads frames, headers and connect records from arbitrary streams.
func FuzzFrame(f *testing.F) {
	f.Add(AppendRecord(nil, &ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true}))
	f.Add(AppendRequest(nil, RequestHeader{Xid: 1, Type: OpGetData}, &PathWatchRequest{Path: "/a", Watch: true}))
	f.Add(AppendReply(nil, ReplyHeader{Xid: -1}, &WatcherEvent{Type: EventNodeCreated, State: 3, Path: "/a"}))
	f.Add([]byte("ruok"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := bytes.NewReader(stream)
		for i := 0; i < 8; i++ {
			p, err := ReadFrame(r, nil, 4096)
			if err != nil {
				return
			}
			var c ConnectRequest
			_ = Unmarshal(p, &c)
			var resp ConnectResponse
			_ = Unmarshal(p, &resp)
			d := NewDecoder(p)
			var h RequestHeader
			h.Decode(d)
			var rh ReplyHeader
			_ = Unmarshal(p, &rh)
			var mr MultiResponse
			_ = Unmarshal(p, &mr)
		}
	})
}
