package recipe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/paddock/paddock/client"
)

// ConnState is the state of a Session, as Curator's ConnectionState.
type ConnState int

// Session states. Listeners see them in this order for one session: StateConnected first,
// then any number of StateSuspended / StateReconnected (or StateReadOnly) rounds, and
// StateLost when the session ends, after which a new session follows with
// StateReconnected, as in Curator.
const (
	// StateConnected: the first session is established.
	StateConnected ConnState = iota + 1
	// StateSuspended: the connection is lost. The session may live on (its ephemeral nodes
	// with it) and the client is reconnecting, but nothing can be known until it does.
	StateSuspended
	// StateReconnected: connected again, either with the same session (after
	// StateSuspended) or with a new one (after StateLost).
	StateReconnected
	// StateLost: the session is gone with its ephemeral nodes and watches: the ensemble
	// expired it, or the Session has been suspended for longer than the session timeout
	// (Curator's rule; then the old session is closed and may linger on the servers for the
	// rest of its timeout). A new session is being established.
	StateLost
	// StateReadOnly: connected to a server without quorum (client.Options.ReadOnly).
	StateReadOnly
	// StateClosed: Close was called. Listeners are never called with it.
	StateClosed
)

// String returns the state's name as Curator spells it ("SUSPENDED", ...).
func (st ConnState) String() string {
	switch st {
	case StateConnected:
		return "CONNECTED"
	case StateSuspended:
		return "SUSPENDED"
	case StateReconnected:
		return "RECONNECTED"
	case StateLost:
		return "LOST"
	case StateReadOnly:
		return "READ_ONLY"
	case StateClosed:
		return "CLOSED"
	}
	return fmt.Sprintf("ConnState(%d)", int(st))
}

// Connected reports whether the state is one in which requests can be served.
func (st ConnState) Connected() bool {
	return st == StateConnected || st == StateReconnected || st == StateReadOnly
}

// ErrorPolicy decides which states end what a recipe holds (a lock, leadership), as
// Curator's ConnectionStateErrorPolicy.
type ErrorPolicy int

const (
	// StandardErrorPolicy treats StateSuspended and StateLost as errors (Curator's
	// default): a holder gives up as soon as the connection is lost, before the session
	// can possibly have expired on the ensemble, so two holders never overlap while the
	// holder's clock and scheduling keep up with the session timeout.
	StandardErrorPolicy ErrorPolicy = iota
	// SessionErrorPolicy treats only StateLost as an error: a holder keeps its hold across
	// connection losses, at the risk of overlapping with the next holder for up to a
	// session timeout when its session expires while it cannot hear about it.
	SessionErrorPolicy
)

// IsError reports whether st is an error state under the policy.
func (p ErrorPolicy) IsError(st ConnState) bool {
	switch st {
	case StateLost, StateClosed:
		return true
	case StateSuspended:
		return p == StandardErrorPolicy
	}
	return false
}

// SessionOptions configure NewSession. The zero value is ready to use.
type SessionOptions struct {
	// Client are the options of every client.Client the Session creates. Its OnEvent, if
	// set, is called as well as the Session's own handler; SessionID and Password apply to
	// the first session only.
	Client client.Options
	// ErrorPolicy decides which states make locks lost and leaders give up leadership.
	ErrorPolicy ErrorPolicy
	// DefaultData is the data of nodes that a recipe creates without data of its own (lock
	// nodes, barrier and parent nodes, ...), as Curator's defaultData. Nil means Curator's
	// default, this host's IP address as text; use NoDefaultData for empty nodes.
	DefaultData []byte
	// NoDefaultData makes such nodes empty.
	NoDefaultData bool
	// Logger receives the Session's and its recipes' few log lines; nil discards them.
	Logger *slog.Logger
}

// releaseTimeout bounds a release that a recipe makes on its own (not for a caller's
// context); a delete that takes longer goes on in the background.
const releaseTimeout = 30 * time.Second

