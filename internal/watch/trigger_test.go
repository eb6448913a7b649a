package watch

import (
	"fmt"
	"slices"
	"testing"

	"github.com/paddock/paddock/internal/proto"
)

var events = []proto.EventType{
	proto.EventNodeCreated,
	proto.EventNodeDeleted,
	proto.EventNodeDataChanged,
	proto.EventNodeChildrenChanged,
}

var allKinds = []Kind{KindData, KindChild, KindPersistent, KindPersistentRecursive}

// kindType is the WatcherType that selects exactly one kind.
var kindType = map[Kind]proto.WatcherType{
	KindData:                proto.WatcherData,
	KindChild:               proto.WatcherChildren,
	KindPersistent:          proto.WatcherPersistent,
	KindPersistentRecursive: proto.WatcherPersistentRecursive,
}

// TestTriggerRouting covers every event × kind × position of the watch
// relative to the event's path (/a/b).
func TestTriggerRouting(t *testing.T) {
	type want struct{ fires, stays bool }
	// For the watch on the event's own path and on an ancestor of it.
	// Positions below the path or beside it never fire and always stay.
	type row struct {
		kind     Kind
		ev       proto.EventType
		exact    want
		ancestor want
	}
	no := want{fires: false, stays: true}
	fireConsume := want{fires: true, stays: false}
	fireStay := want{fires: true, stays: true}
	rows := []row{
		{KindData, proto.EventNodeCreated, fireConsume, no},
		{KindData, proto.EventNodeDeleted, fireConsume, no},
		{KindData, proto.EventNodeDataChanged, fireConsume, no},
		{KindData, proto.EventNodeChildrenChanged, no, no},

		{KindChild, proto.EventNodeCreated, no, no},
		{KindChild, proto.EventNodeDeleted, fireConsume, no},
		{KindChild, proto.EventNodeDataChanged, no, no},
		{KindChild, proto.EventNodeChildrenChanged, fireConsume, no},

		{KindPersistent, proto.EventNodeCreated, fireStay, no},
		{KindPersistent, proto.EventNodeDeleted, fireStay, no},
		{KindPersistent, proto.EventNodeDataChanged, fireStay, no},
		{KindPersistent, proto.EventNodeChildrenChanged, fireStay, no},

		{KindPersistentRecursive, proto.EventNodeCreated, fireStay, fireStay},
		{KindPersistentRecursive, proto.EventNodeDeleted, fireStay, fireStay},
		{KindPersistentRecursive, proto.EventNodeDataChanged, fireStay, fireStay},
		{KindPersistentRecursive, proto.EventNodeChildrenChanged, no, no},
	}
	if len(rows) != len(allKinds)*len(events) {
		t.Fatalf("table has %d rows, want every kind × event", len(rows))
	}
	const evPath = "/a/b"
	positions := []struct {
		name, path string
		ancestor   bool // else: never concerned
		exact      bool
	}{
		{"exact", evPath, false, true},
		{"parent", "/a", true, false},
		{"root", "/", true, false},
		{"child", "/a/b/c", false, false},
		{"sibling", "/a/x", false, false},
		{"prefix-not-ancestor", "/a/bb", false, false},
		{"string-prefix", "/a/", false, false},
	}
	for _, rw := range rows {
		for _, pos := range positions {
			w := no
			switch {
			case pos.exact:
				w = rw.exact
			case pos.ancestor:
				w = rw.ancestor
			}
			t.Run(fmt.Sprintf("%v/%v/%s", rw.kind, rw.ev, pos.name), func(t *testing.T) {
				r := NewRegistry()
				c := newConn("c")
				r.Add(pos.path, rw.kind, c)
				r.Trigger(rw.ev, evPath, 0x500000007, nil)
				got := c.take()
				if w.fires {
					wantNote := note{proto.WatcherEvent{Type: rw.ev, State: proto.StateSyncConnected, Path: evPath}, 0x500000007}
					if len(got) != 1 || got[0] != wantNote {
						t.Fatalf("got %v, want one %v", got, wantNote)
					}
				} else if len(got) != 0 {
					t.Fatalf("got %v, want nothing", got)
				}
				if has := r.Has(pos.path, kindType[rw.kind], c); has != w.stays {
					t.Fatalf("after the event Has = %v, want %v", has, w.stays)
				}
				checkInvariants(t, r)
			})
		}
	}
}

