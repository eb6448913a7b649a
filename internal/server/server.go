// Package server is paddock's coordination server: the client listener speaking ZooKeeper's
// protocol, the request pipeline, session expiry, container and TTL reaping, the four-letter
// words and the admin HTTP server (/commands and Prometheus /metrics). It wires the replicated
// state machine (internal/tree driven by internal/raftnode) to the connections.
//
// Long-lived goroutines, all started through Server.goFunc and waited for by Close:
//   - accept loop: one per client listener; owns nothing but the listener.
//   - per connection: a reader (decodes frames, runs reads, proposes writes) and a writer
//     (owns the socket's write side; coalesces queued replies into one write).
//   - expiry loop: sweeps the session tracker every tick and proposes closeSession txns.
//   - reaper loop: proposes deleteContainer txns for empty containers and expired TTL nodes.
//   - reconfig loop (ensembles): seeds /zookeeper/config; on the leader, answers the
//     progress asks and hand-off requests of reconfigs run by other members (reconfig.go).
//   - one per reconfig request being carried out (reconfigOp.run).
//   - admin HTTP server.
//
// raftnode runs the apply goroutine, which calls stateMachine.Apply: it holds s.treeMu for
// writing while it applies a txn and queues the watch events the txn fires.
//
// Lock order: s.treeMu, then the watch registry's lock, then a connection's out.mu.
// s.connsMu is never held while taking s.treeMu.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/config"
	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/raftnode"
	"github.com/paddock/paddock/internal/session"
	"github.com/paddock/paddock/internal/tree"
	"github.com/paddock/paddock/internal/watch"
)

// Options configure a Server. Zero values mean ZooKeeper's defaults where it has one.
type Options struct {
	ServerID          uint64        // myid; the top byte of every session id this server creates
	ClientAddr        string        // host:port of the client listener
	AdminAddr         string        // host:port of the admin HTTP server; "" disables it
	AdminCommandURL   string        // base path of the admin commands (default /commands)
	MetricsAddr       string        // host:port for Prometheus /metrics alone (metricsProvider.httpPort); "" = none
	Pprof             bool          // serve Go's profiles at /debug/pprof/ on the admin server (paddock.pprof)
	DataDir, LogDir   string        // snapshots and the write-ahead log
	TickTime          time.Duration // default 2s
	MinSessionTimeout time.Duration // default 2 ticks
	MaxSessionTimeout time.Duration // default 20 ticks
	MaxClientCnxns    int           // per client IP; 0 = unlimited
	MaxBuffer         int           // jute.maxbuffer
	FourLetterWords   []string      // whitelist; "*" = all
	SuperDigest       string        // super:<base64 sha1>
	DigestEnabled     bool
	SkipACL           bool
	ExtendedTypes     bool // TTL nodes
	ReconfigEnabled   bool
	ReadOnlyMode      bool // readonlymode.enabled: serve read-only clients while cut off from the quorum
	// StandaloneDisabled is zoo.cfg's standaloneEnabled=false: a lone member runs as an
	// ensemble of one (Mode: leader, reconfig allowed), and reconfig may leave a single
	// participant, so an ensemble can start with one member and grow.
	StandaloneDisabled bool
	SnapCount          uint64
	SnapRetain         int
	// FsyncWarningThreshold is fsync.warningthresholdms: a log sync slower than this is
	// logged and counted (server_stats' fsync_threshold_exceed_count). Zero means 1 s.
	FsyncWarningThreshold time.Duration
	PurgeInterval         time.Duration

	// Peers are the ensemble's members, this one included; empty = standalone. Transport
	// carries raft messages between them.
	Peers     []raftnode.Peer
	Transport raftnode.Transport
	// Members are the configured server.N lines (ports, role, client address); they seed
	// /zookeeper/config at the ensemble's first start and fill in what raft does not know.
	Members []config.Server
	// RequestTimeout bounds how long a write may wait for its txn to apply (a proposal lost
	// in a leader change); its connection is then closed, so the client sees a connection
	// loss and never a silent hang. Default 10s.
	RequestTimeout time.Duration

	ContainerCheckInterval time.Duration // default 60s
	ContainerMaxPerMinute  int           // default 10000
	ContainerMaxNeverUsed  time.Duration // 0 = never reap never-used containers

	// ConfigLines is the effective configuration printed by conf, key=value per line.
	ConfigLines []string
	Logger      *slog.Logger

	// AdminHandlers are more endpoints of the admin server, by path (self-assembly's
	// /assemble, see assemble.go); they must not collide with its own.
	AdminHandlers AdminHandlers
}

