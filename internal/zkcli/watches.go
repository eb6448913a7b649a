package zkcli

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/paddock/paddock/client"
)

// watchKind is what a watch source is, for telling which of them a notification reaches.
type watchKind uint8

const (
	wData       watchKind = iota // getData, exists: created, changed, deleted
	wChild                       // getChildren: children changed, deleted
	wPersistent                  // addWatch -m PERSISTENT: every event on the node
	wRecursive                   // addWatch: every event but children changed, on the subtree
)

// source is one channel of watch events: a one-shot watch's, or a persistent Watcher's.
type source struct {
	kind  watchKind
	path  string
	ch    <-chan client.WatchEvent
	marks []mark // copies of notifications already printed, still to come on ch
}

// mark is an event expected on a source as a copy of one already printed.
type mark struct {
	typ  client.EventType
	path string
	zxid int64
}

func (s *source) oneShot() bool { return s.kind == wData || s.kind == wChild }

// receives reports whether the client hands event ev to a source like s, by the client's
// routing (ZooKeeper's): data and exist watches get created, changed and deleted; child
// watches children-changed and deleted; persistent watches everything on their node;
// recursive ones everything but children-changed on their subtree; removals go to the
// watches of their type on the node.
func (s *source) receives(ev client.WatchEvent) bool {
	p := ev.Path
	switch ev.Type {
	case client.EventDataWatchRemoved:
		return s.kind == wData && s.path == p
	case client.EventChildWatchRemoved:
		return s.kind == wChild && s.path == p
	case client.EventPersistentWatchRemoved:
		return (s.kind == wPersistent || s.kind == wRecursive) && s.path == p
	}
	switch s.kind {
	case wData:
		return s.path == p && ev.Type != client.EventNodeChildrenChanged
	case wChild:
		return s.path == p && (ev.Type == client.EventNodeChildrenChanged || ev.Type == client.EventNodeDeleted)
	case wPersistent:
		return s.path == p
	case wRecursive:
		return ev.Type != client.EventNodeChildrenChanged &&
			(s.path == "/" || p == s.path || strings.HasPrefix(p, s.path+"/"))
	}
	return false
}

// takeMark consumes the mark ev matches, if any.
func (s *source) takeMark(ev client.WatchEvent) bool {
	for i, m := range s.marks {
		if m.typ == ev.Type && m.path == ev.Path && (m.zxid == ev.Zxid || m.zxid < 0 || ev.Zxid < 0) {
			s.marks = append(s.marks[:i], s.marks[i+1:]...)
			return true
		}
	}
	return false
}

// watchTable prints each watch notification once, as zkCli does. zkCli registers every
// watch with one Watcher object, and ZooKeeper's client hands a notification to each
// distinct Watcher once, so two watches on a node print one event. The Go client instead
// delivers a notification to every watch's channel; the table receives them all and
// prints the first copy only: when it prints an event it marks the other sources the
// client also handed it to, and drops their copies.
//
// One dispatcher goroutine owns the sources. Commands add sources and flush through reqc,
// so that a flush prints every event already delivered, in order with the commands' output.
type watchTable struct {
	reqc  chan watchReq
	stopc chan struct{}
	once  sync.Once
	print func(client.WatchEvent)

	srcs []*source // owned by the dispatcher
}

// watchReq adds a source (if add is set) after printing what has arrived, then closes done.
// If hold is set, the dispatcher first waits for it to close: tests use it to fire several
// watches while nothing is received, so that the events are taken as one batch.
type watchReq struct {
	add  *source
	hold <-chan struct{}
	done chan struct{}
}

func newWatchTable(wg *sync.WaitGroup, print func(client.WatchEvent)) *watchTable {
	wt := &watchTable{reqc: make(chan watchReq), stopc: make(chan struct{}), print: print}
	wg.Add(1)
	go func() {
		defer wg.Done()
		wt.run()
	}()
	return wt
}

// addOneShot registers a one-shot watch's channel (nil ch: no watch was set).
func (wt *watchTable) addOneShot(kind watchKind, path string, ch <-chan client.WatchEvent) {
	if ch != nil {
		wt.do(&source{kind: kind, path: path, ch: ch})
	}
}

// addWatcher registers a persistent watch.
func (wt *watchTable) addWatcher(w *client.Watcher) {
	kind := wPersistent
	if w.Mode() == client.AddWatchPersistentRecursive {
		kind = wRecursive
	}
	wt.do(&source{kind: kind, path: w.Path(), ch: w.Events()})
}

// flush prints the events that have arrived.
func (wt *watchTable) flush() { wt.do(nil) }

func (wt *watchTable) do(add *source) {
	req := watchReq{add: add, done: make(chan struct{})}
	select {
	case wt.reqc <- req:
		<-req.done
	case <-wt.stopc:
	}
}