// Errors of the package.
var (
	// ErrClosed is returned by a recipe or Session after Close.
	ErrClosed = errors.New("recipe: closed")
	// ErrLockLost is returned by Unlock (and Release) when the hold ended before, because
	// the session entered an error state (see ErrorPolicy): another holder may have had the
	// lock meanwhile.
	ErrLockLost = errors.New("recipe: lock lost")
	// ErrNotHeld is returned by Unlock when the lock is not held.
	ErrNotHeld = errors.New("recipe: lock not held")
	// ErrNotStarted is returned by a recipe used before Start, or started twice.
	ErrNotStarted = errors.New("recipe: not started")
	// ErrCorrupt wraps a node's data that a recipe cannot decode.
	ErrCorrupt = errors.New("recipe: corrupt data")
)

// Session is a ZooKeeper session that outlives session expiry, as Curator's
// CuratorFramework: when the ensemble expires the session (or it has been suspended for
// longer than its timeout) the Session reports StateLost and establishes a new session with
// a new client.Client, reporting StateReconnected. Recipes are built on a Session and use
// its state changes to give up and re-establish what they hold.
//
// A Session is safe for concurrent use. Its goroutines: one that connects a new client
// after a loss (only then), a listener dispatcher (only while there are state changes to
// deliver), and the background retries of guaranteed deletes; Close waits for them all.
type Session struct {
	servers     string
	opts        SessionOptions
	log         *slog.Logger
	defaultData []byte

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the connector and background deletes
	events serial         // delivers state changes to listeners, in order

	mu        sync.Mutex
	cur       *sessClient                // guarded by mu: the installed client, nil while connecting
	gen       uint64                     // guarded by mu: generation of the newest client (installed or connecting)
	state     ConnState                  // guarded by mu
	connected bool                       // guarded by mu: a session was ever established
	closed    bool                       // guarded by mu
	changec   chan struct{}              // guarded by mu: closed and replaced at every change of state or client
	listeners map[uint64]func(ConnState) // guarded by mu
	nextID    uint64                     // guarded by mu
	suspendT  *time.Timer                // guarded by mu: declares the session lost after a long suspension
}

// sessClient is one client of a Session and the events it reported before it was installed.
type sessClient struct {
	gen       uint64
	c         *client.Client // set at install
	installed bool           // guarded by Session.mu
	skip      bool           // guarded by Session.mu: the first connected event is still to come
	pending   []client.Event // guarded by Session.mu: events before install
	timeout   time.Duration  // negotiated session timeout
}

