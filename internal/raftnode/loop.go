package raftnode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// closedc is a channel that is always ready, to turn a select non-blocking.
var closedc = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// run is the Ready loop. It owns raft, the log, the in-memory storage and
// the state machine's apply side.
func (n *Node) run() {
	defer func() {
		// raft panics on a log it cannot trust (entries lost under it). Record why before the
		// node stops, so the server reports the reason, then let the panic end the process.
		if p := recover(); p != nil {
			n.fail(fmt.Errorf("raftnode: raft panicked: %v", p))
			n.shutdown()
			panic(p)
		}
		n.shutdown()
	}()
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	for {
		n.issueReads()
		busy := n.rn.HasReady()
		if busy {
			if err := n.handleReady(); err != nil {
				n.fail(err)
				return
			}
		}
		// After a Ready, only poll: the Advance may have produced the next one
		// (a commit), which is handled together with whatever arrived meanwhile.
		var pollc <-chan struct{}
		if busy {
			pollc = closedc
		}
		select {
		case <-ticker.C:
			n.rn.Tick()
			n.ticks++
			n.retryReads()
			n.expireConfWaits()
			n.tickTransfers()
			if len(n.readmitting) > 0 {
				n.continueReadmissions()
			}
		case p := <-n.propc:
			n.propose(p)
			n.drainInputs()
		case r := <-n.readc:
			n.pendingReads = append(n.pendingReads, r)
		case r := <-n.confc:
			n.proposeConfChange(r)
		case r := <-n.transferc:
			n.startTransfer(r)
		case r := <-n.progressc:
			n.answerProgress(r)
		case m := <-n.recvc:
			n.receive(m)
			n.drainInputs()
		case <-n.reportc:
			down, snaps := n.reports.take()
			for _, id := range down {
				n.rn.ReportUnreachable(id)
			}
			for id, ok := range snaps {
				status := raft.SnapshotFailure
				if ok {
					status = raft.SnapshotFinish
				}
				n.rn.ReportSnapshot(id, status)
			}
		case res := <-n.snapDonec:
			if err := n.snapshotDone(res); err != nil {
				n.fail(err)
				return
			}
		case <-n.snapTrigc:
			n.triggerSnapshot()
		case <-n.stopc:
			return
		case <-pollc:
		}
	}
}

// receive steps a message from a peer into raft.
func (n *Node) receive(m *pb.Message) {
	if m.GetType() == pb.MsgSnap {
		md := m.GetSnapshot().GetMetadata()
		n.received = append(n.received, snapFile{term: md.GetTerm(), index: md.GetIndex()})
	}
	if !n.screen(m) {
		return
	}
	if err := n.rn.Step(m); err != nil {
		n.log.Debug("raftnode: dropped message", "type", m.GetType(), "from", m.GetFrom(), "err", err)
	}
}

// maxDrain bounds the messages and proposals taken in one turn of the loop after the first.
const maxDrain = 256

// drainInputs takes the peers' messages and the proposals that are already waiting, so
// that one Ready covers them all: the acknowledgements of every follower advance the commit
// once (one commit broadcast, not one per follower), and proposals that arrived meanwhile
// share the next fsync. Only what is queued is taken; it never waits.
func (n *Node) drainInputs() {
	for range maxDrain {
		select {
		case m := <-n.recvc:
			n.receive(m)
		case p := <-n.propc:
			n.propose(p)
		default:
			return
		}
	}
}

// fail records a fatal error; the caller returns from the loop, which stops
// the node (fail-stop: nothing is retried).
func (n *Node) fail(err error) {
	n.mu.Lock()
	if n.err == nil {
		n.err = err
	}
	n.mu.Unlock()
	n.log.Error("raftnode: fatal error, stopping", "err", err)
}

