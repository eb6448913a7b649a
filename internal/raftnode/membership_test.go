package raftnode

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMembershipChanges adds a learner at an address no configuration
// lists, promotes it, removes a voter, and makes a change of two members
// (joint consensus). Every member's transport and Status follow; after a
// restart, Start gives the transport the recovered membership, with the
// address recorded in the log or in a snapshot, not Config.Peers.
func TestMembershipChanges(t *testing.T) {
	lb := &logBuffer{}
	c := newMemCluster(t, lb, 1, 2, 3)
	c.startAll()
	lead := c.leader()
	c.propose(lead, "a", 0, 10)
	c.converge(10)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Member 4 joins as a learner: the others learn its address from the change.
	if err := c.nodes[lead].ProposeConfChange(ctx, ConfChange{Add: []Peer{{ID: 4, Addr: "mem-4", Learner: true}}}); err != nil {
		t.Fatalf("add learner: %v", err)
	}
	c.waitPeers(t, "the learner to be added", []string{"1=mem-1", "2=mem-2", "3=mem-3", "4=mem-4"})
	c.waitMembership(t, "voters 1 2 3, learner 4", "v1=mem-1 v2=mem-2 v3=mem-3 l4=mem-4")
	c.configure(4, []Peer{
		{ID: 1, Addr: "mem-1"}, {ID: 2, Addr: "mem-2"}, {ID: 3, Addr: "mem-3"}, {ID: 4, Addr: "mem-4", Learner: true},
	})
	c.start(4)
	c.converge(10)

	// Promoted; no address given: the recorded one stays.
	if err := c.nodes[lead].ProposeConfChange(ctx, ConfChange{Add: []Peer{{ID: 4}}}); err != nil {
		t.Fatalf("promote: %v", err)
	}
	c.waitMembership(t, "4 a voter", "v1=mem-1 v2=mem-2 v3=mem-3 v4=mem-4")

	// A follower removes another follower; it returns once it applied that.
	var gone, via uint64
	for _, id := range []uint64{1, 2, 3} {
		switch {
		case id == lead:
		case gone == 0:
			gone = id
		default:
			via = id
		}
	}
	if err := c.nodes[via].ProposeConfChange(ctx, ConfChange{Remove: []uint64{gone}}); err != nil {
		t.Fatalf("remove %d through %d: %v", gone, via, err)
	}
	if st := c.nodes[via].Status(); slices.ContainsFunc(st.Voters, func(p Peer) bool { return p.ID == gone }) {
		t.Fatalf("ProposeConfChange returned before its member applied it: %+v", st.Voters)
	}
	c.stop(gone)
	left := []uint64{lead, via, 4}
	var peers []string
	for _, id := range slices.Sorted(slices.Values(left)) {
		peers = append(peers, fmt.Sprintf("%d=mem-%d", id, id))
	}
	c.waitPeers(t, "the removed member to be forgotten", peers)

	// Two members at once: joint consensus, left before the call returns.
	if err := c.nodes[lead].ProposeConfChange(ctx, ConfChange{Add: []Peer{{ID: 5, Addr: "mem-5", Learner: true}, {ID: 4, Addr: "mem-4b"}}}); err != nil {
		t.Fatalf("joint change: %v", err)
	}
	if st := c.nodes[lead].Status(); len(st.OutgoingVoters) != 0 || len(st.Learners) != 1 || st.Learners[0] != (Peer{ID: 5, Addr: "mem-5", Learner: true}) {
		t.Fatalf("after the joint change: %+v", st)
	}
	wantMembers := membershipString(c.nodes[lead].Status())
	if !strings.Contains(wantMembers, "v4=mem-4b") {
		t.Fatalf("membership %s: the new address of 4 is missing", wantMembers)
	}

	// Refused before it reaches raft: no voter would be left.
	err := c.nodes[lead].ProposeConfChange(ctx, ConfChange{Remove: left})
	if !errors.Is(err, ErrInvalidConfChange) {
		t.Fatalf("removing every voter = %v, want ErrInvalidConfChange", err)
	}
	for _, cc := range []ConfChange{{}, {Remove: []uint64{0}}, {Add: []Peer{{ID: 6}}, Remove: []uint64{6}}} {
		if err := c.nodes[lead].ProposeConfChange(ctx, cc); !errors.Is(err, ErrInvalidConfChange) {
			t.Fatalf("ProposeConfChange(%+v) = %v, want ErrInvalidConfChange", cc, err)
		}
	}
	c.propose(lead, "b", 0, 10)
	c.converge(20)

	// Restart: one member from a snapshot, the others from their logs. The
	// configuration still lists 1, 2, 3 only.
	c.nodes[lead].TriggerSnapshot()
	waitFor(t, "a snapshot", func() bool { return c.nodes[lead].Status().LastSnapshotIndex > 0 })
	for _, id := range left {
		c.stop(id)
	}
	c.net = newMemNet()
	for _, id := range left {
		c.start(id)
	}
	for _, id := range left {
		var want []string
		for _, o := range slices.Sorted(slices.Values(append(slices.Clone(left), 5))) {
			if o == id {
				continue
			}
			addr := fmt.Sprintf("mem-%d", o)
			if o == 4 {
				addr = "mem-4b"
			}
			want = append(want, fmt.Sprintf("%d=%s", o, addr))
		}
		if got := c.trs[id].known(); !slices.Equal(got, want) {
			t.Fatalf("after restart member %d's transport knows %v, want %v", id, got, want)
		}
		if got := membershipString(c.nodes[id].Status()); got != wantMembers {
			t.Fatalf("after restart member %d's membership is %s, want %s", id, got, wantMembers)
		}
	}
	if _, _, restores, _ := c.recs[lead].snapshot(); restores == 0 {
		t.Fatal("the member that took a snapshot did not restore it")
	}
	newLead := c.leader()
	c.propose(newLead, "c", 0, 10)
	c.converge(30)
}

