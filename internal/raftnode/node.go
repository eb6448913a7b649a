package raftnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// StateMachine is the replicated state the node drives. All three methods are
// called on the node's apply goroutine (the Ready loop; during Start, the
// goroutine calling Start), never concurrently.
type StateMachine interface {
	// Apply is called on the node's apply goroutine, in log order, once per
	// committed EntryNormal with non-empty Data. index/term are the entry's
	// raft index and term. data must not be modified; it may be retained.
	Apply(index, term uint64, data []byte)
	// Snapshot is called on the apply goroutine after Apply of the entry at
	// index (every SnapCount entries, or on TriggerSnapshot). It must capture
	// state cheaply and return a function that writes that state; the node runs
	// the function on another goroutine, so applies continue meanwhile.
	Snapshot(index uint64) (write func(w io.Writer) error, err error)
	// Restore replaces the whole state with a snapshot written by a Snapshot
	// function. It is called by Start (before any Apply) and, in a multi-member
	// ensemble, when the leader sends a snapshot.
	Restore(r io.Reader) error
}

// BatchApplier is implemented by a StateMachine that wants to know when a run of Apply calls
// ends (the entries committed in one round of the Ready loop): the place to flush what Apply
// buffered, such as replies to clients.
type BatchApplier interface {
	ApplyDone()
}

// Peer is a member of the ensemble: ZooKeeper's server.N line.
type Peer struct {
	ID      uint64
	Addr    string // host:port of the peer port; unused in a one-member ensemble
	Learner bool   // a non-voting member: ZooKeeper's observer
}

// Config configures a Node. Zero values take the defaults noted.
type Config struct {
	ID uint64 // this member's id (ZooKeeper's myid); required, non-zero

	// Peers is the initial membership, this member included; it is used as
	// such only when DataDir holds no log yet. Later changes travel through
	// the log (ProposeConfChange). Peers also gives the addresses of the
	// members it lists, unless a later membership change recorded another
	// one. Empty means a one-member ensemble of ID.
	Peers []Peer

	DataDir string // snapshots: DataDir/snap; required
	LogDir  string // write-ahead log: LogDir/wal; defaults to DataDir

	TickInterval   time.Duration // raft tick; default 100ms
	ElectionTicks  int           // default 10
	HeartbeatTicks int           // default 1

	SnapCount   uint64 // entries between snapshots (ZooKeeper's snapCount); default 100000
	SnapRetain  int    // snapshots kept (autopurge.snapRetainCount); default and minimum 3
	SegmentSize int64  // size WAL segments grow to, from 1 MiB; default 64 MiB

	// MaxBatchBytes caps the proposals handed to raft as one message, in
	// bytes of data; default 4 MiB. A follower forwards such a batch to the
	// leader as one message, so the cap must stay well under the transport's
	// frame limit (TCPConfig.MaxFrameSize, 64 MiB by default), or the batch
	// is dropped after Propose returned. A single proposal larger than the
	// cap travels alone.
	MaxBatchBytes int

	// Transport reaches the other members. nil is fine for a one-member
	// ensemble; Start fails with ErrNoTransport if Peers names others.
	Transport Transport

	Logger *slog.Logger // default slog.Default()

	// OnPersist, when set, is called on the Ready loop after each write to the log, with
	// how long the write and its sync took, the entries it persisted, and whether it synced.
	// It must return quickly (count, don't log).
	OnPersist func(d time.Duration, entries int, synced bool)
	// OnElection, when set, is called on the Ready loop when this member learns of a leader
	// after knowing none, with how long it knew none (from its start, for the first one).
	OnElection func(d time.Duration)
	// OnDropped, when set, is called on the Ready loop with the data of an entry given to
	// ProposeAsync that raft dropped. It must return quickly.
	OnDropped func(data []byte)

	fs *fsHooks // nil: the real file system calls; tests inject failures here
}

