package recipe

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paddock/paddock/client"
)

// ChildData is a node as a TreeCache holds it.
type ChildData struct {
	Path string
	Stat client.Stat
	Data []byte
}

// CacheEventType is the kind of a CacheEvent.
type CacheEventType int

// Cache events, as Curator's CuratorCacheListener.Type, and the end of the first load.
const (
	CacheNodeCreated CacheEventType = iota + 1
	CacheNodeChanged
	CacheNodeDeleted
	CacheInitialized
)

// String returns the event type's name.
func (t CacheEventType) String() string {
	switch t {
	case CacheNodeCreated:
		return "NODE_CREATED"
	case CacheNodeChanged:
		return "NODE_CHANGED"
	case CacheNodeDeleted:
		return "NODE_DELETED"
	case CacheInitialized:
		return "INITIALIZED"
	}
	return "CacheEventType(?)"
}

// CacheEvent is a change the cache saw: the node before (zero for a creation) and after
// (zero for a deletion).
type CacheEvent struct {
	Type     CacheEventType
	Old, New ChildData
}

// TreeCache is Curator's CuratorCache: a local copy of a subtree (the node at its path and
// every descendant), kept by one persistent recursive watch (addWatch, ZooKeeper 3.6+). It
// loads the whole subtree at Start and again after every reconnection (what a persistent
// watch missed while disconnected is not replayed), reporting the differences as events.
//
// The cache is eventually consistent: it reflects each change after its event arrives, and
// the ensemble's state after each reload.
type TreeCache struct {
	s        *Session
	path     string
	listener func(CacheEvent)
	err      error
	notify   serial

	mu       sync.Mutex
	nodes    map[string]ChildData // guarded by mu
	started  bool                 // guarded by mu
	initDone bool                 // guarded by mu
	initc    chan struct{}        // closed at the end of the first load
	cancel   context.CancelFunc
	donec    chan struct{}
	wakec    chan struct{}
	unlisten func()
}

// NewTreeCache returns a cache of the subtree at path. listener, if not nil, gets every
// event, in order, one call at a time.
func NewTreeCache(s *Session, path string, listener func(CacheEvent)) *TreeCache {
	return &TreeCache{s: s, path: path, listener: listener, err: validatePath(path), nodes: make(map[string]ChildData),
		initc: make(chan struct{}), donec: make(chan struct{}), wakec: make(chan struct{}, 1)}
}

