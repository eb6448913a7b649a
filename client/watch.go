package client

import (
	"context"
	"sync"

	"github.com/paddock/paddock/internal/proto"
)

// watchSet is the client's side of its watches, keyed by server path (chroot included, as
// setWatches needs). The server keeps one watch per (path, kind) for the connection and sends
// one notification per change; the client fans it out to every watch that asked.
//
// Watches are registered, triggered and removed by the reader goroutine, in the order of the
// frames it reads: a watch set by a read is in place before the reply is handed to the caller,
// and an event is queued to its watch before any later reply is. One-shot watches are
// channels with room for their single event, so delivering never blocks the reader.
type watchSet struct {
	mu         sync.Mutex
	data       map[string][]chan WatchEvent // guarded by mu: getData, and exists of an existing node
	exist      map[string][]chan WatchEvent // guarded by mu: exists of a missing node
	child      map[string][]chan WatchEvent // guarded by mu: getChildren
	persistent map[string][]*Watcher        // guarded by mu
	recursive  map[string][]*Watcher        // guarded by mu
}

func (ws *watchSet) init() {
	ws.data = make(map[string][]chan WatchEvent)
	ws.exist = make(map[string][]chan WatchEvent)
	ws.child = make(map[string][]chan WatchEvent)
	ws.persistent = make(map[string][]*Watcher)
	ws.recursive = make(map[string][]*Watcher)
}

// watchRegKind is what a reply does to the watches.
type watchRegKind uint8

const (
	regData   watchRegKind = iota // getData: a data watch on OK
	regExists                     // exists: a data watch on OK, an exist watch on NONODE
	regChild                      // getChildren(2): a child watch on OK
	regAdd                        // addWatch: a persistent watch on OK
	regRemove                     // removeWatches: drop the local watches of a type on OK
)

// watchReg rides on a request and is applied by the reader when the reply arrives.
type watchReg struct {
	kind  watchRegKind
	path  string          // server path
	ch    chan WatchEvent // regData, regExists, regChild
	w     *Watcher        // regAdd
	wtype WatcherType     // regRemove
}

// onReply applies reg after a reply with code.
func (ws *watchSet) onReply(c *Client, reg *watchReg, code proto.Code) {
	if code != proto.CodeOK && !(reg.kind == regExists && code == proto.CodeNoNode) {
		return
	}
	ws.mu.Lock()
	switch reg.kind {
	case regData:
		ws.data[reg.path] = append(ws.data[reg.path], reg.ch)
	case regExists:
		if code == proto.CodeOK {
			ws.data[reg.path] = append(ws.data[reg.path], reg.ch)
		} else {
			ws.exist[reg.path] = append(ws.exist[reg.path], reg.ch)
		}
	case regChild:
		ws.child[reg.path] = append(ws.child[reg.path], reg.ch)
	case regAdd:
		if reg.w.isEnded() {
			break // AddWatch gave up waiting
		}
		m := ws.persistent
		if reg.w.mode == AddWatchPersistentRecursive {
			m = ws.recursive
		}
		m[reg.path] = append(m[reg.path], reg.w)
	case regRemove:
		ws.mu.Unlock()
		ws.removeLocal(c, reg.path, reg.wtype)
		return
	}
	ws.mu.Unlock()
}

// removeLocal ends the client's watches of type t on a server path, each with its
// "...WatchRemoved" event.
func (ws *watchSet) removeLocal(c *Client, path string, t WatcherType) {
	var data, child []chan WatchEvent
	var pers []*Watcher
	ws.mu.Lock()
	if t == WatcherData || t == WatcherAny {
		data = append(ws.data[path], ws.exist[path]...)
		delete(ws.data, path)
		delete(ws.exist, path)
	}
	if t == WatcherChildren || t == WatcherAny {
		child = ws.child[path]
		delete(ws.child, path)
	}
	if t == WatcherPersistent || t == WatcherAny {
		pers = append(pers, ws.persistent[path]...)
		delete(ws.persistent, path)
	}
	if t == WatcherPersistentRecursive || t == WatcherAny {
		pers = append(pers, ws.recursive[path]...)
		delete(ws.recursive, path)
	}
	ws.mu.Unlock()
	p := c.cs.clientPath(path)
	for _, ch := range data {
		fire(ch, WatchEvent{Type: EventDataWatchRemoved, Path: p, Zxid: -1})
	}
	for _, ch := range child {
		fire(ch, WatchEvent{Type: EventChildWatchRemoved, Path: p, Zxid: -1})
	}
	for _, w := range pers {
		w.finish(WatchEvent{Type: EventPersistentWatchRemoved, Path: p, Zxid: -1})
	}
}

// any reports whether the client has any watch on a server path.
func (ws *watchSet) any(path string) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return len(ws.data[path])+len(ws.exist[path])+len(ws.child[path])+len(ws.persistent[path])+len(ws.recursive[path]) > 0
}

