package tree

import (
	"iter"
	"slices"
	"strings"
)

// kids are a node's children in name order, kept in chunks of at most kidsChunk, so that
// adding or removing a child moves at most one chunk's pointers (a sorted slice would move
// half of a large directory's on every create with a random name), and cloning a node for a
// new generation copies the chunk index, not every child pointer.
//
// Chunks follow the tree's copy-on-write rule (see the package doc): a chunk whose gen
// differs from the generation modifying it may be shared with a snapshot and is copied
// before it changes. The methods that modify take that generation, the node's own.
type kids struct {
	chunks []kidRef // in order; none empty
	n      int
}

// kidRef is a chunk with a copy of its last child's name, so that finding the chunk of a
// name reads the index, not every chunk it passes (a large directory's chunks are spread
// over the heap, and each step would cost cache misses).
type kidRef struct {
	last string
	c    *kidChunk
}

// sync refreshes chunk ci's last name after the chunk changed.
func (k *kids) sync(ci int) {
	ns := k.chunks[ci].c.nodes
	k.chunks[ci].last = lastName(ns[len(ns)-1])
}

// lastName is a copy of c's name for the index: a substring would keep c's buffer, and with
// it data that setData has since replaced, alive.
func lastName(c *node) string { return strings.Clone(c.name()) }

// kidChunk holds up to kidsChunk children. Beside the pointers it keeps a 4-byte key per
// child, so that a search reads one small contiguous array instead of following a pointer
// to a node and another to its name at every step (cache misses, each): every name in the
// chunk starts with the same skip bytes, and a child's key is the next 4 bytes of its name,
// big-endian and zero-padded. Keys never decrease along the chunk, and only children with
// equal keys need their names compared.
type kidChunk struct {
	gen   uint32
	skip  uint32   // the length of a prefix every name in the chunk shares
	keys  []uint32 // keys[i] = keyAt(nodes[i].name(), skip)
	nodes []*node  // sorted by name, 1..kidsChunk of them
}

// keyAt is name's 4 bytes from skip on, big-endian, zero-padded past its end.
func keyAt(name string, skip uint32) uint32 {
	var k uint32
	for j := int(skip); j < int(skip)+4; j++ {
		k <<= 8
		if j < len(name) {
			k |= uint32(name[j])
		}
	}
	return k
}

func commonPrefix(a, b string) uint32 {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return uint32(i)
		}
	}
	return uint32(n)
}

// rekey sets skip to the prefix all the chunk's names share (the first's and the last's,
// as they are sorted) and computes every key again.
func (c *kidChunk) rekey() {
	c.skip = commonPrefix(c.nodes[0].name(), c.nodes[len(c.nodes)-1].name())
	c.keys = c.keys[:0]
	for _, n := range c.nodes {
		c.keys = append(c.keys, keyAt(n.name(), c.skip))
	}
}

// insertAt puts n at position i, which keeps the chunk sorted.
func (c *kidChunk) insertAt(i int, n *node) {
	c.nodes = slices.Insert(growChunk(c.nodes), i, n)
	if len(c.nodes) == 1 {
		c.skip = uint32(len(n.name()))
		c.keys = append(c.keys[:0], 0)
		return
	}
	other := c.nodes[0]
	if i == 0 {
		other = c.nodes[1]
	}
	if commonPrefix(n.name(), other.name()) < c.skip {
		c.rekey()
		return
	}
	c.keys = slices.Insert(growChunk(c.keys), i, keyAt(n.name(), c.skip))
}

// growChunk makes room for one more element, doubling up to kidsChunk and never past it
// (append would round up further, and a chunk never holds more).
func growChunk[E any](s []E) []E {
	if len(s) < cap(s) {
		return s
	}
	g := make([]E, len(s), min(max(2*cap(s), 8), kidsChunk))
	copy(g, s)
	return g
}

