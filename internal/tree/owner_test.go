package tree

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/paddock/paddock/internal/proto"
)

// A session is attached to the connection that created it, and to the one it reconnected
// through after SetOwner; writes from any other connection fail with SESSIONMOVED and change
// nothing, but consume their zxid. Internal txns (no owner) are never refused. The owner
// survives a snapshot.
func TestSessionOwner(t *testing.T) {
	tr := New(Options{})
	create := sessionTxn(7)
	create.Owner = 100
	mustApply(t, tr, 1, create)
	from := func(owner uint64, path string) *Txn {
		txn := createTxn(7, path, 0)
		txn.Owner = owner
		return txn
	}
	if r := mustApply(t, tr, 2, from(100, "/a")); r.Err != proto.CodeOK {
		t.Fatalf("create from the owner: %v", r.Err)
	}
	if tr.Attach(7, []byte("wrong"), 300, 1) {
		t.Fatal("Attach with a wrong password reported true")
	}
	if tr.Attach(8, []byte("pw"), 200, 1) {
		t.Fatal("Attach to an unknown session reported true")
	}
	if !tr.Attach(7, []byte("pw"), 200, 1) {
		t.Fatal("Attach to a live session reported false")
	}
	r := mustApply(t, tr, 3, from(100, "/b"))
	if r.Err != proto.CodeSessionMoved || r.Resp != nil || len(r.Events) != 0 {
		t.Fatalf("create from the old connection: %+v", r)
	}
	if _, _, ok := tr.Lookup("/b"); ok || tr.LastZxid() != 3 {
		t.Fatalf("a moved write changed the tree (or not the zxid): /b exists %v, last zxid %d", ok, tr.LastZxid())
	}
	closeOld := &Txn{Type: proto.OpCloseSession, SessionID: 7, Owner: 100}
	if r := mustApply(t, tr, 4, closeOld); r.Err != proto.CodeSessionMoved || r.ClosedSession {
		t.Fatalf("closeSession from the old connection: %+v", r)
	}
	if r := mustApply(t, tr, 5, from(200, "/c")); r.Err != proto.CodeOK {
		t.Fatalf("create from the new owner: %v", r.Err)
	}
	if r := mustApply(t, tr, 6, from(0, "/d")); r.Err != proto.CodeOK {
		t.Fatalf("create without an owner: %v", r.Err)
	}

	back, err := Restore(bytes.NewReader(snapshotBytes(t, tr)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if si, _ := back.Session(7); si.Owner != 200 {
		t.Fatalf("owner after a snapshot: %d", si.Owner)
	}
	if r := back.Apply(7, from(100, "/e")); r.Err != proto.CodeSessionMoved {
		t.Fatalf("old connection after a snapshot: %v", r.Err)
	}
}

// A connection's txns carry a sequence number; one whose predecessor never applied (raft
// dropped it) fails with SESSIONMOVED, and so does every later one of that connection, so
// that its writes apply as a prefix of what it sent. A failed txn still takes its number.
func TestConnectionSeqHasNoHoles(t *testing.T) {
	tr := New(Options{})
	create := sessionTxn(7)
	create.Owner, create.Seq = 100, 1
	mustApply(t, tr, 1, create)
	write := func(seq uint64, path string) *Txn {
		txn := createTxn(7, path, 0)
		txn.Owner, txn.Seq = 100, seq
		return txn
	}
	if r := mustApply(t, tr, 2, write(2, "/a")); r.Err != proto.CodeOK {
		t.Fatalf("seq 2: %v", r.Err)
	}
	if r := mustApply(t, tr, 3, write(3, "/a")); r.Err != proto.CodeNodeExists {
		t.Fatalf("seq 3: %v", r.Err)
	}
	if r := mustApply(t, tr, 4, write(4, "/b")); r.Err != proto.CodeOK {
		t.Fatalf("seq 4 after a failed seq 3: %v", r.Err)
	}
	// seq 5 was dropped: 6 and everything after fail.
	for i, seq := range []uint64{6, 7} {
		if r := mustApply(t, tr, int64(5+i), write(seq, fmt.Sprintf("/c%d", seq))); r.Err != proto.CodeSessionMoved {
			t.Fatalf("seq %d after a hole: %v", seq, r.Err)
		}
	}
	// A new connection attached to the session starts its own count.
	if !tr.Attach(7, []byte("pw"), 200, 1) {
		t.Fatal("Attach")
	}
	next := createTxn(7, "/d", 0)
	next.Owner, next.Seq = 200, 2
	if r := mustApply(t, tr, 7, next); r.Err != proto.CodeOK {
		t.Fatalf("new connection: %v", r.Err)
	}
	back, err := Restore(bytes.NewReader(snapshotBytes(t, tr)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	next.Seq, next.Body = 3, createTxn(7, "/e", 0).Body
	if r := back.Apply(8, next); r.Err != proto.CodeOK {
		t.Fatalf("the count survives a snapshot: %v", r.Err)
	}
}