const (
	defaultTickInterval = 100 * time.Millisecond
	defaultSnapCount    = 100000
	minSnapRetain       = 3
	defaultSegmentSize  = 64 << 20
	minSegmentSize      = 1 << 10

	// Entries kept in memory behind a snapshot so that a slightly lagging
	// follower can catch up from the log instead of needing the snapshot.
	snapshotCatchUpEntries = 5000

	maxProposalBatch     = 4096    // proposals taken from the queue per turn of the loop
	defaultMaxBatchBytes = 4 << 20 // Config.MaxBatchBytes
	proposalOverhead     = 48      // bytes an entry adds to a message beyond its data (at most 36)
)

func (c Config) withDefaults() (Config, error) {
	if c.ID == 0 {
		return c, errors.New("raftnode: Config.ID must be non-zero")
	}
	if c.DataDir == "" {
		return c, errors.New("raftnode: Config.DataDir is required")
	}
	if c.LogDir == "" {
		c.LogDir = c.DataDir
	}
	if len(c.Peers) == 0 {
		c.Peers = []Peer{{ID: c.ID}}
	}
	if c.TickInterval <= 0 {
		c.TickInterval = defaultTickInterval
	}
	if c.HeartbeatTicks <= 0 {
		c.HeartbeatTicks = 1
	}
	if c.ElectionTicks <= 0 {
		c.ElectionTicks = 10
	}
	if c.ElectionTicks <= c.HeartbeatTicks {
		return c, fmt.Errorf("raftnode: ElectionTicks (%d) must exceed HeartbeatTicks (%d)", c.ElectionTicks, c.HeartbeatTicks)
	}
	if c.SnapCount == 0 {
		c.SnapCount = defaultSnapCount
	}
	c.SnapRetain = max(c.SnapRetain, minSnapRetain)
	if c.SegmentSize <= 0 {
		c.SegmentSize = defaultSegmentSize
	}
	c.SegmentSize = max(c.SegmentSize, minSegmentSize)
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = defaultMaxBatchBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.fs == nil {
		c.fs = &defaultFS
	}
	return c, nil
}

// bootstrapConf turns the initial peer list into raft's membership.
func bootstrapConf(id uint64, peers []Peer) (*pb.ConfState, error) {
	cs := pb.EnsureConfState(nil)
	seen := map[uint64]bool{}
	for _, p := range peers {
		if p.ID == 0 || seen[p.ID] {
			return nil, fmt.Errorf("raftnode: peer id %d is zero or repeated", p.ID)
		}
		seen[p.ID] = true
		if p.Learner {
			cs.Learners = append(cs.Learners, p.ID)
		} else {
			cs.Voters = append(cs.Voters, p.ID)
		}
	}
	if !seen[id] {
		return nil, fmt.Errorf("raftnode: Peers does not include this member (%d)", id)
	}
	if len(cs.Voters) == 0 {
		return nil, errors.New("raftnode: Peers has no voting member")
	}
	slices.Sort(cs.Voters)
	slices.Sort(cs.Learners)
	return cs, nil
}

// Status is a point-in-time view of the node, safe to read from any goroutine.
type Status struct {
	ID                uint64
	Leader            uint64 // 0 when unknown
	Term              uint64
	Commit            uint64
	Applied           uint64
	Role              string // "leader", "follower", "learner" or "candidate"
	LastSnapshotIndex uint64 // 0 when no snapshot was taken or restored
	LastSnapshotTime  time.Time

	// The membership in force, sorted by id, with the addresses known
	// (empty when unknown): voters (ZooKeeper's participants) and learners
	// (observers). While a change goes through joint consensus,
	// OutgoingVoters holds the voters of the configuration being left. The
	// slices are shared between copies of Status: do not modify them.
	Voters, Learners, OutgoingVoters []Peer
}