// removeAt takes out the child at i; the others keep their prefix and keys.
func (c *kidChunk) removeAt(i int) {
	c.nodes = slices.Delete(c.nodes, i, i+1)
	c.keys = slices.Delete(c.keys, i, i+1)
}

// kidsChunk is the most children a chunk holds. 255 pointers are 2,040 bytes, and with the
// 8-byte header Go gives larger objects that hold pointers, exactly a 2,048-byte size class
// (256 would take the 2,304-byte class); 255 keys fit the 1,024-byte class.
const kidsChunk = 255

func (k *kids) len() int { return k.n }

// search returns where name is, or would be inserted: the chunk, the index in it, and
// whether it is there. An insert at the very end is (ci = last chunk, i = its length).
func (k *kids) search(name string) (ci, i int, found bool) {
	cs := k.chunks
	if len(cs) == 0 {
		return 0, 0, false
	}
	// Sequential names arrive in order: check the end first.
	if cs[len(cs)-1].last < name {
		return len(cs) - 1, len(cs[len(cs)-1].c.nodes), false
	}
	lo, hi := 0, len(cs)-1 // the first chunk whose last name is >= name
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cs[m].last < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	ch := cs[lo].c
	ns := ch.nodes
	if ch.skip > 0 {
		// The index's copy of the last name holds the prefix without a trip to a node.
		if p := cs[lo].last[:ch.skip]; !strings.HasPrefix(name, p) {
			if name < p {
				return lo, 0, false
			}
			return lo, len(ns), false
		}
	}
	key := keyAt(name, ch.skip)
	keys := ch.keys
	a, b := 0, len(keys)
	for a < b {
		m := int(uint(a+b) >> 1)
		if keys[m] < key {
			a = m + 1
		} else {
			b = m
		}
	}
	for ; a < len(keys) && keys[a] == key; a++ {
		switch n := ns[a].name(); {
		case n == name:
			return lo, a, true
		case n > name:
			return lo, a, false
		}
	}
	return lo, a, false
}

// get returns the child called name, or nil.
func (k *kids) get(name string) *node {
	if ci, i, ok := k.search(name); ok {
		return k.chunks[ci].c.nodes[i]
	}
	return nil
}

// own returns chunk ci ready to be modified by generation gen, copying it (with room for
// extra more nodes) when it belongs to another.
func (k *kids) own(ci int, gen uint32, extra int) *kidChunk {
	c := k.chunks[ci].c
	if c.gen != gen {
		nodes := make([]*node, len(c.nodes), min(len(c.nodes)+extra, kidsChunk))
		copy(nodes, c.nodes)
		keys := make([]uint32, len(c.keys), min(len(c.keys)+extra, kidsChunk))
		copy(keys, c.keys)
		c = &kidChunk{gen: gen, skip: c.skip, keys: keys, nodes: nodes}
		k.chunks[ci].c = c
	}
	return c
}

// set replaces the child at (ci, i), found by search, by c.
func (k *kids) set(ci, i int, c *node, gen uint32) {
	k.own(ci, gen, 0).nodes[i] = c
}

