package watch

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/paddock/paddock/internal/proto"
)

// TestRemoveAndHas follows ZooKeeper 3.9's DataTree.removeWatch and
// containsWatcher: each type selects one mode, Any selects all of them.
func TestRemoveAndHas(t *testing.T) {
	K := func(ks ...Kind) []Kind { return ks }
	all := K(KindData, KindChild, KindPersistent, KindPersistentRecursive)
	tests := []struct {
		held  []Kind
		typ   proto.WatcherType
		found bool   // Has and Remove's result
		left  []Kind // after Remove
	}{
		{K(KindData), proto.WatcherData, true, nil},
		{K(KindData), proto.WatcherChildren, false, K(KindData)},
		{K(KindData), proto.WatcherPersistent, false, K(KindData)},
		{K(KindData), proto.WatcherAny, true, nil},
		{K(KindChild), proto.WatcherChildren, true, nil},
		{K(KindChild), proto.WatcherData, false, K(KindChild)},
		{K(KindChild), proto.WatcherAny, true, nil},
		{K(KindPersistent), proto.WatcherPersistent, true, nil},
		{K(KindPersistent), proto.WatcherData, false, K(KindPersistent)},
		{K(KindPersistent), proto.WatcherChildren, false, K(KindPersistent)},
		{K(KindPersistent), proto.WatcherPersistentRecursive, false, K(KindPersistent)},
		{K(KindPersistent), proto.WatcherAny, true, nil},
		{K(KindPersistentRecursive), proto.WatcherPersistentRecursive, true, nil},
		{K(KindPersistentRecursive), proto.WatcherPersistent, false, K(KindPersistentRecursive)},
		{K(KindPersistentRecursive), proto.WatcherData, false, K(KindPersistentRecursive)},
		{K(KindPersistentRecursive), proto.WatcherAny, true, nil},
		{all, proto.WatcherData, true, K(KindChild, KindPersistent, KindPersistentRecursive)},
		{all, proto.WatcherChildren, true, K(KindData, KindPersistent, KindPersistentRecursive)},
		{all, proto.WatcherPersistent, true, K(KindData, KindChild, KindPersistentRecursive)},
		{all, proto.WatcherPersistentRecursive, true, K(KindData, KindChild, KindPersistent)},
		{all, proto.WatcherAny, true, nil},
		{all, 0, false, all},
		{all, 6, false, all},
		{all, -1, false, all},
		{nil, proto.WatcherAny, false, nil},
		{nil, proto.WatcherData, false, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%d", tt.held, tt.typ), func(t *testing.T) {
			r := NewRegistry()
			c, other := newConn("c"), newConn("other")
			for _, k := range all {
				r.Add("/a", k, other) // another watcher's watches are never touched
			}
			for _, k := range tt.held {
				r.Add("/a", k, c)
				r.Add("/b", k, c) // nor are c's on another path
			}
			if got := r.Has("/a", tt.typ, c); got != tt.found {
				t.Fatalf("Has = %v, want %v", got, tt.found)
			}
			if got := r.Remove("/a", tt.typ, c); got != tt.found {
				t.Fatalf("Remove = %v, want %v", got, tt.found)
			}
			if got := r.kinds("/a", c); !slices.Equal(got, tt.left) {
				t.Fatalf("left %v, want %v", got, tt.left)
			}
			if got := r.Remove("/a", tt.typ, c); got {
				t.Fatal("second Remove found something")
			}
			if got := r.kinds("/b", c); !slices.Equal(got, tt.held) {
				t.Fatalf("other path left %v, want %v", got, tt.held)
			}
			if got := r.kinds("/a", other); !slices.Equal(got, all) {
				t.Fatalf("other watcher left %v", got)
			}
			checkInvariants(t, r)
		})
	}
}

func TestRemoveStopsDelivery(t *testing.T) {
	r := NewRegistry()
	c := newConn("c")
	r.Add("/", KindPersistentRecursive, c)
	r.Add("/a", KindData, c)
	if !r.Remove("/", proto.WatcherPersistentRecursive, c) {
		t.Fatal("Remove recursive = false")
	}
	r.Trigger(proto.EventNodeDataChanged, "/x", 1, nil) // recursive gone
	if !r.Remove("/a", proto.WatcherAny, c) {
		t.Fatal("Remove any = false")
	}
	r.Trigger(proto.EventNodeDataChanged, "/a", 2, nil)
	if got := c.take(); len(got) != 0 {
		t.Fatalf("got %v after removal", got)
	}
	if r.Has("/a", proto.WatcherAny, c) || r.Count() != 0 {
		t.Fatal("watch left behind")
	}
	checkInvariants(t, r)
}

