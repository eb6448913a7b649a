package raftnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// memNet is an in-memory network for Transport tests: it checks that the
// Transport seam is enough to run a multi-member ensemble. Like the TCP
// transport, it never calls a Receiver from Send: each member's deliveries run
// in order on a goroutine of its own, and reports on goroutines too. It
// delivers only to members the sender added, copies snapshot files as the
// contract says, and drops messages over maxFrame.
type memNet struct {
	mu       sync.Mutex
	nodes    map[uint64]*memEndpoint
	maxFrame int                      // larger messages are dropped; 0: no limit
	hold     map[uint64]chan struct{} // Send by that member blocks until the channel is closed
	heldc    chan uint64              // gets the member whose Send blocked on hold
	dropped  atomic.Int64             // messages dropped for their size
}

func newMemNet() *memNet {
	return &memNet{nodes: map[uint64]*memEndpoint{}, hold: map[uint64]chan struct{}{}, heldc: make(chan uint64, 16)}
}

// memEndpoint is a started member: its Receiver and its delivery queue.
type memEndpoint struct {
	id      uint64
	recv    Receiver
	snapDir string
	notec   chan struct{} // capacity 1
	stopc   chan struct{}

	mu    sync.Mutex
	queue []memDelivery
}

type memDelivery struct {
	m    *pb.Message
	from *memEndpoint
}

func (e *memEndpoint) enqueue(d memDelivery) {
	e.mu.Lock()
	e.queue = append(e.queue, d)
	e.mu.Unlock()
	select {
	case e.notec <- struct{}{}:
	default:
	}
}

// run delivers the member's messages in order until it stops.
func (e *memEndpoint) run() {
	for {
		select {
		case <-e.notec:
		case <-e.stopc:
			return
		}
		e.mu.Lock()
		q := e.queue
		e.queue = nil
		e.mu.Unlock()
		for _, d := range q {
			snap := d.m.GetType() == pb.MsgSnap
			if snap {
				if err := copyMemSnapshot(d.from.snapDir, e.snapDir, d.m.GetSnapshot().GetMetadata()); err != nil {
					d.from.recv.ReportSnapshot(e.id, false)
					continue
				}
			}
			e.recv.Receive(d.m)
			if snap {
				d.from.recv.ReportSnapshot(e.id, true)
			}
		}
	}
}

// copyMemSnapshot copies a snapshot file as a transport must: into the
// receiver's directory as <name>.recv, written under a temporary name first.
func copyMemSnapshot(fromDir, toDir string, md *pb.SnapshotMetadata) error {
	data, err := os.ReadFile(filepath.Join(fromDir, snapshotName(md.GetTerm(), md.GetIndex())))
	if err != nil {
		return err
	}
	final := filepath.Join(toDir, receivedName(md.GetTerm(), md.GetIndex()))
	if err := os.WriteFile(final+".tmp", data, 0o600); err != nil {
		return err
	}
	return os.Rename(final+".tmp", final)
}

type memTransport struct {
	net *memNet
	id  uint64

	mu      sync.Mutex
	ep      *memEndpoint
	peers   map[uint64]Peer
	history []string // "add <id> <addr>", "remove <id>"
}

func newMemTransport(net *memNet, id uint64) *memTransport {
	return &memTransport{net: net, id: id, peers: map[uint64]Peer{}}
}

func (t *memTransport) Start(info StartInfo) error {
	if info.ID != t.id || info.SnapDir == "" || info.Receiver == nil || info.Logger == nil {
		return fmt.Errorf("memTransport %d: incomplete StartInfo %+v", t.id, info)
	}
	ep := &memEndpoint{id: t.id, recv: info.Receiver, snapDir: info.SnapDir, notec: make(chan struct{}, 1), stopc: make(chan struct{})}
	t.mu.Lock()
	t.ep = ep
	t.mu.Unlock()
	t.net.mu.Lock()
	t.net.nodes[t.id] = ep
	t.net.mu.Unlock()
	go ep.run()
	return nil
}

func (t *memTransport) Send(msgs []*pb.Message) {
	t.net.mu.Lock()
	holdc := t.net.hold[t.id]
	t.net.mu.Unlock()
	if holdc != nil {
		t.net.heldc <- t.id
		<-holdc
	}
	t.mu.Lock()
	src := t.ep
	t.mu.Unlock()
	for _, m := range msgs {
		to := m.GetTo()
		t.mu.Lock()
		_, known := t.peers[to]
		t.mu.Unlock()
		t.net.mu.Lock()
		dst := t.net.nodes[to]
		t.net.mu.Unlock()
		tooBig := t.net.maxFrame > 0 && proto.Size(m) > t.net.maxFrame
		if tooBig {
			t.net.dropped.Add(1)
		}
		if !known || dst == nil || tooBig {
			if src != nil {
				snap := m.GetType() == pb.MsgSnap
				go func() { // never from Send itself
					if snap {
						src.recv.ReportSnapshot(to, false)
					} else {
						src.recv.ReportUnreachable(to)
					}
				}()
			}
			continue
		}
		dst.enqueue(memDelivery{m: proto.CloneOf(m), from: src}) // as if encoded
	}
}

