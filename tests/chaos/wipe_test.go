package chaos

import (
	"testing"
	"time"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/tests/harness"
)

// TestWipedMemberRejoins is the smallest form of the chaos suite's wipe-member fault, no
// load and no proxies: a follower killed, its data directory emptied but for myid, and
// started again must catch up from the leader and serve what was written before.
//
// The leader still remembers how far the old follower's log went (raft's Progress.Match), so
// its first heartbeat tells the empty follower to commit up to that index, which raft
// panics on, and it ignores the follower's rejections as stale: the member must be
// readmitted (internal/raftnode/lostlog.go) and then promoted again (internal/server/roles.go).
func TestWipedMemberRejoins(t *testing.T) {
	if why, ok := knownBroken["wipe-member"]; ok {
		t.Skip("known broken: " + why)
	}
	ens := harness.StartEnsemble(t, harness.EnsembleOptions{TickTime: tickTime})
	r := &run{t: t, ens: ens, sessionTimeout: sessionTimeout, start: time.Now()}
	l := r.mustLeader()
	f := r.followers(l)[0]
	w, err := r.dial(l)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if h, err := w.call(proto.OpCreate, &proto.CreateRequest{Path: "/before", Data: []byte("v"), ACL: openACL}, &proto.PathRequest{}, 10*time.Second); err != nil || h.Err != proto.CodeOK {
		t.Fatalf("create /before: %v %v", err, h.Err)
	}
	if err := f.Wipe(); err != nil {
		t.Fatal(err)
	}
	if err := r.startMember(f); err != nil {
		t.Fatalf("member %d with a wiped data dir does not come back while member %d leads: %v", f.ID, l.ID, err)
	}
	have, err := r.children(f, "/")
	if err != nil {
		t.Fatal(err)
	}
	if !have["before"] {
		t.Fatalf("wiped member %d did not catch up: / has %v", f.ID, have)
	}
	// Readmitted as a learner to catch up, it must vote again: every member a leader or a
	// follower, each answering sync.
	r.recovered("wipe")
}