func TestTriggerIgnoresOtherEventTypes(t *testing.T) {
	r := NewRegistry()
	c := newConn("c")
	for _, k := range allKinds {
		r.Add("/a", k, c)
		r.Add("/", k, c)
	}
	before := r.Count()
	for _, typ := range []proto.EventType{proto.EventNone, proto.EventDataWatchRemoved, proto.EventChildWatchRemoved, proto.EventPersistentWatchRemoved, 0, 99} {
		r.Trigger(typ, "/a", 1, nil)
	}
	if got := c.take(); len(got) != 0 {
		t.Fatalf("got %v", got)
	}
	if n := r.Count(); n != before {
		t.Fatalf("Count = %d, want %d (nothing consumed)", n, before)
	}
}

// TestTriggerOnce: one notification per watcher per event, however many of its
// watches the event concerns, and which watches are consumed.
func TestTriggerOnce(t *testing.T) {
	type watch struct {
		path string
		kind Kind
	}
	tests := []struct {
		name    string
		watches []watch
		ev      proto.EventType
		path    string
		remain  []watch // watches left afterwards
	}{
		{"data+child deleted", []watch{{"/a", KindData}, {"/a", KindChild}},
			proto.EventNodeDeleted, "/a", nil},
		{"data+child data changed", []watch{{"/a", KindData}, {"/a", KindChild}},
			proto.EventNodeDataChanged, "/a", []watch{{"/a", KindChild}}},
		{"data+child children changed", []watch{{"/a", KindData}, {"/a", KindChild}},
			proto.EventNodeChildrenChanged, "/a", []watch{{"/a", KindData}}},
		{"data+persistent data changed", []watch{{"/a", KindData}, {"/a", KindPersistent}},
			proto.EventNodeDataChanged, "/a", []watch{{"/a", KindPersistent}}},
		{"all four deleted", []watch{{"/a", KindData}, {"/a", KindChild}, {"/a", KindPersistent}, {"/a", KindPersistentRecursive}},
			proto.EventNodeDeleted, "/a", []watch{{"/a", KindPersistent}, {"/a", KindPersistentRecursive}}},
		{"child+persistent children changed", []watch{{"/a", KindChild}, {"/a", KindPersistent}},
			proto.EventNodeChildrenChanged, "/a", []watch{{"/a", KindPersistent}}},
		{"data+recursive created", []watch{{"/a", KindData}, {"/a", KindPersistentRecursive}},
			proto.EventNodeCreated, "/a", []watch{{"/a", KindPersistentRecursive}}},
		{"recursive on three ancestors", []watch{{"/", KindPersistentRecursive}, {"/a", KindPersistentRecursive}, {"/a/b", KindPersistentRecursive}},
			proto.EventNodeDataChanged, "/a/b/c", []watch{{"/", KindPersistentRecursive}, {"/a", KindPersistentRecursive}, {"/a/b", KindPersistentRecursive}}},
		{"recursive ancestor + data", []watch{{"/", KindPersistentRecursive}, {"/a/b", KindData}},
			proto.EventNodeCreated, "/a/b", []watch{{"/", KindPersistentRecursive}}},
		{"recursive ancestor + persistent", []watch{{"/a", KindPersistentRecursive}, {"/a/b", KindPersistent}},
			proto.EventNodeDeleted, "/a/b", []watch{{"/a", KindPersistentRecursive}, {"/a/b", KindPersistent}}},
		{"recursive ancestor + child, children changed", []watch{{"/a", KindPersistentRecursive}, {"/a/b", KindChild}},
			proto.EventNodeChildrenChanged, "/a/b", []watch{{"/a", KindPersistentRecursive}}},
		{"root itself", []watch{{"/", KindPersistentRecursive}, {"/", KindData}},
			proto.EventNodeDataChanged, "/", []watch{{"/", KindPersistentRecursive}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistry()
			c, other := newConn("c"), newConn("other")
			for _, w := range tt.watches {
				r.Add(w.path, w.kind, c)
				r.Add(w.path, w.kind, other)
			}
			r.Trigger(tt.ev, tt.path, 9, nil)
			for _, x := range []*conn{c, other} {
				if got := x.take(); len(got) != 1 {
					t.Fatalf("%v got %d notifications %v, want 1", x, len(got), got)
				}
			}
			var remain []watch
			for _, p := range []string{"/", "/a", "/a/b"} {
				for _, k := range r.kinds(p, c) {
					remain = append(remain, watch{p, k})
				}
				if !slices.Equal(r.kinds(p, c), r.kinds(p, other)) {
					t.Fatalf("watchers differ on %s", p)
				}
			}
			if !slices.Equal(remain, tt.remain) {
				t.Fatalf("remaining %v, want %v", remain, tt.remain)
			}
			checkInvariants(t, r)
		})
	}
}