func (wt *watchTable) stop() { wt.once.Do(func() { close(wt.stopc) }) }

// arrival is one receive from a source.
type arrival struct {
	src *source
	ev  client.WatchEvent
	ok  bool // false: the channel is closed
}

func (wt *watchTable) run() {
	for {
		cases := make([]reflect.SelectCase, 2, 2+len(wt.srcs))
		cases[0] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(wt.stopc)}
		cases[1] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(wt.reqc)}
		for _, s := range wt.srcs {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.ch)})
		}
		i, v, ok := reflect.Select(cases)
		switch i {
		case 0:
			return
		case 1:
			req := v.Interface().(watchReq)
			if req.hold != nil {
				select {
				case <-req.hold:
				case <-wt.stopc:
					return
				}
			}
			wt.process(wt.poll())
			if req.add != nil {
				wt.srcs = append(wt.srcs, req.add)
			}
			close(req.done)
		default:
			first := arrival{src: wt.srcs[i-2], ok: ok}
			if ok {
				first.ev = v.Interface().(client.WatchEvent)
			}
			wt.process(append([]arrival{first}, wt.poll()...))
		}
	}
}

// poll takes every event already waiting on a source.
func (wt *watchTable) poll() []arrival {
	var out []arrival
	for _, s := range wt.srcs {
		for {
			var a arrival
			select {
			case a.ev, a.ok = <-s.ch:
				a.src = s
			default:
			}
			if a.src == nil {
				break
			}
			out = append(out, a)
			if !a.ok || s.oneShot() {
				break
			}
		}
	}
	return out
}

func (wt *watchTable) process(batch []arrival) {
	// Sources are polled one after the other; when the server sends zxids (paddock,
	// ZooKeeper 3.9), they put the events back in the server's order.
	if !slices.ContainsFunc(batch, func(a arrival) bool { return !a.ok || a.ev.Zxid < 0 }) {
		slices.SortStableFunc(batch, func(a, b arrival) int { return cmp.Compare(a.ev.Zxid, b.ev.Zxid) })
	}
	for _, a := range batch {
		if !wt.has(a.src) {
			continue
		}
		if !a.ok || a.ev.Type == client.EventNotWatching {
			wt.remove(a.src) // the session ended: zkCli prints the state event only
			continue
		}
		if a.src.oneShot() || a.ev.Type == client.EventPersistentWatchRemoved {
			wt.remove(a.src)
		}
		if a.src.takeMark(a.ev) {
			continue
		}
		wt.print(a.ev)
		for _, s := range wt.srcs {
			if s != a.src && s.receives(a.ev) && (!s.oneShot() || len(s.marks) == 0) {
				s.marks = append(s.marks, mark{typ: a.ev.Type, path: a.ev.Path, zxid: a.ev.Zxid})
			}
		}
	}
}

func (wt *watchTable) has(s *source) bool {
	for _, x := range wt.srcs {
		if x == s {
			return true
		}
	}
	return false
}

func (wt *watchTable) remove(s *source) {
	for i, x := range wt.srcs {
		if x == s {
			wt.srcs = append(wt.srcs[:i], wt.srcs[i+1:]...)
			return
		}
	}
}

func runAddWatch(x *inv) error {
	mode := client.AddWatchPersistentRecursive
	if x.p.has("m") {
		switch strings.ToUpper(x.p.value("m")) {
		case "PERSISTENT":
			mode = client.AddWatchPersistent
		case "PERSISTENT_RECURSIVE":
		default:
			return usageErr(commands["addWatch"].usageLine("addWatch"))
		}
	}
	path := x.arg(1)
	if err := validatePath(path, false); err != nil {
		return err
	}
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	w, err := c.AddWatch(x.ctx, path, mode)
	if err != nil {
		return x.wrap(err, path)
	}
	x.sh.watches.addWatcher(w)
	return nil
}

// runRemoveWatches removes the session's watches of a type on a node. zkCli's -l (remove
// locally without the server) is accepted and ignored: the client has no such mode.
func runRemoveWatches(x *inv) error {
	t := client.WatcherAny
	switch {
	case x.p.has("c"):
		t = client.WatcherChildren
	case x.p.has("d"):
		t = client.WatcherData
	case x.p.has("p"): // ZooKeeper 3.9
		t = client.WatcherPersistent
	case x.p.has("r"): // ZooKeeper 3.9
		t = client.WatcherPersistentRecursive
	}
	path := x.arg(1)
	if err := validatePath(path, false); err != nil {
		return err
	}
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	if err := c.RemoveWatches(x.ctx, path, t); err != nil {
		return x.wrap(err, path)
	}
	return nil
}
