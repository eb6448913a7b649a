package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paddock/paddock/internal/proto"
)

// Options configure Connect. The zero value is ready to use.
type Options struct {
	// SessionTimeout is the session timeout to ask for; the server clamps it to its
	// [minSessionTimeout, maxSessionTimeout] (by default 2 to 20 ticks). Zero means 10 s.
	// The client pings after a third of the negotiated timeout without traffic and gives a
	// connection up after two thirds without hearing from the server.
	SessionTimeout time.Duration
	// ConnectTimeout bounds one attempt to connect to one server: TCP connect and handshake.
	// Zero means the session timeout divided by the number of servers, at least 500 ms.
	ConnectTimeout time.Duration
	// ReadOnly lets the client use a server that has lost its quorum and serves reads only
	// (one with readonlymode.enabled=true). Such a connection is reported as
	// StateConnectedReadOnly and writes fail with ErrNotReadOnly; meanwhile the client looks
	// for a read-write server and moves to it.
	ReadOnly bool
	// SessionID and Password resume an existing session (from another client's SessionID and
	// Password) instead of creating one. Connect fails with ErrSessionExpired if it is gone.
	SessionID int64
	Password  []byte
	// Credentials are added (as AddAuth does) before anything else is sent on each
	// connection, so no request ever runs without them.
	Credentials []Credential
	// OnEvent, if set, is called with every state event, in order, from a goroutine of the
	// client's; a slow OnEvent delays only later events. Events() is fed either way.
	OnEvent func(Event)
	// KeepOrder tries the servers in the order given instead of shuffling them (tests).
	KeepOrder bool
	// Dialer opens connections; nil means a net.Dialer.
	Dialer func(ctx context.Context, network, address string) (net.Conn, error)
	// MaxFrameSize bounds a reply frame, and any single string, buffer or list in it. Zero
	// means 4 MiB. (ZooKeeper's jute.maxbuffer, 1 MiB by default, bounds what servers accept.)
	MaxFrameSize int
	// Logger receives the client's few log lines (reconnects, protocol errors); nil discards them.
	Logger *slog.Logger
}

// Credential is an authentication scheme and its data, as AddAuth takes them.
type Credential struct {
	Scheme string // "digest", ...
	Auth   []byte // for digest: "user:password"
}

// credential is a Credential the session has been granted, replayed on every reconnect.
type credential = Credential

const (
	defaultSessionTimeout = 10 * time.Second
	defaultMaxFrameSize   = 4 << 20
	minConnectTimeout     = 500 * time.Millisecond
	minBackoff            = 50 * time.Millisecond
	maxBackoff            = time.Second
	minReadOnlyProbe      = 500 * time.Millisecond
	maxReadOnlyProbe      = 60 * time.Second
	// closeTimeoutMax bounds how long Close waits for the server to end the session.
	closeTimeoutMax = 5 * time.Second
)

// Client is a ZooKeeper session, over one connection at a time to one server of the ensemble.
// All its methods are safe for concurrent use; concurrent calls are pipelined on the
// connection and answered in the order the server received them.
//
// A Client is created by Connect and lives until Close, or until its session expires (after
// which every call fails with ErrSessionExpired: create a new Client).
type Client struct {
	cs    connectString
	hosts []string // shuffled unless KeepOrder
	opts  Options  // with defaults filled in
	log   *slog.Logger

	ctx    context.Context // cancelled by Close: aborts connecting and waiting
	cancel context.CancelFunc

	mu         sync.Mutex
	state      State         // guarded by mu
	sessionID  int64         // guarded by mu
	passwd     []byte        // guarded by mu
	timeout    time.Duration // guarded by mu: negotiated session timeout
	server     string        // guarded by mu: address of the current connection
	conn       *conn         // guarded by mu: current connection, nil while disconnected
	seenRW     bool          // guarded by mu: the session was granted by a read-write server
	closing    bool          // guarded by mu: Close was called
	creds      []credential  // guarded by mu: credentials granted, replayed on reconnect
	lastDialEr error         // guarded by mu: the last connection attempt's error

	lastZxid atomic.Int64 // highest zxid seen in a reply
	xid      atomic.Int32

	qmu   sync.Mutex
	queue []*request    // guarded by qmu: requests waiting for a writer
	qerr  error         // guarded by qmu: once set, the client is done and enqueue fails
	wakec chan struct{} // wakes the writer; capacity 1

	watches watchSet
	events  events

	group goGroup       // the run loop and the watch pumps; Close waits for them
	donec chan struct{} // closed when the run loop has ended
}

