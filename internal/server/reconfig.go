package server

// ZooKeeper's reconfig (opcode 16) on a replicated ensemble.
//
// The member that receives the request runs it, on a goroutine of its own, while the request
// holds its place in the connection's pipeline. Nothing is forwarded by hand: membership
// changes go through raft (raftnode.ProposeConfChange, which a follower forwards to the
// leader), and what only the leader knows or can do (replication progress, a leadership
// hand-off) is asked for with control entries in the log, which the leader answers with
// another entry. The checks come in the order of ZooKeeper's PrepRequestProcessor:
//
//	reconfigEnabled=false                                RECONFIGDISABLED
//	standalone                                           UNIMPLEMENTED
//	undecodable request                                  MARSHALLINGERROR
//	another reconfig running, or raft in a joint config  RECONFIGINPROGRESS
//	curConfigId neither -1 nor the current version       BADVERSION
//	bad server lines, both modes at once, < 2 voters     BADARGUMENTS
//	no caught-up majority among the new participants     NEWCONFIGNOQUORUM
//	no WRITE permission on /zookeeper/config             NOAUTH
//
// Each refusal is an error txn, so it consumes a zxid as in ZooKeeper. Then the change runs:
// new members join as raft learners; members about to become voters must first catch up
// (their match index within catchUpBound of the leader's commit index, polled until a
// deadline), and if by then the new participants lack a caught-up majority the learners are
// removed again and the answer is NEWCONFIGNOQUORUM. Promotions, role changes
// and removals follow in one membership change; a leader that leaves first hands leadership
// to a caught-up participant; this member's own removal comes last, after the txn, since a
// removed member can no longer propose. Last, a reconfig txn (tree.ReconfigTxn) sets
// /zookeeper/config to the new membership with version=<the txn's zxid>, and its result,
// GetDataResponse{data, stat}, is the reply.
//
//
// Control entries and the leader's side: reconfig_ctl.go.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/config"
	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/raftnode"
	"github.com/paddock/paddock/internal/tree"
)

// configData returns /zookeeper/config's data and Stat.
func (s *Server) configData() ([]byte, proto.Stat) {
	s.treeMu.RLock()
	defer s.treeMu.RUnlock()
	return s.tree.ConfigData()
}

// parseConfigData reads the members and the version of /zookeeper/config's data.
func parseConfigData(data []byte) (map[int64]config.Server, int64) {
	members := map[int64]config.Server{}
	var version int64
	for line := range strings.Lines(string(data)) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		if k == "version" {
			if n, err := strconv.ParseUint(v, 16, 63); err == nil {
				version = int64(n)
			}
			continue
		}
		if sv, err := config.ParseServer(k, v); err == nil && strings.HasPrefix(k, "server.") {
			members[sv.ID] = sv
		}
	}
	return members, version
}

// specs returns what is known of each member's server line: the configured ones
// (Options.Members), overridden by /zookeeper/config's data.
func (s *Server) specs(data []byte) map[int64]config.Server {
	out := map[int64]config.Server{}
	for _, m := range s.opts.Members {
		out[m.ID] = m
	}
	cur, _ := parseConfigData(data)
	maps.Copy(out, cur)
	return out
}

// membersInForce describes raft's membership as server lines: voters are participants,
// learners observers; ports and client addresses come from specs, the peer address from
// raft when it knows one.
func (s *Server) membersInForce(st raftnode.Status, specs map[int64]config.Server) map[int64]config.Server {
	out := map[int64]config.Server{}
	add := func(p raftnode.Peer, role config.Role) {
		sv, ok := specs[int64(p.ID)]
		if !ok {
			sv = config.Server{ID: int64(p.ID)}
		}
		if host, port, err := net.SplitHostPort(p.Addr); err == nil {
			if n, err := strconv.Atoi(port); err == nil && (host != sv.Host || n != sv.PeerPort) {
				sv.Host, sv.PeerPort = host, n
			}
		}
		sv.Role = role
		out[sv.ID] = sv
	}
	for _, p := range st.Voters {
		add(p, config.Participant)
	}
	for _, p := range st.Learners {
		add(p, config.Observer)
	}
	return out
}

