package tree

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
	"unsafe"
)

// pathCache memoizes lookup: walking four components costs a chain of dependent cache
// misses per level (the chunk index, the keys, the name), a hit costs a hash and the entry.
// A path lives in slot hash&mask or its neighbour (the same cache line): direct-mapped, the
// 10,000 keys of paddock bench missed 14% of the time, as every path sharing its slot with
// another lost it on each round; with the neighbour, 2%.
//
// Every entry names the node now at its path. Only found nodes are cached, so a create has
// nothing to invalidate; a path stops naming its node when the node is unlinked or replaced
// by its clone in mut, and both forget the path (unlink, mut). Restore builds a new tree,
// with a new cache. So no entry ever pins a deleted node or an old copy.
//
// Readers run concurrently (under the server's read lock) and publish entries, so slots are
// atomic and an entry never changes once stored. Apply runs alone, and is the only one to
// remove entries; it looks nodes up with walk and findWalk, which neither read nor fill the
// cache: under setData load a hash per lookup cost more than the walk it saved.
type pathCache struct {
	seed  maphash.Seed
	mask  uint64 // len(slots)-1
	slots []atomic.Pointer[cacheEntry]
}

// cacheSlots is 2^16: 512 KiB of slots per tree and at most 7 MiB of entries, small beside
// a million znodes (~250 bytes each), and four times the 10,000 hot keys of the benchmark.
const cacheSlots = 1 << 16

// inlinePath is how long a path may be and still be copied into its entry: one allocation
// per published entry, and the bytes compared on a hit share the entry's cache lines. It
// makes an entry exactly 112 bytes, a size class.
const inlinePath = 84

// cacheEntry says that path names n. gen is n's, copied so that a hit reads only the entry.
type cacheEntry struct {
	path string
	n    *node
	gen  uint32
	buf  [inlinePath]byte
}

// newPathCache returns a cache of size slots, a power of two; tests use tiny ones, where
// paths collide all the time.
func newPathCache(size int) *pathCache {
	return &pathCache{seed: maphash.MakeSeed(), mask: uint64(size - 1), slots: make([]atomic.Pointer[cacheEntry], size)}
}

// lookup is find that also reports whether the node and all its ancestors belong to the
// current generation, in which case the node may be modified in place without mut. A node
// of the current generation only ever hangs under ancestors of the current generation
// (create inserts under a node made modifiable, mut clones from the root down, rollback
// reinserts under mut's result), so a cached node's own gen tells.
func (t *Tree) lookup(path string) (*node, bool) {
	c := t.cache
	if c == nil || len(path) < 2 {
		return t.walk(path)
	}
	i := maphash.String(c.seed, path) & c.mask
	e0 := c.slots[i].Load()
	if e0 != nil && e0.path == path {
		return e0.n, e0.gen == t.gen
	}
	e1 := c.slots[i^1].Load()
	if e1 != nil && e1.path == path {
		return e1.n, e1.gen == t.gen
	}
	n, owned := t.walk(path)
	if n == nil {
		return nil, false
	}
	if e0 != nil && e1 == nil {
		i = i ^ 1
	}
	c.slots[i].Store(newEntry(path, n))
	return n, owned
}

// newEntry copies the path: a caller's may alias a request buffer.
func newEntry(path string, n *node) *cacheEntry {
	e := &cacheEntry{n: n, gen: n.gen}
	if len(path) <= inlinePath {
		copy(e.buf[:], path)
		e.path = unsafe.String(&e.buf[0], len(path))
	} else {
		e.path = strings.Clone(path)
	}
	return e
}

// forget removes path's entry. Apply calls it, alone.
func (c *pathCache) forget(path string) {
	if c == nil || len(path) < 2 {
		return
	}
	i := maphash.String(c.seed, path) & c.mask
	for _, j := range [2]uint64{i, i ^ 1} {
		if e := c.slots[j].Load(); e != nil && e.path == path {
			c.slots[j].Store(nil)
		}
	}
}

// reset removes every entry.
func (c *pathCache) reset() {
	if c == nil {
		return
	}
	for i := range c.slots {
		c.slots[i].Store(nil)
	}
}