// NewSession connects to servers (a ZooKeeper connect string, see client.Connect) and returns
// once the first session is established, or fails when ctx ends.
func NewSession(ctx context.Context, servers string, opts SessionOptions) (*Session, error) {
	s := &Session{
		servers:   servers,
		opts:      opts,
		log:       opts.Logger,
		listeners: make(map[uint64]func(ConnState)),
		changec:   make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case opts.NoDefaultData:
		s.defaultData = []byte{}
	case opts.DefaultData != nil:
		s.defaultData = append([]byte{}, opts.DefaultData...)
	default:
		s.defaultData = localAddress()
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mu.Lock()
	s.gen = 1
	sc := &sessClient{gen: 1}
	s.mu.Unlock()
	c, err := client.Connect(ctx, servers, s.clientOptions(sc, true))
	if err != nil {
		s.cancel()
		return nil, err
	}
	s.install(sc, c)
	return s, nil
}

// clientOptions returns the options for the client of generation sc.gen.
func (s *Session) clientOptions(sc *sessClient, first bool) client.Options {
	o := s.opts.Client
	if !first {
		o.SessionID, o.Password = 0, nil
	}
	user := o.OnEvent
	o.OnEvent = func(ev client.Event) {
		s.onClientEvent(sc, ev)
		if user != nil {
			user(ev)
		}
	}
	return o
}

// install makes c the Session's client and replays what it reported meanwhile.
func (s *Session) install(sc *sessClient, c *client.Client) {
	s.mu.Lock()
	if s.closed || sc.gen != s.gen {
		s.mu.Unlock()
		c.Close()
		return
	}
	sc.c = c
	sc.timeout = c.SessionTimeout()
	sc.installed = true
	s.cur = sc
	// The client's first event (StateConnected) may not have arrived yet: take it as given,
	// so that State is right when NewSession returns, and skip it when it comes.
	first := client.Event{State: client.StateConnected}
	if c.State() == client.StateConnectedReadOnly {
		first.State = client.StateConnectedReadOnly
	}
	s.handleLocked(sc, first)
	sc.skip = true
	pending := sc.pending
	sc.pending = nil
	for _, ev := range pending {
		s.handleLocked(sc, ev)
	}
	s.changedLocked()
	s.mu.Unlock()
}

func (s *Session) onClientEvent(sc *sessClient, ev client.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || sc.gen != s.gen {
		return
	}
	if !sc.installed {
		sc.pending = append(sc.pending, ev)
		return
	}
	s.handleLocked(sc, ev)
}

// handleLocked turns a client event into the Session's state. s.mu is held.
func (s *Session) handleLocked(sc *sessClient, ev client.Event) {
	if sc.skip && (ev.State == client.StateConnected || ev.State == client.StateConnectedReadOnly) {
		sc.skip = false
		return
	}
	switch ev.State {
	case client.StateConnected:
		s.stopSuspendLocked()
		if s.connected {
			s.setStateLocked(StateReconnected)
		} else {
			s.connected = true
			s.setStateLocked(StateConnected)
		}
	case client.StateReconnected:
		s.stopSuspendLocked()
		s.setStateLocked(StateReconnected)
	case client.StateConnectedReadOnly:
		s.stopSuspendLocked()
		s.connected = true
		s.setStateLocked(StateReadOnly)
	case client.StateDisconnected:
		if s.state == StateSuspended || s.state == StateLost {
			return
		}
		s.setStateLocked(StateSuspended)
		s.stopSuspendLocked()
		gen := sc.gen
		s.suspendT = time.AfterFunc(sc.timeout, func() { s.suspendedTooLong(gen) })
	case client.StateExpired, client.StateClosed:
		s.loseLocked(sc, ev.State == client.StateExpired)
	}
}

// suspendedTooLong declares the session of generation gen lost when it is still suspended a
// session timeout after the connection was lost, as Curator does.
func (s *Session) suspendedTooLong(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.cur == nil || s.cur.gen != gen || s.state != StateSuspended {
		return
	}
	s.log.Info("session suspended for longer than its timeout: declaring it lost", "timeout", s.cur.timeout)
	s.loseLocked(s.cur, false)
}

// loseLocked ends the current client and starts connecting a new session. s.mu is held.
func (s *Session) loseLocked(sc *sessClient, expired bool) {
	s.stopSuspendLocked()
	old := sc.c
	s.cur = nil
	s.gen++
	next := &sessClient{gen: s.gen}
	s.setStateLocked(StateLost)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if !expired && old != nil {
			old.Close() // ends the session on the servers if they can still be reached
		}
		for {
			c, err := client.Connect(s.ctx, s.servers, s.clientOptions(next, false))
			if err == nil {
				s.install(next, c)
				return
			}
			if s.ctx.Err() != nil {
				return
			}
			s.log.Info("cannot establish a new session", "err", err)
		}
	}()
}

func (s *Session) stopSuspendLocked() {
	if s.suspendT != nil {
		s.suspendT.Stop()
		s.suspendT = nil
	}
}

// setStateLocked records a new state and queues it for the listeners. s.mu is held.
func (s *Session) setStateLocked(st ConnState) {
	s.state = st
	s.changedLocked()
	s.events.do(func() {
		s.mu.Lock()
		fs := make([]func(ConnState), 0, len(s.listeners))
		ids := make([]uint64, 0, len(s.listeners))
		for id := range s.listeners {
			ids = append(ids, id)
		}
		sortUint64(ids)
		for _, id := range ids {
			fs = append(fs, s.listeners[id])
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return
		}
		for _, f := range fs {
			f(st)
		}
	})
}

func sortUint64(a []uint64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// changedLocked wakes everything waiting for a change. s.mu is held.
func (s *Session) changedLocked() {
	close(s.changec)
	s.changec = make(chan struct{})
}

// State returns the Session's current state.
func (s *Session) State() ConnState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return StateClosed
	}
	return s.state
}

