package watch

import "iter"

// node holds the watchers of one path and their mode bits. Most watched paths
// have a single watcher (one client's getData or exists), so the first one is
// kept inline: watching and firing such a path allocates one small object and
// iterates no map. From the second watcher on, node keeps them all in m.
// Every method needs Registry.mu (read or write as it reads or writes).
type node struct {
	w1 *watcherState // the only watcher while m is nil; nil when none
	b1 uint8         // w1's bits
	m  map[*watcherState]uint8
}

// get returns the bits of ws, 0 when it has none here.
func (n *node) get(ws *watcherState) uint8 {
	if n.m != nil {
		return n.m[ws]
	}
	if n.w1 == ws {
		return n.b1
	}
	return 0
}

// put sets the bits of ws, which are not 0.
func (n *node) put(ws *watcherState, bits uint8) {
	switch {
	case n.m != nil:
		n.m[ws] = bits
	case n.w1 == nil || n.w1 == ws:
		n.w1, n.b1 = ws, bits
	default:
		n.m = map[*watcherState]uint8{n.w1: n.b1, ws: bits}
		n.w1, n.b1 = nil, 0
	}
}

// del removes ws. A node that has grown a map keeps it.
func (n *node) del(ws *watcherState) {
	if n.m != nil {
		delete(n.m, ws)
	} else if n.w1 == ws {
		n.w1, n.b1 = nil, 0
	}
}

// size returns the number of watchers.
func (n *node) size() int {
	if n.m != nil {
		return len(n.m)
	}
	if n.w1 != nil {
		return 1
	}
	return 0
}

// all yields every watcher and its bits; not for hot paths.
func (n *node) all() iter.Seq2[*watcherState, uint8] {
	return func(yield func(*watcherState, uint8) bool) {
		if n.m == nil {
			if n.w1 != nil {
				yield(n.w1, n.b1)
			}
			return
		}
		for ws, bits := range n.m {
			if !yield(ws, bits) {
				return
			}
		}
	}
}
