// Package watch is the server's watch registry: which connection watches which
// znode path, in which mode, and the fan-out of one change to those connections.
//
// It owns only the registry. The tree decides which events a change fires
// (tree.Apply returns them); the server calls [Registry.Trigger] once per event
// and supplies the READ re-check (CVE-2024-23944) as the allow hook; each
// connection implements [Watcher] and queues what it is given.
//
// # Model (ZooKeeper 3.9)
//
// ZooKeeper keeps two tables, data and child. Since 3.9 (ZOOKEEPER-4466) each
// (connection, path) pair of a table holds a set of modes, so a one-shot watch
// and a persistent watch on the same path coexist: the event is sent once, the
// one-shot part is consumed and the persistent part stays. (3.6 to 3.8 kept a
// single mode per pair, so there a getData watch downgraded a persistent watch
// on the same path to one-shot; paddock follows 3.9.) This package keeps the
// same information as one set of [Kind] bits per (watcher, path):
//
//	Kind                     ZooKeeper table and mode          registered by
//	KindData                 data,  STANDARD                   getData, exists (also on a missing node)
//	KindChild                child, STANDARD                   getChildren, getChildren2
//	KindPersistent           data + child, PERSISTENT          addWatch mode 0
//	KindPersistentRecursive  data,  PERSISTENT_RECURSIVE       addWatch mode 1
//
// Routing of one [Registry.Trigger] call, as DataTree and WatchManager do it:
//
//	event                on the path itself                    on an ancestor
//	NodeCreated          data, persistent, recursive           recursive
//	NodeDataChanged      data, persistent, recursive           recursive
//	NodeDeleted          data, child, persistent, recursive    recursive
//	NodeChildrenChanged  child, persistent                     none
//
// A watcher concerned several times by one event (a data and a child watch on
// a deleted node, recursive watches on two ancestors, ...) is notified once.
// Firing consumes every one-shot watch (KindData, KindChild) of the watcher on
// that path that the event concerns; persistent and recursive watches stay
// until removed or until the connection goes.
//
// # Reports
//
// [Registry.Summary], [Registry.ByWatcher] and [Registry.ByPath] report what
// ZooKeeper 3.8's wchs, wchc and wchp (and the admin commands watch_summary,
// watches and watches_by_path) report: the data table only. Child watches
// (KindChild) never appear there; a persistent watch appears once.
// [Registry.Count] is zk_watch_count: data-table pairs plus child-table pairs,
// so a persistent watch counts twice.
//
// # Concurrency and cost
//
// A Registry is safe for concurrent use. Trigger consumes watches under the
// registry's lock and calls the allow hook and Watcher.Notify after releasing
// it, so both may call back into the Registry; callers that need events in
// order (the apply loop) call Trigger from one goroutine. A Trigger that
// concerns no watcher costs one read lock and one map lookup (plus one lookup
// per ancestor while any recursive watch exists anywhere); no Trigger
// allocates in steady state, whatever its fan-out. A path with one watcher
// costs one small allocation. The registry keeps one small record per
// watcher from its first Add until RemoveAll, so the server must call
// RemoveAll when a connection closes and must not Add for it afterwards.
package watch
