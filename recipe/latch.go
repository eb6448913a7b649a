package recipe

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/paddock/paddock/client"
)

// Participant is a contender of a leader election: the id stored in its node, and whether it
// is the leader (Curator's Participant).
type Participant struct {
	ID       string
	IsLeader bool
}

// participants reads the ids of nodes (in election order); the first node that still
// exists is the leader.
func participants(ctx context.Context, s *Session, nodes []string) ([]Participant, error) {
	var out []Participant
	for _, p := range nodes {
		var data []byte
		err := s.retry(ctx, func(c *client.Client) error {
			var err error
			data, _, err = c.GetData(ctx, p)
			return err
		})
		if errors.Is(err, client.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Participant{ID: string(data), IsLeader: len(out) == 0})
	}
	return out, nil
}

// LatchOptions configure a LeaderLatch.
type LatchOptions struct {
	// ID identifies this participant: the data of its node, in UTF-8 (Curator's id).
	ID string
	// OnChange, if set, is called with true when the latch gains leadership and false when it
	// loses it (Curator's LeaderLatchListener isLeader / notLeader), in order, one call at a
	// time, from a goroutine of the latch's.
	OnChange func(isLeader bool)
	// NotifyOnClose makes Close report the loss of leadership to OnChange (Curator's
	// CloseMode.NOTIFY_LEADER); by default Close is silent (CloseMode.SILENT).
	NotifyOnClose bool
}

const latchLockName = "latch-"

// LeaderLatch is Curator's LeaderLatch: every participant creates a protected ephemeral
// sequential node "_c_<uuid>-latch-<seq>" under the latch's path holding its id, and the
// lowest sequence number is the leader. The others watch the node before theirs.
//
// Guarantees (Curator's): leadership is given up when the Session enters an error state of
// its ErrorPolicy, by default as soon as the connection is lost (StateSuspended), so it ends
// before the ensemble can expire the session and let another participant lead. On
// reconnection the latch checks the election again, and it leads again if its node is still
// first. When the session is lost its node is gone and the latch joins again with a new
// node, at the back. Close deletes the node. At most one participant is leader while the
// participants' sessions are alive and their clocks keep up with the session timeout.
type LeaderLatch struct {
	s    *Session
	path string
	opts LatchOptions
	err  error // from validating the path

	notify serial // runs OnChange

	mu       sync.Mutex
	started  bool          // guarded by mu
	closed   bool          // guarded by mu
	silent   bool          // guarded by mu: OnChange is no longer called
	leader   bool          // guarded by mu
	ourPath  string        // guarded by mu
	ourGen   uint64        // guarded by mu
	changec  chan struct{} // guarded by mu: closed and replaced when leader or closed changes
	wakec    chan struct{} // wakes the loop; capacity 1
	cancel   context.CancelFunc
	donec    chan struct{} // closed when the loop has ended
	unlisten func()
}

// NewLeaderLatch returns a latch at path; Start joins the election.
func NewLeaderLatch(s *Session, path string, opts LatchOptions) *LeaderLatch {
	return &LeaderLatch{
		s:       s,
		path:    path,
		opts:    opts,
		err:     validatePath(path),
		changec: make(chan struct{}),
		wakec:   make(chan struct{}, 1),
		donec:   make(chan struct{}),
	}
}

// Start joins the election in the background. A latch starts once.
func (l *LeaderLatch) Start() error {
	if l.err != nil {
		return l.err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		return ErrNotStarted
	}
	l.started = true
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.unlisten = l.s.Listen(l.onState)
	go l.run(ctx)
	return nil
}

func (l *LeaderLatch) onState(st ConnState) {
	if l.s.opts.ErrorPolicy.IsError(st) {
		l.setLeader(false)
	}
	l.wake()
}

func (l *LeaderLatch) wake() {
	select {
	case l.wakec <- struct{}{}:
	default:
	}
}

func (l *LeaderLatch) run(ctx context.Context) {
	defer close(l.donec)
	var b backoff
	for ctx.Err() == nil {
		err := l.check(ctx)
		if err == nil {
			b = backoff{}
			continue
		}
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return
		}
		l.s.log.Info("leader latch", "path", l.path, "err", err)
		_ = b.sleep(ctx)
	}
}

