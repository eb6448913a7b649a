package recipe

import (
	"context"
	"sync"
	"time"
)

// SelectorOptions configure a LeaderSelector.
type SelectorOptions struct {
	// ID identifies this participant: the data of its lock node, in UTF-8. Empty means the
	// Session's default data, as in Curator.
	ID string
	// AutoRequeue makes the selector contend again each time leadership ends (Curator's
	// autoRequeue); otherwise it contends once per Start or Requeue.
	AutoRequeue bool
}

// LeaderSelector is Curator's LeaderSelector: participants contend for a Mutex at the
// selector's path (nodes "_c_<uuid>-lock-<seq>" holding the participant id), and the holder
// leads by running the lead function; leadership ends when lead returns.
//
// lead's context is cancelled when leadership must end: the Session enters an error state of
// its ErrorPolicy (by default as soon as the connection is lost, as Curator's
// LeaderSelectorListenerAdapter cancels leadership on SUSPENDED and LOST), InterruptLeadership
// or Close. lead must return promptly then; the lock is released when it returns. At most
// one participant runs lead at a time while sessions live, as for Mutex.
type LeaderSelector struct {
	s    *Session
	m    *Mutex
	lead func(ctx context.Context) error
	opts SelectorOptions

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the worker

	mu        sync.Mutex
	started   bool               // guarded by mu
	closed    bool               // guarded by mu
	queued    bool               // guarded by mu: contending or leading (Curator's isQueued)
	running   bool               // guarded by mu: the worker goroutine runs
	leader    bool               // guarded by mu
	interrupt context.CancelFunc // guarded by mu: cancels lead's context
	lastErr   error              // guarded by mu
}

// NewLeaderSelector returns a selector at path that runs lead while it is the leader.
func NewLeaderSelector(s *Session, path string, lead func(ctx context.Context) error, opts SelectorOptions) *LeaderSelector {
	var data []byte
	if opts.ID != "" {
		data = []byte(opts.ID)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &LeaderSelector{
		s:      s,
		m:      newMutex(s, path, "lock-", data, 1),
		lead:   lead,
		opts:   opts,
		ctx:    ctx,
		cancel: cancel,
	}
}

// Start starts contending. A selector starts once.
func (l *LeaderSelector) Start() error {
	if l.m.err != nil {
		return l.m.err
	}
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return ErrNotStarted
	}
	l.started = true
	l.mu.Unlock()
	l.Requeue()
	return nil
}

// Requeue contends again once leadership has ended (or now, if the selector is idle). It
// reports false when the selector is already contending or leading, or is not started.
func (l *LeaderSelector) Requeue() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started || l.closed || l.queued {
		return false
	}
	l.queued = true
	if !l.running {
		l.running = true
		l.wg.Add(1)
		go l.work()
	}
	return true
}

func (l *LeaderSelector) work() {
	defer l.wg.Done()
	for {
		l.doWork()
		l.mu.Lock()
		if l.opts.AutoRequeue && !l.closed {
			l.queued = true
		}
		if !l.queued || l.closed {
			l.queued = false
			l.running = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
	}
}

// doWork is one round: acquire, lead, release.
func (l *LeaderSelector) doWork() {
	if err := l.m.Lock(l.ctx); err != nil {
		l.mu.Lock()
		l.queued = false
		l.lastErr = err
		l.mu.Unlock()
		if l.ctx.Err() == nil {
			// Not leading and not closed: wait a little before an auto-requeue tries again.
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-t.C:
			case <-l.ctx.Done():
			}
			t.Stop()
		}
		return
	}
	ctx, cancel := context.WithCancel(l.ctx)
	lost := l.m.Lost()
	go func() {
		select {
		case <-lost:
			cancel()
		case <-ctx.Done():
		}
	}()
	l.mu.Lock()
	l.leader = true
	l.interrupt = cancel
	l.mu.Unlock()

	err := l.lead(ctx)

	cancel()
	l.mu.Lock()
	l.leader = false
	l.interrupt = nil
	l.queued = false
	l.lastErr = err
	l.mu.Unlock()
	uctx, ucancel := context.WithTimeout(context.Background(), releaseTimeout)
	_ = l.m.Unlock(uctx) // a failed delete goes on in the background
	ucancel()
}

// HasLeadership reports whether lead is running.
func (l *LeaderSelector) HasLeadership() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leader
}

// InterruptLeadership cancels lead's context, if it runs.
func (l *LeaderSelector) InterruptLeadership() {
	l.mu.Lock()
	f := l.interrupt
	l.mu.Unlock()
	if f != nil {
		f()
	}
}

// Err returns the error of the last round: lead's, or the one that kept the selector from
// contending.
func (l *LeaderSelector) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}

// Participants returns the participants in election order, the leader first.
func (l *LeaderSelector) Participants(ctx context.Context) ([]Participant, error) {
	nodes, err := l.m.Participants(ctx)
	if err != nil {
		return nil, err
	}
	return participants(ctx, l.s, nodes)
}

// Leader returns the current leader, or a zero Participant when there is none.
func (l *LeaderSelector) Leader(ctx context.Context) (Participant, error) {
	ps, err := l.Participants(ctx)
	if err != nil || len(ps) == 0 {
		return Participant{}, err
	}
	return ps[0], nil
}

// Close stops contending: lead's context is cancelled, and Close waits for lead to return
// and for the lock to be released (in the background if that takes long).
func (l *LeaderSelector) Close() error {
	l.mu.Lock()
	if !l.started || l.closed {
		l.mu.Unlock()
		return ErrNotStarted
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	return nil
}