// shutdown runs when the loop exits, cleanly or not. After a fatal error
// nobody called Stop: closing stopc here releases whoever waits to hand the
// loop something (Propose, a transport in Receive), so that stopping the
// transport cannot wait forever on a goroutine blocked in Receive.
func (n *Node) shutdown() {
	n.stopOnce.Do(func() { close(n.stopc) })
	if n.snapBusy {
		res := <-n.snapDonec
		if n.Err() == nil {
			if err := n.snapshotDone(res); err != nil {
				n.fail(err)
			}
		}
	}
	n.closeHelpers()
	var stopErr error
	if t := n.cfg.Transport; t != nil {
		if err := t.Stop(); err != nil {
			stopErr = fmt.Errorf("raftnode: stop transport: %w", err)
		}
	}
	if err := n.wal.close(); err != nil && stopErr == nil {
		stopErr = err
	}
	for _, r := range n.pendingReads {
		r.errc <- ErrStopped
	}
	for _, rr := range n.readRounds {
		for _, r := range rr.reqs {
			r.errc <- ErrStopped
		}
	}
	for _, r := range n.readWaits {
		r.errc <- ErrStopped
	}
	n.mu.Lock()
	n.stopErr = stopErr
	n.mu.Unlock()
	close(n.done)
}

// propose hands p, and the proposals already queued behind it (up to
// maxProposalBatch), to raft: in one message per Config.MaxBatchBytes of
// data, because a follower forwards each message to the leader whole.
func (n *Node) propose(p proposal) {
	batch := []proposal{p}
	size := len(p.data) + proposalOverhead
drain:
	for range maxProposalBatch - 1 {
		select {
		case p := <-n.propc:
			if s := len(p.data) + proposalOverhead; size+s > n.cfg.MaxBatchBytes {
				n.stepProposals(batch)
				batch, size = batch[:0], 0
			}
			batch = append(batch, p)
			size += len(p.data) + proposalOverhead
		default:
			break drain
		}
	}
	n.stepProposals(batch)
}

// stepProposals hands batch to raft as one message and tells each proposer
// the outcome.
func (n *Node) stepProposals(batch []proposal) {
	// One array holds the batch's entries: one allocation, not one per proposal (raft
	// keeps pointers to them until they are persisted and applied, all at about one time).
	es := make([]pb.Entry, len(batch))
	ents := make([]*pb.Entry, len(batch))
	for i := range batch {
		es[i].Data = batch[i].data
		ents[i] = &es[i]
	}
	err := n.rn.Step(&pb.Message{Type: pb.MsgProp.Enum(), From: new(n.id), Entries: ents})
	if errors.Is(err, raft.ErrProposalDropped) {
		err = ErrProposalDropped
	}
	for _, p := range batch {
		switch {
		case p.errc != nil:
			p.errc <- err
		case err != nil && n.cfg.OnDropped != nil:
			n.cfg.OnDropped(p.data)
		}
	}
}

