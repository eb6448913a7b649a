package raftnode

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// peerLink is the outbound side of one peer: its queue of encoded frames and
// the writer goroutine (run) that dials and drains it.
type peerLink struct {
	t      *TCPTransport
	id     uint64
	ctx    context.Context // cancelled by close: RemovePeer or Stop
	cancel context.CancelFunc
	notec  chan struct{} // capacity 1: the queue became non-empty
	up     atomic.Bool   // a stream is established

	failures atomic.Int64 // failed dials and lost streams, for tests and metrics

	mu       sync.Mutex // guards the fields below; after TCPTransport.mu
	addr     string
	queue    [][]byte // frames in send order
	queued   int      // bytes in queue
	overflow bool     // dropping since the queue filled; logged once
	conn     net.Conn // raw stream connection, from dial to close
	snapConn net.Conn // raw snapshot connection
	snapBusy bool     // a snapshot is being sent

	// Owned by run.
	warned string // the failure last logged as a warning; "" while up
}

func newPeerLink(t *TCPTransport, p Peer) *peerLink {
	l := &peerLink{t: t, id: p.ID, addr: p.Addr, notec: make(chan struct{}, 1)}
	l.ctx, l.cancel = context.WithCancel(t.ctx)
	return l
}

func (l *peerLink) setAddr(addr string) {
	l.mu.Lock()
	changed := addr != l.addr
	l.addr = addr
	c := l.conn
	l.mu.Unlock()
	if changed && c != nil {
		l.t.logger().Info("raftnode: peer address changed", "peer", l.id, "addr", addr)
		c.Close()
	}
}

func (l *peerLink) getAddr() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addr
}

// close stops the link's goroutines: they notice the cancelled context or
// the closed connections.
func (l *peerLink) close() {
	l.cancel()
	l.mu.Lock()
	c, sc := l.conn, l.snapConn
	l.mu.Unlock()
	if c != nil {
		c.Close()
	}
	if sc != nil {
		sc.Close()
	}
	l.dropQueue()
}

// enqueue appends a frame unless the queue is full or the link closed.
func (l *peerLink) enqueue(frame []byte) bool {
	cfg := &l.t.cfg
	l.mu.Lock()
	if l.ctx.Err() != nil {
		l.mu.Unlock()
		return false
	}
	if len(l.queue) >= cfg.QueueLen || l.queued+len(frame) > cfg.QueueBytes {
		first := !l.overflow
		l.overflow = true
		n, bytes := len(l.queue), l.queued
		l.mu.Unlock()
		if first {
			level := slog.LevelDebug
			if l.up.Load() {
				level = slog.LevelWarn // connected, but not keeping up
			}
			l.t.logger().Log(context.Background(), level, "raftnode: peer queue full, dropping messages",
				"peer", l.id, "queued", n, "bytes", bytes)
		}
		return false
	}
	l.queue = append(l.queue, frame)
	l.queued += len(frame)
	l.mu.Unlock()
	select {
	case l.notec <- struct{}{}:
	default:
	}
	return true
}

// take removes and returns every queued frame.
func (l *peerLink) take() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.queue
	l.queue, l.queued, l.overflow = nil, 0, false
	return q
}

func (l *peerLink) dropQueue() int {
	q := l.take()
	for _, f := range q {
		putFrameBuf(f)
	}
	return len(q)
}

// waitQueued waits until a frame is queued; false when the link closes.
func (l *peerLink) waitQueued() bool {
	for {
		l.mu.Lock()
		n := len(l.queue)
		l.mu.Unlock()
		if n > 0 {
			return true
		}
		select {
		case <-l.notec:
		case <-l.ctx.Done():
			return false
		}
	}
}

// trackConn makes c the connection close() closes; false if already closed.
func (l *peerLink) trackConn(slot *net.Conn) func(net.Conn) bool {
	return func(c net.Conn) bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.ctx.Err() != nil {
			return false
		}
		*slot = c
		return true
	}
}

func (l *peerLink) untrackConn(slot *net.Conn, c net.Conn) {
	l.mu.Lock()
	if *slot == c {
		*slot = nil
	}
	l.mu.Unlock()
	c.Close()
}

// run is the link's writer goroutine. It dials lazily (once something is
// queued), backs off between failures, and after a failure drops what was
// queued and reports the peer unreachable: raft resends what matters.
func (l *peerLink) run() {
	bo := peerBackoff{min: l.t.cfg.BackoffMin, max: l.t.cfg.BackoffMax}
	for {
		if !l.waitQueued() {
			return
		}
		addr := l.getAddr()
		conn, raw, err := l.t.connect(l.ctx, l.id, addr, peerKindStream, l.trackConn(&l.conn))
		if err == nil {
			l.markUp(addr)
			began := time.Now()
			err = l.stream(conn, raw)
			l.untrackConn(&l.conn, raw)
			if time.Since(began) >= l.t.cfg.BackoffMax {
				bo.reset()
			}
		}
		if l.ctx.Err() != nil {
			return
		}
		l.failed(addr, err)
		if !sleepOrDone(l.ctx, bo.next()) {
			return
		}
	}
}

func (l *peerLink) markUp(addr string) {
	l.up.Store(true)
	l.warned = ""
	l.t.logger().Info("raftnode: peer up", "peer", l.id, "addr", addr)
}

