package recipe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/paddock/paddock/client"
)

// SharedCount is Curator's SharedCount: an int32 shared by processes, stored in its node as
// 4 bytes big-endian. It caches the value, watches the node, and reads it again on every
// reconnection; OnChange hears of every change it sees.
//
// The node is persistent: a connection loss or a session expiry changes nothing on the
// ensemble. While the connection is lost, Count and VersionedCount return the last value
// read, which may be stale; on reconnection (with the same session or, after StateLost, a new
// one) the value is read again, and a change made meanwhile is reported to onChange. SetCount
// retries through both (it is idempotent). TrySetCount makes one attempt: when its request
// is cut off it fails with client.ErrConnectionLoss (it may or may not have been applied) or,
// when the session ends meanwhile, with client.ErrSessionExpired or client.ErrClosed; read
// VersionedCount again before the next attempt, which fails at a stale version rather than
// applying twice.
type SharedCount struct {
	s        *Session
	path     string
	seed     int32
	onChange func(int32)
	err      error
	notify   serial

	mu       sync.Mutex
	value    int32 // guarded by mu
	version  int32 // guarded by mu: -1 before the first read
	started  bool  // guarded by mu
	cancel   context.CancelFunc
	donec    chan struct{}
	wakec    chan struct{}
	unlisten func()
}

// NewSharedCount returns the count at path, created with seed if missing. onChange, if not
// nil, is called with each new value it sees, in order, one call at a time.
func NewSharedCount(s *Session, path string, seed int32, onChange func(int32)) *SharedCount {
	return &SharedCount{s: s, path: path, seed: seed, onChange: onChange, err: validatePath(path),
		value: seed, version: -1, donec: make(chan struct{}), wakec: make(chan struct{}, 1)}
}

func encodeInt32(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

func decodeInt32(b []byte) (int32, error) {
	if len(b) < 4 {
		return 0, fmt.Errorf("%w: %d bytes for a 4-byte count", ErrCorrupt, len(b))
	}
	return int32(binary.BigEndian.Uint32(b)), nil
}

// Start creates the node if missing, reads the value and starts watching it.
func (sc *SharedCount) Start(ctx context.Context) error {
	if sc.err != nil {
		return sc.err
	}
	sc.mu.Lock()
	if sc.started {
		sc.mu.Unlock()
		return ErrNotStarted
	}
	sc.started = true
	sc.mu.Unlock()
	if err := sc.s.retry(ctx, func(c *client.Client) error {
		_, err := create(ctx, c, sc.path, encodeInt32(sc.seed), client.ModePersistent)
		if errors.Is(err, client.ErrNodeExists) {
			return nil
		}
		return err
	}); err != nil {
		return err
	}
	if _, err := sc.read(ctx); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(context.Background())
	sc.cancel = cancel
	sc.unlisten = sc.s.Listen(func(st ConnState) {
		if st.Connected() {
			select {
			case sc.wakec <- struct{}{}:
			default:
			}
		}
	})
	go sc.watch(wctx)
	return nil
}

// read reads the value with a watch and records it; it returns the watch.
func (sc *SharedCount) read(ctx context.Context) (<-chan client.WatchEvent, error) {
	var data []byte
	var st client.Stat
	var wch <-chan client.WatchEvent
	err := sc.s.retry(ctx, func(c *client.Client) error {
		var err error
		data, st, wch, err = c.GetDataW(ctx, sc.path)
		return err
	})
	if err != nil {
		return nil, err
	}
	v, err := decodeInt32(data)
	if err != nil {
		return wch, err
	}
	sc.update(st.Version, v)
	return wch, nil
}

// update records a value if its version is newer, and tells onChange.
func (sc *SharedCount) update(version, v int32) {
	sc.mu.Lock()
	if version <= sc.version {
		sc.mu.Unlock()
		return
	}
	changed := sc.version < 0 || v != sc.value
	sc.version, sc.value = version, v
	sc.mu.Unlock()
	if changed && sc.onChange != nil {
		sc.notify.do(func() { sc.onChange(v) })
	}
}

func (sc *SharedCount) watch(ctx context.Context) {
	defer close(sc.donec)
	var b backoff
	for ctx.Err() == nil {
		wch, err := sc.read(ctx)
		if err != nil {
			_ = b.sleep(ctx)
			continue
		}
		b = backoff{}
		select {
		case <-wch:
		case <-sc.wakec:
		case <-ctx.Done():
		}
	}
}

// Count returns the cached value.
func (sc *SharedCount) Count() int32 {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.value
}

// VersionedCount returns the cached value and the node version it was read at.
func (sc *SharedCount) VersionedCount() (value, version int32) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.value, sc.version
}