// Node runs one member of a raft group: the Ready loop, the write-ahead log
// and the snapshot files. See the package documentation for its goroutines.
type Node struct {
	cfg Config
	id  uint64
	sm  StateMachine
	log *slog.Logger

	// Owned by the Ready loop (by Start before the loop runs).
	rn             *raft.RawNode
	storage        *raft.MemoryStorage
	wal            *wal
	snapDir        string
	confState      *pb.ConfState
	addrs          map[uint64]string    // addresses recorded by membership changes; see membership.go
	peers          map[uint64]Peer      // what the transport has been given
	noAddr         map[uint64]struct{}  // members without an address, warned about
	readmitAt      map[uint64]time.Time // last readmission proposed for a member that lost its log
	readmitting    map[uint64]string    // members that lost their log, removed to be added back: their addresses
	lostWarned     time.Time            // last warning that this member lost its log
	leaderless     time.Time            // since when this member has known no leader; zero while it knows one
	membersChanged bool                 // the membership in Status is stale
	confSeq        uint64               // numbers this member's membership proposals
	confWaits      []*confReq           // proposed membership changes, awaiting apply
	transfers      []*transferReq       // leadership transfers in progress
	received       []snapFile           // received snapshots handed to raft, until swept
	applied        uint64
	appliedTerm    uint64
	snapIndex      uint64 // newest snapshot on disk
	nextSnapAt     uint64 // applied index at which the next automatic snapshot is due
	snapBusy       bool   // a job is with the snapshot writer
	snapWanted     bool   // TriggerSnapshot arrived while busy
	raftState      raft.StateType
	sending        bool // the transport is started
	ticks          uint64
	readSeq        uint64
	pendingReads   []*readReq            // not yet handed to raft
	readRounds     map[uint64]*readRound // handed to raft, awaiting the read index
	readWaits      []*readReq            // read index known, awaiting apply

	propc     chan proposal
	readc     chan *readReq
	confc     chan *confReq
	transferc chan *transferReq
	progressc chan *progressReq
	recvc     chan *pb.Message
	reportc   chan struct{} // capacity 1: reports are pending
	reports   pendingReports
	snapTrigc chan struct{}
	snapJobc  chan snapJob    // Ready loop -> snapshot writer
	snapDonec chan snapResult // snapshot writer -> Ready loop
	stopc     chan struct{}   // closed by Stop, or when the loop exits
	done      chan struct{}   // closed when every goroutine has exited

	stopOnce sync.Once
	helpers  sync.WaitGroup // goroutines other than the Ready loop

	mu      sync.Mutex // guards the fields below
	status  Status
	err     error // the fatal error, if any
	stopErr error // what Stop returns
}

type proposal struct {
	data []byte
	errc chan error // nil: ProposeAsync's, reported to Config.OnDropped if dropped
}

type readReq struct {
	ctx   context.Context
	index uint64
	errc  chan error
}

type readRound struct {
	reqs   []*readReq
	issued uint64 // tick count when handed to raft
}

var errcPool = sync.Pool{New: func() any { return make(chan error, 1) }}

