package server

// Reconfig control entries, and what the leader does for a reconfig run by another member.
//
// Control entries are raft entries of their own envelope kind (envReconfig) and, like touch
// entries, carry no zxid except the seed:
//
//	[u8 envReconfig][u8 op][u64 origin][u64 seq][i64 time ms][body]
//
// origin is the member the entry belongs to (the asker, for a report), seq numbers that
// member's requests, time is the proposer's clock. The ops:
//
//	seed      body: members. Sets /zookeeper/config while it is empty (at the first start of
//	          an ensemble, proposed by the leader), with the zxid term<<32 or the last zxid,
//	          so it consumes none: the first configuration's version is its leader's epoch,
//	          as ZooKeeper's is the zxid of its first NEWLEADER.
//	begin     body: i64 lease ms. Takes the ensemble-wide reconfig lease unless another
//	          member's unexpired lease holds it (judged by the entries' times, so every
//	          member decides alike); the origin learns the outcome when it applies it.
//	end       releases the origin's lease.
//	ask       the leader answers with a report of its replication progress.
//	report    body: the progress (see encodeProgress), for the origin.
//	transfer  body: u64 member. The leader hands leadership to it.
//
// Asks and transfers are acted on by the leader's reconfig loop, and only when applied while
// it runs and recent, so a log replayed at start does not move leadership around. The lease is
// judged by the proposers' clocks: members whose clocks disagree by more than a lease (about a
// minute) could run two reconfigs at once.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paddock/paddock/internal/config"
	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/raftnode"
	"github.com/paddock/paddock/internal/tree"
	"github.com/paddock/paddock/internal/watch"
)

const (
	envReconfig = 0x52 // 'R': the envelope kind of reconfig control entries

	ctlSeed     = 1
	ctlBegin    = 2
	ctlEnd      = 3
	ctlAsk      = 4
	ctlReport   = 5
	ctlTransfer = 6

	ctlHeader = 1 + 1 + 8 + 8 + 8

	// catchUpBound is how many entries a member may lag the leader's commit index and still
	// count as caught up.
	catchUpBound = 100
	// Raft resets a member's "recently active" flag every election timeout, and a live member
	// sets it again within a heartbeat: sampling over a few heartbeats tells live from dead.
	progressSamples = 8
	progressGap     = 50 * time.Millisecond
	// staleCtl: asks and transfers older than this by the proposer's clock are not acted on
	// (the tail of a log replayed after a restart); generous, for clocks that disagree.
	staleCtl = time.Minute
	// retryGap paces retries of proposals that raft may drop silently (a follower's
	// membership change, an ask whose answer did not come).
	retryGap = 2 * time.Second
)

// reconfigState is the member's reconfig bookkeeping. mu is a leaf lock.
type reconfigState struct {
	mu      sync.Mutex
	lease   reconfigLease          // guarded by mu; replicated: derived from applied begin and end entries
	seq     uint64                 // guarded by mu: numbers this member's control requests
	waiters map[uint64]chan []byte // guarded by mu: this member's begins and asks awaiting their answer
	todo    []ctlEntry             // guarded by mu: asks and transfers for the leader's reconfig loop
	live    bool                   // guarded by mu: the reconfig loop runs; entries replayed before are not acted on
	todoc   chan struct{}          // guarded by mu (created once): cap 1, todo is not empty
}

type reconfigLease struct {
	origin, seq uint64
	time, ms    int64 // taken at time (the begin's proposer clock), for ms
}

type ctlEntry struct {
	op     byte
	origin uint64
	seq    uint64
	time   int64
	body   []byte
}

func (e *ctlEntry) marshal() []byte {
	b := make([]byte, ctlHeader, ctlHeader+len(e.body))
	b[0], b[1] = envReconfig, e.op
	binary.BigEndian.PutUint64(b[2:], e.origin)
	binary.BigEndian.PutUint64(b[10:], e.seq)
	binary.BigEndian.PutUint64(b[18:], uint64(e.time))
	return append(b, e.body...)
}

func parseCtl(b []byte) (ctlEntry, bool) {
	if len(b) < ctlHeader || b[0] != envReconfig {
		return ctlEntry{}, false
	}
	return ctlEntry{
		op:     b[1],
		origin: binary.BigEndian.Uint64(b[2:]),
		seq:    binary.BigEndian.Uint64(b[10:]),
		time:   int64(binary.BigEndian.Uint64(b[18:])),
		body:   b[ctlHeader:],
	}, true
}