// formatMembers renders members as /zookeeper/config lines, by increasing id.
func formatMembers(members map[int64]config.Server) string {
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(members)) {
		fmt.Fprintf(&b, "server.%d=%s\n", id, members[id])
	}
	return b.String()
}

func peerAddr(sv config.Server) string {
	return net.JoinHostPort(sv.Host, strconv.Itoa(sv.PeerPort))
}

func participants(members map[int64]config.Server) []uint64 {
	var ids []uint64
	for _, id := range slices.Sorted(maps.Keys(members)) {
		if members[id].Role == config.Participant {
			ids = append(ids, uint64(id))
		}
	}
	return ids
}

// errBadArguments is a reconfig request whose arguments cannot be used.
var errBadArguments = errors.New("server: bad reconfig arguments")

func badArgs(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errBadArguments, fmt.Sprintf(format, a...))
}

// nextMembers computes the membership a request asks for from the current one, as
// PrepRequestProcessor does: newMembers replaces it (lines separated by newlines or commas),
// else leavingServers are removed and joiningServers added or updated.
func nextMembers(cur map[int64]config.Server, req *proto.ReconfigRequest) (map[int64]config.Server, error) {
	incremental := (!req.JoiningNull && strings.TrimSpace(req.JoiningServers) != "") ||
		(!req.LeavingNull && strings.TrimSpace(req.LeavingServers) != "")
	if !req.NewMembersNull {
		if incremental {
			return nil, badArgs("both an incremental change and a new member list")
		}
		next := map[int64]config.Server{}
		for line := range strings.SplitSeq(strings.ReplaceAll(req.NewMembers, ",", "\n"), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' || line[0] == '!' {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch {
			case !ok:
				return nil, badArgs("%q is not key=value", line)
			case k == "version":
				continue
			case !strings.HasPrefix(k, "server."):
				return nil, badArgs("unsupported key %q", k)
			}
			sv, err := config.ParseServer(k, v)
			if err != nil {
				return nil, badArgs("%s: %v", line, err)
			}
			if _, dup := next[sv.ID]; dup {
				return nil, badArgs("server.%d given twice", sv.ID)
			}
			next[sv.ID] = sv
		}
		return next, nil
	}
	next := maps.Clone(cur)
	if !req.LeavingNull {
		for _, l := range splitList(req.LeavingServers) {
			id, err := strconv.ParseInt(l, 10, 64)
			if err != nil {
				return nil, badArgs("leaving server %q is not a number", l)
			}
			delete(next, id)
		}
	}
	if !req.JoiningNull {
		for _, j := range splitList(req.JoiningServers) {
			k, v, ok := strings.Cut(j, "=")
			if !ok || strings.Contains(v, "=") {
				return nil, badArgs("wrong format of server string %q", j)
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			sv, err := config.ParseServer(k[strings.LastIndexByte(k, '.')+1:], v)
			if err != nil {
				return nil, badArgs("%s: %v", j, err)
			}
			if sv.ClientPort == 0 {
				return nil, badArgs("%s: each server should have 3 ports specified", j)
			}
			for id, o := range next {
				if id != sv.ID && sameAddress(sv, o) {
					return nil, badArgs("%s: an address of server.%d", j, id)
				}
			}
			next[sv.ID] = sv
		}
	}
	return next, nil
}

// splitList is StringUtils.split(s, ","): trimmed, empty parts dropped.
func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// sameAddress is QuorumServer.checkAddressDuplicate: a peer or election address in common.
func sameAddress(a, b config.Server) bool {
	if a.Host != b.Host {
		return false
	}
	for _, p := range []int{a.PeerPort, a.ElectionPort} {
		if p != 0 && (p == b.PeerPort || p == b.ElectionPort) {
			return true
		}
	}
	return false
}