func TestAddIdempotent(t *testing.T) {
	r := NewRegistry()
	c := newConn("c")
	for range 3 {
		r.Add("/a", KindData, c)
		r.Add("/a", KindPersistentRecursive, c)
	}
	if n := r.Count(); n != 1 {
		t.Fatalf("Count = %d, want 1", n)
	}
	r.Trigger(proto.EventNodeDataChanged, "/a", 1, nil)
	if got := c.take(); len(got) != 1 {
		t.Fatalf("got %d notifications", len(got))
	}
	checkInvariants(t, r)
}

func TestAddInvalidKindPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	NewRegistry().Add("/a", KindPersistentRecursive+1, newConn("c"))
}

func TestRemoveAll(t *testing.T) {
	r := NewRegistry()
	gone, stays := newConn("gone"), newConn("stays")
	for _, c := range []*conn{gone, stays} {
		for _, p := range []string{"/", "/a", "/a/b", "/c"} {
			for _, k := range allKinds {
				r.Add(p, k, c)
			}
		}
	}
	r.Add("/only-gone", KindData, gone)
	r.RemoveAll(gone)
	r.RemoveAll(gone)             // again: nothing to do
	r.RemoveAll(newConn("never")) // unknown: nothing to do
	checkInvariants(t, r)
	for _, ev := range events {
		r.Trigger(ev, "/a/b", 1, nil)
	}
	if got := gone.take(); len(got) != 0 {
		t.Fatalf("removed watcher got %v", got)
	}
	if got := stays.take(); len(got) != len(events) {
		t.Fatalf("remaining watcher got %d notifications, want %d", len(got), len(events))
	}
	for _, p := range []string{"/", "/a", "/a/b", "/c", "/only-gone"} {
		if r.Has(p, proto.WatcherAny, gone) {
			t.Fatalf("%s still watched", p)
		}
	}
	if c, _, _ := r.Summary(); c != 1 {
		t.Fatalf("Summary connections = %d, want 1", c)
	}
	r.RemoveAll(stays)
	checkInvariants(t, r)
	if c, p, tot := r.Summary(); c != 0 || p != 0 || tot != 0 || r.Count() != 0 {
		t.Fatalf("empty registry reports %d %d %d, count %d", c, p, tot, r.Count())
	}
	if len(r.watchers) != 0 || len(r.paths) != 0 || len(r.rec) != 0 {
		t.Fatal("empty registry holds memory")
	}
}

// TestCount is zk_watch_count: data-table pairs plus child-table pairs.
func TestCount(t *testing.T) {
	K := func(ks ...Kind) []Kind { return ks }
	tests := []struct {
		kinds []Kind
		want  int
	}{
		{K(KindData), 1},
		{K(KindChild), 1},
		{K(KindPersistent), 2},
		{K(KindPersistentRecursive), 1},
		{K(KindData, KindChild), 2},
		{K(KindData, KindPersistent), 2},
		{K(KindChild, KindPersistent), 2},
		{K(KindData, KindPersistentRecursive), 1},
		{K(KindChild, KindPersistentRecursive), 2},
		{allKinds, 2},
	}
	for _, tt := range tests {
		r := NewRegistry()
		a, b := newConn("a"), newConn("b")
		for _, k := range tt.kinds {
			r.Add("/x", k, a)
			r.Add("/x", k, b)
			r.Add("/y", k, a)
		}
		if got := r.Count(); got != 3*tt.want {
			t.Errorf("%v: Count = %d, want %d", tt.kinds, got, 3*tt.want)
		}
	}
}

