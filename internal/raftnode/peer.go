package raftnode

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// TCPTransport is the production Transport: raft messages between members
// over TCP (or TLS), with the peer protocol of peer_proto.go.
//
// Each member dials every other member for the messages it sends, so a pair
// of members shares two connections, one per direction; an accepted
// connection only ever carries messages towards this member. Snapshots travel
// on connections of their own, so a large one never delays heartbeats.
//
// # Goroutines
//
// All start through goLocked/goTracked and Stop waits for every one of them.
//
//   - The accept loop (acceptLoop) owns the listener.
//   - One per accepted connection (serveInbound): TLS and the peer
//     handshake, then reading frames and handing messages to the Receiver.
//   - One per peer (peerLink.run), the link's writer: it dials when messages
//     are queued (re-resolving the host name on every attempt, backing off
//     between failures), writes queued frames in order, and reports and logs
//     the link's transitions. While connected, a watcher (peerLink.watch)
//     blocks on a read of the connection so that a peer closing it is noticed
//     at once rather than at the next write.
//   - One per snapshot being sent (peerLink.sendSnapshot), at most one per peer.
//   - The reporter (runReports), the only caller of Receiver.ReportUnreachable
//     and ReportSnapshot, so that Send, called on the node's Ready loop, never
//     waits for that loop.
//
// # Locks
//
// TCPTransport.mu before peerLink.mu; peerReports.mu and
// TCPTransport.rejectMu are leaves. No lock is held during I/O, while
// calling the Receiver, or while logging.
type TCPTransport struct {
	cfg     TCPConfig
	log     atomic.Pointer[slog.Logger] // replaced by Start; see logger
	ln      net.Listener
	ctx     context.Context
	cancel  context.CancelFunc // cancelled by Stop
	reports peerReports

	// Set by Start, under mu, from TCPConfig or StartInfo; read under mu or
	// by goroutines started after Start.
	id      uint64
	auth    peerAuth
	snapDir string // "" when snapshots travel inline

	mu          sync.Mutex // guards the fields below
	recv        Receiver
	started     bool
	stopped     bool
	peers       map[uint64]*peerLink
	inbound     map[net.Conn]*peerInbound // accepted connections, raw
	handshaking int                       // accepted connections not yet authenticated
	wg          sync.WaitGroup            // every goroutine; Add only under mu while !stopped

	rejectMu  sync.Mutex           // guards rejectLog
	rejectLog map[string]time.Time // "ip reason" -> last warning
}