// reconfig handles a client's reconfig request; the refusals that need no ensemble answer at
// once, the rest runs on a goroutine of its own (see reconfigOp) while the request keeps its
// place in the pipeline.
func (c *conn) reconfig(h proto.RequestHeader, body []byte) bool {
	s := c.s
	if !s.opts.ReconfigEnabled {
		return c.writeError(h, proto.CodeReconfigDisabled)
	}
	if s.standalone() {
		// Standalone cannot reconfigure (ZooKeeper: not a LeaderZooKeeperServer).
		return c.writeError(h, proto.CodeUnimplemented)
	}
	var req proto.ReconfigRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		return c.writeError(h, proto.CodeMarshallingError)
	}
	r := &request{c: c, xid: h.Xid, op: h.Type, start: time.Now()}
	c.pmu.Lock()
	c.fifo = append(c.fifo, r)
	c.pmu.Unlock()
	o := &reconfigOp{s: s, c: c, r: r, xid: h.Xid, sid: c.sessionID.Load(), auth: c.authIDs(), req: req}
	s.goFunc(o.run)
	return true
}

// reconfigOp is one reconfig request being carried out.
type reconfigOp struct {
	s    *Server
	c    *conn
	r    *request
	xid  int32
	sid  int64
	auth []proto.ID
	req  proto.ReconfigRequest
}

