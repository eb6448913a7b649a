package recipe

import (
	"context"
	"sync"
)

// hold is one held lock node. It is lost when the Session enters an error state of its
// ErrorPolicy (or a new session replaces the node's): then lostc is closed and the node is
// deleted in the background, so that the next contender does not wait for a holder that has
// given up.
type hold struct {
	s    *Session
	path string

	mu       sync.Mutex
	lost     bool          // guarded by mu
	released bool          // guarded by mu
	lostc    chan struct{} // closed when lost
	unlisten func()
}

func (s *Session) newHold(path string, gen uint64) *hold {
	h := &hold{s: s, path: path, lostc: make(chan struct{})}
	h.unlisten = s.Listen(func(st ConnState) {
		if s.opts.ErrorPolicy.IsError(st) {
			h.lose()
		}
	})
	if g, inError := s.generation(); g != gen || inError {
		h.lose()
	}
	return h
}

func (h *hold) lose() {
	h.mu.Lock()
	if h.lost || h.released {
		h.mu.Unlock()
		return
	}
	h.lost = true
	close(h.lostc)
	h.mu.Unlock()
	h.s.log.Info("lock lost", "path", h.path)
	h.s.background(func(ctx context.Context) { _ = h.s.deleteGuaranteed(ctx, h.path) })
}

// release deletes the node (guaranteed), or returns ErrLockLost if the hold was lost.
func (h *hold) release(ctx context.Context) error {
	h.mu.Lock()
	lost := h.lost
	h.released = true
	h.mu.Unlock()
	h.unlisten()
	if lost {
		return ErrLockLost
	}
	return h.s.deleteGuaranteed(ctx, h.path)
}

// closedChan is returned by Lost when nothing is held.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Mutex is a lock shared by processes and goroutines, Curator's InterProcessMutex, with
// Curator's znode layout so that Go and Java contenders exclude each other: each contender
// creates a protected ephemeral sequential node "_c_<uuid>-lock-<seq>" under the lock's
// path (ancestors are created as containers), holding the Session's default data; the
// lowest sequence number holds the lock, and each other contender watches the node just
// before its own (no herd).
//
// Guarantees: at most one contender at a time holds the lock while the holders' sessions
// live. A hold ends with Unlock, or when the Session enters an error state of its
// ErrorPolicy (by default as soon as the connection is lost, which is before the ensemble
// can expire the session): Lost's channel is then closed and the node is deleted as soon as
// possible. A holder must stop acting on the lock when Lost fires.
//
// A Mutex is also an in-process mutex: one Mutex may be shared by goroutines, and Lock waits
// for the Mutex's own hold to be released first (Curator's lock is reentrant per thread;
// this one is not reentrant). Unlock may be called from any goroutine.
type Mutex struct {
	s    *Session
	l    *locker
	data []byte
	err  error         // from validating the path
	sem  chan struct{} // holds a token while a Lock is under way or the lock is held

	mu sync.Mutex
	h  *hold // guarded by mu: the current hold, nil when not held
}

// NewMutex returns the mutex at path (Curator's InterProcessMutex(client, path)). Its nodes
// hold the Session's default data.
func NewMutex(s *Session, path string) *Mutex {
	return newMutex(s, path, "lock-", nil, 1)
}

func newMutex(s *Session, path, lockName string, data []byte, maxLeases int) *Mutex {
	return &Mutex{
		s:    s,
		l:    newLocker(s, path, lockName, maxLeases),
		data: data,
		err:  validatePath(path),
		sem:  make(chan struct{}, 1),
	}
}

// Lock acquires the lock, waiting as long as ctx allows. It returns ctx's error when ctx
// ends first (its node is then deleted), or ErrClosed.
func (m *Mutex) Lock(ctx context.Context) error {
	_, err := m.lock(ctx, true)
	return err
}

// TryLock acquires the lock if no other contender holds it or waits for it, as Curator's
// acquire(0, unit): it reports whether it did.
func (m *Mutex) TryLock(ctx context.Context) (bool, error) {
	return m.lock(ctx, false)
}

func (m *Mutex) lock(ctx context.Context, wait bool) (bool, error) {
	if m.err != nil {
		return false, m.err
	}
	if wait {
		select {
		case m.sem <- struct{}{}:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	} else {
		select {
		case m.sem <- struct{}{}:
		default:
			return false, nil
		}
	}
	path, gen, err := m.l.acquire(ctx, m.data, wait)
	if err != nil || path == "" {
		<-m.sem
		return false, err
	}
	h := m.s.newHold(path, gen)
	m.mu.Lock()
	m.h = h
	m.mu.Unlock()
	return true, nil
}

// Unlock releases the lock: it deletes the lock node, retrying through connection losses (in
// the background once ctx ends, as Curator's guaranteed delete). It returns ErrNotHeld when
// the lock is not held, and ErrLockLost when the hold had already been lost (see Lost).
func (m *Mutex) Unlock(ctx context.Context) error {
	m.mu.Lock()
	h := m.h
	m.h = nil
	m.mu.Unlock()
	if h == nil {
		return ErrNotHeld
	}
	err := h.release(ctx)
	<-m.sem
	return err
}

// Lost returns a channel that is closed when the current hold is lost (see Mutex); it is
// closed already when the lock is not held.
func (m *Mutex) Lost() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return closedChan
	}
	return m.h.lostc
}

// IsHeld reports whether this Mutex holds the lock and has not lost it.
func (m *Mutex) IsHeld() bool {
	m.mu.Lock()
	h := m.h
	m.mu.Unlock()
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.lost
}

// Node returns the path of the lock node while the lock is held, else "".
func (m *Mutex) Node() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return ""
	}
	return m.h.path
}

// Participants returns the paths of every contender's node, the holder's first (Curator's
// getParticipantNodes).
func (m *Mutex) Participants(ctx context.Context) ([]string, error) {
	if m.err != nil {
		return nil, m.err
	}
	return m.l.participants(ctx)
}
