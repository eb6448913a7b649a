package raftnode

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestTransferLeadership(t *testing.T) {
	lb := &logBuffer{}
	c := newMemCluster(t, lb, 1, 2, 3)
	c.startAll()
	lead := c.leader()
	c.propose(lead, "a", 0, 50)
	c.converge(50)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	follower := uint64(1)
	if follower == lead {
		follower = 2
	}
	if err := c.nodes[follower].TransferLeadership(ctx, 0); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("TransferLeadership on a follower = %v, want ErrNotLeader", err)
	}
	if err := c.nodes[lead].TransferLeadership(ctx, 9); !errors.Is(err, ErrNoTransferee) {
		t.Fatalf("TransferLeadership to a non-member = %v, want ErrNoTransferee", err)
	}
	if err := c.nodes[lead].TransferLeadership(ctx, lead); err != nil {
		t.Fatalf("TransferLeadership to itself = %v", err)
	}

	// To the most caught-up voter, as on SIGTERM.
	if err := c.nodes[lead].TransferLeadership(ctx, 0); err != nil {
		t.Fatalf("TransferLeadership: %v", err)
	}
	st := c.nodes[lead].Status()
	if st.Role == "leader" || st.Leader == lead || st.Leader == 0 {
		t.Fatalf("after the transfer the old leader's status is %+v", st)
	}
	second := st.Leader
	c.propose(second, "b", 0, 50)

	// Back to a named member.
	if err := c.nodes[second].TransferLeadership(ctx, lead); err != nil {
		t.Fatalf("TransferLeadership to %d: %v", lead, err)
	}
	waitFor(t, "the named member to lead", func() bool { return c.nodes[lead].Status().Role == "leader" })
	c.propose(lead, "c", 0, 50)

	got := c.converge(150)
	want := slices.Concat(seq("a", 0, 50), seq("b", 0, 50), seq("c", 0, 50))
	if !slices.Equal(datas(got), want) {
		t.Fatalf("applied %d entries, want the 150 proposed in order", len(got))
	}
}

func TestTransferLeadershipAlone(t *testing.T) {
	lb := &logBuffer{}
	n := mustStart(t, testConfig(t.TempDir(), lb), &recorder{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.TransferLeadership(ctx, 0); !errors.Is(err, ErrNoTransferee) {
		t.Fatalf("TransferLeadership in a one-member ensemble = %v, want ErrNoTransferee", err)
	}
}
