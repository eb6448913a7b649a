package recipe

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/paddock/paddock/client"
)

// errNodeGone says that a contender's own sequential node is no longer there (its session
// was lost): Curator then creates a new one and starts again.
var errNodeGone = errors.New("recipe: sequential node is gone")

// locker is Curator's LockInternals: every contender creates a protected ephemeral
// sequential node "<lockName><seq>" under base; gets decides from the children, sorted by
// sequence, whether ours holds the lock and which node to watch otherwise. Safe for
// concurrent use: it keeps no state between calls.
type locker struct {
	s        *Session
	base     string
	lockName string
	sortKey  func(name string) string
	gets     func(children []string, ours string) (ok bool, watch string, err error)
	// only keeps the participants whose name contains lockName (Curator's read-write lock).
	only bool
}

// newLocker returns the standard locker of Curator's StandardLockInternalsDriver: the first
// maxLeases nodes hold the lock, and each other node watches the one maxLeases before it.
func newLocker(s *Session, base, lockName string, maxLeases int) *locker {
	return &locker{
		s:        s,
		base:     base,
		lockName: lockName,
		sortKey:  func(n string) string { return fixForSorting(n, lockName) },
		gets: func(kids []string, ours string) (bool, string, error) {
			i := slices.Index(kids, ours)
			if i < 0 {
				return false, "", errNodeGone
			}
			if i < maxLeases {
				return true, "", nil
			}
			return false, kids[i-maxLeases], nil
		},
	}
}

// acquire creates our node and waits until it holds the lock (or, without wait, looks once).
// It returns the node's path and the generation of the session it belongs to; "" when it
// did not get the lock without waiting. On failure our node is deleted in the background.
func (l *locker) acquire(ctx context.Context, data []byte, wait bool) (string, uint64, error) {
	for {
		path, gen, err := l.s.createProtected(ctx, join(l.base, l.lockName), data, client.ModeEphemeralSequential)
		if err != nil {
			return "", 0, err
		}
		ok, err := l.wait(ctx, path, gen, wait)
		if ok {
			return path, gen, nil
		}
		l.s.background(func(bctx context.Context) { _ = l.s.deleteGuaranteed(bctx, path) })
		if errors.Is(err, errNodeGone) {
			continue
		}
		return "", 0, err
	}
}

// wait is Curator's internalLockLoop for our node at path, created by the session of gen.
func (l *locker) wait(ctx context.Context, path string, gen uint64, wait bool) (bool, error) {
	ours := nodeName(path)
	var b backoff
	for {
		c, g, err := l.s.current(ctx)
		if err != nil {
			return false, err
		}
		if g != gen {
			return false, errNodeGone
		}
		kids, err := sortedChildren(ctx, c, l.base, l.sortKey)
		if err != nil {
			if retryable(err) {
				if err := b.pause(ctx); err != nil {
					return false, err
				}
				continue
			}
			return false, err
		}
		ok, watch, err := l.gets(kids, ours)
		if err != nil || ok || !wait {
			return ok, err
		}
		// getData rather than exists, so that a node deleted meanwhile leaves no watch.
		_, _, wch, err := c.GetDataW(ctx, join(l.base, watch))
		if errors.Is(err, client.ErrNoNode) {
			continue
		}
		if err != nil {
			if retryable(err) {
				if err := b.pause(ctx); err != nil {
					return false, err
				}
				continue
			}
			return false, err
		}
		select {
		case <-wch:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// participants returns the paths of the contenders' nodes, in lock order.
func (l *locker) participants(ctx context.Context) ([]string, error) {
	var kids []string
	err := l.s.retry(ctx, func(c *client.Client) error {
		var err error
		kids, err = sortedChildren(ctx, c, l.base, l.sortKey)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(kids))
	for _, k := range kids {
		if !l.only || strings.Contains(k, l.lockName) {
			out = append(out, join(l.base, k))
		}
	}
	return out, nil
}