// handleReady processes one Ready in the order raft requires: persist
// (entries, hard state, snapshot; one fdatasync), send, apply, Advance.
func (n *Node) handleReady() error {
	rd := n.rn.Ready()

	snap := rd.Snapshot
	hasSnap := !raft.IsEmptySnap(snap)
	var snapHdr snapHeader
	if hasSnap {
		var err error
		if snapHdr, err = n.acceptSnapshot(snap); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := n.wal.save(rd.HardState, rd.Entries, rd.MustSync); err != nil {
		return err
	}
	if n.cfg.OnPersist != nil && (len(rd.Entries) > 0 || rd.MustSync) {
		n.cfg.OnPersist(time.Since(start), len(rd.Entries), rd.MustSync)
	}
	if hasSnap {
		if err := n.installSnapshot(snap, snapHdr); err != nil {
			return err
		}
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		if err := n.storage.SetHardState(rd.HardState); err != nil {
			return err
		}
	}
	if err := n.storage.Append(rd.Entries); err != nil {
		return fmt.Errorf("raftnode: %w", err)
	}

	if len(rd.Messages) > 0 {
		if n.sending {
			n.cfg.Transport.Send(rd.Messages)
		} else {
			// Standalone, or still replaying in Start: raft retries.
			n.log.Debug("raftnode: no transport yet, dropping messages", "count", len(rd.Messages))
		}
	}

	if err := n.apply(rd.CommittedEntries); err != nil {
		return err
	}
	for _, rs := range rd.ReadStates {
		n.readIndexKnown(rs)
	}
	n.rn.Advance(rd)

	if n.membersChanged {
		n.syncPeers()
		n.publishMembership()
	}
	n.publish(rd)
	if rd.SoftState != nil {
		n.transfersDone(rd.SoftState.Lead)
	}
	n.resolveReads()
	n.sweepReceived()
	return nil
}

// Received snapshots. The transport leaves a snapshot from the leader in the
// snapshot directory as <term>-<index>.snap.recv before raft sees the
// MsgSnap. When raft accepts it, acceptSnapshot checks the file, records the
// snapshot marker in the log (synced: the commit point) and renames the file
// into place; installSnapshot then restores it. The package documentation
// explains why this order keeps the disk consistent at every step.

// acceptSnapshot makes the received snapshot snap the one recovery will use:
// it checks the file, syncs its marker into the log, renames the file to its
// final name and syncs the directory. A snapshot that raft accepted but whose
// file is missing or damaged is fatal, and then nothing was written.
func (n *Node) acceptSnapshot(snap *pb.Snapshot) (snapHeader, error) {
	md := snap.GetMetadata()
	final := filepath.Join(n.snapDir, snapshotName(md.GetTerm(), md.GetIndex()))
	recv := filepath.Join(n.snapDir, receivedName(md.GetTerm(), md.GetIndex()))
	path := recv
	if _, err := os.Stat(recv); errors.Is(err, os.ErrNotExist) {
		path = final // the same snapshot, received before and already in place
	}
	h, err := verifySnapshot(path)
	if err == nil && (h.index != md.GetIndex() || h.term != md.GetTerm()) {
		err = fmt.Errorf("the file holds term %d index %d", h.term, h.index)
	}
	if err != nil {
		return h, fmt.Errorf("raftnode: snapshot from leader at term %d index %d: %w", md.GetTerm(), md.GetIndex(), err)
	}
	if err := n.wal.saveSnapshot(snapMarker{index: md.GetIndex(), term: md.GetTerm(), conf: md.GetConfState()}); err != nil {
		return h, err
	}
	if path == recv {
		if err := os.Rename(recv, final); err != nil {
			return h, fmt.Errorf("raftnode: %w", err)
		}
		if err := n.cfg.fs.syncDir(n.snapDir); err != nil {
			return h, fmt.Errorf("raftnode: %w", err)
		}
	}
	return h, nil
}

// installSnapshot replaces the state with the snapshot acceptSnapshot put in
// place, whose header is h.
func (n *Node) installSnapshot(snap *pb.Snapshot, h snapHeader) error {
	md := snap.GetMetadata()
	path := filepath.Join(n.snapDir, snapshotName(md.GetTerm(), md.GetIndex()))
	if err := restoreSnapshot(path, n.sm); err != nil {
		return err
	}
	if err := n.storage.ApplySnapshot(snap); err != nil {
		return fmt.Errorf("raftnode: %w", err)
	}
	n.confState = proto.CloneOf(md.GetConfState())
	n.addrs = maps.Clone(h.addrs)
	if n.addrs == nil {
		n.addrs = map[uint64]string{}
	}
	n.membersChanged = true
	n.applied, n.appliedTerm = md.GetIndex(), md.GetTerm()
	n.snapIndex = md.GetIndex()
	n.nextSnapAt = n.applied + n.cfg.SnapCount
	n.mu.Lock()
	n.status.LastSnapshotIndex, n.status.LastSnapshotTime = n.snapIndex, time.Now()
	n.mu.Unlock()
	n.log.Info("raftnode: installed snapshot from leader", "file", path, "index", md.GetIndex(), "term", md.GetTerm())
	return nil
}

// sweepReceived deletes received snapshot files that raft can no longer
// accept: raft accepts only a snapshot beyond its commit index, and an
// accepted one is installed (renamed away) before applied reaches it.
func (n *Node) sweepReceived() {
	if len(n.received) == 0 {
		return
	}
	kept := n.received[:0]
	for _, r := range n.received {
		if r.index > n.applied {
			kept = append(kept, r)
			continue
		}
		p := filepath.Join(n.snapDir, receivedName(r.term, r.index))
		if err := os.Remove(p); err == nil {
			n.log.Info("raftnode: deleted a received snapshot raft did not accept", "file", p)
		} else if !errors.Is(err, os.ErrNotExist) {
			n.log.Warn("raftnode: cannot delete a received snapshot", "file", p, "err", err)
		}
	}
	n.received = kept
}

// apply hands committed entries to the state machine and membership changes
// to raft, and starts snapshots when due.
func (n *Node) apply(ents []*pb.Entry) error {
	if b, ok := n.sm.(BatchApplier); ok && len(ents) > 0 {
		defer b.ApplyDone()
	}
	for _, e := range ents {
		switch e.GetType() {
		case pb.EntryNormal:
			if len(e.Data) > 0 {
				n.sm.Apply(e.GetIndex(), e.GetTerm(), e.Data)
			}
		case pb.EntryConfChange:
			// Never proposed by paddock; applied as raft's ConfChangeV2 would be.
			var cc pb.ConfChange
			if err := proto.Unmarshal(e.Data, &cc); err != nil {
				return fmt.Errorf("raftnode: entry %d: bad conf change: %w", e.GetIndex(), err)
			}
			data, err := proto.Marshal(cc.AsV2())
			if err != nil {
				return fmt.Errorf("raftnode: entry %d: %w", e.GetIndex(), err)
			}
			if err := n.applyConfChange(&pb.Entry{Index: e.Index, Term: e.Term, Data: data}); err != nil {
				return err
			}
		case pb.EntryConfChangeV2:
			if err := n.applyConfChange(e); err != nil {
				return err
			}
		}
		n.applied, n.appliedTerm = e.GetIndex(), e.GetTerm()
		if !n.snapBusy && n.applied >= n.nextSnapAt {
			n.startSnapshot()
		}
	}
	return nil
}

// publish copies what changed in rd into the status others read.
func (n *Node) publish(rd raft.Ready) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := &n.status
	if rd.SoftState != nil {
		switch lead := rd.SoftState.Lead; {
		case lead == 0 && s.Leader != 0:
			n.leaderless = time.Now()
		case lead != 0 && !n.leaderless.IsZero():
			if n.cfg.OnElection != nil {
				n.cfg.OnElection(time.Since(n.leaderless))
			}
			n.leaderless = time.Time{}
		}
		s.Leader = rd.SoftState.Lead
		n.raftState = rd.SoftState.RaftState
	}
	switch n.raftState {
	case raft.StateLeader:
		s.Role = "leader"
	case raft.StateCandidate, raft.StatePreCandidate:
		s.Role = "candidate"
	default:
		s.Role = "follower"
		if slices.Contains(n.confState.Learners, n.id) {
			s.Role = "learner"
		}
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		s.Term, s.Commit = rd.HardState.GetTerm(), rd.HardState.GetCommit()
	}
	s.Applied = n.applied
}