// Connect parses servers, a ZooKeeper connect string ("host1:2181,host2:2181/chroot"; the
// port defaults to 2181; the optional chroot is prepended to every path and must exist), and
// returns a client once a session is established with one of them. The servers are tried in
// random order (see Options.KeepOrder), and later reconnections go on through the list.
//
// Connect gives up when ctx ends; ctx is not used after Connect returns. The session then
// lives until Close or until it expires, and the client reconnects by itself, across the
// listed servers, while it lives.
func Connect(ctx context.Context, servers string, opts Options) (*Client, error) {
	cs, err := parseConnectString(servers)
	if err != nil {
		return nil, err
	}
	if opts.SessionTimeout <= 0 {
		opts.SessionTimeout = defaultSessionTimeout
	}
	if opts.MaxFrameSize <= 0 {
		opts.MaxFrameSize = defaultMaxFrameSize
	}
	if opts.Dialer == nil {
		var d net.Dialer
		opts.Dialer = d.DialContext
	}
	c := &Client{
		cs:    cs,
		hosts: append([]string(nil), cs.hosts...),
		opts:  opts,
		log:   opts.Logger,
		wakec: make(chan struct{}, 1),
		donec: make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.watches.init()
	c.events.init(opts.OnEvent)
	if !opts.KeepOrder {
		rand.Shuffle(len(c.hosts), func(i, j int) { c.hosts[i], c.hosts[j] = c.hosts[j], c.hosts[i] })
	}
	if opts.SessionID != 0 {
		c.sessionID = opts.SessionID
		c.passwd = bytes.Clone(opts.Password)
		c.seenRW = true
	}
	for _, cr := range opts.Credentials {
		c.creds = append(c.creds, Credential{Scheme: cr.Scheme, Auth: bytes.Clone(cr.Auth)})
	}
	first := make(chan error, 1)
	if !c.group.start(func() { c.run(first) }) {
		panic("client: cannot start") // a fresh group always starts
	}
	select {
	case err := <-first:
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("client: connect: %w", err)
		}
		return c, nil
	case <-ctx.Done():
		c.mu.Lock()
		last := c.lastDialEr
		c.mu.Unlock()
		c.Close()
		if last != nil {
			return nil, fmt.Errorf("client: connect: %w (last attempt: %v)", ctx.Err(), last)
		}
		return nil, fmt.Errorf("client: connect: %w", ctx.Err())
	}
}

// run is the client's connection manager: it connects, serves the connection until it dies,
// and connects again (to the next server) until the session expires or Close is called.
// first receives the outcome of the first connection.
func (c *Client) run(first chan<- error) {
	defer close(c.donec)
	var end error // why the client ends
	next := 0     // index of the next host to try
	failed := 0   // attempts failed in a row
	backoff := minBackoff
	prefer := "" // a read-write server found while connected read-only
	for {
		if c.stopping() {
			end = ErrClosed
			break
		}
		addr := prefer
		prefer = ""
		if addr == "" {
			addr = c.hosts[next]
			next = (next + 1) % len(c.hosts)
		}
		cn, resp, err := c.dial(addr)
		if errors.Is(err, errExpired) {
			end = ErrSessionExpired
			break
		}
		if err != nil {
			c.mu.Lock()
			c.lastDialEr = fmt.Errorf("%s: %w", addr, err)
			c.mu.Unlock()
			c.log.Debug("cannot connect", "server", addr, "err", err)
			if failed++; failed%len(c.hosts) == 0 {
				// Every server refused: wait a little before the next round.
				t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
				select {
				case <-t.C:
				case <-c.ctx.Done():
					t.Stop()
				}
				backoff = min(2*backoff, maxBackoff)
			}
			continue
		}
		failed, backoff = 0, minBackoff
		c.established(cn, resp)
		if first != nil {
			first <- nil
			first = nil
		}
		prefer = c.serve(cn)
		cn.finish()
		c.mu.Lock()
		c.conn, c.server = nil, ""
		closing := c.closing
		if !closing {
			c.state = StateDisconnected
		}
		sid := c.sessionID
		c.mu.Unlock()
		if closing {
			end = ErrClosed
			break
		}
		c.log.Info("disconnected", "server", cn.addr, "err", cn.deadErr)
		c.emit(Event{State: StateDisconnected, SessionID: sid, Server: cn.addr, Err: cn.deadErr})
	}
	if first != nil {
		first <- end
	}
	c.terminate(end)
}