// TestReports: wchs, wchc and wchp describe ZooKeeper's data table.
func TestReports(t *testing.T) {
	r := NewRegistry()
	a, b, c, d := newConn("a"), newConn("b"), newConn("c"), newConn("d")
	r.Add("/x", KindData, a)
	r.Add("/x", KindPersistent, a) // same pair: one watch in wchs
	r.Add("/y", KindPersistentRecursive, a)
	r.Add("/x", KindData, b)
	r.Add("/z", KindChild, b) // child table: not reported
	r.Add("/z", KindChild, c) // only child watches: not a connection
	r.Add("/w", KindData, d)

	wantSummary := func(conns, paths, total int) {
		t.Helper()
		if gc, gp, gt := r.Summary(); gc != conns || gp != paths || gt != total {
			t.Fatalf("Summary = %d connections, %d paths, %d total; want %d, %d, %d", gc, gp, gt, conns, paths, total)
		}
	}
	wantByWatcher := func(want map[Watcher][]string) {
		t.Helper()
		got := r.ByWatcher()
		if !maps.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("ByWatcher = %v, want %v", got, want)
		}
	}
	wantByPath := func(want map[string][]Watcher) {
		t.Helper()
		got := r.ByPath()
		for _, ws := range got {
			slices.SortFunc(ws, func(x, y Watcher) int { return compareName(x, y) })
		}
		if !maps.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("ByPath = %v, want %v", got, want)
		}
	}

	wantSummary(3, 3, 4)
	wantByWatcher(map[Watcher][]string{a: {"/x", "/y"}, b: {"/x"}, d: {"/w"}})
	wantByPath(map[string][]Watcher{"/x": {a, b}, "/y": {a}, "/w": {d}})

	// A fired watch leaves ZooKeeper 3.8's connection entry behind: d still
	// counts as a connection, with no path, until it closes.
	r.Trigger(proto.EventNodeDataChanged, "/w", 1, nil)
	r.Trigger(proto.EventNodeDataChanged, "/x", 2, nil)
	wantSummary(3, 2, 2)
	wantByWatcher(map[Watcher][]string{a: {"/x", "/y"}, b: {}, d: {}})
	wantByPath(map[string][]Watcher{"/x": {a}, "/y": {a}})

	// So does a removed one.
	if !r.Remove("/y", proto.WatcherAny, a) {
		t.Fatal("Remove = false")
	}
	wantSummary(3, 1, 1)
	wantByWatcher(map[Watcher][]string{a: {"/x"}, b: {}, d: {}})

	r.RemoveAll(d)
	r.RemoveAll(b)
	wantSummary(1, 1, 1)
	wantByWatcher(map[Watcher][]string{a: {"/x"}})
	if got := r.Count(); got != 3 { // a's persistent /x (2) + c's child /z
		t.Fatalf("Count = %d, want 3", got)
	}

	// A watcher that only ever held child watches is never reported.
	r.Trigger(proto.EventNodeChildrenChanged, "/z", 3, nil)
	wantSummary(1, 1, 1)
	wantByWatcher(map[Watcher][]string{a: {"/x"}})
	checkInvariants(t, r)
}

func compareName(x, y Watcher) int {
	a, b := x.(*conn).name, y.(*conn).name
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{
		KindData: "data", KindChild: "child", KindPersistent: "persistent",
		KindPersistentRecursive: "persistentRecursive", 9: "kind(9)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}

// TestStalePaths: Trigger leaves consumed paths in the watcher's own index;
// re-arming, RemoveAll and compaction all cope, and the index stays bounded.
func TestStalePaths(t *testing.T) {
	r := NewRegistry()
	c := newConn("c")
	for i := range 1000 {
		p := fmt.Sprintf("/n%d", i)
		r.Add(p, KindData, c)
		r.Trigger(proto.EventNodeDeleted, p, int64(i), nil)
		checkInvariants(t, r)
	}
	if got := len(c.take()); got != 1000 {
		t.Fatalf("%d notifications, want 1000", got)
	}
	if n := len(r.watchers[c].paths); n > tidySlack {
		t.Fatalf("index holds %d paths for one watch", n)
	}
	// Re-arm a path that may still be listed as stale.
	r.Add("/n999", KindData, c)
	r.Add("/n999", KindChild, c)
	checkInvariants(t, r)
	r.Trigger(proto.EventNodeDataChanged, "/n999", 1, nil)
	if got := len(c.take()); got != 1 || !r.Has("/n999", proto.WatcherChildren, c) {
		t.Fatalf("re-armed path: %d notifications, child watch kept %v", got, r.Has("/n999", proto.WatcherChildren, c))
	}
	r.RemoveAll(c)
	checkInvariants(t, r)
	if r.Count() != 0 || len(r.watchers) != 0 || len(r.paths) != 0 {
		t.Fatal("RemoveAll left watches behind")
	}
}