// TCPConfig configures a TCPTransport. Zero values take the defaults noted.
//
// The member's id, its snapshot directory and its logger come from the node,
// through StartInfo at Start. ID, DataDir and Logger here are for a transport
// used without a Node (tests); when set, ID and DataDir must agree with the
// node's, or Start fails.
type TCPConfig struct {
	ID         uint64 // optional: this member's id; default StartInfo.ID
	ListenAddr string // the peer port, host:port; port 0 picks one (see Addr)

	// ClusterID names the ensemble, e.g. a hash of the initial member list and
	// a cluster name. A peer presenting another one is refused. Required.
	ClusterID string
	// Secret is the key of the handshake's HMAC-SHA256 proofs. When empty,
	// the cluster id is the key: that still refuses other ensembles, but
	// authenticates nobody who can learn the cluster id.
	Secret []byte
	// TLS, when set, wraps every connection (both ways) before the handshake,
	// and the handshake's proofs are bound to the TLS session. It must hold
	// what both a server and a client need (Certificates, RootCAs, ClientCAs,
	// ClientAuth); an empty ServerName is set to the dialled host. nil means
	// plaintext.
	TLS *tls.Config

	// DataDir is optional: the snapshot directory is DataDir/snap, or
	// StartInfo.SnapDir. With one, a MsgSnap is followed by the file
	// <term>-<index>.snap of that directory, which the receiver writes into
	// its own as <term>-<index>.snap.recv before it delivers the message.
	// Without (neither is set): MsgSnap travels alone, its Snapshot.Data
	// inline.
	DataDir string

	MaxFrameSize    int   // largest message, well above the node's Config.MaxBatchBytes; default 64 MiB
	MaxSnapshotSize int64 // largest snapshot (file or inline); default 16 GiB

	// Messages queued per peer beyond either limit are dropped and reported
	// unreachable. Defaults 4096 messages and 256 MiB: raft's in-flight window
	// (256 messages of up to 1 MiB) never overflows a healthy link.
	QueueLen   int
	QueueBytes int

	DialTimeout      time.Duration // per address; default 5s
	HandshakeTimeout time.Duration // TLS and peer handshake; default 10s
	WriteTimeout     time.Duration // per frame; default 5s
	BackoffMin       time.Duration // first delay between failed dials; default 100ms
	BackoffMax       time.Duration // the cap, reached by doubling; default 5s

	// Logger is optional: default the node's (StartInfo.Logger), and
	// slog.Default() before Start.
	Logger *slog.Logger

	// Tests replace name resolution and dialling here; nil means the net
	// package's.
	lookupHost  func(ctx context.Context, host string) ([]string, error)
	dialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

const (
	defaultPeerMaxFrame         = 64 << 20
	defaultPeerMaxSnapshot      = 16 << 30
	defaultPeerQueueLen         = 4096
	defaultPeerQueueBytes       = 256 << 20
	defaultPeerDialTimeout      = 5 * time.Second
	defaultPeerHandshakeTimeout = 10 * time.Second
	defaultPeerWriteTimeout     = 5 * time.Second
	defaultPeerBackoffMin       = 100 * time.Millisecond
	defaultPeerBackoffMax       = 5 * time.Second

	peerSnapChunk       = 1 << 20
	peerSnapAckTimeout  = 5 * time.Minute
	maxPeerHandshakes   = 64 // concurrent unauthenticated connections
	peerRejectLogPeriod = time.Minute
	peerWriteBuffer     = 64 << 10
	maxPeerFrame        = math.MaxInt32 // any frame, an inline snapshot included; fits int everywhere
)

var (
	// ErrTransportStopped is returned by Start after Stop.
	ErrTransportStopped = errors.New("raftnode: transport stopped")

	errPeerConnClosed = errors.New("raftnode: peer closed the connection")
)

func (c TCPConfig) withDefaults() (TCPConfig, error) {
	switch {
	case c.ClusterID == "":
		return c, errors.New("raftnode: TCPConfig.ClusterID is required")
	case len(c.ClusterID) > maxClusterIDLen:
		return c, fmt.Errorf("raftnode: TCPConfig.ClusterID is longer than %d bytes", maxClusterIDLen)
	}
	if c.MaxFrameSize <= 0 {
		c.MaxFrameSize = defaultPeerMaxFrame
	}
	c.MaxFrameSize = min(c.MaxFrameSize, maxPeerFrame)
	if c.MaxSnapshotSize <= 0 {
		c.MaxSnapshotSize = defaultPeerMaxSnapshot
	}
	if c.QueueLen <= 0 {
		c.QueueLen = defaultPeerQueueLen
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = defaultPeerQueueBytes
	}
	c.DialTimeout = durationOr(c.DialTimeout, defaultPeerDialTimeout)
	c.HandshakeTimeout = durationOr(c.HandshakeTimeout, defaultPeerHandshakeTimeout)
	c.WriteTimeout = durationOr(c.WriteTimeout, defaultPeerWriteTimeout)
	c.BackoffMin = durationOr(c.BackoffMin, defaultPeerBackoffMin)
	c.BackoffMax = max(durationOr(c.BackoffMax, defaultPeerBackoffMax), c.BackoffMin)
	if c.lookupHost == nil {
		c.lookupHost = net.DefaultResolver.LookupHost
	}
	if c.dialContext == nil {
		d := &net.Dialer{}
		c.dialContext = d.DialContext
	}
	return c, nil
}

func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// NewTCPTransport validates cfg and binds the listener, so that the address
// is known (Addr) and a busy port is reported now; connections are accepted
// only after Start.
func NewTCPTransport(cfg TCPConfig) (*TCPTransport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("raftnode: peer port: %w", err)
	}
	key := cfg.Secret
	if len(key) == 0 {
		key = []byte(cfg.ClusterID)
	}
	t := &TCPTransport{
		cfg:       cfg,
		id:        cfg.ID,
		auth:      peerAuth{id: cfg.ID, cluster: cfg.ClusterID, key: slices.Clone(key)},
		ln:        ln,
		peers:     map[uint64]*peerLink{},
		inbound:   map[net.Conn]*peerInbound{},
		rejectLog: map[string]time.Time{},
		reports:   peerReports{notec: make(chan struct{}, 1)},
	}
	if cfg.DataDir != "" {
		t.snapDir = filepath.Join(cfg.DataDir, "snap")
	}
	log := slog.Default()
	if cfg.Logger != nil {
		log = cfg.Logger
		if cfg.ID != 0 {
			log = log.With("raft_id", cfg.ID)
		}
	}
	t.log.Store(log)
	t.ctx, t.cancel = context.WithCancel(context.Background())
	return t, nil
}

