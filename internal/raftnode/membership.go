package raftnode

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/confchange"
	pb "go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"
	"google.golang.org/protobuf/proto"
)

// Membership. raft's ConfState says who the members are; where to reach them
// is paddock's business. The address of a member is, in order:
//
//  1. the address recorded by the last committed ConfChange that named it
//     (Node.addrs, replicated state: every member derives the same map from
//     the log, and snapshot headers carry it across compaction);
//  2. otherwise its address in Config.Peers.
//
// So members configured statically take their address from the
// configuration (an operator may correct it there), and members added or
// moved by a membership change carry theirs through the log. The transport is
// told about every other member with a known address (syncPeers).

// ConfChange changes the membership: ZooKeeper's reconfig.
//
// Each peer in Add becomes a member: a voter, or a learner (ZooKeeper's
// observer) if Learner is set. Adding a current member changes its role (a
// learner is promoted, a voter demoted) and, if Addr is set, records its new
// address. Remove removes members. A change of a single member is applied
// directly; a change of several goes through raft's joint consensus and
// leaves the joint configuration on its own.
type ConfChange struct {
	Add    []Peer
	Remove []uint64
}

const (
	maxAddrLen       = 1024
	maxConfChangeLen = 256 // members named by one ConfChange
	confContextV1    = 1
)

// ProposeConfChange proposes a membership change and waits until this member
// has applied it (and, for a change through joint consensus, has left the
// joint configuration): it is then committed and in force, and Status shows
// it.
//
// Errors: ErrInvalidConfChange (wrapped with the reason) for a change that is
// malformed or would leave no voter, judged against the membership when it is
// proposed and again when it is applied; ErrConfChangeInProgress while this
// member is in a joint configuration, or if it leads and another change is
// not yet applied (retry later);
// ErrProposalDropped (no leader; retry); ErrStopped; or ctx's error. A change
// proposed on a follower is forwarded to the leader, which may drop it (a
// change in progress, a lost message) without telling the follower: then
// only ctx ends the wait. After ctx's error the change may still be applied.
func (n *Node) ProposeConfChange(ctx context.Context, cc ConfChange) error {
	if err := cc.validate(); err != nil {
		return err
	}
	req := &confReq{cc: cc, ctx: ctx, errc: make(chan error, 1)}
	return handOver(n, ctx, n.confc, req, req.errc)
}

type confReq struct {
	cc    ConfChange
	ctx   context.Context
	errc  chan error
	seq   uint64
	joint bool // applied, and waiting for the joint configuration to be left
}

func (cc ConfChange) validate() error {
	if len(cc.Add)+len(cc.Remove) == 0 {
		return fmt.Errorf("%w: no change", ErrInvalidConfChange)
	}
	if len(cc.Add)+len(cc.Remove) > maxConfChangeLen {
		return fmt.Errorf("%w: more than %d members", ErrInvalidConfChange, maxConfChangeLen)
	}
	seen := map[uint64]bool{}
	for _, p := range cc.Add {
		if p.ID == 0 || seen[p.ID] {
			return fmt.Errorf("%w: member id %d is zero or repeated", ErrInvalidConfChange, p.ID)
		}
		if len(p.Addr) > maxAddrLen {
			return fmt.Errorf("%w: address of member %d longer than %d bytes", ErrInvalidConfChange, p.ID, maxAddrLen)
		}
		seen[p.ID] = true
	}
	for _, id := range cc.Remove {
		if id == 0 || seen[id] {
			return fmt.Errorf("%w: member id %d is zero or repeated", ErrInvalidConfChange, id)
		}
		seen[id] = true
	}
	return nil
}

// raftChange turns cc into raft's form; the context carries the addresses and
// identifies the proposal.
func (cc ConfChange) raftChange(proposer, seq uint64) *pb.ConfChangeV2 {
	out := &pb.ConfChangeV2{}
	addrs := map[uint64]string{}
	for _, p := range cc.Add {
		typ := pb.ConfChangeAddNode
		if p.Learner {
			typ = pb.ConfChangeAddLearnerNode
		}
		out.Changes = append(out.Changes, &pb.ConfChangeSingle{Type: typ.Enum(), NodeId: new(p.ID)})
		if p.Addr != "" {
			addrs[p.ID] = p.Addr
		}
	}
	for _, id := range cc.Remove {
		out.Changes = append(out.Changes, &pb.ConfChangeSingle{Type: pb.ConfChangeRemoveNode.Enum(), NodeId: new(id)})
	}
	out.Context = appendConfContext(nil, confContext{proposer: proposer, seq: seq, addrs: addrs})
	return out
}

// confContext is what paddock puts in a ConfChangeV2's Context:
//
//	u8 version (1), u64 proposer id, u64 proposal sequence, address book
//
// big-endian. The proposer and sequence only let the proposer find its
// waiting caller; the addresses are replicated state.
type confContext struct {
	proposer, seq uint64
	addrs         map[uint64]string
}