// SetCount sets the value whatever it was.
func (sc *SharedCount) SetCount(ctx context.Context, v int32) error {
	var st client.Stat
	err := sc.s.retry(ctx, func(c *client.Client) error {
		var err error
		st, err = c.SetData(ctx, sc.path, encodeInt32(v), client.AnyVersion)
		return err
	})
	if err == nil {
		sc.update(st.Version, v)
	}
	return err
}

// TrySetCount sets the value only if the node is still at version (from VersionedCount), and
// reports whether it did; when it did not, the cached value is refreshed. It is not retried
// through a connection loss (see SharedCount).
func (sc *SharedCount) TrySetCount(ctx context.Context, version, v int32) (bool, error) {
	c, _, err := sc.s.current(ctx)
	if err != nil {
		return false, err
	}
	st, err := c.SetData(ctx, sc.path, encodeInt32(v), version)
	if errors.Is(err, client.ErrBadVersion) {
		_, err := sc.read(ctx)
		return false, err
	}
	if err != nil {
		return false, err
	}
	sc.update(st.Version, v)
	return true, nil
}

// Close stops watching.
func (sc *SharedCount) Close() error {
	sc.mu.Lock()
	started := sc.started && sc.cancel != nil
	sc.mu.Unlock()
	if !started {
		return nil
	}
	sc.unlisten()
	sc.cancel()
	<-sc.donec
	return nil
}

// AtomicLong is Curator's DistributedAtomicLong: an int64 in its node as 8 bytes big-endian
// (a missing or empty node reads as 0), changed by optimistic compare-and-set on the node's
// version, retried until it succeeds or the context ends.
//
// The node is persistent, so session expiry loses nothing. Reads retry through connection
// losses and session changes (waiting for the next connection or session). A change whose
// conditional write is cut off fails with client.ErrConnectionLoss (or, when the session ends
// meanwhile, client.ErrSessionExpired or client.ErrClosed) rather than being tried again: it
// may or may not have been applied, and trying again could apply it twice. A change that
// fails otherwise was not applied; one that succeeds was applied exactly once.
type AtomicLong struct {
	s    *Session
	path string
	err  error
}

// NewAtomicLong returns the atomic long at path.
func NewAtomicLong(s *Session, path string) *AtomicLong {
	return &AtomicLong{s: s, path: path, err: validatePath(path)}
}