// logger returns the transport's logger: the node's once started.
func (t *TCPTransport) logger() *slog.Logger { return t.log.Load() }

// Addr returns the address the transport listens on.
func (t *TCPTransport) Addr() net.Addr { return t.ln.Addr() }

// Start implements Transport: it takes the member's id, snapshot directory
// and logger from info (see TCPConfig), and starts accepting connections and
// dialling the peers added so far.
func (t *TCPTransport) Start(info StartInfo) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.stopped:
		return ErrTransportStopped
	case t.started:
		return errors.New("raftnode: transport already started")
	case info.Receiver == nil:
		return errors.New("raftnode: transport started without a Receiver")
	case info.ID != 0 && t.id != 0 && info.ID != t.id:
		return fmt.Errorf("raftnode: TCPConfig.ID is %d but the node is member %d", t.id, info.ID)
	case info.ID == 0 && t.id == 0:
		return errors.New("raftnode: transport started without a member id")
	case info.SnapDir != "" && t.snapDir != "" && filepath.Clean(info.SnapDir) != filepath.Clean(t.snapDir):
		return fmt.Errorf("raftnode: TCPConfig.DataDir gives snapshot directory %s but the node's is %s", t.snapDir, info.SnapDir)
	}
	if info.ID != 0 {
		t.id = info.ID
	}
	if info.SnapDir != "" {
		t.snapDir = info.SnapDir
	}
	t.auth.id = t.id
	if l := t.cfg.Logger; l != nil {
		t.log.Store(l.With("raft_id", t.id))
	} else if info.Logger != nil {
		t.log.Store(info.Logger)
	}
	if l := t.peers[t.id]; l != nil { // added before the id was known
		delete(t.peers, t.id)
		l.close()
	}
	r := info.Receiver
	t.started, t.recv = true, r
	t.goLocked(func() { t.runReports(r) })
	t.goLocked(t.acceptLoop)
	for _, l := range t.peers {
		t.goLocked(l.run)
	}
	t.logger().Info("raftnode: peer transport listening", "addr", t.ln.Addr().String(), "tls", t.cfg.TLS != nil)
	return nil
}

// goLocked starts f as a tracked goroutine; t.mu must be held and t.stopped
// false.
func (t *TCPTransport) goLocked(f func()) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
}

// goTracked starts f as a tracked goroutine unless the transport has stopped.
func (t *TCPTransport) goTracked(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.goLocked(f)
	return true
}

