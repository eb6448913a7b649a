package watch

import (
	"fmt"
	"sync"

	"github.com/paddock/paddock/internal/proto"
)

// Watcher receives notifications. It is implemented by a connection.
//
// Notify must not block and must not assume that it is called from any
// particular goroutine: it queues the event for the connection's writer. It is
// called without the registry's lock held and may be called after
// [Registry.RemoveAll] for the same watcher returned, when a Trigger was
// already delivering; a closed connection drops such events.
//
// The dynamic type of a Watcher must be comparable (a pointer, typically); it
// is the identity of the watches it holds.
type Watcher interface {
	Notify(ev proto.WatcherEvent, zxid int64)
}

// Kind is the kind of watch a request registers.
type Kind uint8

// Watch kinds.
const (
	// KindData is a one-shot watch set by getData or exists. ZooKeeper keeps
	// both in its data table, so they are one kind here too.
	KindData Kind = iota
	// KindChild is a one-shot watch set by getChildren or getChildren2.
	KindChild
	// KindPersistent is addWatch mode PERSISTENT: every event on the path
	// itself, until removed.
	KindPersistent
	// KindPersistentRecursive is addWatch mode PERSISTENT_RECURSIVE: created,
	// deleted and data-changed events on the path and every descendant, until
	// removed; never NodeChildrenChanged.
	KindPersistentRecursive
)

