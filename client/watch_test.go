package client_test

import (
	"errors"
	"testing"

	"github.com/paddock/paddock/client"
)

func testOneShotWatches(t *testing.T, e *env) {
	c := connect(t, e.addr, client.Options{})
	w := connect(t, e.addr, client.Options{}) // the writer
	r := root(t, c, "oneshot")
	n := r + "/n"

	// exists on a missing node: NodeCreated.
	ok, _, ch, err := c.ExistsW(ctx(t), n)
	if err != nil || ok || ch == nil {
		t.Fatalf("ExistsW missing = %v %v %v", ok, ch, err)
	}
	_, err = w.Create(ctx(t), n, []byte("0"), client.ModePersistent, nil)
	must(t, err)
	wantEvent(t, ch, client.EventNodeCreated, n)
	if _, open := <-ch; open {
		t.Error("one-shot channel not closed after its event")
	}

	// exists on an existing node, and getData: NodeDataChanged for both.
	_, _, ch1, err := c.ExistsW(ctx(t), n)
	must(t, err)
	_, _, ch2, err := c.GetDataW(ctx(t), n)
	must(t, err)
	st, err := w.SetData(ctx(t), n, []byte("1"), client.AnyVersion)
	must(t, err)
	ev := wantEvent(t, ch1, client.EventNodeDataChanged, n)
	wantEvent(t, ch2, client.EventNodeDataChanged, n)
	// Servers from ZooKeeper 3.9 on (and paddock) send the change's zxid; 3.8 sends -1.
	if want := int64(-1); e.kind == "paddock" && ev.Zxid != st.Mzxid || e.kind == "zookeeper" && ev.Zxid != want {
		t.Errorf("event zxid %d (setData mzxid %d)", ev.Zxid, st.Mzxid)
	}

	// getChildren: NodeChildrenChanged, then NodeDeleted.
	_, ch, err = c.GetChildrenW(ctx(t), n)
	must(t, err)
	_, err = w.Create(ctx(t), n+"/k", nil, client.ModePersistent, nil)
	must(t, err)
	wantEvent(t, ch, client.EventNodeChildrenChanged, n)
	_, _, ch, err = c.GetChildren2W(ctx(t), n+"/k")
	must(t, err)
	_, _, chData, err := c.GetDataW(ctx(t), n+"/k")
	must(t, err)
	must(t, w.Delete(ctx(t), n+"/k", client.AnyVersion))
	wantEvent(t, ch, client.EventNodeDeleted, n+"/k")
	wantEvent(t, chData, client.EventNodeDeleted, n+"/k")

	// No watch on a missing node for getData and getChildren.
	_, _, ch, err = c.GetDataW(ctx(t), r+"/missing")
	if !errors.Is(err, client.ErrNoNode) || ch != nil {
		t.Errorf("GetDataW missing = %v %v", ch, err)
	}
	_, ch, err = c.GetChildrenW(ctx(t), r+"/missing")
	if !errors.Is(err, client.ErrNoNode) || ch != nil {
		t.Errorf("GetChildrenW missing = %v %v", ch, err)
	}

	// A one-shot watch fires once: the second change is not reported to it.
	_, _, ch, err = c.GetDataW(ctx(t), n)
	must(t, err)
	_, err = w.SetData(ctx(t), n, []byte("2"), client.AnyVersion)
	must(t, err)
	wantEvent(t, ch, client.EventNodeDataChanged, n)
	_, err = w.SetData(ctx(t), n, []byte("3"), client.AnyVersion)
	must(t, err)
	if ev, ok := <-ch; ok {
		t.Errorf("second event on a one-shot watch: %+v", ev)
	}
}

// testWatchOrdering checks ZooKeeper's promise: a client sees a watch event before it sees the
// change that fired it. The event must be on its channel when a later read returns.
func testWatchOrdering(t *testing.T, e *env) {
	c := connect(t, e.addr, client.Options{})
	w := connect(t, e.addr, client.Options{})
	r := root(t, c, "ordering")
	pw, err := c.AddWatch(ctx(t), r, client.AddWatchPersistentRecursive)
	must(t, err)
	for i := range 20 {
		n := r + "/n"
		if i == 0 {
			_, err = w.Create(ctx(t), n, nil, client.ModePersistent, nil)
			must(t, err)
			wantEvent(t, pw.Events(), client.EventNodeCreated, n)
		}
		_, _, ch, err := c.GetDataW(ctx(t), n)
		must(t, err)
		st, err := w.SetData(ctx(t), n, []byte{byte(i)}, client.AnyVersion)
		must(t, err)
		must(t, c.Sync(ctx(t), n))
		_, got, err := c.GetData(ctx(t), n)
		must(t, err)
		if got.Version != st.Version {
			t.Fatalf("read version %d after sync, want %d", got.Version, st.Version)
		}
		if ev, ok := ready(ch); !ok || ev.Type != client.EventNodeDataChanged {
			t.Fatalf("iteration %d: the one-shot event was not delivered before the read that saw the change", i)
		}
		if ev, ok := ready(pw.Events()); !ok || ev.Type != client.EventNodeDataChanged {
			t.Fatalf("iteration %d: the persistent event was not delivered before the read that saw the change", i)
		}
	}
}