// membershipString renders a Status's membership as "v1=addr l4=addr ...",
// outgoing voters as "o<id>".
func membershipString(st Status) string {
	var parts []string
	for _, g := range []struct {
		tag   string
		peers []Peer
	}{{"v", st.Voters}, {"l", st.Learners}, {"o", st.OutgoingVoters}} {
		for _, p := range g.peers {
			parts = append(parts, fmt.Sprintf("%s%d=%s", g.tag, p.ID, p.Addr))
		}
	}
	return strings.Join(parts, " ")
}

// waitPeers waits until each running member's transport knows exactly the
// other members of want ("<id>=<addr>").
func (c *memCluster) waitPeers(t *testing.T, what string, want []string) {
	t.Helper()
	for id := range c.nodes {
		var others []string
		for _, w := range want {
			if !strings.HasPrefix(w, fmt.Sprintf("%d=", id)) {
				others = append(others, w)
			}
		}
		waitFor(t, fmt.Sprintf("%s (member %d)", what, id), func() bool { return slices.Equal(c.trs[id].known(), others) })
	}
}

// waitMembership waits until every running member's Status shows want.
func (c *memCluster) waitMembership(t *testing.T, what, want string) {
	t.Helper()
	for id, n := range c.nodes {
		waitFor(t, fmt.Sprintf("%s (member %d)", what, id), func() bool { return membershipString(n.Status()) == want })
	}
}

func TestConfChangeContextRoundTrip(t *testing.T) {
	c := confContext{proposer: 3, seq: 1 << 60, addrs: map[uint64]string{4: "d:2888", 9: ""}}
	got, err := decodeConfContext(appendConfContext(nil, c))
	if err != nil || got.proposer != 3 || got.seq != 1<<60 || len(got.addrs) != 2 || got.addrs[4] != "d:2888" {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {1}, {2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, appendConfContext(nil, c)[:25]} {
		if _, err := decodeConfContext(bad); err == nil {
			t.Fatalf("decodeConfContext(%x) succeeded", bad)
		}
	}
}