func appendConfContext(b []byte, c confContext) []byte {
	b = append(b, confContextV1)
	b = binary.BigEndian.AppendUint64(b, c.proposer)
	b = binary.BigEndian.AppendUint64(b, c.seq)
	return appendAddrBook(b, c.addrs)
}

func decodeConfContext(b []byte) (confContext, error) {
	if len(b) < 17 || b[0] != confContextV1 {
		return confContext{}, errors.New("unknown conf change context")
	}
	c := confContext{proposer: binary.BigEndian.Uint64(b[1:]), seq: binary.BigEndian.Uint64(b[9:])}
	var err error
	c.addrs, err = decodeAddrBook(b[17:])
	return c, err
}

// An address book is
//
//	u16 count, then count times: u64 member id, u16 length, address
//
// big-endian, in increasing order of id (the decoder insists), so that equal
// maps encode to equal bytes.
func appendAddrBook(b []byte, addrs map[uint64]string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(addrs)))
	for _, id := range slices.Sorted(maps.Keys(addrs)) {
		b = binary.BigEndian.AppendUint64(b, id)
		b = binary.BigEndian.AppendUint16(b, uint16(len(addrs[id])))
		b = append(b, addrs[id]...)
	}
	return b
}

func decodeAddrBook(b []byte) (map[uint64]string, error) {
	if len(b) < 2 {
		return nil, errors.New("address book truncated")
	}
	count := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	var addrs map[uint64]string
	var last uint64
	for range count {
		if len(b) < 10 {
			return nil, errors.New("address book truncated")
		}
		id, l := binary.BigEndian.Uint64(b), int(binary.BigEndian.Uint16(b[8:]))
		if len(b) < 10+l {
			return nil, errors.New("address book truncated")
		}
		if id <= last {
			return nil, fmt.Errorf("address book: member id %d is zero or out of order", id)
		}
		last = id
		if addrs == nil {
			addrs = make(map[uint64]string, count)
		}
		addrs[id] = string(b[10 : 10+l])
		b = b[10+l:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("address book: %d trailing bytes", len(b))
	}
	return addrs, nil
}

// checkConfChange reports whether raft would accept cc on top of cs, by
// running raft's own validation on a scratch tracker. raft panics when it is
// asked to apply a change it refuses, so apply calls this first.
func checkConfChange(cs *pb.ConfState, cc *pb.ConfChangeV2) error {
	chg := confchange.Changer{Tracker: tracker.MakeProgressTracker(1, 0), LastIndex: 1}
	cfg, prs, err := confchange.Restore(chg, cs)
	if err != nil {
		return err
	}
	chg.Tracker.Config, chg.Tracker.Progress = cfg, prs
	if cc.LeaveJoint() {
		_, _, err = chg.LeaveJoint()
	} else if autoLeave, ok := cc.EnterJoint(); ok {
		_, _, err = chg.EnterJoint(autoLeave, cc.Changes...)
	} else {
		_, _, err = chg.Simple(cc.Changes...)
	}
	return err
}

// Ready loop side.

// proposeConfChange hands a membership change to raft.
func (n *Node) proposeConfChange(req *confReq) {
	n.confSeq++
	req.seq = n.confSeq
	cc := req.cc.raftChange(n.id, req.seq)
	if len(n.confState.VotersOutgoing) > 0 {
		req.errc <- ErrConfChangeInProgress // the joint configuration is not left yet
		return
	}
	if err := checkConfChange(n.confState, cc); err != nil {
		req.errc <- fmt.Errorf("%w: %w", ErrInvalidConfChange, err)
		return
	}
	data, err := proto.Marshal(cc)
	if err != nil {
		req.errc <- fmt.Errorf("raftnode: encode conf change: %w", err)
		return
	}
	ents := []*pb.Entry{{Type: pb.EntryConfChangeV2.Enum(), Data: data}}
	err = n.rn.Step(&pb.Message{Type: pb.MsgProp.Enum(), From: new(n.id), Entries: ents})
	switch {
	case errors.Is(err, raft.ErrProposalDropped):
		req.errc <- ErrProposalDropped
	case err != nil:
		req.errc <- err
	case ents[0].GetType() != pb.EntryConfChangeV2:
		// Only a leader rewrites a proposal: it replaces a change it refuses
		// by an empty entry in the message's slice. Another change is not yet
		// applied.
		req.errc <- ErrConfChangeInProgress
	default:
		n.confWaits = append(n.confWaits, req)
	}
}

// applyConfChange applies a committed membership change: to raft (if raft
// accepts it), to the address map, and to the waiting proposer.
func (n *Node) applyConfChange(e *pb.Entry) error {
	var cc pb.ConfChangeV2
	if err := proto.Unmarshal(e.Data, &cc); err != nil {
		return fmt.Errorf("raftnode: entry %d: bad conf change: %w", e.GetIndex(), err)
	}
	cctx, cerr := decodeConfContext(cc.Context)
	if err := checkConfChange(n.confState, &cc); err != nil {
		// Every member judges the same change against the same membership, so
		// all skip it alike.
		n.log.Warn("raftnode: skipping a membership change raft refuses", "index", e.GetIndex(), "err", err)
		n.confApplied(cctx, fmt.Errorf("%w: %w", ErrInvalidConfChange, err))
		return nil
	}
	before := n.confState
	n.confState = n.rn.ApplyConfChange(&cc)
	n.snapshotForNewMembers(before, e.GetIndex())
	if cerr == nil {
		for id, addr := range cctx.addrs {
			if addr != "" {
				n.addrs[id] = addr
			}
		}
	}
	for id := range n.addrs {
		if !isMember(n.confState, id) {
			delete(n.addrs, id)
		}
	}
	if !isMember(n.confState, n.id) {
		n.log.Warn("raftnode: this member was removed from the ensemble", "index", e.GetIndex())
	}
	n.log.Info("raftnode: membership changed", "index", e.GetIndex(), "voters", n.confState.Voters,
		"learners", n.confState.Learners, "outgoing_voters", n.confState.VotersOutgoing)
	// Publish before waking the proposer, so that its next Status shows the change.
	n.publishMembership()
	n.membersChanged = true // the transport still has to follow, after Advance
	n.confApplied(cctx, nil)
	return nil
}

// confApplied completes the proposer's wait for the change with context c,
// and every wait for the joint configuration once it is left.
func (n *Node) confApplied(c confContext, err error) {
	joint := len(n.confState.VotersOutgoing) > 0
	kept := n.confWaits[:0]
	for _, w := range n.confWaits {
		switch {
		case c.proposer == n.id && c.seq == w.seq && (err != nil || !joint):
			w.errc <- err
		case c.proposer == n.id && c.seq == w.seq:
			w.joint = true
			kept = append(kept, w)
		case w.joint && !joint:
			w.errc <- nil
		default:
			kept = append(kept, w)
		}
	}
	clear(n.confWaits[len(kept):])
	n.confWaits = kept
}

// expireConfWaits drops the waits whose callers gave up.
func (n *Node) expireConfWaits() {
	kept := n.confWaits[:0]
	for _, w := range n.confWaits {
		if err := w.ctx.Err(); err != nil {
			w.errc <- err
		} else {
			kept = append(kept, w)
		}
	}
	clear(n.confWaits[len(kept):])
	n.confWaits = kept
}

func isMember(cs *pb.ConfState, id uint64) bool {
	return slices.Contains(cs.Voters, id) || slices.Contains(cs.Learners, id) ||
		slices.Contains(cs.VotersOutgoing, id) || slices.Contains(cs.LearnersNext, id)
}

// addrOf returns where member id is reached; "" if unknown.
func (n *Node) addrOf(id uint64) string {
	if a, ok := n.addrs[id]; ok {
		return a
	}
	for _, p := range n.cfg.Peers {
		if p.ID == id {
			return p.Addr
		}
	}
	return ""
}

// syncPeers tells the transport about the current membership: it adds the
// members it lacks (or whose address changed) and removes the ones gone.
func (n *Node) syncPeers() {
	t := n.cfg.Transport
	if t == nil {
		return
	}
	cs := n.confState
	want := map[uint64]Peer{}
	for _, ids := range [][]uint64{cs.Voters, cs.VotersOutgoing, cs.Learners, cs.LearnersNext} {
		for _, id := range ids {
			if id == n.id {
				continue
			}
			if _, ok := want[id]; ok {
				continue
			}
			p := Peer{ID: id, Addr: n.addrOf(id), Learner: !slices.Contains(cs.Voters, id) && !slices.Contains(cs.VotersOutgoing, id)}
			if p.Addr == "" {
				if _, warned := n.noAddr[id]; !warned {
					n.log.Warn("raftnode: no address known for member; it cannot be reached", "peer", id)
					n.noAddr[id] = struct{}{}
				}
				continue
			}
			want[id] = p
		}
	}
	for _, id := range slices.Sorted(maps.Keys(n.peers)) {
		if _, ok := want[id]; !ok {
			t.RemovePeer(id)
			delete(n.peers, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(want)) {
		p := want[id]
		if old, ok := n.peers[id]; !ok || old != p {
			t.AddPeer(p)
			n.peers[id] = p
		}
	}
	for id := range n.noAddr {
		if !isMember(cs, id) {
			delete(n.noAddr, id)
		}
	}
}

// membership returns the membership in force with the addresses known, as
// Status shows it.
func (n *Node) membership() (voters, learners, outgoing []Peer) {
	cs := n.confState
	list := func(ids []uint64, learner bool) []Peer {
		if len(ids) == 0 {
			return nil
		}
		out := make([]Peer, 0, len(ids))
		for _, id := range slices.Sorted(slices.Values(ids)) {
			out = append(out, Peer{ID: id, Addr: n.addrOf(id), Learner: learner})
		}
		return out
	}
	return list(cs.Voters, false), list(cs.Learners, true), list(cs.VotersOutgoing, false)
}