func (o *Options) setDefaults() {
	if o.TickTime <= 0 {
		o.TickTime = 2 * time.Second
	}
	if o.MinSessionTimeout <= 0 {
		o.MinSessionTimeout = 2 * o.TickTime
	}
	if o.MaxSessionTimeout <= 0 {
		o.MaxSessionTimeout = 20 * o.TickTime
	}
	if o.MaxBuffer <= 0 {
		o.MaxBuffer = proto.DefaultMaxBuffer
	}
	if o.FsyncWarningThreshold <= 0 {
		o.FsyncWarningThreshold = time.Second
	}
	if o.ServerID == 0 {
		o.ServerID = 1
	}
	if o.LogDir == "" {
		o.LogDir = o.DataDir
	}
	if o.ContainerCheckInterval <= 0 {
		o.ContainerCheckInterval = time.Minute
	}
	if o.ContainerMaxPerMinute <= 0 {
		o.ContainerMaxPerMinute = 10000
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 10 * time.Second
	}
	if o.AdminCommandURL == "" {
		o.AdminCommandURL = "/commands"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if len(o.FourLetterWords) == 0 {
		o.FourLetterWords = []string{"srvr"}
	}
}

// Server is one paddock member.
type Server struct {
	opts  Options
	log   *slog.Logger
	start time.Time

	treeMu sync.RWMutex
	tree   *tree.Tree // guarded by treeMu

	watches  *watch.Registry
	sessions *session.Tracker
	node     *raftnode.Node
	sm       *stateMachine
	stats    serverStats

	ln        net.Listener
	admin     *adminServer
	metrics   *adminServer
	fourLW    map[string]bool
	events    eventFrames // the last notification's frame, shared by its connections
	nextSID   atomic.Int64
	nextOwner atomic.Uint64 // numbers client connections: tree.Txn.Owner

	connsMu  sync.Mutex
	conns    map[*conn]struct{} // guarded by connsMu
	bySID    map[int64]*conn    // guarded by connsMu: the connection bound to each session
	perIP    map[string]int     // guarded by connsMu
	closing  bool               // guarded by connsMu
	wg       sync.WaitGroup
	stopc    chan struct{}
	stopOnce sync.Once

	touchMu sync.Mutex
	touched map[int64]struct{} // guarded by touchMu: sessions seen since the last touch entry

	rc reconfigState // see reconfig.go
}

// Raft timing: heartbeats every raftTick, elections after electionTicks without one.
const (
	raftTick        = 100 * time.Millisecond
	electionTicks   = 10
	electionTimeout = electionTicks * raftTick
)

// ErrStopped is returned by operations on a stopped server.
var ErrStopped = errors.New("server: stopped")

// New opens the data directories, restores the state (newest snapshot + log replay) and binds
// the listeners. Serve starts accepting.
func New(opts Options) (*Server, error) {
	opts.setDefaults()
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		start:    time.Now(),
		tree:     tree.New(treeOptions(opts)),
		watches:  watch.NewRegistry(),
		sessions: session.NewTracker(opts.TickTime),
		conns:    make(map[*conn]struct{}),
		bySID:    make(map[int64]*conn),
		perIP:    make(map[string]int),
		stopc:    make(chan struct{}),
		fourLW:   make(map[string]bool),
		touched:  make(map[int64]struct{}),
	}
	for _, w := range opts.FourLetterWords {
		s.fourLW[w] = true
	}
	s.initSessionIDs()
	s.sm = &stateMachine{s: s, pending: make(map[uint64]*request)}
	s.sm.initSeq()
	s.sm.allowRead = func(w watch.Watcher) bool {
		c, ok := w.(*conn)
		return !ok || acl.Check(s.sm.eventACL, c.authIDs(), proto.PermRead)
	}

	node, err := raftnode.Start(raftnode.Config{
		ID:             opts.ServerID,
		DataDir:        opts.DataDir,
		LogDir:         opts.LogDir,
		TickInterval:   raftTick,
		ElectionTicks:  electionTicks,
		HeartbeatTicks: 1,
		SnapCount:      opts.SnapCount,
		SnapRetain:     opts.SnapRetain,
		Peers:          opts.Peers,
		Transport:      opts.Transport,
		Logger:         opts.Logger,
		OnElection:     func(d time.Duration) { s.stats.election.observe(d) },
		OnDropped:      s.dropped,
		OnPersist: func(d time.Duration, entries int, synced bool) {
			if synced {
				s.stats.fsync.observe(d)
				if d > s.opts.FsyncWarningThreshold {
					s.stats.fsyncSlow.Add(1)
					s.log.Warn("fsync of the write-ahead log took longer than fsync.warningthresholdms; writes waited for it",
						"took", d, "threshold", s.opts.FsyncWarningThreshold, "entries", entries)
				}
			}
			if entries > 0 {
				s.stats.batch.observe(entries)
			}
		},
	}, s.sm)
	if err != nil {
		return nil, err
	}
	s.node = node

	s.refreshSessions()

	ln, err := net.Listen("tcp", opts.ClientAddr)
	if err != nil {
		node.Stop()
		return nil, fmt.Errorf("client port: %w", err)
	}
	s.ln = ln
	if opts.AdminAddr != "" {
		// As in ZooKeeper, a busy admin port costs the admin server, not the whole server.
		if a, err := newAdminServer(s, opts.AdminAddr); err != nil {
			s.log.Warn("admin server not started", "addr", opts.AdminAddr, "err", err)
		} else {
			s.admin = a
		}
	}
	if opts.MetricsAddr != "" {
		m, err := newMetricsServer(s, opts.MetricsAddr)
		if err != nil {
			ln.Close()
			node.Stop()
			return nil, fmt.Errorf("metrics port: %w", err)
		}
		s.metrics = m
	}
	return s, nil
}