// fire delivers the one event of a one-shot watch and closes its channel.
func fire(ch chan WatchEvent, ev WatchEvent) {
	ch <- ev
	close(ch)
}

// trigger fans a notification out to the watches it concerns, as ZooKeeper's client does:
// created and data-changed to data and exist watches, children-changed to child watches,
// deleted to all three; every event to the persistent watches on the path, and all but
// children-changed to the recursive watches on the path and its ancestors.
func (ws *watchSet) trigger(c *Client, t proto.EventType, path string, zxid int64) {
	var once []chan WatchEvent
	var pers []*Watcher
	ws.mu.Lock()
	take := func(m map[string][]chan WatchEvent) {
		if chs, ok := m[path]; ok {
			once = append(once, chs...)
			delete(m, path)
		}
	}
	switch t {
	case proto.EventNodeCreated, proto.EventNodeDataChanged:
		take(ws.data)
		take(ws.exist)
	case proto.EventNodeChildrenChanged:
		take(ws.child)
	case proto.EventNodeDeleted:
		take(ws.data)
		take(ws.exist)
		take(ws.child)
	}
	pers = append(pers, ws.persistent[path]...)
	if t != proto.EventNodeChildrenChanged && len(ws.recursive) > 0 {
		for p := path; ; p = proto.Parent(p) {
			pers = append(pers, ws.recursive[p]...)
			if p == "/" || p == "" {
				break
			}
		}
	}
	ws.mu.Unlock()
	if len(once) == 0 && len(pers) == 0 {
		return
	}
	ev := WatchEvent{Type: EventType(t), Path: c.cs.clientPath(path), Zxid: zxid}
	for _, ch := range once {
		fire(ch, ev)
	}
	for _, w := range pers {
		w.push(ev)
	}
}

// terminate ends every watch with EventNotWatching: the session expired or the client closed.
func (ws *watchSet) terminate(c *Client, why error) {
	ws.mu.Lock()
	var once []chan WatchEvent
	var pers []*Watcher
	paths := make(map[chan WatchEvent]string)
	for _, m := range []map[string][]chan WatchEvent{ws.data, ws.exist, ws.child} {
		for p, chs := range m {
			for _, ch := range chs {
				once = append(once, ch)
				paths[ch] = p
			}
		}
	}
	for _, m := range []map[string][]*Watcher{ws.persistent, ws.recursive} {
		for _, list := range m {
			pers = append(pers, list...)
		}
	}
	ws.init()
	ws.mu.Unlock()
	for _, ch := range once {
		fire(ch, WatchEvent{Type: EventNotWatching, Path: c.cs.clientPath(paths[ch]), Zxid: -1, Err: why})
	}
	for _, w := range pers {
		w.finish(WatchEvent{Type: EventNotWatching, Path: w.path, Zxid: -1, Err: why})
	}
}

// setWatchesMaxLength bounds the paths of one setWatches request, as ZooKeeper's Java client
// does (SET_WATCHES_MAX_LENGTH), so each stays far below jute.maxbuffer.
const setWatchesMaxLength = 128 << 10

// setWatchesRequests returns the setWatches requests that set the client's watches on a new
// connection, relative to zxid: the server fires at once a watch whose node changed after
// zxid (or was deleted, or, for an exist watch, created), and sets the others again.
// setWatches2 is used for a batch with persistent watches, setWatches otherwise, so servers
// older than 3.6 work as long as no persistent watch is used.
func (ws *watchSet) setWatchesRequests(zxid int64) []*request {
	ws.mu.Lock()
	lists := [5][]string{keys(ws.data), keys(ws.exist), keys(ws.child), keysW(ws.persistent), keysW(ws.recursive)}
	ws.mu.Unlock()
	var out []*request
	var batch [5][]string
	size, n := 0, 0
	flush := func() {
		if n == 0 {
			return
		}
		sw := proto.SetWatches{RelativeZxid: zxid}
		// Never null lists: ZooKeeper's server iterates them without a check.
		sw.DataWatches = nonNil(batch[0])
		sw.ExistWatches = nonNil(batch[1])
		sw.ChildWatches = nonNil(batch[2])
		op := proto.OpSetWatches
		if len(batch[3]) > 0 || len(batch[4]) > 0 {
			op = proto.OpSetWatches2
			sw.V2 = true
			sw.PersistentWatches = nonNil(batch[3])
			sw.PersistentRecursive = nonNil(batch[4])
		}
		r := newRequest(op)
		r.refs.Store(1)
		r.internal = true
		sw.Encode(&r.enc)
		r.seal()
		r.setXid(proto.XidSetWatches)
		out = append(out, r)
		batch = [5][]string{}
		size, n = 0, 0
	}
	for i, l := range lists {
		for _, p := range l {
			if size+len(p) > setWatchesMaxLength {
				flush()
			}
			batch[i] = append(batch[i], p)
			size += len(p)
			n++
		}
	}
	flush()
	return out
}

