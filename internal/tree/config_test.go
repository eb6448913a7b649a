package tree

import (
	"bytes"
	"testing"

	"github.com/paddock/paddock/internal/proto"
)

func reconfigTxn(members string, seed bool, time int64) *Txn {
	return &Txn{Type: proto.OpReconfig, Time: time, Body: proto.Marshal(nil, &ReconfigTxn{Members: members, Seed: seed})}
}

// TestReconfigApply: a reconfig txn sets /zookeeper/config to the members and the version
// line (the txn's zxid), with ZooKeeper's Stat (version -1, mzxid and mtime of the txn),
// fires NodeDataChanged, survives a snapshot, and a seed never overwrites existing data.
func TestReconfigApply(t *testing.T) {
	tr := New(Options{})
	if data, st := tr.ConfigData(); len(data) != 0 || st.Version != 0 || st.Aversion != -1 {
		t.Fatalf("fresh config node: %q %+v", data, st)
	}
	members := "server.1=a:2888:3888:participant;0.0.0.0:2181\nserver.2=b:2888:3888:participant;0.0.0.0:2181\n"
	r := mustApply(t, tr, 0x100000001, reconfigTxn(members, true, 42))
	if r.Err != proto.CodeOK {
		t.Fatalf("seed: %v", r.Err)
	}
	want := members + "version=100000001"
	resp, ok := r.Resp.(*proto.GetDataResponse)
	if !ok || string(resp.Data) != want {
		t.Fatalf("seed reply %#v", r.Resp)
	}
	if st := resp.Stat; st.Version != -1 || st.Mzxid != 0x100000001 || st.Mtime != 42 || st.Czxid != 0 ||
		st.DataLength != int32(len(want)) || st.Aversion != -1 {
		t.Fatalf("seed stat %+v", st)
	}
	if len(r.Events) != 1 || r.Events[0].Type != proto.EventNodeDataChanged || r.Events[0].Path != ConfigPath {
		t.Fatalf("seed events %+v", r.Events)
	}

	// A second seed (a new leader proposing it again) changes nothing but the last zxid.
	r = mustApply(t, tr, 0x100000002, reconfigTxn("server.9=x:1:2:participant\n", true, 43))
	if r.Err != proto.CodeNodeExists || r.Resp != nil || len(r.Events) != 0 || tr.LastZxid() != 0x100000002 {
		t.Fatalf("second seed: %+v", r)
	}
	if data, _ := tr.ConfigData(); string(data) != want {
		t.Fatalf("after second seed: %q", data)
	}

	// A reconfig replaces it; a member list without a final newline gets one.
	r = mustApply(t, tr, 0x200000005, reconfigTxn("server.1=a:2888:3888:participant;0.0.0.0:2181", false, 50))
	want2 := "server.1=a:2888:3888:participant;0.0.0.0:2181\nversion=200000005"
	if r.Err != proto.CodeOK || string(r.Resp.(*proto.GetDataResponse).Data) != want2 {
		t.Fatalf("reconfig: %+v", r)
	}
	data, st := tr.ConfigData()
	if string(data) != want2 || st.Version != -1 || st.Mzxid != 0x200000005 || st.Mtime != 50 {
		t.Fatalf("after reconfig: %q %+v", data, st)
	}
	// Reads see it like any node.
	code, rec := tr.Read(proto.OpGetData, &proto.PathWatchRequest{Path: ConfigPath}, 0, nil)
	if code != proto.CodeOK || string(rec.(*proto.GetDataResponse).Data) != want2 {
		t.Fatalf("getData: %v %+v", code, rec)
	}

	// A snapshot taken now keeps it, and later applies do not reach the snapshot.
	write := tr.Snapshot()
	mustApply(t, tr, 0x200000006, reconfigTxn("server.3=c:1:2:observer\n", false, 60))
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	back, err := Restore(&b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if data, st := back.ConfigData(); string(data) != want2 || st.Version != -1 || st.Mzxid != 0x200000005 {
		t.Fatalf("restored: %q %+v", data, st)
	}
	if data, _ := tr.ConfigData(); string(data) != "server.3=c:1:2:observer\nversion=200000006" {
		t.Fatalf("live tree after snapshot: %q", data)
	}

	// An undecodable body changes nothing.
	r = mustApply(t, tr, 0x200000007, &Txn{Type: proto.OpReconfig, Body: []byte{1}})
	if r.Err != proto.CodeMarshallingError {
		t.Fatalf("garbage body: %v", r.Err)
	}
}