// Reads. Requests that arrive together share one raft ReadIndex round; once
// raft answers with the round's read index, each request completes when the
// applied index reaches it. A round that gets no answer (no leader, lost
// message) is re-issued every election timeout until its callers give up.

func (n *Node) issueReads() {
	if len(n.pendingReads) == 0 {
		return
	}
	n.readSeq++
	n.readRounds[n.readSeq] = &readRound{reqs: n.pendingReads, issued: n.ticks}
	n.pendingReads = nil
	n.rn.ReadIndex(binary.BigEndian.AppendUint64(nil, n.readSeq))
}

func (n *Node) readIndexKnown(rs raft.ReadState) {
	if len(rs.RequestCtx) != 8 {
		return
	}
	id := binary.BigEndian.Uint64(rs.RequestCtx)
	round, ok := n.readRounds[id]
	if !ok {
		return
	}
	delete(n.readRounds, id)
	for _, r := range round.reqs {
		r.index = rs.Index
		n.readWaits = append(n.readWaits, r)
	}
}

func (n *Node) resolveReads() {
	if len(n.readWaits) == 0 {
		return
	}
	kept := n.readWaits[:0]
	for _, r := range n.readWaits {
		if r.index <= n.applied {
			r.errc <- nil
		} else {
			kept = append(kept, r)
		}
	}
	clear(n.readWaits[len(kept):])
	n.readWaits = kept
}