func (t *memTransport) AddPeer(p Peer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.peers[p.ID] = p
	t.history = append(t.history, fmt.Sprintf("add %d %s", p.ID, p.Addr))
}

func (t *memTransport) RemovePeer(id uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.peers, id)
	t.history = append(t.history, fmt.Sprintf("remove %d", id))
}

// known returns the peers added and not removed, as "<id>=<addr>", sorted.
func (t *memTransport) known() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, p := range t.peers {
		out = append(out, fmt.Sprintf("%d=%s", p.ID, p.Addr))
	}
	slices.Sort(out)
	return out
}

func (t *memTransport) Stop() error {
	t.net.mu.Lock()
	if t.net.nodes[t.id] == t.ep {
		delete(t.net.nodes, t.id)
	}
	t.net.mu.Unlock()
	if t.ep != nil {
		close(t.ep.stopc)
	}
	return nil
}

// memCluster is an ensemble on a memNet.
type memCluster struct {
	t     *testing.T
	lb    *logBuffer
	base  string
	net   *memNet
	cfgs  map[uint64]Config
	nodes map[uint64]*Node
	recs  map[uint64]*recorder
	trs   map[uint64]*memTransport
}

// newMemCluster configures members ids, all voters, at addresses "mem-<id>".
func newMemCluster(t *testing.T, lb *logBuffer, ids ...uint64) *memCluster {
	c := &memCluster{t: t, lb: lb, base: t.TempDir(), net: newMemNet(), cfgs: map[uint64]Config{}, nodes: map[uint64]*Node{},
		recs: map[uint64]*recorder{}, trs: map[uint64]*memTransport{}}
	var peers []Peer
	for _, id := range ids {
		peers = append(peers, Peer{ID: id, Addr: fmt.Sprintf("mem-%d", id)})
	}
	for _, id := range ids {
		c.configure(id, peers)
	}
	return c
}

// configure sets up member id with the initial membership peers.
func (c *memCluster) configure(id uint64, peers []Peer) {
	cfg := testConfig(filepath.Join(c.base, fmt.Sprint(id)), c.lb)
	cfg.ID, cfg.Peers = id, peers
	c.cfgs[id] = cfg
}

// start starts member id on a new transport and a new recorder.
func (c *memCluster) start(id uint64) *Node {
	cfg := c.cfgs[id]
	c.trs[id] = newMemTransport(c.net, id)
	cfg.Transport = c.trs[id]
	c.recs[id] = &recorder{}
	c.nodes[id] = mustStart(c.t, cfg, c.recs[id])
	return c.nodes[id]
}

func (c *memCluster) startAll() {
	for _, id := range slices.Sorted(maps.Keys(c.cfgs)) {
		c.start(id)
	}
}

func (c *memCluster) stop(id uint64) {
	c.t.Helper()
	if err := c.nodes[id].Stop(); err != nil {
		c.t.Fatalf("Stop %d: %v", id, err)
	}
	delete(c.nodes, id)
}

// leader waits until one running member leads and returns its id.
func (c *memCluster) leader() uint64 {
	c.t.Helper()
	var lead uint64
	waitFor(c.t, "a leader", func() bool {
		for id, n := range c.nodes {
			if n.Status().Role == "leader" {
				lead = id
				return true
			}
		}
		return false
	})
	return lead
}