func treeOptions(o Options) tree.Options {
	return tree.Options{SkipACL: o.SkipACL, ExtendedTypes: o.ExtendedTypes, MaxNeverUsed: o.ContainerMaxNeverUsed.Milliseconds()}
}

// initSessionIDs seeds session ids as ZooKeeper does: the time in ms shifted into the low 56
// bits, the server id in the top byte, then incremented.
func (s *Server) initSessionIDs() {
	ms := time.Now().UnixMilli()
	base := int64(uint64(ms<<24)>>8) | int64(s.opts.ServerID&0xff)<<56
	s.nextSID.Store(base)
	// Connection ids (session owners) likewise: the member in the top byte, then the time
	// in ns, so that no earlier run of this member used them.
	s.nextOwner.Store(s.opts.ServerID<<56 | uint64(time.Now().UnixNano())&(1<<56-1))
}

func (s *Server) newSessionID() int64 { return s.nextSID.Add(1) }

// newOwner numbers a client connection, for the session it attaches (tree.Txn.Owner).
func (s *Server) newOwner() uint64 { return s.nextOwner.Add(1) }

func newPasswd() []byte {
	p := make([]byte, 16)
	if _, err := rand.Read(p); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return p
}

// Addr returns the client listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// AdminAddr returns the admin HTTP server's address, or nil when it is disabled.
func (s *Server) AdminAddr() net.Addr {
	if s.admin == nil {
		return nil
	}
	return s.admin.ln.Addr()
}

