package watch

import (
	"sync"

	"github.com/paddock/paddock/internal/proto"
)

// route says what an event does: the bits it fires on the path itself, the
// one-shot bits it consumes there, and whether recursive watches on ancestors
// fire. fire == 0 means the event concerns no watch.
func route(typ proto.EventType) (fire, consume uint8, ancestors bool) {
	switch typ {
	case proto.EventNodeCreated, proto.EventNodeDataChanged:
		return bitData | bitPersistent | bitRecursive, bitData, true
	case proto.EventNodeDeleted:
		return allBits, bitData | bitChild, true
	case proto.EventNodeChildrenChanged:
		return bitChild | bitPersistent, bitChild, false
	}
	return 0, 0, false
}

// Trigger delivers the event (typ, path) with the txn's zxid to every watcher
// it concerns (see the package doc for the routing), at most once per watcher,
// and consumes the one-shot watches it fires.
//
// allow, when not nil, is asked once per selected watcher, just before its
// delivery; a watcher it refuses is not notified, and its one-shot watch is
// consumed all the same. That is what ZooKeeper 3.9 does: WatchManager.
// triggerWatch removes the watches under its lock, then NIOServerCnxn.process
// checks READ on the node and drops the event when the check fails.
//
// allow and Notify are called after the registry's lock is released, on the
// calling goroutine. Event types other than NodeCreated, NodeDeleted,
// NodeDataChanged and NodeChildrenChanged concern no watch.
func (r *Registry) Trigger(typ proto.EventType, path string, zxid int64, allow func(w Watcher) bool) {
	fire, consume, ancestors := route(typ)
	if fire == 0 {
		return
	}
	// Most writes concern no watch: find that out under the read lock,
	// which is cheaper than the write lock and does not stop readers.
	ancestors = ancestors && len(path) > 1
	r.mu.RLock()
	idle := r.paths[path] == nil && !(ancestors && r.recursiveAbove(path))
	r.mu.RUnlock()
	if idle {
		return
	}

	r.mu.Lock()
	n := r.paths[path]
	ancestors = ancestors && r.recursiveAbove(path)
	if n == nil && !ancestors {
		r.mu.Unlock()
		return
	}

	// Small fan-outs collect on this stack; larger ones move to a pooled
	// buffer (see grow), so that neither allocates in steady state.
	var stack [16]*watcherState
	sel := stack[:0]
	var pooled *[]*watcherState
	// Only watchers met on more than one path need deduplicating: mark
	// them with this call's epoch when an ancestor walk follows, and leave
	// every watcher's memory alone otherwise.
	var epoch uint64
	if ancestors {
		r.epoch++
		epoch = r.epoch
	}
	if n != nil {
		sel, pooled = grow(sel, pooled, n.size())
		sel = r.fireNode(sel, n, path, fire, consume, epoch)
	}
	if ancestors {
		for i := len(path) - 1; i > 0; i-- {
			if path[i] == '/' {
				sel, pooled = r.fireRecursive(sel, pooled, path[:i], epoch)
			}
		}
		sel, pooled = r.fireRecursive(sel, pooled, "/", epoch)
	}
	r.mu.Unlock()

	ev := proto.WatcherEvent{Type: typ, State: proto.StateSyncConnected, Path: path}
	for _, ws := range sel {
		if allow != nil && !allow(ws.w) {
			continue
		}
		ws.w.Notify(ev, zxid)
	}
	if pooled != nil {
		clear(sel) // keep no watcher alive from the pool
		*pooled = (*pooled)[:0]
		selPool.Put(pooled)
	}
}

// recursiveAbove reports whether a proper ancestor of path holds a recursive
// watch. The caller holds mu.
func (r *Registry) recursiveAbove(path string) bool {
	if len(r.rec) == 0 {
		return false
	}
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '/' && r.rec[path[:i]] != nil {
			return true
		}
	}
	return r.rec["/"] != nil
}

