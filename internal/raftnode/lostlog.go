package raftnode

import (
	"slices"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"
	"google.golang.org/protobuf/proto"
)

// A member that lost its log.
//
// A member whose data directory was wiped (or whose disk lied about fsync) comes back with
// a shorter log than it once acknowledged. raft cannot take such a member back as it is: the
// leader's Progress.Match still records what the old log held, so its heartbeats ask the
// member to commit entries it does not have (raft panics on that), and it ignores the
// member's rejections as stale. Worse, a voter with an empty log may vote for a candidate
// that misses committed entries, and so help elect a leader that loses them.
//
// So, on the Ready loop:
//
//   - A member never lets a heartbeat commit past its own last index: it clamps the commit
//     and answers the leader with a rejection that names its real last index.
//   - The leader, told by a member that its log ends below the recorded Match (something a
//     member with its log intact never says: raft's rejection hint never goes below the
//     matched prefix), readmits it: it removes the member, then adds it back as a learner,
//     so raft tracks it afresh and catches it up (by snapshot when the log is compacted). The
//     server promotes it to voter again once it has caught up, from the roles in
//     /zookeeper/config.
//   - A member whose log is empty grants no vote to a candidate whose log is not: it cannot
//     know whether it is a new member of a new ensemble or an old one that lost everything,
//     and only in the first case is its vote safe. In a new ensemble every log is empty.

// readmitGap is how often the leader may propose readmitting the same member: the member
// keeps rejecting until the change is applied.
const readmitGap = time.Second

// screen looks at a message from a peer before raft steps it. It reports false for a
// message that must not be stepped; it may rewrite m (a heartbeat's commit).
func (n *Node) screen(m *pb.Message) bool {
	switch m.GetType() {
	case pb.MsgHeartbeat:
		last, err := n.storage.LastIndex()
		if err != nil || m.GetCommit() <= last {
			return true
		}
		n.warnLost(m.GetFrom(), m.GetCommit(), last)
		m.Commit = new(last)
		n.cfg.Transport.Send([]*pb.Message{{
			Type: pb.MsgAppResp.Enum(), To: new(m.GetFrom()), From: new(n.id), Term: new(m.GetTerm()),
			Index: new(m.GetCommit()), Reject: new(true), RejectHint: new(last),
		}})
		return true
	case pb.MsgVote, pb.MsgPreVote:
		if m.GetIndex() == 0 {
			return true
		}
		if last, err := n.storage.LastIndex(); err != nil || last > 0 {
			return true
		}
		n.log.Debug("raftnode: refusing a vote: this member's log is empty and the candidate's is not",
			"candidate", m.GetFrom(), "candidate_last_index", m.GetIndex())
		return false
	case pb.MsgAppResp:
		if m.GetReject() {
			n.checkLost(m.GetFrom(), m.GetRejectHint())
		}
	}
	return true
}

// warnLost logs, once per minute, that this member lacks entries the leader believes it has.
func (n *Node) warnLost(leader, commit, last uint64) {
	if now := time.Now(); now.Sub(n.lostWarned) > time.Minute {
		n.lostWarned = now
		n.log.Warn("raftnode: the leader believes this member holds entries it does not have (its log was lost or wiped); asking to be readmitted",
			"leader", leader, "leader_commit", commit, "last_index", last)
	}
}

// checkLost runs on the leader for a rejection from member id whose log ends at last.
func (n *Node) checkLost(id, last uint64) {
	if n.rn.BasicStatus().RaftState != raft.StateLeader {
		return
	}
	var match uint64
	var known bool
	n.rn.WithProgress(func(pid uint64, _ raft.ProgressType, pr tracker.Progress) {
		if pid == id {
			match, known = pr.Match, true
		}
	})
	if !known || last >= match {
		return
	}
	if at, ok := n.readmitAt[id]; ok && time.Since(at) < readmitGap {
		return
	}
	n.readmitAt[id] = time.Now()
	if _, ok := n.readmitting[id]; !ok {
		// Only an address the log recorded goes back into it: one from this member's own
		// configuration would override every other member's (which may reach the member
		// through another address) once replicated.
		n.readmitting[id] = n.addrs[id]
	}
	if n.proposeMembers(&pb.ConfChangeSingle{Type: pb.ConfChangeRemoveNode.Enum(), NodeId: new(id)}, nil) {
		n.log.Warn("raftnode: a member lost its log; removing it, to add it back as a learner that catches up",
			"peer", id, "recorded_match", match, "its_last_index", last)
	}
}

// continueReadmissions runs on the leader's ticks while members are being readmitted: a
// member removed because it lost its log is added back as a learner. raft forgets a member's
// progress only when it leaves the membership, so readmission takes two changes; a new
// leader does not know about the second, and the server adds back a member that
// /zookeeper/config lists (internal/server/roles.go).
func (n *Node) continueReadmissions() {
	if n.rn.BasicStatus().RaftState != raft.StateLeader {
		clear(n.readmitting)
		return
	}
	for id, addr := range n.readmitting {
		switch {
		case slices.Contains(n.confState.Learners, id):
			delete(n.readmitting, id) // done: raft tracks it afresh
		case isMember(n.confState, id):
			// the removal is not applied yet
		default:
			var addrs map[uint64]string
			if addr != "" {
				addrs = map[uint64]string{id: addr}
			}
			if n.proposeMembers(&pb.ConfChangeSingle{Type: pb.ConfChangeAddLearnerNode.Enum(), NodeId: new(id)}, addrs) {
				n.log.Info("raftnode: adding back a member that lost its log, as a learner", "peer", id)
			}
		}
	}
}

// proposeMembers proposes a single-member change with addrs on the leader. It reports
// whether raft took it (not while another change is pending).
func (n *Node) proposeMembers(c *pb.ConfChangeSingle, addrs map[uint64]string) bool {
	if len(n.confState.VotersOutgoing) > 0 {
		return false
	}
	cc := &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{c}, Context: appendConfContext(nil, confContext{proposer: n.id, addrs: addrs})}
	if err := checkConfChange(n.confState, cc); err != nil {
		n.log.Warn("raftnode: membership change refused", "change", c.GetType(), "peer", c.GetNodeId(), "err", err)
		return false
	}
	data, err := proto.Marshal(cc)
	if err != nil {
		return false
	}
	ents := []*pb.Entry{{Type: pb.EntryConfChangeV2.Enum(), Data: data}}
	err = n.rn.Step(&pb.Message{Type: pb.MsgProp.Enum(), From: new(n.id), Entries: ents})
	return err == nil && ents[0].GetType() == pb.EntryConfChangeV2
}
