package recipe

import (
	"context"
	"errors"
	"slices"

	"github.com/paddock/paddock/client"
)

// Semaphore is Curator's InterProcessSemaphoreV2: at most maxLeases leases are held at a
// time across processes. A lease is a protected ephemeral sequential node
// "_c_<uuid>-lease-<seq>" under <path>/leases; it is taken while holding the Mutex at
// <path>/locks, and held once there are at most maxLeases lease nodes. Every participant must
// use the same maxLeases.
//
// A Lease is lost, like a Mutex hold, when the Session enters an error state of its
// ErrorPolicy (by default on a connection loss, before the ensemble can expire the session):
// Lost's channel is closed, Release returns ErrLockLost, and the node is deleted as soon as
// possible, so the lease goes to the next contender. An Acquire that is waiting when the
// lock at <path>/locks is lost that way gives up its lease node and starts again.
type Semaphore struct {
	s         *Session
	lock      *Mutex
	leases    string
	maxLeases int
	data      []byte
	err       error
}

// Lease is one lease of a Semaphore.
type Lease struct {
	h *hold
}

// NewSemaphore returns the semaphore at path with maxLeases leases. Lease nodes hold data, or
// the Session's default data for nil (Curator's setNodeData).
func NewSemaphore(s *Session, path string, maxLeases int, data []byte) *Semaphore {
	err := validatePath(path)
	if err == nil && maxLeases < 1 {
		err = errors.New("recipe: a semaphore needs at least one lease")
	}
	return &Semaphore{
		s:         s,
		lock:      newMutex(s, join(path, "locks"), "lock-", nil, 1),
		leases:    join(path, "leases"),
		maxLeases: maxLeases,
		data:      data,
		err:       err,
	}
}

// Acquire takes qty leases, waiting as long as ctx allows; on failure it returns none.
func (sem *Semaphore) Acquire(ctx context.Context, qty int) ([]*Lease, error) {
	if sem.err != nil {
		return nil, sem.err
	}
	var got []*Lease
	for len(got) < qty {
		l, err := sem.acquire1(ctx)
		if err != nil {
			for _, l := range got {
				_ = l.Release(ctx)
			}
			return nil, err
		}
		got = append(got, l)
	}
	return got, nil
}

func (sem *Semaphore) acquire1(ctx context.Context) (*Lease, error) {
	for {
		if err := sem.lock.Lock(ctx); err != nil {
			return nil, err
		}
		l, err := sem.lease(ctx)
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		_ = sem.lock.Unlock(uctx)
		cancel()
		if errors.Is(err, errNodeGone) {
			continue
		}
		return l, err
	}
}

// lease creates our lease node and waits until it is among the first maxLeases.
func (sem *Semaphore) lease(ctx context.Context) (*Lease, error) {
	path, gen, err := sem.s.createProtected(ctx, join(sem.leases, "lease-"), sem.data, client.ModeEphemeralSequential)
	if err != nil {
		return nil, err
	}
	ours := nodeName(path)
	// The lock keeps two contenders from creating lease nodes that both wait: when it is lost
	// while we wait (the connection was lost, the session may live on), another contender
	// can take it and add its lease node, and once both wait for fewer than maxLeases
	// others, neither would ever get a lease. Start again instead, under the lock.
	lockLost := sem.lock.Lost()
	var b backoff
	for {
		err := func() error {
			c, g, err := sem.s.current(ctx)
			if err != nil {
				return err
			}
			if g != gen {
				return errNodeGone
			}
			kids, wch, err := c.GetChildrenW(ctx, sem.leases)
			if err != nil {
				return err
			}
			if !slices.Contains(kids, ours) {
				return errNodeGone
			}
			if len(kids) <= sem.maxLeases {
				return nil
			}
			select {
			case <-wch:
				return errWake
			case <-lockLost:
				return errNodeGone
			case <-ctx.Done():
				return ctx.Err()
			}
		}()
		switch {
		case err == nil:
			return &Lease{h: sem.s.newHold(path, gen)}, nil
		case errors.Is(err, errWake):
			continue
		case retryable(err) && ctx.Err() == nil:
			_ = b.sleep(ctx)
			continue
		}
		sem.s.background(func(bctx context.Context) { _ = sem.s.deleteGuaranteed(bctx, path) })
		return nil, err
	}
}

// errWake says that a watch fired: look again.
var errWake = errors.New("recipe: wake")

// Participants returns the names of the lease nodes.
func (sem *Semaphore) Participants(ctx context.Context) ([]string, error) {
	var kids []string
	err := sem.s.retry(ctx, func(c *client.Client) error {
		var err error
		kids, err = c.GetChildren(ctx, sem.leases)
		return ignoreNoNode(err)
	})
	return kids, err
}

// Release returns the lease: its node is deleted (guaranteed). It returns ErrLockLost when
// the lease had been lost.
func (l *Lease) Release(ctx context.Context) error { return l.h.release(ctx) }

// Lost returns a channel closed when the lease is lost.
func (l *Lease) Lost() <-chan struct{} { return l.h.lostc }

// Node returns the path of the lease's node.
func (l *Lease) Node() string { return l.h.path }