// Send implements Transport. It encodes every message before returning and
// never blocks on the network: a message for an unknown member, or one that
// finds its peer's queue full, is dropped and the member reported
// unreachable; a MsgSnap that cannot be sent is reported as a failed
// snapshot.
func (t *TCPTransport) Send(msgs []*pb.Message) {
	for _, m := range msgs {
		to, snap := m.GetTo(), m.GetType() == pb.MsgSnap
		limit := t.cfg.MaxFrameSize
		if snap && t.snapDir == "" {
			limit = int(min(t.cfg.MaxSnapshotSize, maxPeerFrame))
		}
		frame, err := appendPeerMessage(getFrameBuf(), m, limit)
		if err != nil {
			t.logger().Error("raftnode: cannot send message to peer", "peer", to, "err", err)
			t.reportFailure(to, snap)
			continue
		}
		t.mu.Lock()
		l, stopped := t.peers[to], t.stopped
		t.mu.Unlock()
		switch {
		case stopped:
			putFrameBuf(frame)
			return
		case l == nil:
			t.logger().Debug("raftnode: message to unknown peer dropped", "peer", to, "type", m.GetType())
			putFrameBuf(frame)
			t.reportFailure(to, snap)
		case snap:
			md := m.GetSnapshot().GetMetadata()
			l.sendSnapshot(frame, md.GetTerm(), md.GetIndex())
		case !l.enqueue(frame):
			putFrameBuf(frame)
			t.reports.unreachable(to)
		}
	}
}

func (t *TCPTransport) reportFailure(to uint64, snap bool) {
	if snap {
		t.reports.snapshot(to, false)
	} else {
		t.reports.unreachable(to)
	}
}

// AddPeer implements Transport. Adding a known member updates its address;
// the next connection uses it. Connections from a member are accepted only
// while it is added.
func (t *TCPTransport) AddPeer(p Peer) {
	if p.ID == 0 {
		return
	}
	t.mu.Lock()
	if t.stopped || p.ID == t.id {
		t.mu.Unlock()
		return
	}
	if l := t.peers[p.ID]; l != nil {
		t.mu.Unlock()
		l.setAddr(p.Addr)
		return
	}
	l := newPeerLink(t, p)
	t.peers[p.ID] = l
	if t.started {
		t.goLocked(l.run)
	}
	t.mu.Unlock()
}

// RemovePeer implements Transport: it drops the member's queue, closes its
// connections both ways and refuses it from now on. It does not wait for the
// link's goroutines (Stop does).
func (t *TCPTransport) RemovePeer(id uint64) {
	t.mu.Lock()
	l := t.peers[id]
	delete(t.peers, id)
	var conns []net.Conn
	for c, in := range t.inbound {
		if in.from == id {
			conns = append(conns, c)
		}
	}
	t.mu.Unlock()
	if l != nil {
		l.close()
		t.logger().Info("raftnode: peer removed", "peer", id)
	}
	for _, c := range conns {
		c.Close()
	}
}

// Stop implements Transport: it closes the listener and every connection and
// waits for all of the transport's goroutines. Queued messages are dropped.
func (t *TCPTransport) Stop() error {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		t.wg.Wait()
		return nil
	}
	t.stopped = true
	t.cancel()
	links := make([]*peerLink, 0, len(t.peers))
	for _, l := range t.peers {
		links = append(links, l)
	}
	conns := make([]net.Conn, 0, len(t.inbound))
	for c := range t.inbound {
		conns = append(conns, c)
	}
	t.mu.Unlock()

	err := t.ln.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	for _, l := range links {
		l.close()
	}
	for _, c := range conns {
		c.Close()
	}
	t.wg.Wait()
	return err
}

func (t *TCPTransport) isMember(id uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.peers[id]
	return ok
}

// peerInbound describes an accepted connection; from is 0 until the
// handshake succeeds.
type peerInbound struct {
	from uint64
	kind byte
}

// acceptLoop is the accept goroutine. It hands every connection to a
// goroutine of its own, refusing connections beyond maxPeerHandshakes
// unauthenticated ones.
func (t *TCPTransport) acceptLoop() {
	var delay time.Duration
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, typically: wait, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.logger().Warn("raftnode: accepting peer connections failed", "err", err, "retry_in", delay)
			if !sleepOrDone(t.ctx, delay) {
				return
			}
			continue
		}
		delay = 0
		t.mu.Lock()
		stopped, busy := t.stopped, t.handshaking >= maxPeerHandshakes
		if !stopped && !busy {
			t.inbound[c] = &peerInbound{}
			t.handshaking++
			r := t.recv
			t.goLocked(func() { t.serveInbound(c, r) })
		}
		t.mu.Unlock()
		if stopped || busy {
			c.Close()
		}
		if busy {
			t.logReject(c.RemoteAddr(), "busy", errors.New("raftnode: too many peer handshakes in progress"))
		}
	}
}