// Start opens (or creates) the member's state under cfg.DataDir and
// cfg.LogDir: it restores the newest valid snapshot into sm, replays the log
// after it through sm.Apply, and starts the node's goroutines. In a
// one-member ensemble it also elects itself and applies every entry in the log
// before returning, so the state is complete and the node is leader. A fresh
// directory bootstraps the membership from cfg.Peers.
func Start(cfg Config, sm StateMachine) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:         cfg,
		id:          cfg.ID,
		sm:          sm,
		log:         cfg.Logger.With("raft_id", cfg.ID),
		readRounds:  map[uint64]*readRound{},
		addrs:       map[uint64]string{},
		peers:       map[uint64]Peer{},
		noAddr:      map[uint64]struct{}{},
		readmitAt:   map[uint64]time.Time{},
		readmitting: map[uint64]string{},
		leaderless:  time.Now(),
		confSeq:     rand.Uint64() >> 1, // so that a restart does not reuse the proposals' numbers
		propc:       make(chan proposal, maxProposalBatch),
		readc:       make(chan *readReq, 256),
		confc:       make(chan *confReq),
		transferc:   make(chan *transferReq),
		progressc:   make(chan *progressReq),
		recvc:       make(chan *pb.Message, 1024),
		reportc:     make(chan struct{}, 1),
		snapTrigc:   make(chan struct{}, 1),
		snapJobc:    make(chan snapJob, 1),
		snapDonec:   make(chan snapResult, 1),
		stopc:       make(chan struct{}),
		done:        make(chan struct{}),
	}
	if err := n.recover(); err != nil {
		return nil, err
	}
	if cfg.Transport == nil && n.hasOtherMembers() {
		n.wal.close()
		return nil, ErrNoTransport
	}
	n.goHelper(n.snapshotWriter)
	abort := func(err error) (*Node, error) {
		n.closeHelpers()
		n.wal.close()
		return nil, err
	}
	if err := n.replay(); err != nil {
		return abort(err)
	}
	if t := cfg.Transport; t != nil {
		n.syncPeers()
		info := StartInfo{ID: n.id, SnapDir: n.snapDir, Logger: n.log, Receiver: nodeReceiver{n}}
		if err := t.Start(info); err != nil {
			return abort(fmt.Errorf("raftnode: start transport: %w", err))
		}
		n.sending = true
	}
	n.publishMembership()
	go n.run()
	return n, nil
}

