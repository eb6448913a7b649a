package recipe

import (
	"context"
	"errors"
	"slices"

	"github.com/paddock/paddock/client"
)

// Barrier is Curator's DistributedBarrier: the barrier is up while its node exists, and
// waiters block until it is removed.
//
// The node is persistent, so neither a connection loss nor a session expiry (of the setter's
// session or a waiter's) changes the barrier: Set and Remove retry through both, and Wait
// keeps waiting with the next connection or session and returns nil once the node is gone,
// even when it was removed while the waiter was cut off. Only ctx ends a Wait early.
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

// Wait blocks until the barrier is not set, or ctx ends (returning ctx's error). Connection
// and session losses are waited through (see Barrier).
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
// Connection losses are retried through: the member's node lives on with its session. A
// member whose session is lost (StateLost) while in the barrier is no longer counted (its
// node is gone, or goes when the ensemble expires that session): Enter and Leave then fail
// with ErrLockLost as soon as the Session reports the loss, and the node is deleted in the
// background. Until the ensemble has expired the lost session, the other members may still
// count its node, as in Curator. A DoubleBarrier is for one goroutine at a time.
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

// Enter joins the barrier and waits until memberQty members have joined. It retries through
// connection losses; when the session that created this member's node is lost (StateLost)
// before the barrier is full, it returns ErrLockLost at once, without waiting for the next
// session: the node is gone (or about to go) with that session, so this member no longer
// counts. Entering again then joins with a new node.
func (d *DoubleBarrier) Enter(ctx context.Context) error {
	if d.err != nil {
		return d.err
	}
	var readyExists bool
	var readyc <-chan client.WatchEvent
	var b backoff
	for {
		if err := b.pause(ctx); err != nil {
			return err
		}
		c, gen, err := d.s.current(ctx)
		if err != nil {
			return err
		}
		readyExists, _, readyc, err = c.ExistsW(ctx, d.ready)
		if err == nil {
			_, err = create(ctx, c, d.ours, d.s.data(nil), client.ModeEphemeral)
			if errors.Is(err, client.ErrNodeExists) {
				// Our create whose reply was lost: keep it if this session made it; one of
				// an earlier session is deleted and made again, as is one gone meanwhile.
				var ok bool
				var st client.Stat
				ok, st, err = c.Exists(ctx, d.ours)
				switch {
				case err != nil:
				case !ok:
					continue
				case st.EphemeralOwner != c.SessionID():
					if err = ignoreNoNode(c.Delete(ctx, d.ours, client.AnyVersion)); err == nil {
						continue
					}
				}
			}
		}
		if err == nil {
			d.gen = gen
			break
		}
		if !retryable(err) {
			return err
		}
	}
	if readyExists {
		return nil
	}
	b = backoff{}
	for {
		if err := b.pause(ctx); err != nil {
			return err
		}
		if err := d.checkSession(); err != nil {
			return err
		}
		c, gen, err := d.s.current(ctx)
		if err != nil {
			return err
		}
		if gen != d.gen {
			return d.lost()
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
		if readyc == nil {
			// The watch failed to be set (connection loss): set it again.
			var ok bool
			ok, _, readyc, err = c.ExistsW(ctx, d.ready)
			if err != nil {
				if retryable(err) {
					readyc = nil
					continue
				}
				return err
			}
			if ok {
				return nil
			}
		}
		select {
		case ev := <-readyc:
			if ev.Type == client.EventNodeCreated {
				return nil
			}
			// The watch ended with its session (EventNotWatching): look again.
			readyc = nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// checkSession returns ErrLockLost (see lost) when the session our node belongs to has been
// lost. It does not wait for a new session, so a member hears of the loss at once.
func (d *DoubleBarrier) checkSession() error {
	if gen, _ := d.s.generation(); gen != d.gen {
		return d.lost()
	}
	return nil
}

// lost gives up our node, which belongs to a lost session: it is deleted in the background
// (it may linger on the servers until they expire that session, and would be counted as a
// member meanwhile), and a later Enter joins with a new node. It returns ErrLockLost.
func (d *DoubleBarrier) lost() error {
	old := d.ours
	d.ours = join(d.path, newUUID())
	d.s.background(func(ctx context.Context) { _ = d.s.deleteGuaranteed(ctx, old) })
	return ErrLockLost
}

// Leave leaves the barrier and waits until every member has left (Curator's algorithm: the
// lowest member waits for the highest, the others delete their node and wait for the
// lowest). It retries through connection losses; when the session that created this member's
// node is lost before Leave has deleted that node, it returns ErrLockLost at once (the other
// members see this one leave when its node goes). Once its node is deleted, a lost session
// only means waiting on with the next one.
func (d *DoubleBarrier) Leave(ctx context.Context) error {
	if d.err != nil {
		return d.err
	}
	ourName := nodeName(d.ours)
	shouldExist := true
	var b backoff
	for {
		if shouldExist {
			if err := d.checkSession(); err != nil {
				return err
			}
		}
		c, gen, err := d.s.current(ctx)
		if err != nil {
			return err
		}
		if shouldExist && gen != d.gen {
			return d.lost()
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