// stopContext is a context that ends after d or when the server stops.
func (s *Server) stopContext(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	go func() {
		select {
		case <-s.stopc:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// reconfigTimeout bounds a whole reconfig; the lease lasts a little longer.
func reconfigTimeout(o Options) time.Duration { return 3*o.RequestTimeout + 10*time.Second }

func (o *reconfigOp) run() {
	s := o.s
	timeout := reconfigTimeout(s.opts)
	ctx, cancel := s.stopContext(timeout)
	defer cancel()

	// Taking the lease is a write like any other: it gets the same time to commit.
	bctx, bcancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	seq, granted, err := s.beginReconfig(bctx, timeout+10*time.Second)
	bcancel()
	if err != nil {
		// The ensemble cannot commit: nothing was changed, and an error txn could not
		// commit either. As for any write lost this way, the client sees a connection loss.
		o.c.close("reconfig: " + err.Error())
		return
	}
	if !granted {
		o.answer(proto.CodeReconfigInProgress)
		return
	}
	selfRemove, code, members := o.execute(ctx)
	if code != proto.CodeOK {
		o.answer(code)
		s.endReconfig(seq)
		return
	}
	_, before := s.configData()
	o.commit(members)
	s.endReconfig(seq)
	if selfRemove {
		o.removeSelf(before)
	}
}

// execute runs the checks and the membership change. It returns the new membership's
// server lines, or the code of the refusal, and whether this member must still remove
// itself (after the txn).
func (o *reconfigOp) execute(ctx context.Context) (selfRemove bool, code proto.Code, members string) {
	s := o.s
	me := s.opts.ServerID
	st := s.node.Status()
	if len(st.OutgoingVoters) > 0 {
		return false, proto.CodeReconfigInProgress, ""
	}
	data, _ := s.configData()
	_, version := parseConfigData(data)
	if o.req.CurConfigID != -1 && o.req.CurConfigID != version {
		return false, proto.CodeBadVersion, ""
	}
	specs := s.specs(data)
	cur := s.membersInForce(st, specs)
	next, err := nextMembers(cur, &o.req)
	if err != nil {
		s.log.Info("reconfig refused", "err", err)
		return false, proto.CodeBadArguments, ""
	}
	voters := participants(next)
	if min := 2 - btoi(s.opts.StandaloneDisabled); len(voters) < min {
		// ZooKeeper keeps at least two, unless standaloneEnabled=false.
		s.log.Info("reconfig refused: too few participants in the new configuration", "participants", len(voters), "minimum", min)
		return false, proto.CodeBadArguments, ""
	}
	inRaft := map[uint64]bool{}
	for _, p := range st.Voters {
		inRaft[p.ID] = true
	}
	for _, p := range st.Learners {
		inRaft[p.ID] = false
	}
	joining := map[uint64]bool{}
	for id := range next {
		if _, ok := inRaft[uint64(id)]; !ok {
			joining[uint64(id)] = true
		}
	}
	pctx, pcancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	p, err := s.leaderProgress(pctx)
	pcancel()
	if err != nil || !quorumSynced(p, voters, joining) {
		s.log.Info("reconfig refused: no caught-up majority in the new configuration", "participants", voters, "err", err)
		return false, proto.CodeNewConfigNoQuorum, ""
	}
	s.treeMu.RLock()
	_, configACL, _ := s.tree.Lookup(tree.ConfigPath)
	s.treeMu.RUnlock()
	if !s.opts.SkipACL && !acl.Check(configACL, o.auth, proto.PermWrite) {
		return false, proto.CodeNoAuth, ""
	}
	s.log.Info("reconfig", "from", formatMembers(cur), "to", formatMembers(next))

	// New members join as learners; every member about to become a voter must catch up.
	if len(joining) > 0 {
		var cc raftnode.ConfChange
		for _, id := range slices.Sorted(maps.Keys(joining)) {
			cc.Add = append(cc.Add, raftnode.Peer{ID: id, Addr: peerAddr(next[int64(id)]), Learner: true})
		}
		if err := s.changeMembership(ctx, cc); err != nil {
			s.log.Warn("reconfig: new members not added as learners", "err", err)
			return false, confChangeCode(err), ""
		}
	}
	var promoted []uint64
	for _, id := range voters {
		if isVoter, ok := inRaft[id]; !ok || !isVoter {
			promoted = append(promoted, id)
		}
	}
	if len(promoted) > 0 {
		deadline := time.Now().Add(s.opts.RequestTimeout)
		for {
			p, err = s.leaderProgress(ctx)
			done := err == nil
			for _, id := range promoted {
				done = done && caughtUp(p, id)
			}
			if done || time.Now().After(deadline) || !sleepCtx(ctx, 200*time.Millisecond) {
				break
			}
		}
		if err != nil || !quorumSynced(p, voters, nil) {
			s.log.Warn("reconfig refused: the new participants did not catch up", "participants", voters, "err", err)
			o.rollback(joining)
			return false, proto.CodeNewConfigNoQuorum, ""
		}
	}

	// The change: everything but the leader's and this member's own departure first.
	leader := p.Leader
	nl, leaderStays := next[int64(leader)]
	leaderLeaves := inRaft[leader] && (!leaderStays || nl.Role != config.Participant)
	var first, last raftnode.ConfChange
	for _, id := range slices.Sorted(maps.Keys(next)) {
		sv, uid := next[id], uint64(id)
		learner := sv.Role == config.Observer
		voter, member := inRaft[uid]
		addrOf := ""
		for _, pp := range append(slices.Clone(st.Voters), st.Learners...) {
			if pp.ID == uid {
				addrOf = pp.Addr
			}
		}
		switch {
		case joining[uid] && learner:
			continue // already a learner
		case member && voter == !learner && addrOf == peerAddr(sv):
			continue // unchanged
		}
		peer := raftnode.Peer{ID: uid, Addr: peerAddr(sv), Learner: learner}
		if uid == leader && leaderLeaves {
			last.Add = append(last.Add, peer) // a demotion, after the hand-off
		} else {
			first.Add = append(first.Add, peer)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(inRaft)) {
		if _, stays := next[int64(id)]; stays {
			continue
		}
		switch {
		case id == me:
			selfRemove = true
		case id == leader:
			last.Remove = append(last.Remove, id)
		default:
			first.Remove = append(first.Remove, id)
		}
	}
	if len(first.Add)+len(first.Remove) > 0 {
		if err := s.changeMembership(ctx, first); err != nil {
			s.log.Warn("reconfig: membership change failed", "err", err)
			o.rollback(joining)
			return false, confChangeCode(err), ""
		}
	}
	if leaderLeaves {
		if err := s.handOff(ctx, leader, next); err != nil {
			s.log.Warn("reconfig: leadership not handed over; the leader stays", "err", err)
			o.recordInForce(next)
			return false, proto.CodeNewConfigNoQuorum, ""
		}
	}
	if len(last.Add)+len(last.Remove) > 0 {
		if err := s.changeMembership(ctx, last); err != nil {
			s.log.Warn("reconfig: removing the former leader failed", "err", err)
			o.recordInForce(next)
			return false, confChangeCode(err), ""
		}
	}
	return selfRemove, proto.CodeOK, formatMembers(next)
}

// confChangeCode maps a failed membership change to the reply.
func confChangeCode(err error) proto.Code {
	switch {
	case errors.Is(err, raftnode.ErrInvalidConfChange):
		return proto.CodeBadArguments
	case errors.Is(err, raftnode.ErrConfChangeInProgress):
		return proto.CodeReconfigInProgress
	}
	return proto.CodeNewConfigNoQuorum
}

// changeMembership proposes cc until it is in force or ctx ends. A follower's proposal may
// be dropped by the leader without a word (a change still pending there, a new leader's first
// entry not yet applied), so each attempt is bounded and the membership checked in between.
func (s *Server) changeMembership(ctx context.Context, cc raftnode.ConfChange) error {
	for {
		actx, cancel := context.WithTimeout(ctx, retryGap)
		err := s.node.ProposeConfChange(actx, cc)
		cancel()
		if err == nil || inForce(s.node.Status(), cc) {
			return nil
		}
		if errors.Is(err, raftnode.ErrInvalidConfChange) || errors.Is(err, raftnode.ErrStopped) {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
		if !sleepCtx(ctx, 100*time.Millisecond) {
			return err
		}
	}
}

// inForce reports whether st shows cc done, outside any joint configuration.
func inForce(st raftnode.Status, cc raftnode.ConfChange) bool {
	if len(st.OutgoingVoters) > 0 {
		return false
	}
	find := func(id uint64) (raftnode.Peer, bool) {
		for _, p := range st.Voters {
			if p.ID == id {
				return p, true
			}
		}
		for _, p := range st.Learners {
			if p.ID == id {
				return p, true
			}
		}
		return raftnode.Peer{}, false
	}
	for _, a := range cc.Add {
		p, ok := find(a.ID)
		if !ok || p.Learner != a.Learner || (a.Addr != "" && p.Addr != a.Addr) {
			return false
		}
	}
	for _, id := range cc.Remove {
		if _, ok := find(id); ok {
			return false
		}
	}
	return true
}

// rollback removes the members a refused reconfig added as learners.
func (o *reconfigOp) rollback(joining map[uint64]bool) {
	if len(joining) == 0 {
		return
	}
	ctx, cancel := o.s.stopContext(o.s.opts.RequestTimeout)
	defer cancel()
	cc := raftnode.ConfChange{Remove: slices.Sorted(maps.Keys(joining))}
	if err := o.s.changeMembership(ctx, cc); err != nil {
		o.s.log.Error("reconfig: learners added by a refused reconfig could not be removed", "members", cc.Remove, "err", err)
	}
}

// recordInForce writes the membership raft has now to /zookeeper/config, after a reconfig
// that changed part of it and then failed, so that the node never lies.
func (o *reconfigOp) recordInForce(next map[int64]config.Server) {
	s := o.s
	data, _ := s.configData()
	specs := s.specs(data)
	maps.Copy(specs, next)
	members := formatMembers(s.membersInForce(s.node.Status(), specs))
	body := proto.Marshal(nil, &tree.ReconfigTxn{Members: members})
	txn := &tree.Txn{Type: proto.OpReconfig, SessionID: o.sid, Cxid: o.xid, Time: time.Now().UnixMilli(), Auth: o.auth, Body: body}
	if err := s.propose(context.Background(), txn, nil); err != nil && !s.stopped() {
		s.log.Error("reconfig: the membership in force was not recorded", "err", err)
	}
}

// handOff makes a caught-up participant of next the leader instead of leader.
func (s *Server) handOff(ctx context.Context, leader uint64, next map[int64]config.Server) error {
	for {
		st := s.node.Status()
		if st.Leader != 0 && st.Leader != leader {
			return nil
		}
		p, err := s.leaderProgress(ctx)
		if err != nil {
			return err
		}
		var to uint64
		var best uint64
		for _, v := range st.Voters {
			sv, ok := next[int64(v.ID)]
			if v.ID == leader || !ok || sv.Role != config.Participant || !caughtUp(p, v.ID) {
				continue
			}
			if m := p.Members[v.ID].Match; to == 0 || m > best {
				to, best = v.ID, m
			}
		}
		if to == 0 {
			return errors.New("no caught-up participant to take over")
		}
		if st.Leader == s.opts.ServerID {
			err = s.node.TransferLeadership(ctx, to)
			if err == nil || ctx.Err() != nil {
				return err
			}
			continue
		}
		err = s.proposeCtl(ctx, ctlEntry{op: ctlTransfer, origin: s.opts.ServerID, body: binary.BigEndian.AppendUint64(nil, to)})
		if errors.Is(err, ErrStopped) || errors.Is(err, raftnode.ErrStopped) {
			return err
		}
		deadline := time.Now().Add(retryGap)
		for time.Now().Before(deadline) {
			if st := s.node.Status(); st.Leader != 0 && st.Leader != leader {
				return nil
			}
			if !sleepCtx(ctx, 50*time.Millisecond) {
				return ctx.Err()
			}
		}
	}
}

// commit proposes the reconfig txn; its result is the reply.
func (o *reconfigOp) commit(members string) {
	body := proto.Marshal(nil, &tree.ReconfigTxn{Members: members})
	o.propose(&tree.Txn{Type: proto.OpReconfig, Body: body})
}

// answer refuses the request with an error txn, which consumes a zxid.
func (o *reconfigOp) answer(code proto.Code) {
	o.propose(&tree.Txn{Type: proto.OpError, Body: proto.Marshal(nil, &tree.ErrorTxn{Err: code})})
}

func (o *reconfigOp) propose(txn *tree.Txn) {
	txn.SessionID, txn.Cxid, txn.Time, txn.Auth = o.sid, o.xid, time.Now().UnixMilli(), o.auth
	// The request waited for the change; its time in the pipeline starts now, or the
	// lost-write timeout would close the connection before the txn applies.
	o.r.start = time.Now()
	if err := o.s.propose(context.Background(), txn, o.r); err != nil {
		o.s.log.Warn("closing connection: reconfig txn not proposed", "remote", o.c.remote, "err", err)
		o.c.close("reconfig: " + err.Error())
	}
}

// removeSelf removes this member from the ensemble once the reconfig txn has applied here
// (its Mzxid moved past before); a removed member can propose nothing more.
func (o *reconfigOp) removeSelf(before proto.Stat) {
	s := o.s
	ctx, cancel := s.stopContext(s.opts.RequestTimeout)
	defer cancel()
	for {
		if _, st := s.configData(); st.Mzxid != before.Mzxid {
			break
		}
		if !sleepCtx(ctx, 20*time.Millisecond) {
			s.log.Error("reconfig: this member was to leave, but the new configuration did not apply; it stays")
			return
		}
	}
	s.log.Info("reconfig: this member leaves the ensemble")
	err := s.changeMembership(ctx, raftnode.ConfChange{Remove: []uint64{s.opts.ServerID}})
	switch {
	case err == nil:
	case ctx.Err() != nil && !s.stopped():
		// Once removed, a member hears no more from the others, so it may never see its
		// own removal applied.
		s.log.Info("reconfig: this member's removal is proposed but not seen applied here; the others have cut it off if it was", "err", err)
	case !s.stopped():
		s.log.Error("reconfig: this member could not remove itself", "err", err)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
