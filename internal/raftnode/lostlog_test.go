package raftnode

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// A follower whose data directory is wiped comes back with an empty log while the leader
// remembers it holding more. It must not crash, must be readmitted (removed, added back as a
// learner that raft tracks afresh) and must catch up, from the log or, once the log is
// compacted, from a snapshot; it stays a learner here, as raftnode leaves the promotion to
// the server.
func TestWipedFollowerIsReadmitted(t *testing.T) {
	for _, compacted := range []bool{false, true} {
		t.Run(map[bool]string{false: "from-log", true: "from-snapshot"}[compacted], func(t *testing.T) {
			lb := &logBuffer{}
			c := newMemCluster(t, lb, 1, 2, 3)
			// Each member knows the others by its own address for them (as behind per-link
			// proxies): a readmission must not replace them with the leader's.
			for v, cfg := range c.cfgs {
				cfg.Peers = nil
				for id := uint64(1); id <= 3; id++ {
					cfg.Peers = append(cfg.Peers, Peer{ID: id, Addr: fmt.Sprintf("mem-%d-from-%d", id, v)})
				}
				c.cfgs[v] = cfg
			}
			if compacted {
				for id, cfg := range c.cfgs {
					cfg.SnapCount = 20 // snapshots every 20 entries, keeping 20 behind
					c.cfgs[id] = cfg
				}
			}
			c.startAll()
			lead := c.leader()
			c.propose(lead, "a", 0, 50)
			c.converge(50)
			f := uint64(1 + lead%3) // a follower
			c.stop(f)
			if err := os.RemoveAll(c.cfgs[f].DataDir); err != nil {
				t.Fatal(err)
			}
			c.propose(lead, "b", 0, 10)
			c.start(f)
			waitFor(t, "the wiped member readmitted as a learner", func() bool {
				st := c.nodes[lead].Status()
				return slices.ContainsFunc(st.Learners, func(p Peer) bool { return p.ID == f && p.Addr != "" })
			})
			for v, n := range c.nodes {
				want := fmt.Sprintf("mem-%d-from-%d", f, v)
				waitFor(t, fmt.Sprintf("member %d to know the learner at %s", v, want), func() bool {
					return slices.ContainsFunc(n.Status().Learners, func(p Peer) bool { return p.ID == f && p.Addr == want })
				})
			}
			c.propose(lead, "c", 0, 10)
			c.converge(70)
			if err := c.nodes[f].Err(); err != nil {
				t.Fatalf("wiped member failed: %v", err)
			}
			_, _, restores, _ := c.recs[f].snapshot()
			if compacted != (restores > 0) {
				t.Errorf("wiped member restored %d snapshots; want some: %v", restores, compacted)
			}
			if !strings.Contains(lb.String(), "lost its log") {
				t.Fatalf("no readmission logged:\n%s", lb.String())
			}
		})
	}
}

// A member with an empty log cannot tell a new ensemble from an old one it lost, so it grants
// no vote to a candidate whose log is not empty; an empty candidate (a new ensemble) gets it,
// and so does any candidate once the member holds entries.
func TestEmptyMemberRefusesVotesForNonEmptyLogs(t *testing.T) {
	n := &Node{id: 1, storage: raft.NewMemoryStorage(), log: testLogger(&logBuffer{})}
	vote := func(typ pb.MessageType, index uint64) *pb.Message {
		return &pb.Message{Type: typ.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(3)), Index: new(index), LogTerm: new(uint64(2))}
	}
	for _, typ := range []pb.MessageType{pb.MsgVote, pb.MsgPreVote} {
		if !n.screen(vote(typ, 0)) {
			t.Errorf("%v from an empty candidate refused by an empty member", typ)
		}
		if n.screen(vote(typ, 7)) {
			t.Errorf("%v from a candidate with 7 entries let through by an empty member", typ)
		}
	}
	if err := n.storage.Append([]*pb.Entry{{Index: new(uint64(1)), Term: new(uint64(1))}}); err != nil {
		t.Fatal(err)
	}
	if !n.screen(vote(pb.MsgVote, 7)) {
		t.Error("a member holding entries refused to consider a vote")
	}
}