// propose proposes "<prefix><i>" for i in [from, to) on member id, retrying
// while raft drops proposals (no leader known yet, a transfer running).
func (c *memCluster) propose(id uint64, prefix string, from, to int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := from; i < to; i++ {
		for {
			err := c.nodes[id].Propose(ctx, fmt.Appendf(nil, "%s%d", prefix, i))
			if err == nil {
				break
			}
			if !errors.Is(err, ErrProposalDropped) || ctx.Err() != nil {
				c.t.Fatalf("Propose on %d: %v", id, err)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// converge waits until every running member has applied want entries and
// checks that they applied the same ones.
func (c *memCluster) converge(want int) []applied {
	c.t.Helper()
	var first []applied
	for _, id := range slices.Sorted(maps.Keys(c.nodes)) {
		r := c.recs[id]
		waitFor(c.t, fmt.Sprintf("member %d to apply %d entries", id, want), func() bool { return r.stateLen() >= want })
		got, _, _, _ := r.snapshot()
		if first == nil {
			first = got
		} else if !slices.Equal(got, first) {
			c.t.Fatalf("member %d applied a different log", id)
		}
		checkNoProblems(c.t, r)
	}
	return first
}

func TestThreeMembersOverTransport(t *testing.T) {
	base := t.TempDir()
	net := newMemNet()
	peers := []Peer{{ID: 1, Addr: "mem-1"}, {ID: 2, Addr: "mem-2"}, {ID: 3, Addr: "mem-3"}}
	lb := &logBuffer{}
	cfgs := make([]Config, 3)
	for i := range cfgs {
		cfgs[i] = testConfig(filepath.Join(base, fmt.Sprint(i+1)), lb)
		cfgs[i].ID = uint64(i + 1)
		cfgs[i].Peers = peers
	}
	start := func() ([]*Node, []*recorder) {
		nodes := make([]*Node, 3)
		recs := make([]*recorder, 3)
		for i, cfg := range cfgs {
			cfg.Transport = newMemTransport(net, cfg.ID)
			recs[i] = &recorder{}
			nodes[i] = mustStart(t, cfg, recs[i])
		}
		return nodes, recs
	}
	leaderOf := func(nodes []*Node) (leader, follower *Node) {
		waitFor(t, "a leader", func() bool {
			for _, n := range nodes {
				if n.Status().Role == "leader" {
					leader = n
				}
			}
			return leader != nil
		})
		for _, n := range nodes {
			if n != leader {
				return leader, n
			}
		}
		return nil, nil
	}

	nodes, recs := start()
	leader, follower := leaderOf(nodes)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const N = 100
	for i := range N {
		for {
			// A follower forwards to the leader; until it knows one, raft drops.
			err := follower.Propose(ctx, fmt.Appendf(nil, "m%d", i))
			if err == nil {
				break
			}
			if !errors.Is(err, ErrProposalDropped) || ctx.Err() != nil {
				t.Fatalf("Propose: %v", err)
			}
		}
	}
	// Once the leader has applied everything, everything is committed: a
	// ReadIndex on the follower must then wait until it has applied it all.
	leaderRec := recs[slices.Index(nodes, leader)]
	waitFor(t, "the leader to apply", func() bool { return leaderRec.stateLen() == N })
	if err := follower.ReadIndex(ctx); err != nil {
		t.Fatalf("ReadIndex on a follower: %v", err)
	}
	if got := recs[slices.Index(nodes, follower)].stateLen(); got != N {
		t.Fatalf("after ReadIndex the follower has applied %d of %d entries", got, N)
	}
	for i, r := range recs {
		waitFor(t, fmt.Sprintf("member %d to apply", i+1), func() bool { return r.stateLen() == N })
	}
	want, _, _, _ := recs[0].snapshot()
	for i, r := range recs {
		got, _, _, _ := r.snapshot()
		if !slices.Equal(got, want) {
			t.Fatalf("member %d applied a different log", i+1)
		}
		checkNoProblems(t, r)
	}
	for _, n := range nodes {
		if err := n.Stop(); err != nil {
			t.Fatal(err)
		}
	}

	// Restarted members replay at least what they knew to be committed, and
	// converge on the same log.
	nodes, recs = start()
	leaderOf(nodes)
	for i, r := range recs {
		waitFor(t, fmt.Sprintf("member %d to replay", i+1), func() bool { return r.stateLen() == N })
		got, _, _, _ := r.snapshot()
		if !slices.Equal(got, want) {
			t.Fatalf("member %d replayed a different log", i+1)
		}
	}
}

// reportingTransport breaks the rule that Send hands reports to a goroutine
// of its own: it reports every message undeliverable, many times over,
// synchronously. ReportUnreachable and ReportSnapshot never block, so even
// this cannot stall the Ready loop.
type reportingTransport struct {
	r     Receiver
	sends atomic.Int64
}

func (t *reportingTransport) Start(info StartInfo) error { t.r = info.Receiver; return nil }

func (t *reportingTransport) Send(msgs []*pb.Message) {
	for _, m := range msgs {
		for range 500 {
			t.r.ReportUnreachable(m.GetTo())
			t.r.ReportSnapshot(m.GetTo(), false)
		}
	}
	t.sends.Add(1)
}

func (t *reportingTransport) AddPeer(Peer)      {}
func (t *reportingTransport) RemovePeer(uint64) {}
func (t *reportingTransport) Stop() error       { return nil }

func TestReportsFromSendDoNotBlockTheLoop(t *testing.T) {
	lb := &logBuffer{}
	cfg := testConfig(t.TempDir(), lb)
	// The only voter leads at once and keeps sending to its learner.
	cfg.Peers = []Peer{{ID: 1}, {ID: 2, Addr: "learner:1", Learner: true}}
	tr := &reportingTransport{}
	cfg.Transport = tr
	r := &recorder{}
	n := mustStart(t, cfg, r)
	done := make(chan struct{})
	go func() {
		defer close(done)
		waitFor(t, "several sends", func() bool { return tr.sends.Load() >= 5 })
		proposeAll(t, n, r, "p", 0, 20, 20)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the Ready loop is stuck after %d sends", tr.sends.Load())
	}
}

// TestFollowerBatchesFitTheFrameLimit queues proposals on a follower while
// its Ready loop is busy, so that they are taken as one batch, which the
// follower forwards to the leader as one message. Batches are capped by
// Config.MaxBatchBytes, so none exceeds the transport's frame limit; a
// proposal larger than the cap travels alone.
func TestFollowerBatchesFitTheFrameLimit(t *testing.T) {
	lb := &logBuffer{}
	c := newMemCluster(t, lb, 1, 2, 3)
	for id, cfg := range c.cfgs {
		cfg.MaxBatchBytes = 1 << 20
		c.cfgs[id] = cfg
	}
	c.net.maxFrame = 2<<20 + 512<<10
	c.startAll()
	lead := c.leader()
	f := uint64(1)
	if f == lead {
		f = 2
	}
	follower := c.nodes[f]
	waitFor(t, "the follower to know the leader", func() bool { return follower.Status().Leader == lead })

	hold := make(chan struct{})
	c.net.mu.Lock()
	c.net.hold[f] = hold
	c.net.mu.Unlock()
	select {
	case <-c.net.heldc:
	case <-time.After(10 * time.Second):
		t.Fatal("the follower never sent")
	}
	c.net.mu.Lock()
	delete(c.net.hold, f)
	c.net.mu.Unlock()

	// 8 × 400 KiB and one of 1.5 MiB: 4.7 MiB in all, 2 proposals per batch.
	sizes := []int{400 << 10, 400 << 10, 400 << 10, 3 << 19, 400 << 10, 400 << 10, 400 << 10, 400 << 10, 400 << 10}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, len(sizes))
	for i, size := range sizes {
		data := bytes.Repeat([]byte{byte('a' + i)}, size)
		go func() { errc <- follower.Propose(ctx, data) }()
	}
	waitFor(t, "the proposals to queue", func() bool { return len(follower.propc) == len(sizes) })
	close(hold)
	for range sizes {
		if err := <-errc; err != nil {
			t.Fatalf("Propose: %v", err)
		}
	}
	waitFor(t, "the proposals to apply or a message to be dropped", func() bool {
		return c.recs[lead].stateLen() == len(sizes) || c.net.dropped.Load() > 0
	})
	if n := c.net.dropped.Load(); n > 0 {
		t.Fatalf("%d message(s) over the frame limit: proposals lost after Propose returned nil", n)
	}
	c.converge(len(sizes))
}

// floodTransport delivers messages as fast as the node takes them, from a
// goroutine that Stop waits for, as the TCP transport's readers are.
type floodTransport struct {
	stopc chan struct{}
	done  chan struct{}
}

func (t *floodTransport) Start(info StartInfo) error {
	t.stopc, t.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(t.done)
		for {
			select {
			case <-t.stopc:
				return
			default:
			}
			// From a member raft does not know: stepped and ignored.
			info.Receiver.Receive(&pb.Message{Type: pb.MsgHeartbeat.Enum(), From: new(uint64(9)), To: new(info.ID)})
		}
	}()
	return nil
}

func (t *floodTransport) Send([]*pb.Message) {}
func (t *floodTransport) AddPeer(Peer)       {}
func (t *floodTransport) RemovePeer(uint64)  {}
func (t *floodTransport) Stop() error        { close(t.stopc); <-t.done; return nil }

// TestFatalErrorWithBusyTransport checks that a node stopping on a fatal
// error releases a transport blocked handing it messages, so that stopping
// the transport, and the node, completes.
func TestFatalErrorWithBusyTransport(t *testing.T) {
	lb := &logBuffer{}
	cfg := testConfig(t.TempDir(), lb)
	cfg.Peers = []Peer{{ID: 1}, {ID: 2, Addr: "learner:1", Learner: true}}
	cfg.Transport = &floodTransport{}
	fs := defaultFS
	var armed atomic.Bool
	fs.datasync = func(f *os.File) error {
		if armed.Load() {
			return syscall.EIO
		}
		return defaultFS.datasync(f)
	}
	cfg.fs = &fs
	r := &recorder{}
	n := mustStart(t, cfg, r)
	proposeAll(t, n, r, "ok", 0, 5, 5)
	armed.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = n.Propose(ctx, []byte("doomed"))
	select {
	case <-n.Done():
	case <-ctx.Done():
		t.Fatal("the node did not finish stopping after a fatal error")
	}
	if err := n.Err(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Err() = %v", err)
	}
}