// waiter registers a control request of this member and returns its seq and where its
// answer arrives.
func (rc *reconfigState) waiter() (uint64, chan []byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.seq == 0 {
		// Random, so that the answers to a previous run's requests, still in the log after a
		// restart, do not reach this run's.
		rc.seq = rand.Uint64() >> 1
	}
	rc.seq++
	if rc.waiters == nil {
		rc.waiters = make(map[uint64]chan []byte)
	}
	ch := make(chan []byte, 1)
	rc.waiters[rc.seq] = ch
	return rc.seq, ch
}

func (rc *reconfigState) forget(seq uint64) {
	rc.mu.Lock()
	delete(rc.waiters, seq)
	rc.mu.Unlock()
}

// deliver hands an answer to a waiting request; it never blocks.
func (rc *reconfigState) deliver(seq uint64, b []byte) {
	rc.mu.Lock()
	ch := rc.waiters[seq]
	delete(rc.waiters, seq)
	rc.mu.Unlock()
	if ch != nil {
		ch <- b
	}
}

func (rc *reconfigState) signal() chan struct{} {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.todoc == nil {
		rc.todoc = make(chan struct{}, 1)
	}
	return rc.todoc
}

func (rc *reconfigState) queue(e ctlEntry) {
	e.body = slices.Clone(e.body)
	rc.mu.Lock()
	if !rc.live {
		rc.mu.Unlock()
		return
	}
	rc.todo = append(rc.todo, e)
	rc.mu.Unlock()
	select {
	case rc.signal() <- struct{}{}:
	default:
	}
}

func (rc *reconfigState) take() []ctlEntry {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	t := rc.todo
	rc.todo = nil
	return t
}

// applyReconfigCtl applies a control entry; it runs on the apply goroutine and never blocks.
func (s *Server) applyReconfigCtl(term uint64, data []byte) {
	e, ok := parseCtl(data)
	if !ok {
		s.log.Error("skipping malformed reconfig control entry", "len", len(data))
		return
	}
	rc := &s.rc
	me := s.opts.ServerID
	switch e.op {
	case ctlSeed:
		s.applySeed(term, e)
	case ctlBegin:
		if len(e.body) < 8 {
			return
		}
		ms := int64(binary.BigEndian.Uint64(e.body))
		rc.mu.Lock()
		l := rc.lease
		held := l.origin != 0 && !(l.origin == e.origin && l.seq == e.seq) && e.time < l.time+l.ms
		if !held {
			rc.lease = reconfigLease{origin: e.origin, seq: e.seq, time: e.time, ms: ms}
		}
		rc.mu.Unlock()
		if e.origin == me {
			ans := []byte{1}
			if held {
				ans[0] = 0
			}
			rc.deliver(e.seq, ans)
		}
	case ctlEnd:
		rc.mu.Lock()
		if rc.lease.origin == e.origin && rc.lease.seq == e.seq {
			rc.lease = reconfigLease{}
		}
		rc.mu.Unlock()
	case ctlAsk, ctlTransfer:
		if time.Since(time.UnixMilli(e.time)) < staleCtl {
			rc.queue(e)
		}
	case ctlReport:
		if e.origin == me {
			rc.deliver(e.seq, slices.Clone(e.body))
		}
	}
}

// applySeed records the configured membership in /zookeeper/config if it is still empty.
// It consumes no zxid: it applies at term<<32 (or the last zxid, if this term already has
// txns), so the next txn's zxid is what it would have been without it.
func (s *Server) applySeed(term uint64, e ctlEntry) {
	body := proto.Marshal(nil, &tree.ReconfigTxn{Members: string(e.body), Seed: true})
	s.treeMu.Lock()
	zxid := max(s.tree.LastZxid(), int64(term)<<32)
	res := s.tree.Apply(zxid, &tree.Txn{Type: proto.OpReconfig, Time: e.time, Body: body})
	s.triggerLocked(&res)
	s.treeMu.Unlock()
	if res.Err == proto.CodeOK {
		s.log.Info("recorded the ensemble's membership in /zookeeper/config", "version", fmt.Sprintf("%x", zxid))
	}
}

// seedMembers is the membership the seed records: raft's, except that each member of the
// static configuration keeps the role that configuration gives it. A member readmitted after
// losing its data is a learner, or briefly absent, while it catches up (see roles.go); the
// seed must still call it a participant, or it would never be promoted back.
func (s *Server) seedMembers() map[int64]config.Server {
	specs := s.specs(nil)
	members := s.membersInForce(s.node.Status(), specs)
	for _, m := range s.opts.Members {
		sv, ok := members[m.ID]
		if !ok {
			sv = specs[m.ID]
		}
		sv.Role = m.Role
		members[m.ID] = sv
	}
	return members
}