func keys(m map[string][]chan WatchEvent) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func keysW(m map[string][]*Watcher) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Watcher is a persistent watch, from AddWatch: it stays set (across reconnections too) until
// removed, and delivers every event on its Events channel.
//
// Events are never dropped while the client lives: they queue without bound in the client if
// the consumer is slow, and the consumer of one Watcher never delays another watch or the
// connection. Changes made while the client is disconnected are not delivered: unlike a
// one-shot watch, a persistent watch is set again on reconnect without replaying what it
// missed (ZooKeeper's semantics; it does share the events that one-shot watches on its nodes
// fire at the reconnect). Re-read the state after StateReconnected if that matters.
type Watcher struct {
	c     *Client
	path  string // as given to AddWatch
	spath string // server path
	mode  AddWatchMode
	ch    chan WatchEvent

	mu      sync.Mutex
	queue   []WatchEvent // guarded by mu: events not yet on ch
	pumping bool         // guarded by mu: a goroutine is moving queue to ch
	ended   bool         // guarded by mu: no more events; ch is closed once queue is empty
}

// watcherBuffer is the capacity of a Watcher's channel, before events queue in memory.
const watcherBuffer = 16

// Events returns the watch's events. The channel is closed after the watch ends: after an
// EventPersistentWatchRemoved (Remove, RemoveWatches) or an EventNotWatching (the session
// expired or the client closed; after Close, events not yet received may be dropped).
func (w *Watcher) Events() <-chan WatchEvent { return w.ch }

// Path returns the path the watch was added on.
func (w *Watcher) Path() string { return w.path }

// Mode returns the watch's mode.
func (w *Watcher) Mode() AddWatchMode { return w.mode }

// Remove removes the watch. When it is the client's last watch of its mode on its path, the
// server's watch is removed too, with removeWatches of type WatcherPersistent or
// WatcherPersistentRecursive (ZooKeeper 3.9+, paddock), or, if the server is older and the
// client has no other watch on the path, WatcherAny. The Events
// channel then gets EventPersistentWatchRemoved and is closed. Removing a watch that has
// already ended does nothing.
func (w *Watcher) Remove(ctx context.Context) error {
	ws := &w.c.watches
	t := WatcherPersistent
	// The maps are replaced under mu when the session ends (terminate): pick one under it.
	ws.mu.Lock()
	m := ws.persistent
	if w.mode == AddWatchPersistentRecursive {
		m, t = ws.recursive, WatcherPersistentRecursive
	}
	list := m[w.spath]
	found := false
	for i, x := range list {
		if x == w {
			list = append(list[:i:i], list[i+1:]...)
			found = true
			break
		}
	}
	if len(list) == 0 {
		delete(m, w.spath)
	} else {
		m[w.spath] = list
	}
	ws.mu.Unlock()
	if !found {
		return nil
	}
	var err error
	if len(list) == 0 {
		err = w.c.removeWatches(ctx, w.path, w.spath, t, false)
		if CodeOf(err) == Code(proto.CodeMarshallingError) && !ws.any(w.spath) {
			// A server older than 3.9 knows no persistent watcher types; WatcherAny removes
			// the persistent watch too, and nothing else of ours is on the path.
			err = w.c.removeWatches(ctx, w.path, w.spath, WatcherAny, false)
		}
		if CodeOf(err) == Code(proto.CodeNoWatcher) {
			err = nil
		}
	}
	w.finish(WatchEvent{Type: EventPersistentWatchRemoved, Path: w.path, Zxid: -1})
	return err
}

func (w *Watcher) isEnded() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ended
}

// push queues an event. It never blocks: a pump goroutine moves what does not fit on the
// channel.
func (w *Watcher) push(ev WatchEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return
	}
	if !w.pumping && len(w.queue) == 0 {
		select {
		case w.ch <- ev:
			return
		default:
		}
	}
	w.queue = append(w.queue, ev)
	if !w.pumping {
		w.pumping = w.c.group.start(w.pump)
		if !w.pumping {
			w.queue = nil // the client is closing: nobody will read
		}
	}
}

// finish ends the watch with a last event.
func (w *Watcher) finish(last WatchEvent) {
	w.push(last)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return
	}
	w.ended = true
	if !w.pumping {
		close(w.ch)
	}
}

// pump moves queued events to the channel, ending when the queue is empty, and closes the
// channel if the watch has ended meanwhile. Close makes it drop what is left.
func (w *Watcher) pump() {
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.pumping = false
			if w.ended {
				close(w.ch)
			}
			w.mu.Unlock()
			return
		}
		ev := w.queue[0]
		w.queue[0] = WatchEvent{}
		w.queue = w.queue[1:]
		w.mu.Unlock()
		select {
		case w.ch <- ev:
		case <-w.c.ctx.Done():
			w.mu.Lock()
			w.queue = nil
			w.pumping = false
			if w.ended {
				close(w.ch)
			}
			w.mu.Unlock()
			return
		}
	}
}
