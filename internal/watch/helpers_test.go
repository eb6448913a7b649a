package watch

import (
	"fmt"
	"sync"
	"testing"

	"github.com/paddock/paddock/internal/proto"
)

// conn is a test Watcher that records what it is sent.
type conn struct {
	name string

	mu  sync.Mutex
	got []note
}

type note struct {
	ev   proto.WatcherEvent
	zxid int64
}

func newConn(name string) *conn { return &conn{name: name} }

func (c *conn) Notify(ev proto.WatcherEvent, zxid int64) {
	c.mu.Lock()
	c.got = append(c.got, note{ev, zxid})
	c.mu.Unlock()
}

// take returns and forgets what c received.
func (c *conn) take() []note {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.got
	c.got = nil
	return got
}

func (c *conn) String() string { return c.name }

// counter is a Watcher for benchmarks and fan-out tests.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) Notify(proto.WatcherEvent, int64) { c.mu.Lock(); c.n++; c.mu.Unlock() }

func (c *counter) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

// checkInvariants recomputes every index and counter of r from the per-path
// table and fails t on any disagreement.
func checkInvariants(t testing.TB, r *Registry) {
	t.Helper()
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := r.invariantError(); err != nil {
		t.Fatal(err)
	}
}

func (r *Registry) invariantError() error {
	data, child := 0, 0
	recs := 0
	for path, n := range r.paths {
		if n.size() == 0 {
			return fmt.Errorf("path %q kept with no watcher", path)
		}
		if n.m != nil && (n.w1 != nil || n.b1 != 0) {
			return fmt.Errorf("path %q: inline slot used beside the map", path)
		}
		if n.w1 == nil && n.b1 != 0 {
			return fmt.Errorf("path %q: bits without a watcher", path)
		}
		for ws, bits := range n.all() {
			if bits == 0 || bits&^allBits != 0 {
				return fmt.Errorf("path %q: bad bits %#x", path, bits)
			}
			if r.watchers[ws.w] != ws {
				return fmt.Errorf("path %q: watcher %v not indexed", path, ws.w)
			}
			if _, ok := ws.paths[path]; !ok {
				return fmt.Errorf("path %q: missing from watcher %v's paths", path, ws.w)
			}
			_, inRec := r.rec[path][ws]
			if inRec != (bits&bitRecursive != 0) {
				return fmt.Errorf("path %q: watcher %v recursive index %v, bits %#x", path, ws.w, inRec, bits)
			}
			if bits&inData != 0 {
				data++
				if !ws.dataEver {
					return fmt.Errorf("path %q: watcher %v holds a data-table watch without dataEver", path, ws.w)
				}
			}
			if bits&inChild != 0 {
				child++
			}
			if bits&bitRecursive != 0 {
				recs++
			}
		}
	}
	for path, set := range r.rec {
		if len(set) == 0 {
			return fmt.Errorf("rec %q kept empty", path)
		}
		recs -= len(set)
	}
	if recs != 0 {
		return fmt.Errorf("recursive index has %d entries too many", -recs)
	}
	for w, ws := range r.watchers {
		if ws.w != w {
			return fmt.Errorf("watcher %v indexed under %v", ws.w, w)
		}
		if len(ws.paths) >= ws.tidyAt {
			return fmt.Errorf("watcher %v: %d paths, compaction due at %d", w, len(ws.paths), ws.tidyAt)
		}
	}
	if data != r.dataPairs || child != r.childPairs {
		return fmt.Errorf("counters data=%d child=%d, recount data=%d child=%d", r.dataPairs, r.childPairs, data, child)
	}
	return nil
}

// kinds returns the kinds w holds on path, read through the bits.
func (r *Registry) kinds(path string, w Watcher) []Kind {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ws := r.watchers[w]
	if ws == nil {
		return nil
	}
	bits := r.bits(path, ws)
	var out []Kind
	for k := KindData; k <= KindPersistentRecursive; k++ {
		if bits&(1<<k) != 0 {
			out = append(out, k)
		}
	}
	return out
}
