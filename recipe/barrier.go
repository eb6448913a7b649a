package recipe

import (
	"context"
	"errors"
	"slices"

	"github.com/paddock/paddock/client"
)

// Barrier is Curator's DistributedBarrier: the barrier is up while its node exists, and
// waiters block until it is removed.
type Barrier struct {
	s    *Session
	path string
	err  error
}

// NewBarrier returns the barrier at path.
func NewBarrier(s *Session, path string) *Barrier {
	return &Barrier{s: s, path: path, err: validatePath(path)}
}

// Set sets the barrier: creates its node (with the Session's default data), if missing.
func (b *Barrier) Set(ctx context.Context) error {
	if b.err != nil {
		return b.err
	}
	return b.s.ensure(ctx, b.path, nil)
}

// Remove removes the barrier, releasing the waiters.
func (b *Barrier) Remove(ctx context.Context) error {
	if b.err != nil {
		return b.err
	}
	return b.s.retry(ctx, func(c *client.Client) error {
		return ignoreNoNode(c.Delete(ctx, b.path, client.AnyVersion))
	})
}

// Wait blocks until the barrier is not set, or ctx ends.
func (b *Barrier) Wait(ctx context.Context) error {
	if b.err != nil {
		return b.err
	}
	for {
		var ok bool
		var wch <-chan client.WatchEvent
		err := b.s.retry(ctx, func(c *client.Client) error {
			var err error
			ok, _, wch, err = c.ExistsW(ctx, b.path)
			return err
		})
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		select {
		case <-wch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// DoubleBarrier is Curator's DistributedDoubleBarrier: members enter together once
// memberQty of them have arrived, and leave together once all have left. Each member is an
// ephemeral node <path>/<uuid> (with the Session's default data); the last to arrive creates
// <path>/ready, and the last to leave deletes it.
//
// A member whose session is lost while in the barrier is no longer counted (its node is
// gone): Enter and Leave then fail with ErrLockLost.
type DoubleBarrier struct {
	s         *Session
	path      string
	memberQty int
	ours      string
	ready     string
	err       error

	gen uint64 // generation of the session our node belongs to
}

// NewDoubleBarrier returns a member of the double barrier at path for memberQty members.
func NewDoubleBarrier(s *Session, path string, memberQty int) *DoubleBarrier {
	err := validatePath(path)
	if err == nil && memberQty < 1 {
		err = errors.New("recipe: a double barrier needs at least one member")
	}
	return &DoubleBarrier{s: s, path: path, memberQty: memberQty, ours: join(path, newUUID()), ready: join(path, "ready"), err: err}
}

// Enter joins the barrier and waits until memberQty members have joined.
func (d *DoubleBarrier) Enter(ctx context.Context) error {
	if d.err != nil {
		return d.err
	}
	c, gen, err := d.s.current(ctx)
	if err != nil {
		return err
	}
	d.gen = gen
	readyExists, _, readyc, err := c.ExistsW(ctx, d.ready)
	if err != nil {
		return err
	}
	if err := d.s.retry(ctx, func(c *client.Client) error {
		_, err := create(ctx, c, d.ours, d.s.data(nil), client.ModeEphemeral)
		if errors.Is(err, client.ErrNodeExists) {
			return nil
		}
		return err
	}); err != nil {
		return err
	}
	if readyExists {
		return nil
	}
	var b backoff
	for {
		if err := b.pause(ctx); err != nil {
			return err
		}
		c, gen, err := d.s.current(ctx)
		if err != nil {
			return err
		}
		if gen != d.gen {
			return ErrLockLost
		}
		kids, err := c.GetChildren(ctx, d.path)
		if err != nil {
			if retryable(err) {
				continue
			}
			return err
		}
		if len(kids) >= d.memberQty {
			_, err := c.Create(ctx, d.ready, d.s.data(nil), client.ModePersistent, nil)
			if err == nil || errors.Is(err, client.ErrNodeExists) {
				return nil
			}
			if !retryable(err) {
				return err
			}
			continue
		}
		select {
		case ev := <-readyc:
			if ev.Type == client.EventNodeCreated {
				return nil
			}
			// The watch ended with its session; set it again.
			if _, _, readyc, err = c.ExistsW(ctx, d.ready); err != nil && !retryable(err) {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Leave leaves the barrier and waits until every member has left (Curator's algorithm: the
// lowest member waits for the highest, the others delete their node and wait for the
// lowest).
func (d *DoubleBarrier) Leave(ctx context.Context) error {
	if d.err != nil {
		return d.err
	}
	ourName := nodeName(d.ours)
	shouldExist := true
	var b backoff
	for {
		c, gen, err := d.s.current(ctx)
		if err != nil {
			return err
		}
		kids, err := c.GetChildren(ctx, d.path)
		if errors.Is(err, client.ErrNoNode) {
			kids, err = nil, nil
		}
		if err != nil {
			if retryable(err) {
				_ = b.sleep(ctx)
				continue
			}
			return err
		}
		kids = slices.DeleteFunc(kids, func(k string) bool { return k == "ready" })
		slices.Sort(kids)
		if len(kids) == 0 {
			break
		}
		i := slices.Index(kids, ourName)
		if i < 0 && shouldExist {
			if gen != d.gen {
				return ErrLockLost
			}
			return errors.New("recipe: double barrier: our node is missing")
		}
		if len(kids) == 1 {
			if shouldExist && kids[0] != ourName {
				return errors.New("recipe: double barrier: the last node is not ours")
			}
			if shouldExist {
				if err := ignoreNoNode(c.Delete(ctx, d.ours, client.AnyVersion)); err != nil && !retryable(err) {
					return err
				}
			}
			break
		}
		watch := kids[0]
		if i == 0 {
			watch = kids[len(kids)-1]
		} else if shouldExist {
			if err := ignoreNoNode(c.Delete(ctx, d.ours, client.AnyVersion)); err != nil {
				if retryable(err) {
					continue
				}
				return err
			}
			shouldExist = false
		}
		ok, _, wch, err := c.ExistsW(ctx, join(d.path, watch))
		if err != nil {
			if retryable(err) {
				continue
			}
			return err
		}
		if ok {
			select {
			case <-wch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return d.s.retry(ctx, func(c *client.Client) error {
		return ignoreNoNode(c.Delete(ctx, d.ready, client.AnyVersion))
	})
}
