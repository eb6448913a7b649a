package raftnode

import (
	"context"

	"go.etcd.io/raft/v3"
)

// Progress is the leader's view of replication, for decisions such as
// "is this new member caught up" or "would this membership keep a quorum"
// (ZooKeeper's reconfig).
type Progress struct {
	Leader  uint64 // this member
	Term    uint64
	Commit  uint64 // the leader's commit index
	Members map[uint64]MemberProgress
}

// MemberProgress is one member's replication state as the leader sees it.
type MemberProgress struct {
	Match   uint64 // highest log index known to be on the member's disk
	Learner bool
	// Active is raft's RecentActive: the leader heard from the member since
	// the last check-quorum round (once per election timeout, when raft resets
	// it). A live member can therefore read inactive for a moment just after a
	// reset; sample more than once before calling a member dead.
	Active bool
}

type progressReq struct {
	ctx  context.Context
	resc chan progressRes
}

type progressRes struct {
	p   Progress
	err error
}

// Progress returns the leader's replication state. It must be called on the
// leader. Errors: ErrNotLeader, ErrStopped, or ctx's error. The map is the
// caller's.
func (n *Node) Progress(ctx context.Context) (Progress, error) {
	req := &progressReq{ctx: ctx, resc: make(chan progressRes, 1)}
	select {
	case n.progressc <- req:
	case <-ctx.Done():
		return Progress{}, ctx.Err()
	case <-n.stopc:
		return Progress{}, ErrStopped
	}
	select {
	case res := <-req.resc:
		return res.p, res.err
	case <-ctx.Done():
		return Progress{}, ctx.Err()
	case <-n.done:
		return Progress{}, ErrStopped
	}
}

// answerProgress runs on the Ready loop.
func (n *Node) answerProgress(req *progressReq) {
	st := n.rn.Status()
	if st.RaftState != raft.StateLeader {
		req.resc <- progressRes{err: ErrNotLeader}
		return
	}
	p := Progress{Leader: n.id, Term: st.GetTerm(), Commit: st.GetCommit(), Members: make(map[uint64]MemberProgress, len(st.Progress))}
	for id, pr := range st.Progress {
		p.Members[id] = MemberProgress{Match: pr.Match, Learner: pr.IsLearner, Active: pr.RecentActive || id == n.id}
	}
	req.resc <- progressRes{p: p}
}