func (n *Node) retryReads() {
	for id, round := range n.readRounds {
		if n.ticks-round.issued < uint64(n.cfg.ElectionTicks) {
			continue
		}
		delete(n.readRounds, id)
		for _, r := range round.reqs {
			if err := r.ctx.Err(); err != nil {
				r.errc <- err
			} else {
				n.pendingReads = append(n.pendingReads, r)
			}
		}
	}
}

// Snapshots. The state machine captures its state on this goroutine; the
// snapshot writer goroutine writes the file. One job is in flight at a time.

type snapJob struct {
	index, term uint64
	conf        *pb.ConfState
	addrs       map[uint64]string
	write       func(io.Writer) error
}

type snapResult struct {
	job     snapJob
	path    string
	oldest  uint64 // index of the oldest snapshot kept by the purge
	removed []string
	at      time.Time
	err     error
}

func (n *Node) triggerSnapshot() {
	switch {
	case n.snapBusy:
		n.snapWanted = true
	case n.applied > n.snapIndex:
		n.startSnapshot()
	}
}

func (n *Node) startSnapshot() {
	n.nextSnapAt = n.applied + n.cfg.SnapCount
	write, err := n.sm.Snapshot(n.applied)
	if err != nil {
		n.log.Error("raftnode: state machine could not capture a snapshot; will retry", "index", n.applied, "err", err)
		return
	}
	n.snapBusy = true
	n.snapJobc <- snapJob{index: n.applied, term: n.appliedTerm, conf: proto.CloneOf(n.confState), addrs: maps.Clone(n.addrs), write: write}
}

// snapshotWriter is the snapshot writer goroutine: it owns the snapshot
// directory while a job runs.
func (n *Node) snapshotWriter() {
	for job := range n.snapJobc {
		res := snapResult{job: job}
		h := snapHeader{index: job.index, term: job.term, conf: job.conf, addrs: job.addrs}
		res.path, res.err = writeSnapshot(n.snapDir, h, job.write, n.cfg.fs)
		if res.err == nil {
			res.at = time.Now()
			var err error
			res.oldest, res.removed, err = purgeSnapshots(n.snapDir, n.cfg.SnapRetain, n.cfg.fs)
			if err != nil {
				n.log.Warn("raftnode: snapshot purge failed", "err", err)
			}
		}
		n.snapDonec <- res
	}
}

// snapshotDone records a written snapshot in the log, compacts the in-memory
// log and purges log segments no retained snapshot needs. A failed write is
// fatal: the disk is not accepting data.
func (n *Node) snapshotDone(res snapResult) error {
	n.snapBusy = false
	if res.err != nil {
		return res.err
	}
	j := res.job
	if err := n.wal.saveSnapshot(snapMarker{index: j.index, term: j.term, conf: j.conf}); err != nil {
		return err
	}
	n.snapIndex = max(n.snapIndex, j.index)
	if _, err := n.storage.CreateSnapshot(j.index, j.conf, nil); err != nil && !errors.Is(err, raft.ErrSnapOutOfDate) {
		return fmt.Errorf("raftnode: %w", err)
	}
	if keep := min(snapshotCatchUpEntries, n.cfg.SnapCount); j.index > keep {
		if err := n.storage.Compact(j.index - keep); err != nil && !errors.Is(err, raft.ErrCompacted) {
			return fmt.Errorf("raftnode: %w", err)
		}
	}
	for _, p := range res.removed {
		n.log.Info("raftnode: purged snapshot", "file", p)
	}
	if res.oldest > 0 {
		removed, err := n.wal.purge(res.oldest)
		for _, p := range removed {
			n.log.Info("raftnode: purged log segment", "file", p)
		}
		if err != nil {
			n.log.Warn("raftnode: log purge failed", "err", err)
		}
	}
	n.log.Info("raftnode: snapshot written", "file", res.path, "index", j.index, "term", j.term)
	n.mu.Lock()
	n.status.LastSnapshotIndex, n.status.LastSnapshotTime = n.snapIndex, res.at
	n.mu.Unlock()
	if n.snapWanted {
		n.snapWanted = false
		n.triggerSnapshot()
	}
	return nil
}