// triggerLocked fires a result's watch events as stateMachine.Apply does. It runs on the
// apply goroutine, with s.treeMu held.
func (s *Server) triggerLocked(res *tree.Result) {
	m := s.sm
	for i := range res.Events {
		ev := &res.Events[i]
		var allow func(w watch.Watcher) bool
		if !s.opts.SkipACL && len(ev.ACL) > 0 {
			m.eventACL, allow = ev.ACL, m.allowRead
		}
		s.watches.Trigger(ev.Type, ev.Path, res.Zxid, allow)
	}
	m.eventACL = nil
}

// proposeCtl proposes a control entry of this member.
func (s *Server) proposeCtl(ctx context.Context, e ctlEntry) error {
	if s.stopped() {
		return ErrStopped
	}
	if e.time == 0 {
		e.time = time.Now().UnixMilli()
	}
	return s.node.Propose(ctx, e.marshal())
}

// reconfigLoop runs on every member of an ensemble: it seeds /zookeeper/config when it is
// empty and this member leads, and, on the leader, answers asks and transfers.
func (s *Server) reconfigLoop() {
	t := time.NewTicker(s.opts.TickTime)
	defer t.Stop()
	s.rc.mu.Lock()
	s.rc.live = true
	s.rc.mu.Unlock()
	seeded := false
	var seedAt time.Time
	var restoring atomic.Bool
	todoc := s.rc.signal()
	for {
		select {
		case <-s.stopc:
			return
		case <-todoc:
			for _, e := range s.rc.take() {
				s.leaderAct(e)
			}
		case now := <-t.C:
			if seeded {
				s.restoreRoles(&restoring)
				continue
			}
			data, _ := s.configData()
			if len(data) > 0 {
				seeded = true
				continue
			}
			// A seed is idempotent: proposed again if the last one was lost.
			if !s.isLeader() || now.Sub(seedAt) < retryGap {
				continue
			}
			seedAt = now
			members := formatMembers(s.seedMembers())
			ctx, cancel := context.WithTimeout(context.Background(), s.opts.TickTime)
			if err := s.proposeCtl(ctx, ctlEntry{op: ctlSeed, origin: s.opts.ServerID, body: []byte(members)}); err != nil {
				s.log.Debug("seed of /zookeeper/config not proposed; will retry", "err", err)
			}
			cancel()
		}
	}
}

// leaderAct answers an ask or carries out a transfer, if this member leads.
func (s *Server) leaderAct(e ctlEntry) {
	if !s.isLeader() || time.Since(time.UnixMilli(e.time)) > staleCtl {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), retryGap)
	defer cancel()
	switch e.op {
	case ctlAsk:
		p, err := s.sampleProgress(ctx)
		if err != nil {
			return
		}
		if err := s.proposeCtl(ctx, ctlEntry{op: ctlReport, origin: e.origin, seq: e.seq, body: encodeProgress(p)}); err != nil {
			s.log.Debug("reconfig: progress report not proposed", "err", err)
		}
	case ctlTransfer:
		if len(e.body) < 8 {
			return
		}
		to := binary.BigEndian.Uint64(e.body)
		s.log.Info("reconfig: handing leadership over", "to", to, "asked by", e.origin)
		if err := s.node.TransferLeadership(ctx, to); err != nil {
			s.log.Warn("reconfig: leadership not handed over", "to", to, "err", err)
		}
	}
}

// encodeProgress: u64 leader, u64 commit, u16 count, then count times u64 id, u64 match,
// u8 flags (1 active, 2 learner), in increasing order of id.
func encodeProgress(p raftnode.Progress) []byte {
	b := binary.BigEndian.AppendUint64(nil, p.Leader)
	b = binary.BigEndian.AppendUint64(b, p.Commit)
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.Members)))
	for _, id := range slices.Sorted(maps.Keys(p.Members)) {
		m := p.Members[id]
		b = binary.BigEndian.AppendUint64(b, id)
		b = binary.BigEndian.AppendUint64(b, m.Match)
		var f byte
		if m.Active {
			f |= 1
		}
		if m.Learner {
			f |= 2
		}
		b = append(b, f)
	}
	return b
}