// serveInbound authenticates an accepted connection and then reads from it
// until it fails or is closed.
func (t *TCPTransport) serveInbound(raw net.Conn, r Receiver) {
	authenticated := false
	defer func() {
		raw.Close()
		t.mu.Lock()
		delete(t.inbound, raw)
		if !authenticated {
			t.handshaking--
		}
		t.mu.Unlock()
	}()

	raw.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	conn := raw
	var binding []byte
	if t.cfg.TLS != nil {
		tc := tls.Server(raw, t.cfg.TLS)
		var err error
		if err = tc.HandshakeContext(t.ctx); err == nil {
			binding, err = tlsBinding(tc)
		}
		if err != nil {
			t.logReject(raw.RemoteAddr(), "tls", fmt.Errorf("raftnode: TLS handshake: %w", err))
			return
		}
		conn = tc
	}
	br := bufio.NewReaderSize(conn, peerWriteBuffer)
	h, err := t.auth.accept(br, conn, binding, t.isMember)
	if err != nil {
		var he *peerHandshakeError
		switch {
		case errors.As(err, &he):
			t.logReject(raw.RemoteAddr(), he.Error(), err)
		case errors.Is(err, errPeerBadMagic):
			t.logReject(raw.RemoteAddr(), "magic", err)
		case err == io.EOF:
			// Connected and closed without a byte: a port probe (a TCP
			// health check, a scanner), not a peer.
			t.logger().Debug("raftnode: peer connection closed before the handshake", "remote", raw.RemoteAddr().String())
		case t.ctx.Err() == nil:
			t.logReject(raw.RemoteAddr(), "io", fmt.Errorf("raftnode: peer handshake: %w", err))
		}
		return
	}
	raw.SetDeadline(time.Time{})

	// Admit: the member may have been removed meanwhile. A new stream from a
	// member replaces its old one, which may be a half-open leftover.
	t.mu.Lock()
	_, member := t.peers[h.from]
	if t.stopped || !member {
		t.mu.Unlock()
		return
	}
	authenticated = true
	t.handshaking--
	var old []net.Conn
	if h.kind == peerKindStream {
		for c, in := range t.inbound {
			if in.from == h.from && in.kind == peerKindStream {
				old = append(old, c)
			}
		}
	}
	t.inbound[raw] = &peerInbound{from: h.from, kind: h.kind}
	t.mu.Unlock()
	for _, c := range old {
		c.Close()
	}

	if h.kind == peerKindSnapshot {
		t.serveSnapshot(br, conn, raw, h.from, r)
		return
	}
	t.logger().Debug("raftnode: accepted peer stream", "peer", h.from, "remote", raw.RemoteAddr().String())
	err = t.readStream(br, h.from, r)
	if t.ctx.Err() != nil {
		return
	}
	if errors.Is(err, errPeerProtocol) {
		t.logger().Warn("raftnode: closed peer stream", "peer", h.from, "err", err)
	} else {
		t.logger().Debug("raftnode: peer stream ended", "peer", h.from, "err", err)
	}
}

var errPeerProtocol = errors.New("raftnode: peer protocol violation")

