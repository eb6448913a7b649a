package tree

import (
	"iter"
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

type kidChunk struct {
	gen   uint32
	nodes []*node // sorted by name, 1..kidsChunk of them
}

const kidsChunk = 256

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
	ns := cs[lo].c.nodes
	a, b := 0, len(ns)
	for a < b {
		m := int(uint(a+b) >> 1)
		if ns[m].name() < name {
			a = m + 1
		} else {
			b = m
		}
	}
	return lo, a, a < len(ns) && ns[a].name() == name
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
		nodes := make([]*node, len(c.nodes), len(c.nodes)+extra)
		copy(nodes, c.nodes)
		c = &kidChunk{gen: gen, nodes: nodes}
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
		k.chunks = []kidRef{{last: lastName(c), c: &kidChunk{gen: gen, nodes: append(make([]*node, 0, 4), c)}}}
		return
	}
	ci, i, _ := k.search(c.name())
	ch := k.own(ci, gen, 1)
	if len(ch.nodes) < kidsChunk {
		ch.nodes = append(ch.nodes, nil)
		copy(ch.nodes[i+1:], ch.nodes[i:])
		ch.nodes[i] = c
		k.sync(ci)
		return
	}
	// Full: split it in two halves, then insert into the one that takes the name.
	half := kidsChunk / 2
	right := &kidChunk{gen: gen, nodes: make([]*node, kidsChunk-half, kidsChunk)}
	copy(right.nodes, ch.nodes[half:])
	clear(ch.nodes[half:])
	ch.nodes = ch.nodes[:half]
	k.chunks = append(k.chunks, kidRef{})
	copy(k.chunks[ci+2:], k.chunks[ci+1:])
	k.chunks[ci+1] = kidRef{c: right}
	if i > half {
		ch, i = right, i-half
	}
	ch.nodes = append(ch.nodes, nil)
	copy(ch.nodes[i+1:], ch.nodes[i:])
	ch.nodes[i] = c
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
	copy(ch.nodes[i:], ch.nodes[i+1:])
	ch.nodes[len(ch.nodes)-1] = nil
	ch.nodes = ch.nodes[:len(ch.nodes)-1]
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
// snapshot, which lists children in order).
func (k *kids) appendLast(c *node, gen uint32) {
	k.n++
	if l := len(k.chunks); l > 0 && len(k.chunks[l-1].c.nodes) < kidsChunk && k.chunks[l-1].c.gen == gen {
		k.chunks[l-1].c.nodes = append(k.chunks[l-1].c.nodes, c)
		k.chunks[l-1].last = lastName(c)
		return
	}
	k.chunks = append(k.chunks, kidRef{last: lastName(c), c: &kidChunk{gen: gen, nodes: append(make([]*node, 0, min(kidsChunk, 8)), c)}})
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