// ErrorPolicy returns the Session's error policy.
func (s *Session) ErrorPolicy() ErrorPolicy { return s.opts.ErrorPolicy }

// Client returns the current client, or nil while a new session is being established after
// StateLost (or after Close). A client returned earlier may have been replaced since: its
// calls then fail with client.ErrSessionExpired or client.ErrClosed.
func (s *Session) Client() *client.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || s.closed {
		return nil
	}
	return s.cur.c
}

// Listen registers f to be called with every later change of state, in order, from a
// goroutine of the Session's, one call at a time across all listeners. f must not block for
// long: it delays every other listener. The returned function removes f.
func (s *Session) Listen(f func(ConnState)) (remove func()) {
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	s.listeners[id] = f
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.listeners, id)
		s.mu.Unlock()
	}
}

// Close closes the current session (its ephemeral nodes go at once) and stops reconnecting.
// Recipes built on the Session should be closed first. Calling Close again does nothing.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.stopSuspendLocked()
	cur := s.cur
	s.cur = nil
	s.changedLocked()
	s.mu.Unlock()
	s.cancel()
	var err error
	if cur != nil {
		err = cur.c.Close()
	}
	s.wg.Wait()
	s.events.wait()
	return err
}

// current returns the installed client and its generation, waiting while a new session is
// being established.
func (s *Session) current(ctx context.Context) (*client.Client, uint64, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, 0, ErrClosed
		}
		if s.cur != nil {
			c, gen := s.cur.c, s.cur.gen
			s.mu.Unlock()
			return c, gen, nil
		}
		ch := s.changec
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// generation returns the generation of the newest client, and whether the Session is in an
// error state of its policy.
func (s *Session) generation() (gen uint64, inError bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	if s.closed {
		st = StateClosed
	}
	return s.gen, s.opts.ErrorPolicy.IsError(st)
}

// retryable reports whether an operation that failed with err should be tried again, on the
// same client after a reconnection or on the next one: Curator's RetryLoop.isRetryException.
func retryable(err error) bool {
	return errors.Is(err, client.ErrConnectionLoss) || errors.Is(err, client.ErrSessionExpired) ||
		errors.Is(err, client.ErrClosed) || errors.Is(err, client.ErrSessionMoved) ||
		errors.Is(err, client.ErrOperationTimeout)
}

// retry runs f with the current client until it returns nil or an error that is not
// retryable, or ctx ends. f must be safe to repeat (Curator's RetryLoop).
func (s *Session) retry(ctx context.Context, f func(c *client.Client) error) error {
	var b backoff
	for {
		if err := b.pause(ctx); err != nil {
			return err
		}
		c, _, err := s.current(ctx)
		if err != nil {
			return err
		}
		err = f(c)
		if err == nil || !retryable(err) {
			return err
		}
	}
}

// background runs f with the Session's context in a goroutine that Close waits for.
func (s *Session) background(f func(ctx context.Context)) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		f(s.ctx)
	}()
}

// localAddress is Curator's default node data: this host's address as text
// (InetAddress.getLocalHost().getHostAddress()), or nothing.
func localAddress() []byte {
	host, err := os.Hostname()
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err == nil {
			for _, a := range addrs {
				if a.IP.To4() != nil {
					return []byte(a.IP.String())
				}
			}
			if len(addrs) > 0 {
				return []byte(addrs[0].IP.String())
			}
		}
	}
	return []byte{}
}

// backoff paces retries: 5 ms doubling up to 200 ms.
type backoff struct {
	d       time.Duration
	started bool
}

// pause returns at once the first time, and then waits as sleep does.
func (b *backoff) pause(ctx context.Context) error {
	if !b.started {
		b.started = true
		return ctx.Err()
	}
	return b.sleep(ctx)
}

// sleep waits the next interval, or returns ctx's error.
func (b *backoff) sleep(ctx context.Context) error {
	if b.d == 0 {
		b.d = 5 * time.Millisecond
	}
	t := time.NewTimer(b.d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.d = min(2*b.d, 200*time.Millisecond)
	return nil
}
