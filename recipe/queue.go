package recipe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/paddock/paddock/client"
)

// Curator's ItemSerializer framing of a queue node's data.
const (
	queueVersion   = 0x00010001
	queueItemOp    = 0x01
	queueEOFOp     = 0x02
	queueItemName  = "queue-"
	maxQueueFrames = 1 << 20
)

// EncodeQueueItems frames items as Curator's ItemSerializer does: a 4-byte version
// 0x00010001, then for each item the byte 0x01, its length (4 bytes) and its bytes, and the
// byte 0x02 at the end (all big-endian).
func EncodeQueueItems(items [][]byte) []byte {
	n := 5
	for _, it := range items {
		n += 5 + len(it)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, queueVersion)
	for _, it := range items {
		b = append(b, queueItemOp)
		b = binary.BigEndian.AppendUint32(b, uint32(len(it)))
		b = append(b, it...)
	}
	return append(b, queueEOFOp)
}

// DecodeQueueItems parses what EncodeQueueItems (or Curator) wrote.
func DecodeQueueItems(b []byte) ([][]byte, error) {
	if len(b) < 4 || binary.BigEndian.Uint32(b) != queueVersion {
		return nil, fmt.Errorf("%w: queue item: bad version", ErrCorrupt)
	}
	b = b[4:]
	items := [][]byte{}
	for {
		if len(b) == 0 {
			return nil, fmt.Errorf("%w: queue item: no end", ErrCorrupt)
		}
		op := b[0]
		b = b[1:]
		if op == queueEOFOp {
			return items, nil
		}
		if op != queueItemOp || len(b) < 4 || len(items) >= maxQueueFrames {
			return nil, fmt.Errorf("%w: queue item: bad opcode %d", ErrCorrupt, op)
		}
		size := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(size) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: queue item: bad size %d", ErrCorrupt, size)
		}
		items = append(items, b[:size:size])
		b = b[size:]
	}
}

// Queue is Curator's DistributedQueue without its optional lock path: items are persistent
// sequential nodes <path>/queue-<seq> whose data frames one or more items (Curator's
// ItemSerializer; the bytes of each item are its QueueSerializer's), taken in sequence order.
// Java producers and consumers share it with Go ones.
//
// Like Curator's queue without a lock path, delivery is at most once: Take deletes a node
// before returning its items, so items taken by a consumer that then fails are lost.
type Queue struct {
	s    *Session
	path string
	err  error
}

// NewQueue returns the queue at path.
func NewQueue(s *Session, path string) *Queue {
	return &Queue{s: s, path: path, err: validatePath(path)}
}

// Put adds one node holding items (Curator's put for one item, putMulti for several). It
// returns the node's path.
func (q *Queue) Put(ctx context.Context, items ...[]byte) (string, error) {
	if q.err != nil {
		return "", q.err
	}
	// A sequential create whose reply is lost cannot be told from one that was never made: the
	// protected prefix would change the node's name, which Curator's consumers accept only
	// after "queue-", so (like Curator) a create is retried only while nothing was sent.
	c, _, err := q.s.current(ctx)
	if err != nil {
		return "", err
	}
	return create(ctx, c, join(q.path, queueItemName), EncodeQueueItems(items), client.ModePersistentSequential)
}

// Take removes the oldest node and returns its items, waiting for one as long as ctx allows.
func (q *Queue) Take(ctx context.Context) ([][]byte, error) {
	if q.err != nil {
		return nil, q.err
	}
	var b backoff
	for {
		if err := b.pause(ctx); err != nil {
			return nil, err
		}
		c, _, err := q.s.current(ctx)
		if err != nil {
			return nil, err
		}
		kids, wch, err := c.GetChildrenW(ctx, q.path)
		if errors.Is(err, client.ErrNoNode) {
			if err := q.s.ensure(ctx, q.path, nil); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			if retryable(err) {
				continue
			}
			return nil, err
		}
		kids = slices.DeleteFunc(kids, func(k string) bool { return !strings.HasPrefix(k, queueItemName) })
		slices.Sort(kids)
		for _, k := range kids {
			p := join(q.path, k)
			data, st, err := c.GetData(ctx, p)
			if errors.Is(err, client.ErrNoNode) {
				continue
			}
			if err != nil {
				break
			}
			err = c.Delete(ctx, p, st.Version)
			if errors.Is(err, client.ErrNoNode) || errors.Is(err, client.ErrBadVersion) {
				continue // another consumer took it
			}
			if err != nil {
				break
			}
			return DecodeQueueItems(data)
		}
		if len(kids) > 0 {
			continue
		}
		b = backoff{}
		select {
		case <-wch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Len returns the number of nodes in the queue.
func (q *Queue) Len(ctx context.Context) (int, error) {
	var n int
	err := q.s.retry(ctx, func(c *client.Client) error {
		kids, err := c.GetChildren(ctx, q.path)
		if err != nil {
			return ignoreNoNode(err)
		}
		for _, k := range kids {
			if strings.HasPrefix(k, queueItemName) {
				n++
			}
		}
		return nil
	})
	return n, err
}