// recover loads the newest valid snapshot and the log after it, or creates a
// new log, and builds raft's in-memory view.
func (n *Node) recover() error {
	cfg := n.cfg
	n.snapDir = filepath.Join(cfg.DataDir, "snap")
	walDir := filepath.Join(cfg.LogDir, "wal")
	for _, d := range []string{n.snapDir, walDir} {
		_, statErr := os.Stat(d)
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("raftnode: %w", err)
		}
		if errors.Is(statErr, os.ErrNotExist) {
			// The new directory's entry must be durable before files in it are.
			if err := cfg.fs.syncDir(filepath.Dir(d)); err != nil {
				return fmt.Errorf("raftnode: %w", err)
			}
		}
		if err := removeTemps(d); err != nil {
			return fmt.Errorf("raftnode: %w", err)
		}
	}
	segs, err := listSegments(walDir)
	if err != nil {
		return err
	}
	if err := n.settleReceived(segs); err != nil {
		return err
	}
	snaps, err := listSnapshots(n.snapDir)
	if err != nil {
		return fmt.Errorf("raftnode: %w", err)
	}
	n.storage = raft.NewMemoryStorage()

	var after uint64
	if len(segs) == 0 {
		if len(snaps) > 0 {
			return fmt.Errorf("raftnode: %d snapshot(s) in %s but no write-ahead log in %s: refusing to start from a partial state",
				len(snaps), n.snapDir, walDir)
		}
		if err := n.checkPeers(); err != nil {
			return err
		}
		cs, err := bootstrapConf(n.id, cfg.Peers)
		if err != nil {
			return err
		}
		if n.wal, err = createWAL(walDir, cfg.SegmentSize, n.id, cs, cfg.fs, n.log); err != nil {
			return err
		}
		n.confState = cs
		if err := n.storage.ApplySnapshot(&pb.Snapshot{Metadata: &pb.SnapshotMetadata{ConfState: cs}}); err != nil {
			n.wal.close()
			return fmt.Errorf("raftnode: %w", err)
		}
		n.log.Info("raftnode: bootstrapped a new log", "dir", walDir, "voters", cs.Voters, "learners", cs.Learners)
	} else {
		snap, path := n.chooseSnapshot(snaps)
		if snap != nil {
			after = snap.index
		}
		w, st, err := openWAL(walDir, segs, cfg.SegmentSize, after, cfg.fs, n.log)
		if err != nil {
			return err
		}
		n.wal = w
		fail := func(err error) error {
			w.close()
			return err
		}
		if st.nodeID != 0 && st.nodeID != n.id {
			return fail(fmt.Errorf("raftnode: the log in %s belongs to member %d, but this is member %d", walDir, st.nodeID, n.id))
		}
		if w.nodeID == 0 {
			w.nodeID = n.id
		}
		if snap != nil {
			if st.sawSnapAt && st.snapTerm != snap.term {
				return fail(fmt.Errorf("raftnode: snapshot %s (term %d) does not match the log, whose entry %d has term %d",
					path, snap.term, snap.index, st.snapTerm))
			}
			if err := restoreSnapshot(path, n.sm); err != nil {
				return fail(err)
			}
			n.confState = snap.conf
			maps.Copy(n.addrs, snap.addrs)
			meta := &pb.SnapshotMetadata{ConfState: snap.conf, Index: new(snap.index), Term: new(snap.term)}
			if err := n.storage.ApplySnapshot(&pb.Snapshot{Metadata: meta}); err != nil {
				return fail(fmt.Errorf("raftnode: %w", err))
			}
			var mtime time.Time
			if fi, err := os.Stat(path); err == nil {
				mtime = fi.ModTime()
			}
			n.status.LastSnapshotIndex, n.status.LastSnapshotTime = snap.index, mtime
			n.log.Info("raftnode: restored snapshot", "file", path, "index", snap.index, "term", snap.term)
		} else {
			for _, m := range st.markers {
				if m.index == 0 {
					n.confState = m.conf
				}
			}
			if n.confState == nil {
				if len(st.ents) > 0 || st.hs != nil {
					return fail(fmt.Errorf("raftnode: no snapshot and no membership record in the log in %s", walDir))
				}
				// Interrupted bootstrap: nothing but an empty segment.
				cs, err := bootstrapConf(n.id, cfg.Peers)
				if err != nil {
					return fail(err)
				}
				if err := w.saveSnapshot(snapMarker{conf: cs}); err != nil {
					return fail(err)
				}
				n.confState = cs
			}
			if err := n.storage.ApplySnapshot(&pb.Snapshot{Metadata: &pb.SnapshotMetadata{ConfState: n.confState}}); err != nil {
				return fail(fmt.Errorf("raftnode: %w", err))
			}
		}
		hs := st.hs
		switch {
		case hs == nil && snap != nil:
			hs = &pb.HardState{Term: new(snap.term), Vote: new(uint64(0)), Commit: new(snap.index)}
		case hs != nil && hs.GetCommit() < after:
			hs.Commit = new(after)
		}
		if hs != nil && hs.GetCommit() > st.lastIndex {
			return fail(fmt.Errorf("raftnode: the log in %s ends at index %d but index %d was committed: entries are missing",
				walDir, st.lastIndex, hs.GetCommit()))
		}
		if hs != nil {
			if err := n.storage.SetHardState(hs); err != nil {
				return fail(err)
			}
		}
		if err := n.storage.Append(st.ents); err != nil {
			return fail(fmt.Errorf("raftnode: %w", err))
		}
		n.log.Info("raftnode: opened log", "dir", walDir, "snapshot_index", after,
			"last_index", st.lastIndex, "commit", hs.GetCommit(), "segments", len(w.segs))
	}
	n.applied, n.snapIndex = after, after
	n.nextSnapAt = after + n.cfg.SnapCount
	if after > 0 {
		t, err := n.storage.Term(after)
		if err != nil {
			n.wal.close()
			return fmt.Errorf("raftnode: %w", err)
		}
		n.appliedTerm = t
	}

	rn, err := raft.NewRawNode(&raft.Config{
		ID:                        n.id,
		ElectionTick:              cfg.ElectionTicks,
		HeartbeatTick:             cfg.HeartbeatTicks,
		Storage:                   n.storage,
		Applied:                   after,
		MaxSizePerMsg:             1 << 20,
		MaxCommittedSizePerReady:  16 << 20,
		MaxUncommittedEntriesSize: 1 << 30,
		MaxInflightMsgs:           256,
		CheckQuorum:               true,
		PreVote:                   true,
		StepDownOnRemoval:         true,
		Logger:                    raftLogger{n.log},
	})
	if err != nil {
		n.wal.close()
		return fmt.Errorf("raftnode: %w", err)
	}
	n.rn = rn
	n.status.ID = n.id
	return nil
}