// insert adds c, whose name is not among the children, for generation gen.
func (k *kids) insert(c *node, gen uint32) {
	k.n++
	if len(k.chunks) == 0 {
		ch := &kidChunk{gen: gen, keys: make([]uint32, 0, 4), nodes: make([]*node, 0, 4)}
		ch.insertAt(0, c)
		k.chunks = []kidRef{{last: lastName(c), c: ch}}
		return
	}
	ci, i, _ := k.search(c.name())
	if ci == len(k.chunks)-1 && i == kidsChunk {
		// Past the end of a full last chunk (sequential names): a new chunk, not a split, so
		// that chunks filled in order stay full instead of half empty.
		ch := &kidChunk{gen: gen, keys: make([]uint32, 0, 8), nodes: make([]*node, 0, 8)}
		ch.insertAt(0, c)
		k.chunks = append(k.chunks, kidRef{c: ch})
		k.sync(ci + 1)
		return
	}
	ch := k.own(ci, gen, 1)
	if len(ch.nodes) < kidsChunk {
		ch.insertAt(i, c)
		k.sync(ci)
		return
	}
	// Full: split it in two halves, then insert into the one that takes the name.
	half := kidsChunk / 2
	right := &kidChunk{gen: gen, nodes: make([]*node, kidsChunk-half, kidsChunk), keys: make([]uint32, 0, kidsChunk)}
	copy(right.nodes, ch.nodes[half:])
	clear(ch.nodes[half:])
	ch.nodes = ch.nodes[:half]
	ch.rekey()
	right.rekey()
	k.chunks = append(k.chunks, kidRef{})
	copy(k.chunks[ci+2:], k.chunks[ci+1:])
	k.chunks[ci+1] = kidRef{c: right}
	if i > half {
		ch, i = right, i-half
	}
	ch.insertAt(i, c)
	k.sync(ci)
	k.sync(ci + 1)
}

// remove takes the child called name out, for generation gen, and returns it (nil if there
// is none).
func (k *kids) remove(name string, gen uint32) *node {
	ci, i, ok := k.search(name)
	if !ok {
		return nil
	}
	ch := k.own(ci, gen, 0)
	c := ch.nodes[i]
	ch.removeAt(i)
	if len(ch.nodes) == 0 {
		copy(k.chunks[ci:], k.chunks[ci+1:])
		k.chunks[len(k.chunks)-1] = kidRef{}
		k.chunks = k.chunks[:len(k.chunks)-1]
		if len(k.chunks) == 0 {
			k.chunks = nil
		}
	} else {
		k.sync(ci)
	}
	k.n--
	return c
}

// appendLast adds c, whose name sorts after every child's, for generation gen (restoring a
// snapshot, which lists children in order). The index's copy of the last chunk's last name
// is left for seal, which the caller must call once the last child is in: a search before
// that goes wrong.
func (k *kids) appendLast(c *node, gen uint32) {
	k.n++
	if l := len(k.chunks); l > 0 && len(k.chunks[l-1].c.nodes) < kidsChunk && k.chunks[l-1].c.gen == gen {
		ch := k.chunks[l-1].c
		ch.insertAt(len(ch.nodes), c)
		return
	}
	k.seal()
	ch := &kidChunk{gen: gen, keys: make([]uint32, 0, 8), nodes: make([]*node, 0, 8)}
	ch.insertAt(0, c)
	k.chunks = append(k.chunks, kidRef{c: ch})
}

// seal sets the index's copy of the last chunk's last name after appendLast.
func (k *kids) seal() {
	if l := len(k.chunks); l > 0 {
		k.sync(l - 1)
	}
}

// last returns the last child, or nil.
func (k *kids) last() *node {
	if len(k.chunks) == 0 {
		return nil
	}
	ns := k.chunks[len(k.chunks)-1].c.nodes
	return ns[len(ns)-1]
}

// clone returns a copy for a node of another generation: a new index over the same chunks.
func (k *kids) clone() kids {
	if k.chunks == nil {
		return kids{}
	}
	return kids{chunks: append(make([]kidRef, 0, len(k.chunks)+1), k.chunks...), n: k.n}
}

// all yields the children in name order.
func (k *kids) all() iter.Seq[*node] {
	return func(yield func(*node) bool) {
		for _, ch := range k.chunks {
			for _, c := range ch.c.nodes {
				if !yield(c) {
					return
				}
			}
		}
	}
}

// backward yields the children in reverse name order.
func (k *kids) backward() iter.Seq[*node] {
	return func(yield func(*node) bool) {
		for ci := len(k.chunks) - 1; ci >= 0; ci-- {
			ns := k.chunks[ci].c.nodes
			for i := len(ns) - 1; i >= 0; i-- {
				if !yield(ns[i]) {
					return
				}
			}
		}
	}
}