// TestPersistentWithOneShot: ZooKeeper 3.9 keeps a set of modes per
// (connection, path); adding a one-shot watch on a persistently watched path
// neither replaces nor downgrades the persistent one, in either order.
func TestPersistentWithOneShot(t *testing.T) {
	for _, order := range [][]Kind{{KindPersistent, KindData}, {KindData, KindPersistent}} {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			r := NewRegistry()
			c := newConn("c")
			for _, k := range order {
				r.Add("/a", k, c)
			}
			for i := range 3 {
				r.Trigger(proto.EventNodeDataChanged, "/a", int64(i), nil)
				if got := c.take(); len(got) != 1 {
					t.Fatalf("event %d: %d notifications", i, len(got))
				}
			}
			if r.Has("/a", proto.WatcherData, c) || !r.Has("/a", proto.WatcherPersistent, c) {
				t.Fatalf("kinds left %v, want [persistent]", r.kinds("/a", c))
			}
		})
	}
}

func TestTriggerManyWatchers(t *testing.T) {
	for _, n := range []int{1, 15, 16, 17, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := NewRegistry()
			oneShot := make([]*counter, n)
			for i := range oneShot {
				oneShot[i] = new(counter)
				r.Add("/a/b", KindData, oneShot[i])
			}
			pers := make([]*counter, n)
			for i := range pers {
				pers[i] = new(counter)
				r.Add("/a", KindPersistentRecursive, pers[i])
				r.Add("/a/b", KindPersistent, pers[i]) // deduplicated with the ancestor
			}
			r.Trigger(proto.EventNodeDataChanged, "/a/b", 1, nil)
			r.Trigger(proto.EventNodeDataChanged, "/a/b", 2, nil)
			for i := range n {
				if got := oneShot[i].count(); got != 1 {
					t.Fatalf("one-shot watcher %d: %d notifications, want 1", i, got)
				}
				if got := pers[i].count(); got != 2 {
					t.Fatalf("persistent watcher %d: %d notifications, want 2", i, got)
				}
			}
			checkInvariants(t, r)
			if c, p, tot := r.Summary(); c != 2*n || p != 2 || tot != 2*n {
				t.Fatalf("Summary = %d, %d, %d", c, p, tot)
			}
		})
	}
}

// TestTriggerPartialConsume: a path keeps the watchers an event does not
// empty, and loses the ones it does.
func TestTriggerPartialConsume(t *testing.T) {
	r := NewRegistry()
	var ws []*conn
	for i := range 40 {
		c := newConn(fmt.Sprint(i))
		ws = append(ws, c)
		switch i % 4 {
		case 0:
			r.Add("/p", KindData, c)
		case 1:
			r.Add("/p", KindChild, c)
		case 2:
			r.Add("/p", KindData, c)
			r.Add("/p", KindPersistent, c)
		case 3:
			r.Add("/p", KindData, c)
			r.Add("/p", KindChild, c)
		}
	}
	r.Trigger(proto.EventNodeDataChanged, "/p", 1, nil)
	checkInvariants(t, r)
	for i, c := range ws {
		got := len(c.take())
		want := map[int]int{0: 1, 1: 0, 2: 1, 3: 1}[i%4]
		if got != want {
			t.Fatalf("watcher %d: %d notifications, want %d", i, got, want)
		}
		var left []Kind
		switch i % 4 {
		case 1, 3:
			left = []Kind{KindChild}
		case 2:
			left = []Kind{KindPersistent}
		}
		if k := r.kinds("/p", c); !slices.Equal(k, left) {
			t.Fatalf("watcher %d left %v, want %v", i, k, left)
		}
	}
	r.Trigger(proto.EventNodeDeleted, "/p", 2, nil)
	checkInvariants(t, r)
	if n := r.Count(); n != 20 { // ten persistent watches, two tables each
		t.Fatalf("Count = %d, want 20", n)
	}
}