// readStream hands the messages of a stream connection to r, in order.
func (t *TCPTransport) readStream(br *bufio.Reader, from uint64, r Receiver) error {
	buf := make([]byte, 0, peerWriteBuffer)
	for {
		typ, payload, err := readPeerFrame(br, t.cfg.MaxFrameSize, buf)
		if err != nil {
			if errors.Is(err, ErrPeerFrameTooLarge) {
				return fmt.Errorf("%w: %w", errPeerProtocol, err)
			}
			return err
		}
		if typ != frameMsg {
			return fmt.Errorf("%w: frame type %d on a stream", errPeerProtocol, typ)
		}
		m, err := decodePeerMessage(payload, from, t.id)
		if err != nil {
			return fmt.Errorf("%w: %w", errPeerProtocol, err)
		}
		if m.GetType() == pb.MsgSnap {
			return fmt.Errorf("%w: MsgSnap on a stream", errPeerProtocol)
		}
		r.Receive(m)
	}
}

// logReject logs a refused connection: a warning the first time within
// peerRejectLogPeriod that a remote IP is refused for a reason, debug after
// that, so that a misconfigured peer retrying forever does not flood the log.
// reason must not vary between attempts (no port numbers).
func (t *TCPTransport) logReject(addr net.Addr, reason string, err error) {
	host := addr.String()
	if h, _, e := net.SplitHostPort(host); e == nil {
		host = h
	}
	key := host + " " + reason
	now := time.Now()
	t.rejectMu.Lock()
	last, seen := t.rejectLog[key]
	warn := !seen || now.Sub(last) >= peerRejectLogPeriod
	if warn {
		if len(t.rejectLog) >= 1024 {
			clear(t.rejectLog)
		}
		t.rejectLog[key] = now
	}
	t.rejectMu.Unlock()
	level := slog.LevelDebug
	if warn {
		level = slog.LevelWarn
	}
	t.logger().Log(context.Background(), level, "raftnode: rejected peer connection", "remote", addr.String(), "err", err)
}

// tlsBinding returns keying material exported from the TLS session, which
// the handshake's proofs cover: a proof made for one TLS session is useless
// in another.
func tlsBinding(tc *tls.Conn) ([]byte, error) {
	cs := tc.ConnectionState()
	b, err := cs.ExportKeyingMaterial(peerBindingLabel, nil, peerBindingLen)
	if err != nil {
		return nil, fmt.Errorf("raftnode: TLS channel binding: %w", err)
	}
	return b, nil
}

func sleepOrDone(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// peerReports queues reports for the reporter goroutine: unreachable
// members as a set (one report stands for many drops) and snapshot outcomes
// in order.
type peerReports struct {
	notec chan struct{} // capacity 1

	mu    sync.Mutex // guards the fields below
	down  []uint64   // members to report unreachable, each once
	snaps []peerSnapReport
}

type peerSnapReport struct {
	id uint64
	ok bool
}

func (pr *peerReports) unreachable(id uint64) {
	pr.mu.Lock()
	if !slices.Contains(pr.down, id) {
		pr.down = append(pr.down, id)
	}
	pr.mu.Unlock()
	pr.notify()
}

func (pr *peerReports) snapshot(id uint64, ok bool) {
	pr.mu.Lock()
	pr.snaps = append(pr.snaps, peerSnapReport{id, ok})
	pr.mu.Unlock()
	pr.notify()
}

func (pr *peerReports) notify() {
	select {
	case pr.notec <- struct{}{}:
	default:
	}
}

// runReports is the reporter goroutine.
func (t *TCPTransport) runReports(r Receiver) {
	pr := &t.reports
	for {
		select {
		case <-pr.notec:
		case <-t.ctx.Done():
			return
		}
		pr.mu.Lock()
		down, snaps := pr.down, pr.snaps
		pr.down, pr.snaps = nil, nil
		pr.mu.Unlock()
		for _, id := range down {
			r.ReportUnreachable(id)
		}
		for _, s := range snaps {
			r.ReportSnapshot(s.id, s.ok)
		}
	}
}

// Frame buffers are pooled; large ones are left to the garbage collector.
var peerFramePool = sync.Pool{New: func() any { b := make([]byte, 0, 1<<10); return &b }}

func getFrameBuf() []byte { return (*peerFramePool.Get().(*[]byte))[:0] }

func putFrameBuf(b []byte) {
	if cap(b) <= peerWriteBuffer {
		b = b[:0]
		peerFramePool.Put(&b)
	}
}