func testPersistentWatches(t *testing.T, e *env) {
	c := connect(t, e.addr, client.Options{})
	w := connect(t, e.addr, client.Options{})
	r := root(t, c, "persistent")
	n := r + "/n"

	pw, err := c.AddWatch(ctx(t), n, client.AddWatchPersistent)
	must(t, err)
	if pw.Path() != n || pw.Mode() != client.AddWatchPersistent {
		t.Errorf("Watcher %q %v", pw.Path(), pw.Mode())
	}
	rw, err := c.AddWatch(ctx(t), r, client.AddWatchPersistentRecursive)
	must(t, err)

	_, err = w.Create(ctx(t), n, nil, client.ModePersistent, nil)
	must(t, err)
	_, err = w.SetData(ctx(t), n, []byte("x"), client.AnyVersion)
	must(t, err)
	_, err = w.Create(ctx(t), n+"/k", nil, client.ModePersistent, nil)
	must(t, err)
	_, err = w.SetData(ctx(t), n+"/k", []byte("y"), client.AnyVersion)
	must(t, err)
	must(t, w.Delete(ctx(t), n+"/k", client.AnyVersion))
	must(t, w.Delete(ctx(t), n, client.AnyVersion))
	_, err = w.Create(ctx(t), n, nil, client.ModePersistent, nil)
	must(t, err)

	// The persistent watch sees its node's changes and its children's comings and goings.
	for _, want := range []struct {
		typ  client.EventType
		path string
	}{
		{client.EventNodeCreated, n}, {client.EventNodeDataChanged, n},
		{client.EventNodeChildrenChanged, n}, {client.EventNodeChildrenChanged, n},
		{client.EventNodeDeleted, n}, {client.EventNodeCreated, n},
	} {
		wantEvent(t, pw.Events(), want.typ, want.path)
	}
	// The recursive one sees the whole subtree, never NodeChildrenChanged.
	for _, want := range []struct {
		typ  client.EventType
		path string
	}{
		{client.EventNodeCreated, n}, {client.EventNodeDataChanged, n},
		{client.EventNodeCreated, n + "/k"}, {client.EventNodeDataChanged, n + "/k"},
		{client.EventNodeDeleted, n + "/k"}, {client.EventNodeDeleted, n}, {client.EventNodeCreated, n},
	} {
		wantEvent(t, rw.Events(), want.typ, want.path)
	}

	must(t, c.CheckWatches(ctx(t), n, client.WatcherAny))
	wantErr(t, "checkWatches without a watch", c.CheckWatches(ctx(t), r+"/none", client.WatcherAny), client.ErrNoWatcher)

	// Remove ends the watch: a last event, then the channel closes.
	must(t, pw.Remove(ctx(t)))
	wantEvent(t, pw.Events(), client.EventPersistentWatchRemoved, n)
	if _, open := <-pw.Events(); open {
		t.Error("watcher channel open after Remove")
	}
	must(t, pw.Remove(ctx(t))) // again: nothing to do
	_, err = w.SetData(ctx(t), n, []byte("z"), client.AnyVersion)
	must(t, err)
	wantEvent(t, rw.Events(), client.EventNodeDataChanged, n)
	if e.kind == "paddock" {
		// ZooKeeper 3.8 has no persistent watcher types for checkWatches.
		must(t, c.CheckWatches(ctx(t), r, client.WatcherPersistentRecursive))
		wantErr(t, "checkWatches of the removed watch", c.CheckWatches(ctx(t), n, client.WatcherPersistent), client.ErrNoWatcher)
	}
	must(t, rw.Remove(ctx(t)))
	wantEvent(t, rw.Events(), client.EventPersistentWatchRemoved, r)
	wantErr(t, "checkWatches after removing all", c.CheckWatches(ctx(t), r, client.WatcherAny), client.ErrNoWatcher)

	_, err = c.AddWatch(ctx(t), n, client.AddWatchMode(7))
	wantErr(t, "addWatch bad mode", err, client.ErrBadArguments)
}

func testRemoveWatches(t *testing.T, e *env) {
	c := connect(t, e.addr, client.Options{})
	r := root(t, c, "remove")
	_, _, chData, err := c.GetDataW(ctx(t), r)
	must(t, err)
	_, _, chExist, err := c.ExistsW(ctx(t), r)
	must(t, err)
	_, chChild, err := c.GetChildrenW(ctx(t), r)
	must(t, err)
	must(t, c.CheckWatches(ctx(t), r, client.WatcherData))
	must(t, c.CheckWatches(ctx(t), r, client.WatcherChildren))

	must(t, c.RemoveWatches(ctx(t), r, client.WatcherData))
	wantEvent(t, chData, client.EventDataWatchRemoved, r)
	wantEvent(t, chExist, client.EventDataWatchRemoved, r)
	wantErr(t, "checkWatches of removed data watches", c.CheckWatches(ctx(t), r, client.WatcherData), client.ErrNoWatcher)
	must(t, c.CheckWatches(ctx(t), r, client.WatcherChildren))
	must(t, c.RemoveWatches(ctx(t), r, client.WatcherChildren))
	wantEvent(t, chChild, client.EventChildWatchRemoved, r)
	wantErr(t, "removeWatches with none left", c.RemoveWatches(ctx(t), r, client.WatcherAny), client.ErrNoWatcher)

	pw, err := c.AddWatch(ctx(t), r, client.AddWatchPersistent)
	must(t, err)
	_, _, chData, err = c.GetDataW(ctx(t), r)
	must(t, err)
	must(t, c.RemoveWatches(ctx(t), r, client.WatcherAny))
	wantEvent(t, chData, client.EventDataWatchRemoved, r)
	wantEvent(t, pw.Events(), client.EventPersistentWatchRemoved, r)
	if _, open := <-pw.Events(); open {
		t.Error("watcher channel open after RemoveWatches")
	}
}