// Serve accepts clients and runs the background loops until Close. It returns after Close,
// or with the raft node's fatal error (a failed fsync: the server stops rather than carry on).
func (s *Server) Serve() error {
	s.goFunc(s.acceptLoop)
	s.goFunc(s.expiryLoop)
	if !s.standalone() {
		s.goFunc(s.touchLoop)
		s.goFunc(s.reconfigLoop)
	}
	s.goFunc(s.reaperLoop)
	if s.admin != nil {
		s.goFunc(s.admin.serve)
	}
	if s.metrics != nil {
		s.goFunc(s.metrics.serve)
	}
	s.log.Info("serving", "client", s.ln.Addr().String(), "admin", addrString(s.AdminAddr()),
		"dataDir", s.opts.DataDir, "dataLogDir", s.opts.LogDir, "serverId", s.opts.ServerID)
	select {
	case <-s.stopc:
		return nil
	case <-s.node.Done():
		err := s.node.Err()
		s.log.Error("raft node stopped; shutting down", "err", err)
		s.Close()
		if err == nil {
			err = errors.New("raft node stopped")
		}
		return err
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

func (s *Server) goFunc(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// Close stops accepting, closes every connection (sessions stay in the state and survive a
// restart), stops the raft node and waits for every goroutine.
func (s *Server) Close() error {
	var err error
	s.stopOnce.Do(func() {
		s.handOffLeadership()
		close(s.stopc)
		s.ln.Close()
		if s.admin != nil {
			s.admin.close()
		}
		if s.metrics != nil {
			s.metrics.close()
		}
		s.connsMu.Lock()
		s.closing = true
		for c := range s.conns {
			c.close("server shutting down")
		}
		s.connsMu.Unlock()
		err = s.node.Stop()
		s.sm.failPending()
		s.wg.Wait()
	})
	return err
}

// handOffLeadership makes another voter the leader before this member stops, so that a
// rolling restart costs the clients a reconnect, not an election timeout.
func (s *Server) handOffLeadership() {
	if s.standalone() || !s.isLeader() {
		return
	}
	// raft abandons a transfer after an election timeout; waiting longer only delays a member
	// whose peers are gone.
	ctx, cancel := context.WithTimeout(context.Background(), 3*electionTimeout/2)
	defer cancel()
	if err := s.node.TransferLeadership(ctx, 0); err != nil {
		s.log.Warn("leadership not handed over before stopping", "err", err)
		return
	}
	s.log.Info("leadership handed over before stopping", "leader", s.node.Status().Leader)
}

func (s *Server) stopped() bool {
	select {
	case <-s.stopc:
		return true
	default:
		return false
	}
}

func (s *Server) acceptLoop() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.stopped() {
				return
			}
			if isTimeout(err) {
				continue
			}
			s.log.Error("accept", "err", err)
			return
		}
		s.admit(nc)
	}
}

// admit registers a new connection unless its address is over maxClientCnxns.
func (s *Server) admit(nc net.Conn) {
	ip := remoteIP(nc.RemoteAddr())
	s.connsMu.Lock()
	if s.closing {
		s.connsMu.Unlock()
		nc.Close()
		return
	}
	if s.opts.MaxClientCnxns > 0 && s.perIP[ip] >= s.opts.MaxClientCnxns {
		s.connsMu.Unlock()
		s.log.Warn("too many connections from one address; closing", "remote", nc.RemoteAddr().String(), "max", s.opts.MaxClientCnxns)
		s.stats.connRejected.Add(1)
		nc.Close()
		return
	}
	s.perIP[ip]++
	c := newConn(s, nc, ip)
	s.conns[c] = struct{}{}
	s.connsMu.Unlock()
	s.goFunc(c.readLoop)
	s.goFunc(c.writeLoop)
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// forget removes a closed connection.
func (s *Server) forget(c *conn) {
	s.connsMu.Lock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
			delete(s.perIP, c.ip)
		}
	}
	if sid := c.sessionID.Load(); sid != 0 && s.bySID[sid] == c {
		delete(s.bySID, sid)
	}
	s.connsMu.Unlock()
	s.watches.RemoveAll(c)
}

// bind makes c the connection of session sid, closing any other connection bound to it
// (ZooKeeper closes the old connection on a reconnect).
func (s *Server) bind(sid int64, c *conn) {
	s.connsMu.Lock()
	old := s.bySID[sid]
	s.bySID[sid] = c
	s.connsMu.Unlock()
	if old != nil && old != c {
		old.close("session moved to a new connection")
	}
}

func (s *Server) connOf(sid int64) *conn {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	return s.bySID[sid]
}

// propose stamps and proposes a txn on behalf of r (which may be nil for server-initiated
// txns). The result reaches r through the state machine.
func (s *Server) propose(ctx context.Context, txn *tree.Txn, r *request) error {
	if s.stopped() {
		return ErrStopped
	}
	data := s.sm.envelope(txn, r)
	s.stats.proposals.Add(1)
	if err := s.node.Propose(ctx, data); err != nil {
		s.sm.cancel(r)
		return err
	}
	return nil
}

