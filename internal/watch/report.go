package watch

import "slices"

// The reports below describe ZooKeeper's data table, because that is the
// table DataTree.dumpWatchesSummary, dumpWatches, getWatches, getWatchesByPath
// and getWatchesSummary read (3.8 and 3.9 alike): it holds data and exists
// watches, persistent watches (which are in both tables) and recursive
// watches; child watches (KindChild) are only in the child table and appear in
// none of the reports. Each report scans the registry under its read lock,
// for the four-letter words and the admin commands, not for hot paths.

// Summary is wchs ("<connections> connections watching <paths> paths\nTotal
// watches:<total>") and the admin command watch_summary.
//
//   - paths: the paths with at least one data-table watch.
//   - total: the (watcher, path) pairs with at least one data-table watch; a
//     watcher with a data and a persistent watch on one path counts once.
//   - connections: the watchers that have held a data-table watch since they
//     first appeared, whether or not one is still armed, until RemoveAll. That
//     is ZooKeeper 3.8's count: its watch2Paths entry for a connection is
//     emptied, never removed, when the connection's watches fire or are
//     removed, so a connection whose only getData watch fired still shows as
//     "1 connections watching 0 paths". ([Registry.ByWatcher] lists such a
//     watcher with no paths, as wchc prints its session alone.)
func (r *Registry) Summary() (connections, paths, total int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, ws := range r.watchers {
		if ws.dataEver {
			connections++
		}
	}
	for _, n := range r.paths {
		for _, bits := range n.all() {
			if bits&inData != 0 {
				paths++
				break
			}
		}
	}
	return connections, paths, r.dataPairs
}

// ByWatcher is wchc and the admin command watches: each watcher counted by
// Summary with its data-table paths, sorted. A watcher whose watches have all
// fired or been removed maps to an empty list. The map and the slices are new
// and belong to the caller.
func (r *Registry) ByWatcher() map[Watcher][]string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[Watcher][]string, len(r.watchers))
	for w, ws := range r.watchers {
		if !ws.dataEver {
			continue
		}
		list := make([]string, 0)
		for path := range ws.paths {
			if r.bits(path, ws)&inData != 0 {
				list = append(list, path)
			}
		}
		slices.Sort(list)
		out[w] = list
	}
	return out
}

// ByPath is wchp and the admin command watches_by_path: each path with a
// data-table watch and the watchers holding one there, in no particular order.
// The map and the slices are new and belong to the caller.
func (r *Registry) ByPath() map[string][]Watcher {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string][]Watcher)
	for path, n := range r.paths {
		var list []Watcher
		for ws, bits := range n.all() {
			if bits&inData != 0 {
				list = append(list, ws.w)
			}
		}
		if list != nil {
			out[path] = list
		}
	}
	return out
}

// Count is zk_watch_count, ZooKeeper's DataTree.getWatchCount: the (watcher,
// path) pairs of the data table plus those of the child table. A persistent
// watch is in both and counts twice; a data and a child watch of one watcher
// on one path count two. It costs O(1).
func (r *Registry) Count() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.dataPairs + r.childPairs
}