// failed records a failed dial or a lost connection. It logs a warning on a
// transition (up to down, or a new kind of failure such as a rejection) and
// at debug level while the peer stays down, so retries do not flood the log.
func (l *peerLink) failed(addr string, err error) {
	dropped := l.dropQueue()
	l.failures.Add(1)
	l.t.reports.unreachable(l.id)
	kind := "down"
	var he *peerHandshakeError
	if errors.As(err, &he) {
		kind = fmt.Sprintf("handshake %d", he.code)
	}
	wasUp := l.up.Swap(false)
	switch {
	case wasUp:
		l.t.logger().Warn("raftnode: peer down", "peer", l.id, "addr", addr, "err", err, "dropped", dropped)
	case kind != l.warned:
		l.t.logger().Warn("raftnode: cannot connect to peer; retrying", "peer", l.id, "addr", addr, "err", err)
	default:
		l.t.logger().Debug("raftnode: peer still unreachable", "peer", l.id, "addr", addr, "err", err)
	}
	l.warned = kind
}

// stream writes queued frames to an established stream connection until it
// fails, the peer closes it, or the link closes.
func (l *peerLink) stream(conn, raw net.Conn) error {
	deadc := make(chan struct{})
	if !l.t.goTracked(func() { l.watch(conn, deadc) }) {
		return ErrTransportStopped
	}
	bw := bufio.NewWriterSize(conn, peerWriteBuffer)
	var deadlineSet time.Time
	for {
		batch := l.take()
		if len(batch) == 0 {
			select {
			case <-l.notec:
				continue
			case <-deadc:
				return errPeerConnClosed
			case <-l.ctx.Done():
				return nil
			}
		}
		var err error
		for _, f := range batch {
			if err == nil {
				// Each frame has at least 7/8 of WriteTimeout: the deadline moves at most
				// every eighth of it (each move is a timer update).
				if now := time.Now(); now.Sub(deadlineSet) > l.t.cfg.WriteTimeout/8 {
					raw.SetWriteDeadline(now.Add(l.t.cfg.WriteTimeout))
					deadlineSet = now
				}
				_, err = bw.Write(f)
			}
			putFrameBuf(f)
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			return err
		}
	}
}

// watch is the watcher goroutine of a stream connection: the acceptor never
// writes on a stream, so any return from Read means the connection is gone.
func (l *peerLink) watch(conn net.Conn, deadc chan struct{}) {
	defer close(deadc)
	var b [1]byte
	conn.Read(b[:])
}

// connect resolves addr's host (every time: a name that does not resolve
// yet may resolve on the next attempt), dials its addresses in turn, and runs
// TLS and the peer handshake for a connection of the given kind to member
// id. track is given the raw connection as soon as it exists, so that the
// caller can close it; connect fails if track returns false. It returns the
// connection to use and the raw one (to close, and for deadlines).
func (t *TCPTransport) connect(ctx context.Context, id uint64, addr string, kind byte, track func(net.Conn) bool) (conn, raw net.Conn, err error) {
	if addr == "" {
		return nil, nil, fmt.Errorf("raftnode: no address for member %d", id)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("raftnode: member %d: %w", id, err)
	}
	ips := []string{host}
	if net.ParseIP(host) == nil {
		lctx, cancel := context.WithTimeout(ctx, t.cfg.DialTimeout)
		ips, err = t.cfg.lookupHost(lctx, host)
		cancel()
		if err == nil && len(ips) == 0 {
			err = fmt.Errorf("no addresses for %s", host)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("raftnode: resolve %s: %w", host, err)
		}
	}
	for _, ip := range ips {
		dctx, cancel := context.WithTimeout(ctx, t.cfg.DialTimeout)
		raw, err = t.cfg.dialContext(dctx, "tcp", net.JoinHostPort(ip, port))
		cancel()
		if err == nil && selfConnected(raw) {
			// TCP's simultaneous open: dialing a local port nobody listens on can pick that
			// very port as the source and connect to itself, which then keeps the peer from
			// binding its own port. Let go of it at once.
			raw.Close()
			err = errors.New("connected to itself (the peer is not listening yet)")
		}
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("raftnode: dial %s: %w", addr, err)
	}
	if !track(raw) {
		raw.Close()
		return nil, nil, ErrTransportStopped
	}
	fail := func(err error) (net.Conn, net.Conn, error) {
		raw.Close()
		return nil, nil, err
	}
	raw.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	conn = raw
	var binding []byte
	if t.cfg.TLS != nil {
		cfg := t.cfg.TLS
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(fmt.Errorf("raftnode: TLS handshake with %s: %w", addr, err))
		}
		if binding, err = tlsBinding(tc); err != nil {
			return fail(err)
		}
		conn = tc
	}
	if err := t.auth.dial(conn, conn, id, kind, binding); err != nil {
		return fail(err)
	}
	raw.SetDeadline(time.Time{})
	return conn, raw, nil
}

// peerBackoff yields exponentially growing delays, capped, with equal jitter:
// half the delay is fixed and half random, so that members restarted
// together do not retry in lockstep.
type peerBackoff struct {
	min, max, cur time.Duration
}

func (b *peerBackoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	return half + rand.N(b.cur-half+1)
}

func (b *peerBackoff) reset() { b.cur = 0 }

// selfConnected reports whether c's two ends are the same address.
func selfConnected(c net.Conn) bool {
	l, r := c.LocalAddr(), c.RemoteAddr()
	return l != nil && r != nil && l.String() == r.String()
}