// attach revalidates session sid for connection c through the log (see handshake): it
// reports whether the session is live and passwd right, once this member has applied the
// entry that attached the session to c. An error means the entry did not apply in time.
func (s *Server) attach(sid int64, passwd []byte, c *conn, timeout time.Duration) (bool, error) {
	if s.stopped() {
		return false, ErrStopped
	}
	r := &request{c: c, op: proto.OpCreateSession, start: time.Now(), resc: make(chan tree.Result, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s.stats.proposals.Add(1)
	c.seq++
	if err := s.node.Propose(ctx, s.sm.ownerEnvelope(sid, c.owner, c.seq, passwd, r)); err != nil {
		s.sm.cancel(r)
		return false, err
	}
	select {
	case res := <-r.resc:
		return res.Err == proto.CodeOK, nil
	case <-c.closedc:
		s.sm.cancel(r)
		return false, errors.New("connection closed")
	case <-ctx.Done():
		s.sm.cancel(r)
		return false, ctx.Err()
	}
}

// proposeAsync proposes txn like propose without waiting for raft to take it (see
// raftnode.Node.ProposeAsync); a dropped proposal closes r's connection (dropped).
func (s *Server) proposeAsync(txn *tree.Txn, r *request) error {
	if s.stopped() {
		return ErrStopped
	}
	data := s.sm.envelope(txn, r)
	s.stats.proposals.Add(1)
	if err := s.node.ProposeAsync(context.Background(), data); err != nil {
		s.sm.cancel(r)
		return err
	}
	return nil
}

// dropped is raftnode's OnDropped: the connection whose write raft dropped is closed, and
// its client sees a connection loss, as when ZooKeeper loses a write with its leader.
func (s *Server) dropped(data []byte) {
	origin, seq, _, err := parseEnvelope(data)
	if err != nil || origin != s.opts.ServerID {
		return
	}
	s.sm.mu.Lock()
	r := s.sm.pending[seq]
	delete(s.sm.pending, seq)
	s.sm.mu.Unlock()
	if r != nil {
		r.c.close("write dropped by raft (no leader)")
	}
}

// standalone reports whether this server is a one-member ensemble.
func (s *Server) standalone() bool { return len(s.opts.Peers) <= 1 && !s.opts.StandaloneDisabled }

// readOnly reports whether this member serves only read-only clients: read-only mode is
// enabled and it knows no leader (it is cut off from the quorum).
func (s *Server) readOnly() bool {
	return s.opts.ReadOnlyMode && !s.standalone() && s.node.Status().Leader == 0
}

// closeReadOnlyConns drops the read-only connections once the quorum is back, so their
// clients reconnect for read-write sessions (as ZooKeeper's read-only server does).
func (s *Server) closeReadOnlyConns() {
	for _, c := range s.connections() {
		if c.ro.Load() {
			c.close("quorum regained")
		}
	}
}

func (s *Server) isLeader() bool {
	st := s.node.Status()
	return st.Leader != 0 && st.Leader == st.ID
}

// noteTouch records client traffic of a session on a member that is not the leader, for the
// next touch entry.
func (s *Server) noteTouch(sid int64) {
	s.touchMu.Lock()
	s.touched[sid] = struct{}{}
	s.touchMu.Unlock()
}

// touchLoop reports the sessions that had traffic on this member to every member (and so to
// the leader, which decides expiry) through a raft entry, once per half tick.
func (s *Server) touchLoop() {
	t := time.NewTicker(s.opts.TickTime / 2)
	defer t.Stop()
	for {
		select {
		case <-s.stopc:
			return
		case <-t.C:
		}
		s.touchMu.Lock()
		if len(s.touched) == 0 {
			s.touchMu.Unlock()
			continue
		}
		ids := make([]int64, 0, len(s.touched))
		for id := range s.touched {
			ids = append(ids, id)
		}
		clear(s.touched)
		s.touchMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.TickTime)
		err := s.node.Propose(ctx, touchEnvelope(s.opts.ServerID, ids))
		cancel()
		if err != nil && !s.stopped() {
			s.log.Debug("session touch not proposed; will retry", "err", err)
			s.touchMu.Lock()
			for _, id := range ids {
				s.touched[id] = struct{}{}
			}
			s.touchMu.Unlock()
		}
	}
}

// dropClientsWithoutQuorum closes the client connections of a member that has known no leader
// for two election timeouts (and is not serving read-only): as a ZooKeeper follower that lost
// its leader does, so its clients move to a member of the majority instead of keeping a
// session alive here that the majority will expire.
func (s *Server) dropClientsWithoutQuorum(now time.Time, since *time.Time) {
	if s.standalone() || s.opts.ReadOnlyMode {
		return
	}
	if s.node.Status().Leader != 0 {
		*since = time.Time{}
		return
	}
	if since.IsZero() {
		*since = now
		return
	}
	if now.Sub(*since) < 2*electionTimeout {
		return
	}
	for _, c := range s.connections() {
		if c.sessionID.Load() != 0 {
			c.close("no quorum")
		}
	}
}

// refreshSessions gives every session in the state a fresh full timeout: on start and when
// this member becomes leader, so neither a restart nor a failover expires a healthy client.
func (s *Server) refreshSessions() {
	now := time.Now()
	s.treeMu.RLock()
	live := make(map[int64]time.Duration)
	for _, si := range s.tree.Sessions() {
		live[si.ID] = time.Duration(si.Timeout) * time.Millisecond
	}
	s.treeMu.RUnlock()
	s.sessions.Reset(live, now)
}

// expiryLoop, on the leader, proposes closeSession for every session whose deadline passed;
// on every member it closes connections whose writes waited longer than RequestTimeout.
func (s *Server) expiryLoop() {
	t := time.NewTicker(s.opts.TickTime / 2)
	defer t.Stop()
	wasLeader := s.isLeader()
	lastLeader := s.node.Status().Leader
	var leaderless time.Time // since when this member has known no leader; zero while it knows one
	for {
		select {
		case <-s.stopc:
			return
		case now := <-t.C:
			s.sm.expireRequests(now.Add(-s.opts.RequestTimeout))
			if s.opts.ReadOnlyMode && !s.readOnly() {
				s.closeReadOnlyConns()
			}
			if l := s.node.Status().Leader; l != lastLeader {
				if l != 0 {
					s.stats.leaderChanges.Add(1)
				}
				lastLeader = l
			}
			s.dropClientsWithoutQuorum(now, &leaderless)
			leader := s.isLeader()
			if leader && !wasLeader {
				s.log.Info("became leader; every session gets a fresh timeout")
				s.refreshSessions()
			}
			wasLeader = leader
			if !leader {
				continue
			}
			for _, sid := range s.sessions.Expired(now) {
				s.log.Info("session expired", "session", fmt.Sprintf("0x%x", sid))
				s.stats.sessionsExpired.Add(1)
				txn := &tree.Txn{Type: proto.OpCloseSession, SessionID: sid, Time: now.UnixMilli()}
				if err := s.propose(context.Background(), txn, nil); err != nil && !s.stopped() {
					s.log.Error("propose session expiry", "err", err)
				}
			}
		}
	}
}

// reaperLoop deletes empty containers and expired TTL nodes, at most ContainerMaxPerMinute
// per minute, through deleteContainer txns (so ordinary delete watches fire).
func (s *Server) reaperLoop() {
	t := time.NewTicker(s.opts.ContainerCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopc:
			return
		case now := <-t.C:
			s.reapOnce(now)
		}
	}
}