// Start starts loading and watching in the background.
func (tc *TreeCache) Start() error {
	if tc.err != nil {
		return tc.err
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.started {
		return ErrNotStarted
	}
	tc.started = true
	ctx, cancel := context.WithCancel(context.Background())
	tc.cancel = cancel
	tc.unlisten = tc.s.Listen(func(st ConnState) {
		if st == StateReconnected || st == StateLost {
			select {
			case tc.wakec <- struct{}{}:
			default:
			}
		}
	})
	go tc.run(ctx)
	return nil
}

// Initialized returns a channel closed once the first load is complete.
func (tc *TreeCache) Initialized() <-chan struct{} { return tc.initc }

func (tc *TreeCache) run(ctx context.Context) {
	defer close(tc.donec)
	var b backoff
	for ctx.Err() == nil {
		if err := tc.session(ctx); err != nil && ctx.Err() == nil {
			tc.s.log.Info("tree cache", "path", tc.path, "err", err)
			_ = b.sleep(ctx)
		}
	}
}

// session serves one client: sets the watch, loads the tree and applies events until the
// connection comes back (reload) or the client is replaced.
func (tc *TreeCache) session(ctx context.Context) error {
	select {
	case <-tc.wakec:
	default:
	}
	c, _, err := tc.s.current(ctx)
	if err != nil {
		return err
	}
	w, err := c.AddWatch(ctx, tc.path, client.AddWatchPersistentRecursive)
	if err != nil {
		return err
	}
	ended := false // the watch ended with its client: nothing to remove
	defer func() {
		// Only a live watch of the current client is removed: Watcher.Remove reads the
		// client's watch tables without its lock, racing with a client that is ending.
		if ended || tc.s.Client() != c {
			return
		}
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = w.Remove(rctx)
		cancel()
	}()
	var b backoff
	for {
		// A failure that may be the client's end (or a connection loss) is not returned:
		// the cache waits and loads again, until the Session replaces the client.
		err := tc.load(ctx, c)
		if err == nil {
			if tc.setInitialized() {
				tc.emit(CacheEvent{Type: CacheInitialized})
			}
			b = backoff{}
			err = tc.follow(ctx, c, w)
		}
		switch {
		case errors.Is(err, errWatchEnded):
			ended = true
			return nil
		case err != nil && !retryable(err):
			return err
		case err != nil:
			if err := b.sleep(ctx); err != nil {
				return err
			}
		}
		if tc.s.Client() != c {
			return nil
		}
	}
}

// errWatchEnded says that the cache's watch ended with its client.
var errWatchEnded = errors.New("recipe: watch ended")

// follow applies the watch's events until the Session reconnects (nil: reload), or an error.
func (tc *TreeCache) follow(ctx context.Context, c *client.Client, w *client.Watcher) error {
	for {
		select {
		case ev, ok := <-w.Events():
			if !ok || ev.Type == client.EventNotWatching || ev.Type == client.EventPersistentWatchRemoved {
				return errWatchEnded
			}
			if err := tc.apply(ctx, c, ev); err != nil {
				return err
			}
		case <-tc.wakec:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (tc *TreeCache) setInitialized() bool {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.initDone {
		return false
	}
	tc.initDone = true
	close(tc.initc)
	return true
}

// load reads the whole subtree and reconciles the cache with it.
func (tc *TreeCache) load(ctx context.Context, c *client.Client) error {
	seen := map[string]bool{}
	var walk func(p string) error
	walk = func(p string) error {
		data, st, err := c.GetData(ctx, p)
		if errors.Is(err, client.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		seen[p] = true
		tc.put(ChildData{Path: p, Stat: st, Data: data})
		if st.NumChildren == 0 {
			return nil
		}
		kids, err := c.GetChildren(ctx, p)
		if errors.Is(err, client.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		slices.Sort(kids)
		for _, k := range kids {
			if err := walk(join(p, k)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(tc.path); err != nil {
		return err
	}
	tc.mu.Lock()
	var gone []string
	for p := range tc.nodes {
		if !seen[p] {
			gone = append(gone, p)
		}
	}
	tc.mu.Unlock()
	slices.Sort(gone)
	slices.Reverse(gone)
	for _, p := range gone {
		tc.remove(p)
	}
	return nil
}

// apply handles one event of the watch.
func (tc *TreeCache) apply(ctx context.Context, c *client.Client, ev client.WatchEvent) error {
	switch ev.Type {
	case client.EventNodeCreated, client.EventNodeDataChanged:
		data, st, err := c.GetData(ctx, ev.Path)
		if errors.Is(err, client.ErrNoNode) {
			tc.removeTree(ev.Path)
			return nil
		}
		if err != nil {
			return err
		}
		tc.put(ChildData{Path: ev.Path, Stat: st, Data: data})
	case client.EventNodeDeleted:
		tc.removeTree(ev.Path)
	}
	return nil
}

// put records a node, and emits a creation or a change if it is new or newer.
func (tc *TreeCache) put(d ChildData) {
	tc.mu.Lock()
	old, ok := tc.nodes[d.Path]
	if ok && old.Stat.Mzxid >= d.Stat.Mzxid && old.Stat.Czxid == d.Stat.Czxid {
		tc.mu.Unlock()
		return
	}
	tc.nodes[d.Path] = d
	tc.mu.Unlock()
	if ok && old.Stat.Czxid == d.Stat.Czxid {
		tc.emit(CacheEvent{Type: CacheNodeChanged, Old: old, New: d})
		return
	}
	if ok {
		tc.emit(CacheEvent{Type: CacheNodeDeleted, Old: old})
	}
	tc.emit(CacheEvent{Type: CacheNodeCreated, New: d})
}

func (tc *TreeCache) remove(p string) {
	tc.mu.Lock()
	old, ok := tc.nodes[p]
	delete(tc.nodes, p)
	tc.mu.Unlock()
	if ok {
		tc.emit(CacheEvent{Type: CacheNodeDeleted, Old: old})
	}
}

// removeTree removes a node and its descendants, deepest first.
func (tc *TreeCache) removeTree(p string) {
	tc.mu.Lock()
	var gone []string
	for q := range tc.nodes {
		if q == p || strings.HasPrefix(q, p+"/") || (p == "/" && q != "/") {
			gone = append(gone, q)
		}
	}
	tc.mu.Unlock()
	slices.Sort(gone)
	slices.Reverse(gone)
	for _, q := range gone {
		tc.remove(q)
	}
}

func (tc *TreeCache) emit(ev CacheEvent) {
	if tc.listener != nil {
		tc.notify.do(func() { tc.listener(ev) })
	}
}

// Get returns the cached node at path.
func (tc *TreeCache) Get(path string) (ChildData, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	d, ok := tc.nodes[path]
	return d, ok
}

// Nodes returns every cached node, sorted by path. The slice is the caller's; the data is
// shared and must not be modified.
func (tc *TreeCache) Nodes() []ChildData {
	tc.mu.Lock()
	out := make([]ChildData, 0, len(tc.nodes))
	for _, d := range tc.nodes {
		out = append(out, d)
	}
	tc.mu.Unlock()
	slices.SortFunc(out, func(a, b ChildData) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// Children returns the cached children of path (names), sorted.
func (tc *TreeCache) Children(path string) []string {
	prefix := path + "/"
	if path == "/" {
		prefix = "/"
	}
	tc.mu.Lock()
	var out []string
	for p := range tc.nodes {
		if rest, ok := strings.CutPrefix(p, prefix); ok && rest != "" && !strings.Contains(rest, "/") {
			out = append(out, rest)
		}
	}
	tc.mu.Unlock()
	slices.Sort(out)
	return out
}

// Close stops the cache and removes its watch.
func (tc *TreeCache) Close() error {
	tc.mu.Lock()
	started := tc.started && tc.cancel != nil
	tc.mu.Unlock()
	if !started {
		return nil
	}
	tc.unlisten()
	tc.cancel()
	<-tc.donec
	return nil
}
