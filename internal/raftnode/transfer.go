package raftnode

import (
	"context"
	"fmt"
	"slices"

	"go.etcd.io/raft/v3"
)

// TransferLeadership hands leadership to member to or, when to is 0, to the
// voter whose log is most up to date (for a leader about to shut down). It
// must be called on the leader and returns once another member leads. While
// the transfer runs, raft drops new proposals (ErrProposalDropped); if the
// transferee does not take over within an election timeout, the transfer is
// tried again until ctx is done.
//
// Errors: ErrNotLeader, ErrNoTransferee (no other voter, or to is not one),
// ErrStopped, or ctx's error. Calling it on the leader with its own id
// returns nil at once.
func (n *Node) TransferLeadership(ctx context.Context, to uint64) error {
	req := &transferReq{to: to, ctx: ctx, errc: make(chan error, 1)}
	return handOver(n, ctx, n.transferc, req, req.errc)
}

type transferReq struct {
	to   uint64
	ctx  context.Context
	errc chan error
}

// Ready loop side. Transfers in progress complete together when another
// member becomes leader; the newest request names the transferee.

func (n *Node) startTransfer(req *transferReq) {
	switch {
	case n.rn.BasicStatus().RaftState != raft.StateLeader:
		req.errc <- ErrNotLeader
		return
	case req.to == n.id:
		req.errc <- nil
		return
	case req.to != 0 && !slices.Contains(n.confState.Voters, req.to):
		req.errc <- fmt.Errorf("%w: member %d is not a voter", ErrNoTransferee, req.to)
		return
	}
	target := n.transferee(req.to)
	if target == 0 {
		req.errc <- ErrNoTransferee
		return
	}
	n.transfers = append(n.transfers, req)
	n.log.Info("raftnode: transferring leadership", "to", target)
	n.rn.TransferLeader(target)
}

// transferee returns to, or with to 0 the voter other than this member with
// the highest match index, preferring recently active ones; 0 if none.
func (n *Node) transferee(to uint64) uint64 {
	if to != 0 {
		return to
	}
	var best uint64
	var bestMatch uint64
	bestActive := false
	for id, pr := range n.rn.Status().Progress {
		if id == n.id || pr.IsLearner || !slices.Contains(n.confState.Voters, id) {
			continue
		}
		better := best == 0 ||
			(pr.RecentActive && !bestActive) ||
			(pr.RecentActive == bestActive && (pr.Match > bestMatch || pr.Match == bestMatch && id < best))
		if better {
			best, bestMatch, bestActive = id, pr.Match, pr.RecentActive
		}
	}
	return best
}

// tickTransfers drops transfers whose callers gave up and, if raft abandoned
// the transfer while this member still leads, starts it again.
func (n *Node) tickTransfers() {
	if len(n.transfers) == 0 {
		return
	}
	kept := n.transfers[:0]
	for _, t := range n.transfers {
		if err := t.ctx.Err(); err != nil {
			t.errc <- err
		} else {
			kept = append(kept, t)
		}
	}
	clear(n.transfers[len(kept):])
	n.transfers = kept
	if len(kept) == 0 {
		return
	}
	st := n.rn.BasicStatus()
	if st.RaftState == raft.StateLeader && st.LeadTransferee == 0 {
		if target := n.transferee(kept[len(kept)-1].to); target != 0 {
			n.rn.TransferLeader(target)
		}
	}
}

// transfersDone completes the transfers once another member leads.
func (n *Node) transfersDone(leader uint64) {
	if len(n.transfers) == 0 || leader == 0 || leader == n.id {
		return
	}
	for _, t := range n.transfers {
		t.errc <- nil
	}
	n.log.Info("raftnode: leadership transferred", "leader", leader)
	clear(n.transfers)
	n.transfers = n.transfers[:0]
}
