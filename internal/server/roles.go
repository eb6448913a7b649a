package server

import (
	"context"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/paddock/paddock/internal/config"
	"github.com/paddock/paddock/internal/raftnode"
)

// Restoring roles. raft readmits a member that lost its log by removing it and adding it
// back as a learner (see internal/raftnode/lostlog.go), so that it catches up before it
// counts again. The roles themselves are the ensemble's configuration: /zookeeper/config
// names each member a participant or an observer. So the leader, on every tick:
//
//   - adds back as a learner a member that /zookeeper/config lists and raft does not (a
//     readmission whose second step was lost in a leader change);
//   - promotes, once caught up, a learner that /zookeeper/config calls a participant.
//
// A reconfig changes raft's membership and /zookeeper/config one after the other, so the
// checks and the changes run under the reconfig lease: a reconfig in progress is never
// undone.

// restoreRoles runs on the leader, from reconfigLoop, at most one at a time.
func (s *Server) restoreRoles(busy *atomic.Bool) {
	if !s.isLeader() || !s.rolesDiffer() || !busy.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer busy.Store(false)
		ctx, cancel := s.stopContext(reconfigTimeout(s.opts))
		defer cancel()
		if !s.roleWork(ctx) {
			return // learners still catching up: no lease taken, nothing written
		}
		seq, granted, err := s.beginReconfig(ctx, reconfigTimeout(s.opts))
		if err != nil || !granted {
			return
		}
		defer s.endReconfig(seq)
		missing, learners := s.roleChanges() // again, under the lease
		for _, peer := range missing {
			s.log.Info("adding back, as a learner, a member that /zookeeper/config lists", "member", peer.ID, "addr", peer.Addr)
			if err := s.changeMembership(ctx, raftnode.ConfChange{Add: []raftnode.Peer{peer}}); err != nil {
				s.log.Warn("member not added back; will retry", "member", peer.ID, "err", err)
				return
			}
		}
		if len(learners) == 0 {
			return
		}
		p, err := s.sampleProgress(ctx)
		if err != nil {
			return
		}
		for _, peer := range learners {
			if !caughtUp(p, peer.ID) {
				continue
			}
			// No address: a promotion changes the role only, and keeps the address each member
			// already knows the learner by.
			peer.Learner, peer.Addr = false, ""
			s.log.Info("promoting a caught-up learner that /zookeeper/config names a participant", "member", peer.ID)
			if err := s.changeMembership(ctx, raftnode.ConfChange{Add: []raftnode.Peer{peer}}); err != nil {
				s.log.Warn("learner not promoted; will retry", "member", peer.ID, "err", err)
				return
			}
		}
	}()
}

// roleWork reports whether there is a change to make now: a member to add back, or a learner
// to promote that has caught up.
func (s *Server) roleWork(ctx context.Context) bool {
	missing, learners := s.roleChanges()
	if len(missing) > 0 {
		return true
	}
	p, err := s.sampleProgress(ctx)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(learners, func(peer raftnode.Peer) bool { return caughtUp(p, peer.ID) })
}

// rolesDiffer is a cheap first look: does raft's membership differ from /zookeeper/config's?
func (s *Server) rolesDiffer() bool {
	missing, learners := s.roleChanges()
	return len(missing)+len(learners) > 0
}

// roleChanges compares raft's membership with /zookeeper/config: the members it lists that
// raft lacks (to add as learners), and the learners it calls participants (to promote once
// caught up).
func (s *Server) roleChanges() (missing, learners []raftnode.Peer) {
	st := s.node.Status()
	if len(st.OutgoingVoters) > 0 {
		return nil, nil
	}
	data, _ := s.configData()
	if len(data) == 0 {
		return nil, nil // not seeded yet: raft's membership is all there is
	}
	members, _ := parseConfigData(data)
	for _, id := range slices.Sorted(maps.Keys(members)) {
		sv, uid := members[id], uint64(id)
		inRaft := func(p raftnode.Peer) bool { return p.ID == uid }
		switch {
		case slices.ContainsFunc(st.Voters, inRaft):
		case slices.ContainsFunc(st.Learners, inRaft):
			if sv.Role == config.Participant {
				i := slices.IndexFunc(st.Learners, inRaft)
				learners = append(learners, st.Learners[i])
			}
		default:
			// A member of the static configuration goes back without an address, so that each
			// member reaches it by the address its own configuration gives (the members may
			// know it by different ones, through proxies or NAT); one that joined by reconfig
			// has only /zookeeper/config's.
			addr := peerAddr(sv)
			if slices.ContainsFunc(s.opts.Members, func(m config.Server) bool { return m.ID == id }) {
				addr = ""
			}
			missing = append(missing, raftnode.Peer{ID: uid, Addr: addr, Learner: true})
		}
	}
	return missing, learners
}