// settleReceived finishes or discards the snapshots received from the
// leader that a crash left behind (see "Received snapshots" in the package
// documentation): a file whose snapshot marker is in the log was accepted by
// raft and is renamed into place; any other was not, and is deleted.
func (n *Node) settleReceived(segs []segment) error {
	recvd, err := listReceived(n.snapDir)
	if err != nil || len(recvd) == 0 {
		return err
	}
	accepted, err := scanMarkers(segs)
	if err != nil {
		return err
	}
	for _, r := range recvd {
		final := filepath.Join(n.snapDir, snapshotName(r.term, r.index))
		_, haveFinal := os.Stat(final)
		if accepted[[2]uint64{r.term, r.index}] && errors.Is(haveFinal, os.ErrNotExist) {
			n.log.Info("raftnode: completing the installation of a received snapshot", "file", final)
			if err := os.Rename(r.path, final); err != nil {
				return fmt.Errorf("raftnode: %w", err)
			}
			continue
		}
		n.log.Info("raftnode: deleting a received snapshot raft did not accept", "file", r.path)
		if err := os.Remove(r.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("raftnode: %w", err)
		}
	}
	if err := n.cfg.fs.syncDir(n.snapDir); err != nil {
		return fmt.Errorf("raftnode: %w", err)
	}
	return nil
}

// checkPeers refuses a multi-member configuration without a transport.
func (n *Node) checkPeers() error {
	for _, p := range n.cfg.Peers {
		if p.ID != n.id && n.cfg.Transport == nil {
			return ErrNoTransport
		}
	}
	return nil
}

// chooseSnapshot returns the newest snapshot file that verifies. Damaged files
// are renamed to *.broken and skipped, so that an older one is used.
func (n *Node) chooseSnapshot(snaps []snapFile) (*snapHeader, string) {
	for _, s := range snaps {
		h, err := verifySnapshot(s.path)
		if err == nil && (h.index != s.index || h.term != s.term) {
			err = fmt.Errorf("header says term %d index %d", h.term, h.index)
		}
		if err == nil {
			return &h, s.path
		}
		n.log.Error("raftnode: skipping damaged snapshot", "file", s.path, "err", err)
		if rerr := os.Rename(s.path, s.path+".broken"); rerr != nil {
			n.log.Error("raftnode: cannot set damaged snapshot aside", "file", s.path, "err", rerr)
		}
	}
	return nil, ""
}

// replay brings the state machine up to date before Start returns: up to the
// persisted commit index, and in a one-member ensemble (after electing
// itself) up to the end of the log.
func (n *Node) replay() error {
	hs, _, _ := n.storage.InitialState()
	target := hs.GetCommit()
	if n.soleVoter() {
		if err := n.rn.Campaign(); err != nil {
			return fmt.Errorf("raftnode: campaign: %w", err)
		}
	}
	for n.rn.HasReady() {
		if err := n.handleReady(); err != nil {
			return err
		}
		if !n.soleVoter() && n.applied >= target {
			break
		}
	}
	n.log.Info("raftnode: replayed log", "applied", n.applied, "term", n.rn.BasicStatus().GetTerm())
	return nil
}

func (n *Node) hasOtherMembers() bool {
	cs := n.confState
	for _, ids := range [][]uint64{cs.Voters, cs.Learners, cs.VotersOutgoing, cs.LearnersNext} {
		for _, id := range ids {
			if id != n.id {
				return true
			}
		}
	}
	return false
}

func (n *Node) soleVoter() bool {
	cs := n.confState
	return len(cs.Voters) == 1 && cs.Voters[0] == n.id && len(cs.VotersOutgoing) == 0
}