// fireNode selects the watchers of n (the event's own path) that the event
// fires, appends them to sel and consumes their one-shot bits. sel has room
// for n.size() more; epoch is 0 when no deduplication is needed. The caller
// holds mu.
//
// Unless epoch is set, it reads n and nothing else: the consumed paths stay in
// the watchers' own indexes (see watcherState.paths), because on a large
// fan-out every touch of another watcher's memory is a cache miss.
func (r *Registry) fireNode(sel []*watcherState, n *node, path string, fire, consume uint8, epoch uint64) []*watcherState {
	if n.m == nil {
		return r.fireOne(sel, n, path, fire, consume, epoch)
	}
	start := len(sel)
	dropped, dropData, dropChild := 0, 0, 0
	for ws, bits := range n.m {
		if bits&fire == 0 {
			continue
		}
		if epoch != 0 {
			ws.mark = epoch
		}
		sel = append(sel, ws)
		if bits&consume == 0 {
			continue
		}
		if rest := bits &^ consume; rest != 0 {
			// Keeps a persistent or recursive part, or a one-shot kind
			// this event does not concern.
			r.set(ws, path, bits, rest)
			continue
		}
		// Emptied. Unlinked from n below, or with the whole of n.
		dropped++
		dropData += b2i(bits&inData != 0)
		dropChild += b2i(bits&inChild != 0)
	}
	if dropped == 0 {
		return sel
	}
	r.dataPairs -= dropData
	r.childPairs -= dropChild
	if dropped == len(n.m) {
		delete(r.paths, path)
		return sel
	}
	for _, ws := range sel[start:] {
		if n.m[ws]&^consume == 0 { // still the bits it had: emptied above
			delete(n.m, ws)
		}
	}
	return sel
}

// fireOne is fireNode for a path with its watcher inline.
func (r *Registry) fireOne(sel []*watcherState, n *node, path string, fire, consume uint8, epoch uint64) []*watcherState {
	ws, bits := n.w1, n.b1
	if bits&fire == 0 {
		return sel
	}
	if epoch != 0 {
		ws.mark = epoch
	}
	sel = append(sel, ws)
	if bits&consume == 0 {
		return sel
	}
	if rest := bits &^ consume; rest != 0 {
		r.set(ws, path, bits, rest)
		return sel
	}
	r.dataPairs -= b2i(bits&inData != 0)
	r.childPairs -= b2i(bits&inChild != 0)
	delete(r.paths, path)
	return sel
}

// fireRecursive appends the watchers with a recursive watch on the ancestor
// anc that this event has not selected yet. The caller holds mu.
func (r *Registry) fireRecursive(sel []*watcherState, pooled *[]*watcherState, anc string, epoch uint64) ([]*watcherState, *[]*watcherState) {
	recs := r.rec[anc]
	if len(recs) == 0 {
		return sel, pooled
	}
	sel, pooled = grow(sel, pooled, len(recs))
	for ws := range recs {
		if ws.mark != epoch {
			ws.mark = epoch
			sel = append(sel, ws)
		}
	}
	return sel, pooled
}

var selPool = sync.Pool{New: func() any { return new([]*watcherState) }}

// grow makes room in sel for n more watchers, moving sel to a buffer from
// selPool (held in *pooled) when it is too small, so that appends up to n
// never reallocate away from that buffer and Trigger can return it whole.
func grow(sel []*watcherState, pooled *[]*watcherState, n int) ([]*watcherState, *[]*watcherState) {
	need := len(sel) + n
	if need <= cap(sel) {
		return sel, pooled
	}
	if pooled == nil {
		pooled = selPool.Get().(*[]*watcherState)
	}
	buf := *pooled
	if need > cap(buf) {
		buf = make([]*watcherState, 0, max(need, 2*cap(buf)))
	}
	buf = append(buf[:0], sel...)
	*pooled = buf
	return buf, pooled
}