// established records the session a handshake granted, emits the state event and starts the
// connection with the session's credentials and watches.
func (c *Client) established(cn *conn, resp *proto.ConnectResponse) {
	c.mu.Lock()
	prev := c.sessionID
	wasRW := c.seenRW
	same := prev != 0 && prev == resp.SessionID && (wasRW || resp.ReadOnly)
	if !(resp.ReadOnly && wasRW && !same) {
		c.sessionID = resp.SessionID
		c.passwd = bytes.Clone(resp.Passwd)
	} // else a read-only server did not know the session: keep it for the read-write servers
	c.timeout = cn.timeout
	c.server = cn.addr
	c.conn = cn
	ev := Event{SessionID: c.sessionID, Server: cn.addr}
	switch {
	case resp.ReadOnly:
		c.state = StateConnectedReadOnly
		ev.State = StateConnectedReadOnly
	case same && c.state != StateConnecting:
		c.state = StateConnected
		ev.State = StateReconnected
	default:
		c.state = StateConnected
		ev.State = StateConnected
	}
	if !resp.ReadOnly {
		c.seenRW = true
	}
	creds := append([]credential(nil), c.creds...)
	primeTimeout := c.connectTimeout()
	c.mu.Unlock()

	var prime []*request
	for i := range creds {
		r := newAuthRequest(&creds[i])
		r.internal = true
		r.refs.Store(1)
		r.seal()
		r.setXid(proto.XidAuth)
		prime = append(prime, r)
	}
	prime = append(prime, c.watches.setWatchesRequests(c.lastZxid.Load())...)
	c.log.Info("connected", "server", cn.addr, "session", fmt.Sprintf("0x%x", resp.SessionID),
		"timeout", cn.timeout, "readOnly", resp.ReadOnly, "state", ev.State.String())
	// The event goes first: whatever the connection reports (a refused credential, the
	// watches it fires) comes after it.
	c.emit(ev)
	cn.start(prime, primeTimeout)
}

// serve waits until the connection dies or Close is called. While the connection is
// read-only it looks for a read-write server, and returns its address after ending the
// connection to move there.
func (c *Client) serve(cn *conn) (prefer string) {
	var probe <-chan time.Time
	var t *time.Timer
	wait := minReadOnlyProbe
	if cn.readOnly && len(c.hosts) > 1 {
		t = time.NewTimer(wait)
		defer t.Stop()
		probe = t.C
	}
	for {
		select {
		case <-cn.deadc:
			return ""
		case <-c.ctx.Done():
			cn.kill(ErrClosed)
			return ""
		case <-probe:
			for _, h := range c.hosts {
				if h != cn.addr && c.probeReadWrite(h) {
					c.log.Info("found a read-write server; moving to it", "server", h)
					cn.kill(errors.New("moving to a read-write server"))
					return h
				}
			}
			wait = min(2*wait, maxReadOnlyProbe)
			t.Reset(wait)
		}
	}
}

// terminate ends the client for good: every request still queued fails with end, every
// watch gets EventNotWatching, and the final state event is emitted.
func (c *Client) terminate(end error) {
	st := StateClosed
	if errors.Is(end, ErrSessionExpired) {
		st = StateExpired
	}
	c.mu.Lock()
	c.state = st
	c.conn, c.server = nil, ""
	sid := c.sessionID
	c.mu.Unlock()
	c.closeQueue(end)
	c.watches.terminate(c, end)
	c.emit(Event{State: st, SessionID: sid, Err: end})
	c.events.end()
}