// TestAllow: the hook is asked once per notified watcher; a refused watcher
// gets nothing and still loses its one-shot watch (ZooKeeper removes the
// watch before NIOServerCnxn.process checks READ).
func TestAllow(t *testing.T) {
	r := NewRegistry()
	ok, refused := newConn("ok"), newConn("refused")
	unconcerned := newConn("unconcerned")
	for _, c := range []*conn{ok, refused} {
		r.Add("/a/b", KindData, c)
		r.Add("/a/b", KindChild, c)
		r.Add("/a", KindPersistentRecursive, c)
		r.Add("/", KindPersistentRecursive, c)
	}
	r.Add("/a/b", KindChild, unconcerned)
	asked := map[Watcher]int{}
	allow := func(w Watcher) bool {
		asked[w]++
		return w != refused
	}
	r.Trigger(proto.EventNodeDataChanged, "/a/b", 7, allow)
	if asked[ok] != 1 || asked[refused] != 1 || len(asked) != 2 {
		t.Fatalf("allow asked %v, want ok and refused once each", asked)
	}
	if got := ok.take(); len(got) != 1 {
		t.Fatalf("ok got %v", got)
	}
	if got := refused.take(); len(got) != 0 {
		t.Fatalf("refused got %v", got)
	}
	for _, c := range []*conn{ok, refused} {
		if r.Has("/a/b", proto.WatcherData, c) {
			t.Fatalf("%v kept its data watch", c)
		}
		if !r.Has("/a/b", proto.WatcherChildren, c) || !r.Has("/a", proto.WatcherPersistentRecursive, c) {
			t.Fatalf("%v lost a watch the event does not consume", c)
		}
	}
	// Refusal is per event: a later allowed event reaches the watcher.
	r.Trigger(proto.EventNodeDataChanged, "/a/b", 8, func(Watcher) bool { return true })
	if got := refused.take(); len(got) != 1 {
		t.Fatalf("refused got %v on an allowed event", got)
	}
	checkInvariants(t, r)
}

// TestNotifyReenters: Notify and allow run without the registry's lock, so
// they may call back into it (a client re-arming, a full queue closing the
// connection).
func TestNotifyReenters(t *testing.T) {
	r := NewRegistry()
	rearm := &funcWatcher{}
	rearm.f = func(ev proto.WatcherEvent) { r.Add(ev.Path, KindData, rearm) }
	closer := &funcWatcher{}
	closer.f = func(proto.WatcherEvent) { r.RemoveAll(closer) }
	r.Add("/a", KindData, rearm)
	r.Add("/a", KindPersistent, closer)
	allow := func(w Watcher) bool { return r.Count() >= 0 }
	r.Trigger(proto.EventNodeDataChanged, "/a", 1, allow)
	if rearm.n != 1 || closer.n != 1 {
		t.Fatalf("notifications %d, %d", rearm.n, closer.n)
	}
	if !r.Has("/a", proto.WatcherData, rearm) || r.Has("/a", proto.WatcherAny, closer) {
		t.Fatal("re-entrant calls did not take effect")
	}
	checkInvariants(t, r)
}

type funcWatcher struct {
	n int
	f func(proto.WatcherEvent)
}

func (w *funcWatcher) Notify(ev proto.WatcherEvent, _ int64) { w.n++; w.f(ev) }