func (s *Server) reapOnce(now time.Time) {
	// Only the leader reaps, as only ZooKeeper's leader runs its ContainerManager: every
	// member proposing the same deletions would spend zxids on refused duplicates.
	if !s.standalone() && !s.isLeader() {
		return
	}
	max := s.opts.ContainerMaxPerMinute
	s.treeMu.RLock()
	paths := s.tree.ReapCandidates(now.UnixMilli(), max)
	s.treeMu.RUnlock()
	if len(paths) == 0 {
		return
	}
	// Spread the deletions over the minute, as ZooKeeper's ContainerManager does.
	gap := time.Minute / time.Duration(max)
	for _, p := range paths {
		body := proto.Marshal(nil, &proto.PathRequest{Path: p})
		txn := &tree.Txn{Type: proto.OpDeleteContainer, Time: time.Now().UnixMilli(), Body: body}
		if err := s.propose(context.Background(), txn, nil); err != nil {
			return
		}
		select {
		case <-s.stopc:
			return
		case <-time.After(gap):
		}
	}
}

// negotiateTimeout clamps a requested session timeout to [min, max].
func (s *Server) negotiateTimeout(ms int32) int32 {
	min, max := int32(s.opts.MinSessionTimeout.Milliseconds()), int32(s.opts.MaxSessionTimeout.Milliseconds())
	if ms < min {
		return min
	}
	if ms > max {
		return max
	}
	return ms
}