// check makes sure our node exists, looks at the election and waits for something to change.
func (l *LeaderLatch) check(ctx context.Context) error {
	select {
	case <-l.wakec:
	default:
	}
	c, gen, err := l.s.current(ctx)
	if err != nil {
		return err
	}
	l.mu.Lock()
	ours, ourGen := l.ourPath, l.ourGen
	l.mu.Unlock()
	if ours == "" || ourGen != gen {
		// Curator's reset: give up leadership, drop the old node, create a new one.
		l.setLeader(false)
		l.setNode("", 0)
		path, g, err := l.s.createProtected(ctx, join(l.path, latchLockName), append([]byte{}, l.opts.ID...), client.ModeEphemeralSequential)
		if err != nil {
			return err
		}
		l.setNode(path, g)
		return nil
	}
	kids, err := sortedChildren(ctx, c, l.path, func(n string) string { return fixForSorting(n, latchLockName) })
	if err != nil {
		return err
	}
	i := slices.Index(kids, nodeName(ours))
	switch {
	case i < 0:
		l.setNode("", 0)
		return nil
	case i == 0:
		l.setLeader(true)
		select {
		case <-l.wakec:
		case <-ctx.Done():
		}
		return nil
	}
	l.setLeader(false)
	_, _, wch, err := c.GetDataW(ctx, join(l.path, kids[i-1]))
	if errors.Is(err, client.ErrNoNode) {
		return nil
	}
	if err != nil {
		return err
	}
	select {
	case <-wch:
	case <-l.wakec:
	case <-ctx.Done():
	}
	return nil
}

// setNode records our node, deleting the previous one (guaranteed, in the background).
func (l *LeaderLatch) setNode(path string, gen uint64) {
	l.mu.Lock()
	old := l.ourPath
	l.ourPath, l.ourGen = path, gen
	l.mu.Unlock()
	if old != "" && old != path {
		l.s.background(func(ctx context.Context) { _ = l.s.deleteGuaranteed(ctx, old) })
	}
}

// setLeader changes leadership and tells OnChange. Leadership is not taken while the
// Session is in an error state or the latch is closed.
func (l *LeaderLatch) setLeader(v bool) {
	if v {
		if _, inError := l.s.generation(); inError {
			return
		}
	}
	l.mu.Lock()
	if l.leader == v || (v && l.closed) {
		l.mu.Unlock()
		return
	}
	l.leader = v
	close(l.changec)
	l.changec = make(chan struct{})
	silent := l.silent
	l.mu.Unlock()
	if f := l.opts.OnChange; f != nil && !silent {
		l.notify.do(func() {
			l.mu.Lock()
			silent := l.silent
			l.mu.Unlock()
			if !silent || !v {
				f(v)
			}
		})
	}
}

// HasLeadership reports whether the latch is the leader now.
func (l *LeaderLatch) HasLeadership() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leader && !l.closed
}

// Await waits until the latch is the leader (nil), is closed (ErrClosed), or ctx ends.
func (l *LeaderLatch) Await(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return ErrClosed
		}
		if l.leader {
			l.mu.Unlock()
			return nil
		}
		ch := l.changec
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Node returns the path of the latch's node, or "" while it has none.
func (l *LeaderLatch) Node() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ourPath
}

// ID returns the participant id.
func (l *LeaderLatch) ID() string { return l.opts.ID }

// Participants returns the participants in election order, the leader first.
func (l *LeaderLatch) Participants(ctx context.Context) ([]Participant, error) {
	if l.err != nil {
		return nil, l.err
	}
	nodes, err := newLocker(l.s, l.path, latchLockName, 1).participants(ctx)
	if err != nil {
		return nil, err
	}
	return participants(ctx, l.s, nodes)
}

// Leader returns the current leader, or a zero Participant when there is none.
func (l *LeaderLatch) Leader(ctx context.Context) (Participant, error) {
	ps, err := l.Participants(ctx)
	if err != nil || len(ps) == 0 {
		return Participant{}, err
	}
	return ps[0], nil
}

// Close leaves the election: leadership ends (reported to OnChange only with NotifyOnClose,
// and before the node is deleted, so that the next leader is told after this one), and the
// node is deleted (guaranteed: in the background if ctx ends first). Close must not be
// called from OnChange.
func (l *LeaderLatch) Close(ctx context.Context) error {
	l.mu.Lock()
	if !l.started || l.closed {
		l.mu.Unlock()
		return ErrNotStarted
	}
	l.silent = !l.opts.NotifyOnClose
	l.mu.Unlock()
	l.cancel()
	<-l.donec
	l.unlisten()
	l.setLeader(false)
	l.mu.Lock()
	l.closed = true
	close(l.changec)
	l.changec = make(chan struct{})
	path := l.ourPath
	l.ourPath = ""
	l.mu.Unlock()
	l.notify.wait()
	if path == "" {
		return nil
	}
	return l.s.deleteGuaranteed(ctx, path)
}