func decodeInt64(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) < 8 {
		return 0, fmt.Errorf("%w: %d bytes for an 8-byte long", ErrCorrupt, len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// get returns the value, its version, and whether the node exists.
func (a *AtomicLong) get(ctx context.Context) (int64, int32, bool, error) {
	var data []byte
	var st client.Stat
	err := a.s.retry(ctx, func(c *client.Client) error {
		var err error
		data, st, err = c.GetData(ctx, a.path)
		return err
	})
	if errors.Is(err, client.ErrNoNode) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	v, err := decodeInt64(data)
	return v, st.Version, true, err
}

// Get returns the value.
func (a *AtomicLong) Get(ctx context.Context) (int64, error) {
	if a.err != nil {
		return 0, a.err
	}
	v, _, _, err := a.get(ctx)
	return v, err
}

// trySet makes one attempt to replace the value read with f's; it reports false when
// another writer came first.
func (a *AtomicLong) trySet(ctx context.Context, f func(int64) int64) (pre, post int64, ok bool, err error) {
	pre, version, exists, err := a.get(ctx)
	if err != nil {
		return 0, 0, false, err
	}
	post = f(pre)
	c, _, err := a.s.current(ctx)
	if err != nil {
		return 0, 0, false, err
	}
	data := binary.BigEndian.AppendUint64(nil, uint64(post))
	if exists {
		_, err = c.SetData(ctx, a.path, data, version)
	} else {
		_, err = create(ctx, c, a.path, data, client.ModePersistent)
	}
	if errors.Is(err, client.ErrBadVersion) || errors.Is(err, client.ErrNodeExists) || errors.Is(err, client.ErrNoNode) {
		return pre, post, false, nil
	}
	return pre, post, err == nil, err
}

// update applies f until it wins; a connection loss in the middle fails the call, since the
// change may or may not have been applied.
func (a *AtomicLong) update(ctx context.Context, f func(int64) int64) (pre, post int64, err error) {
	if a.err != nil {
		return 0, 0, a.err
	}
	var b backoff
	for {
		if err := b.pause(ctx); err != nil {
			return 0, 0, err
		}
		pre, post, ok, err := a.trySet(ctx, f)
		if err != nil || ok {
			return pre, post, err
		}
	}
}

// Add adds delta and returns the values before and after.
func (a *AtomicLong) Add(ctx context.Context, delta int64) (pre, post int64, err error) {
	return a.update(ctx, func(v int64) int64 { return v + delta })
}

// Increment adds one; Decrement subtracts one.
func (a *AtomicLong) Increment(ctx context.Context) (pre, post int64, err error) {
	return a.Add(ctx, 1)
}

// Decrement subtracts one.
func (a *AtomicLong) Decrement(ctx context.Context) (pre, post int64, err error) {
	return a.Add(ctx, -1)
}

// Set sets the value (optimistically, as Curator's trySet) and returns the previous one.
func (a *AtomicLong) Set(ctx context.Context, v int64) (pre int64, err error) {
	pre, _, err = a.update(ctx, func(int64) int64 { return v })
	return pre, err
}

// CompareAndSet sets the value to v if it is expected (and the node exists), once.
func (a *AtomicLong) CompareAndSet(ctx context.Context, expected, v int64) (bool, error) {
	if a.err != nil {
		return false, a.err
	}
	cur, version, exists, err := a.get(ctx)
	if err != nil || !exists || cur != expected {
		return false, err
	}
	c, _, err := a.s.current(ctx)
	if err != nil {
		return false, err
	}
	_, err = c.SetData(ctx, a.path, binary.BigEndian.AppendUint64(nil, uint64(v)), version)
	if errors.Is(err, client.ErrBadVersion) || errors.Is(err, client.ErrNoNode) {
		return false, nil
	}
	return err == nil, err
}

// Initialize creates the node with v if it does not exist, and reports whether it did.
func (a *AtomicLong) Initialize(ctx context.Context, v int64) (bool, error) {
	if a.err != nil {
		return false, a.err
	}
	err := a.s.retry(ctx, func(c *client.Client) error {
		_, err := create(ctx, c, a.path, binary.BigEndian.AppendUint64(nil, uint64(v)), client.ModePersistent)
		return err
	})
	if errors.Is(err, client.ErrNodeExists) {
		return false, nil
	}
	return err == nil, err
}

// ForceSet sets the value without looking at the current one.
func (a *AtomicLong) ForceSet(ctx context.Context, v int64) error {
	if a.err != nil {
		return a.err
	}
	data := binary.BigEndian.AppendUint64(nil, uint64(v))
	return a.s.retry(ctx, func(c *client.Client) error {
		_, err := c.SetData(ctx, a.path, data, client.AnyVersion)
		if errors.Is(err, client.ErrNoNode) {
			_, err = create(ctx, c, a.path, data, client.ModePersistent)
			if errors.Is(err, client.ErrNodeExists) {
				_, err = c.SetData(ctx, a.path, data, client.AnyVersion)
			}
		}
		return err
	})
}