// goHelper starts a goroutine that shutdown waits for.
func (n *Node) goHelper(f func()) {
	n.helpers.Add(1)
	go func() {
		defer n.helpers.Done()
		f()
	}()
}

// closeHelpers stops the snapshot writer, waiting for a job in progress.
func (n *Node) closeHelpers() {
	close(n.snapJobc)
	n.helpers.Wait()
}

// Propose hands data to raft as a new log entry. It returns once raft has
// accepted the entry, not when it is committed: the entry reaches
// StateMachine.Apply (on every member) when it is. Errors: ErrEmptyProposal,
// ErrProposalDropped (no leader; retry), ErrStopped, or ctx's error while
// waiting to hand over. data must not be modified afterwards.
func (n *Node) Propose(ctx context.Context, data []byte) error {
	if len(data) == 0 {
		return ErrEmptyProposal
	}
	errc := errcPool.Get().(chan error)
	select {
	case n.propc <- proposal{data: data, errc: errc}:
	case <-ctx.Done():
		errcPool.Put(errc)
		return ctx.Err()
	case <-n.stopc:
		errcPool.Put(errc)
		return ErrStopped
	}
	select {
	case err := <-errc:
		errcPool.Put(errc)
		return err
	case <-n.done:
		return ErrStopped // errc may still be written to: not reused
	}
}

// ProposeAsync hands data to raft like Propose but does not wait for raft to take it: it
// returns once the entry is queued for the Ready loop (blocking only while the queue is
// full). An entry raft drops (no leader, a leadership transfer) is reported to
// Config.OnDropped. Entries proposed by one goroutine reach raft in the order proposed.
// Errors: ErrEmptyProposal, ErrStopped, or ctx's error while the queue is full.
func (n *Node) ProposeAsync(ctx context.Context, data []byte) error {
	if len(data) == 0 {
		return ErrEmptyProposal
	}
	select {
	case n.propc <- proposal{data: data}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.stopc:
		return ErrStopped
	}
}

// ReadIndex is a linearizable barrier: it returns nil once this node has
// applied every entry committed before the call (raft's read index). In an
// ensemble without a leader it keeps retrying until ctx is done.
func (n *Node) ReadIndex(ctx context.Context) error {
	r := &readReq{ctx: ctx, errc: make(chan error, 1)}
	return handOver(n, ctx, n.readc, r, r.errc)
}

// handOver gives req to the Ready loop on ch and waits for its answer on errc, or for ctx or
// the node to end first.
func handOver[T any](n *Node, ctx context.Context, ch chan<- T, req T, errc <-chan error) error {
	select {
	case ch <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-n.stopc:
		return ErrStopped
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return ErrStopped
	}
}

// Status returns the node's current status.
func (n *Node) Status() Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.status
}

// TriggerSnapshot asks for a snapshot at the current applied index. It does
// not wait: Status().LastSnapshotIndex moves when the file is durable. It is a
// no-op if nothing was applied since the last snapshot.
func (n *Node) TriggerSnapshot() {
	select {
	case n.snapTrigc <- struct{}{}:
	default:
	}
}

// Done is closed when the node has stopped, after Stop or a fatal error.
func (n *Node) Done() <-chan struct{} { return n.done }

// Err returns the fatal error that stopped the node (a failed write or
// fsync, a full disk), or nil.
func (n *Node) Err() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.err
}

// Stop stops the node, waits for its goroutines (including a snapshot being
// written) and closes the log. It returns the fatal error if the node had
// failed, or an error from closing the log. It is idempotent, and must not be
// called from a StateMachine method.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() { close(n.stopc) })
	<-n.done
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.err != nil {
		return n.err
	}
	return n.stopErr
}

// publishMembership copies the membership into the status others read.
func (n *Node) publishMembership() {
	n.membersChanged = false
	voters, learners, outgoing := n.membership()
	n.mu.Lock()
	n.status.Voters, n.status.Learners, n.status.OutgoingVoters = voters, learners, outgoing
	n.mu.Unlock()
}