func decodeProgress(b []byte) (raftnode.Progress, bool) {
	if len(b) < 18 {
		return raftnode.Progress{}, false
	}
	p := raftnode.Progress{Leader: binary.BigEndian.Uint64(b), Commit: binary.BigEndian.Uint64(b[8:])}
	n := int(binary.BigEndian.Uint16(b[16:]))
	b = b[18:]
	if len(b) != n*17 {
		return raftnode.Progress{}, false
	}
	p.Members = make(map[uint64]raftnode.MemberProgress, n)
	for ; len(b) > 0; b = b[17:] {
		p.Members[binary.BigEndian.Uint64(b)] = raftnode.MemberProgress{
			Match: binary.BigEndian.Uint64(b[8:]), Active: b[16]&1 != 0, Learner: b[16]&2 != 0,
		}
	}
	return p, true
}

// sampleProgress is the leader's replication progress, a member counting as active if it was
// in any of several samples over a few heartbeats. It must run on the leader.
func (s *Server) sampleProgress(ctx context.Context) (raftnode.Progress, error) {
	var acc raftnode.Progress
	for i := range progressSamples {
		if i > 0 {
			select {
			case <-time.After(progressGap):
			case <-ctx.Done():
				return acc, ctx.Err()
			}
		}
		p, err := s.node.Progress(ctx)
		if err != nil {
			return acc, err
		}
		for id, m := range p.Members {
			if prev, ok := acc.Members[id]; ok && prev.Active {
				m.Active = true
				p.Members[id] = m
			}
		}
		acc = p
	}
	return acc, nil
}

// leaderProgress returns the leader's replication progress: sampled here on the leader,
// else asked for through the log (again every retryGap: an ask or its answer may be lost in
// a leader change).
func (s *Server) leaderProgress(ctx context.Context) (raftnode.Progress, error) {
	for {
		if s.isLeader() {
			p, err := s.sampleProgress(ctx)
			if !errors.Is(err, raftnode.ErrNotLeader) {
				return p, err
			}
		}
		seq, ch := s.rc.waiter()
		wait := retryGap
		err := s.proposeCtl(ctx, ctlEntry{op: ctlAsk, origin: s.opts.ServerID, seq: seq})
		switch {
		case errors.Is(err, ErrStopped), errors.Is(err, raftnode.ErrStopped):
			s.rc.forget(seq)
			return raftnode.Progress{}, err
		case err != nil:
			wait = 100 * time.Millisecond // no leader yet
		}
		select {
		case b := <-ch:
			if p, ok := decodeProgress(b); ok {
				return p, nil
			}
		case <-time.After(wait):
		case <-ctx.Done():
		}
		s.rc.forget(seq)
		if err := ctx.Err(); err != nil {
			return raftnode.Progress{}, err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

func caughtUp(p raftnode.Progress, id uint64) bool {
	if id == p.Leader {
		return true
	}
	m, ok := p.Members[id]
	return ok && m.Active && m.Match+catchUpBound >= p.Commit
}

// quorumSynced is ZooKeeper's Leader.isQuorumSynced: a majority of voters is caught up
// (members in assume count as caught up).
func quorumSynced(p raftnode.Progress, voters []uint64, assume map[uint64]bool) bool {
	n := 0
	for _, id := range voters {
		if assume[id] || caughtUp(p, id) {
			n++
		}
	}
	return n > len(voters)/2
}

// beginReconfig takes the ensemble-wide reconfig lease for ms. It reports false when another
// reconfig holds it.
func (s *Server) beginReconfig(ctx context.Context, lease time.Duration) (uint64, bool, error) {
	seq, ch := s.rc.waiter()
	defer s.rc.forget(seq)
	body := binary.BigEndian.AppendUint64(nil, uint64(lease.Milliseconds()))
	e := ctlEntry{op: ctlBegin, origin: s.opts.ServerID, seq: seq, time: time.Now().UnixMilli(), body: body}
	for {
		// Re-proposing the same begin is harmless: the lease holder's own begin is granted.
		err := s.proposeCtl(ctx, e)
		if errors.Is(err, ErrStopped) || errors.Is(err, raftnode.ErrStopped) {
			return 0, false, err
		}
		wait := retryGap
		if err != nil {
			wait = 100 * time.Millisecond
		}
		select {
		case b := <-ch:
			return seq, len(b) == 1 && b[0] == 1, nil
		case <-time.After(wait):
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
}

func (s *Server) endReconfig(seq uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), retryGap)
	defer cancel()
	if err := s.proposeCtl(ctx, ctlEntry{op: ctlEnd, origin: s.opts.ServerID, seq: seq}); err != nil && !s.stopped() {
		s.log.Info("reconfig: lease not released; it expires", "err", err)
	}
}