func (k Kind) String() string {
	switch k {
	case KindData:
		return "data"
	case KindChild:
		return "child"
	case KindPersistent:
		return "persistent"
	case KindPersistentRecursive:
		return "persistentRecursive"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Bits of the mode set of one (watcher, path) pair.
const (
	bitData       uint8 = 1 << KindData
	bitChild      uint8 = 1 << KindChild
	bitPersistent uint8 = 1 << KindPersistent
	bitRecursive  uint8 = 1 << KindPersistentRecursive

	// inData and inChild: the bits that put a pair in ZooKeeper's data table
	// and child table, for the reports and Count.
	inData  = bitData | bitPersistent | bitRecursive
	inChild = bitChild | bitPersistent
	allBits = bitData | bitChild | bitPersistent | bitRecursive
)

// watcherState is everything the registry knows about one watcher. It lives
// from the watcher's first Add until RemoveAll, as ZooKeeper's watch2Paths
// entry for a connection does: one small record per connection.
type watcherState struct {
	w Watcher // immutable; read without the lock during delivery

	// Guarded by Registry.mu.
	//
	// paths holds every path where this watcher has bits, and may hold
	// paths where it no longer has any: Trigger consumes one-shot watches
	// without touching this map or anything else of the watcher's, because
	// on a large fan-out each touch of another watcher is a cache miss.
	// Add compacts it when it has doubled (see tidy).
	paths    map[string]struct{}
	tidyAt   int    // len(paths) at which Add compacts paths
	dataEver bool   // has held a data-table watch (Summary counts it)
	mark     uint64 // last Trigger epoch that selected this watcher
}

// Registry is the watch registry of one server. The zero value is not usable;
// call [NewRegistry]. It is safe for concurrent use.
type Registry struct {
	mu sync.RWMutex

	// All guarded by mu.
	watchers map[Watcher]*watcherState
	// paths maps a path to the mode bits of each watcher on it; a watcher is
	// present only with non-zero bits, a path only with a watcher.
	paths map[string]*node
	// rec maps a path to the watchers holding a recursive watch on it: the
	// only table the ancestor walk reads. Empty means no ancestor walk.
	rec        map[string]map[*watcherState]struct{}
	dataPairs  int    // pairs in ZooKeeper's data table
	childPairs int    // pairs in ZooKeeper's child table
	epoch      uint64 // Trigger generation, for per-call deduplication
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		watchers: make(map[Watcher]*watcherState),
		paths:    make(map[string]*node),
		rec:      make(map[string]map[*watcherState]struct{}),
	}
}

// Add registers a watch of the given kind on path for w. Adding a kind that w
// already holds on path is a no-op; adding a different kind keeps both (a
// data watch and a persistent watch on one path coexist, as in ZooKeeper 3.9).
// The path is not validated and need not exist.
//
// A connection that has closed must not add watches: ZooKeeper ignores adds
// from a closed connection, and here only another RemoveAll would clear them.
// Add panics on a Kind outside the four defined ones.
func (r *Registry) Add(path string, kind Kind, w Watcher) {
	if kind > KindPersistentRecursive {
		panic("watch: Add with invalid " + kind.String())
	}
	bit := uint8(1) << kind
	r.mu.Lock()
	defer r.mu.Unlock()
	ws := r.watchers[w]
	if ws == nil {
		ws = &watcherState{w: w, paths: make(map[string]struct{}), tidyAt: tidySlack}
		r.watchers[w] = ws
	}
	old := r.bits(path, ws)
	if old&bit == 0 {
		r.set(ws, path, old, old|bit)
		if old == 0 {
			r.tidy(ws)
		}
	}
}

// Remove is removeWatches: it removes w's watches of type typ on path and
// reports whether it removed anything (the server answers NOWATCHER when not).
// As in ZooKeeper 3.9's DataTree.removeWatch: Children removes the one-shot
// child watch, Data the one-shot data (getData/exists) watch, Persistent the
// persistent watch, PersistentRecursive the recursive watch, and Any every
// watch w has on path, persistent ones included. Any other typ removes nothing.
func (r *Registry) Remove(path string, typ proto.WatcherType, w Watcher) bool {
	mask := typeMask(typ)
	if mask == 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ws := r.watchers[w]
	if ws == nil {
		return false
	}
	old := r.bits(path, ws)
	if old&mask == 0 {
		return false
	}
	r.set(ws, path, old, old&^mask)
	return true
}

// Has is checkWatches: whether w holds a watch of type typ on path, with the
// types of [Registry.Remove] (Any: any watch at all).
func (r *Registry) Has(path string, typ proto.WatcherType, w Watcher) bool {
	mask := typeMask(typ)
	if mask == 0 {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	ws := r.watchers[w]
	if ws == nil {
		return false
	}
	return r.bits(path, ws)&mask != 0
}

// RemoveAll removes every watch of w; the server calls it when the connection
// closes.
func (r *Registry) RemoveAll(w Watcher) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ws := r.watchers[w]
	if ws == nil {
		return
	}
	for path := range ws.paths {
		r.set(ws, path, r.bits(path, ws), 0) // a no-op on a stale path
	}
	delete(r.watchers, w)
}

// typeMask maps a removeWatches/checkWatches type to the bits it selects.
func typeMask(typ proto.WatcherType) uint8 {
	switch typ {
	case proto.WatcherChildren:
		return bitChild
	case proto.WatcherData:
		return bitData
	case proto.WatcherAny:
		return allBits
	case proto.WatcherPersistent:
		return bitPersistent
	case proto.WatcherPersistentRecursive:
		return bitRecursive
	}
	return 0
}

// set changes the mode bits of (ws, path) from their current value, from, to
// the value to, and keeps every index and counter in step. The caller holds mu
// for writing.
func (r *Registry) set(ws *watcherState, path string, from, to uint8) {
	if from == to {
		return
	}
	r.dataPairs += b2i(to&inData != 0) - b2i(from&inData != 0)
	r.childPairs += b2i(to&inChild != 0) - b2i(from&inChild != 0)
	if to&inData != 0 {
		ws.dataEver = true
	}
	if (from^to)&bitRecursive != 0 {
		if to&bitRecursive != 0 {
			recs := r.rec[path]
			if recs == nil {
				recs = make(map[*watcherState]struct{}, 1)
				r.rec[path] = recs
			}
			recs[ws] = struct{}{}
		} else {
			recs := r.rec[path]
			delete(recs, ws)
			if len(recs) == 0 {
				delete(r.rec, path)
			}
		}
	}
	n := r.paths[path]
	switch {
	case to == 0:
		n.del(ws)
		if n.size() == 0 {
			delete(r.paths, path)
		}
		delete(ws.paths, path)
	case from == 0:
		if n == nil {
			n = new(node)
			r.paths[path] = n
		}
		n.put(ws, to)
		ws.paths[path] = struct{}{}
	default:
		n.put(ws, to)
	}
}

// bits returns the mode bits of ws on path. The caller holds mu.
func (r *Registry) bits(path string, ws *watcherState) uint8 {
	if n := r.paths[path]; n != nil {
		return n.get(ws)
	}
	return 0
}

// tidy drops the stale paths of ws once ws.paths has doubled since the last
// pass. A pass over n entries comes after at least n/2 adds, so Add stays O(1)
// amortized, and ws.paths never exceeds twice what ws watched at its peak
// (plus tidySlack). The caller holds mu for writing.
func (r *Registry) tidy(ws *watcherState) {
	if len(ws.paths) < ws.tidyAt {
		return
	}
	for path := range ws.paths {
		if r.bits(path, ws) == 0 {
			delete(ws.paths, path)
		}
	}
	ws.tidyAt = 2*len(ws.paths) + tidySlack
}

// tidySlack lets a watcher with few watches keep a few stale paths, so that a
// connection re-arming the same handful of one-shot watches never compacts.
const tidySlack = 16

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