func (c *Client) stopping() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// Close ends the session: it asks the server to close it (deleting the session's ephemeral
// nodes at once rather than at expiry), waiting at most a few seconds for the answer, then
// shuts the client down. Requests still waiting fail with ErrClosed and every watch gets
// EventNotWatching. Events still queued for persistent watches are dropped. Close returns
// once the client's goroutines have ended. It may be called again, and from several
// goroutines at once: every call returns once the client has ended, and only the first does
// anything. It returns nil, or (to the first call only) the reason the server did not
// confirm the end of the session.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		<-c.donec
		c.group.wait()
		return nil
	}
	c.closing = true
	cn := c.conn
	timeout := min(c.timeout, closeTimeoutMax)
	c.mu.Unlock()

	var err error
	if cn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		r := newRequest(proto.OpCloseSession)
		err = c.do(ctx, r)
		r.release()
		cancel()
		if errors.Is(err, ErrClosed) || errors.Is(err, ErrConnectionLoss) {
			err = nil // the server closed the connection: the session is closed or will expire
		}
	}
	c.cancel()
	<-c.donec
	c.group.wait()
	if err != nil {
		return fmt.Errorf("client: close: %w", err)
	}
	return nil
}

// SessionID returns the session's id (0 before the first connection).
func (c *Client) SessionID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

// Password returns the session's password. With SessionID it lets another client take the
// session over (Options.SessionID, Options.Password).
func (c *Client) Password() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.passwd)
}

// SessionTimeout returns the session timeout the server granted.
func (c *Client) SessionTimeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timeout
}

// State returns the client's current state: StateConnected, StateConnectedReadOnly,
// StateDisconnected, StateExpired or StateClosed.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Server returns the address of the server the client is connected to, or "" while it is
// not connected.
func (c *Client) Server() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.server
}

// LastZxid returns the highest zxid the client has seen in a reply: the point up to which it
// has seen the ensemble's history, sent to a server on reconnect.
func (c *Client) LastZxid() int64 { return c.lastZxid.Load() }

func (c *Client) noteZxid(z int64) {
	for {
		cur := c.lastZxid.Load()
		if z <= cur || c.lastZxid.CompareAndSwap(cur, z) {
			return
		}
	}
}

// nextXid returns the xid of the next request: 1, 2, ... wrapping to 1 after MaxInt32.
func (c *Client) nextXid() int32 {
	x := c.xid.Add(1) & 0x7fffffff
	if x == 0 {
		x = c.xid.Add(1) & 0x7fffffff
	}
	return x
}

// connectTimeout returns the bound of one connection attempt. c.mu must be held.
func (c *Client) connectTimeout() time.Duration {
	if c.opts.ConnectTimeout > 0 {
		return c.opts.ConnectTimeout
	}
	t := c.opts.SessionTimeout
	if c.timeout > 0 {
		t = c.timeout
	}
	return max(t/time.Duration(len(c.hosts)), minConnectTimeout)
}

func (c *Client) connectTimeoutNow() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connectTimeout()
}

func (c *Client) addCredential(cr *credential) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, have := range c.creds {
		if have.Scheme == cr.Scheme && bytes.Equal(have.Auth, cr.Auth) {
			return
		}
	}
	c.creds = append(c.creds, *cr)
}

func (c *Client) dropCredential(cr *credential) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, have := range c.creds {
		if have.Scheme == cr.Scheme && bytes.Equal(have.Auth, cr.Auth) {
			c.creds = append(c.creds[:i], c.creds[i+1:]...)
			return
		}
	}
}

// goGroup starts the client's long-lived goroutines and lets Close wait for them. Once
// closed it starts no more.
type goGroup struct {
	mu     sync.Mutex
	n      int           // guarded by mu: goroutines running
	closed bool          // guarded by mu
	zero   chan struct{} // guarded by mu: closed when closed and n reaches 0
}

func (g *goGroup) start(f func()) bool {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return false
	}
	g.n++
	g.mu.Unlock()
	go func() {
		defer g.done()
		f()
	}()
	return true
}

func (g *goGroup) done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 && g.closed && g.zero != nil {
		close(g.zero)
		g.zero = nil
	}
}

// wait stops the group and waits for every goroutine of it to end.
func (g *goGroup) wait() {
	g.mu.Lock()
	g.closed = true
	if g.n == 0 {
		g.mu.Unlock()
		return
	}
	if g.zero == nil {
		g.zero = make(chan struct{})
	}
	z := g.zero
	g.mu.Unlock()
	<-z
}
