package conformance

import "github.com/paddock/paddock/internal/proto"

// watchScenarios: one-shot data, exist and child watches for every op; one event per
// connection; events before the reply that shows their change; persistent and recursive
// watches (addWatch); removeWatches and checkWatches; setWatches and setWatches2 on
// reconnect; delivery re-checked against the node's ACL.
var watchScenarios = []scenario{
	// --- one-shot watches, every op ---
	{name: "watch/exists-created", steps: func(s *Script) {
		b := s.Open("b")
		s.Exists("n", true) // a missing node still gets a watch
		b.Create("n", "", Open, Persistent)
		b.SetData("n", "x", -1) // one-shot: nothing more
	}},
	{name: "watch/exists-data-changed", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		s.Exists("n", true)
		b.SetData("n", "x", -1)
		b.SetData("n", "y", -1)
	}},
	{name: "watch/exists-deleted", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		s.Exists("n", true)
		b.Delete("n", -1)
		b.Create("n", "", Open, Persistent)
	}},
	{name: "watch/getdata-changed-and-deleted", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		s.Create("m", "", Open, Persistent)
		s.GetData("n", true)
		s.GetData("m", true)
		b.SetData("n", "x", -1)
		b.Delete("m", -1)
	}},
	{name: "watch/getdata-missing-sets-no-watch", steps: func(s *Script) {
		b := s.Open("b")
		s.GetData("n", true)
		s.GetChildren("n", true)
		s.GetChildren2("n", true)
		b.Create("n", "", Open, Persistent)
		b.Create("n/c", "", Open, Persistent)
	}},
	{name: "watch/children-created-and-deleted", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("p", "", Open, Persistent)
		s.GetChildren("p", true)
		b.Create("p/a", "", Open, Persistent)
		s.GetChildren2("p", true)
		b.Delete("p/a", -1)
		b.Create("p/b", "", Open, Persistent)
	}},
	{name: "watch/children-node-itself-deleted", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("p", "", Open, Persistent)
		s.GetChildren("p", true)
		b.Delete("p", -1)
	}},
	{name: "watch/children-not-for-data-or-grandchildren", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("p", "", Open, Persistent)
		s.Create("p/a", "", Open, Persistent)
		s.GetChildren("p", true)
		b.SetData("p", "x", -1)
		b.SetData("p/a", "x", -1)
		b.Create("p/a/deep", "", Open, Persistent)
		b.SetACL("p", Open, -1)
		b.Create("p/b", "", Open, Persistent) // the watch was still armed
	}},
	{name: "watch/setacl-sync-and-reads-fire-nothing", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		s.Exists("n", true)
		s.GetChildren("n", true)
		b.SetACL("n", World(All), -1)
		b.Sync("n")
		b.GetData("n", false)
		b.Exists("n", false)
		b.GetChildren("n", false)
		b.Delete("n", -1)
	}},
	{name: "watch/failed-writes-fire-nothing", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		s.GetData("n", true)
		s.GetChildren("", true)
		b.SetData("n", "x", 5)
		b.Delete("n", 5)
		b.Create("n", "", Open, Persistent)
		b.SetData("n", "x", 0)
	}},
	{name: "watch/one-event-per-connection", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		s.Exists("n", true)
		s.GetData("n", true)
		s.Exists("n", true)
		b.SetData("n", "x", -1)
	}},
	{name: "watch/one-event-on-delete-with-data-and-child-watches", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		s.Exists("n", true)
		s.GetChildren("n", true)
		b.Delete("n", -1)
	}},
	{name: "watch/every-watching-connection", steps: func(s *Script) {
		b := s.Open("b")
		c := s.Open("c")
		s.Create("n", "", Open, Persistent)
		s.GetData("n", true)
		b.Exists("n", true)
		c.SetData("n", "x", -1)
	}},
	{name: "watch/own-write-event-before-reply", steps: func(s *Script) {
		s.Create("n", "", Open, Persistent)
		s.GetData("n", true)
		s.GetChildren("", true)
		s.SetData("n", "x", -1)
		s.Delete("n", -1)
	}},
	{name: "watch/event-before-the-read-that-shows-the-change", steps: func(s *Script) {
		// Without barriers: a's event must still arrive before a's next reply.
		s.AutoBarrier = false
		b := s.Open("b")
		s.Create("n", "old", Open, Persistent)
		s.GetData("n", true)
		b.SetData("n", "new", -1)
		s.GetData("n", false)
		s.Exists("m", true)
		b.Create("m", "", Open, Persistent)
		s.GetChildren("", false)
	}},
	{name: "watch/ephemeral-deleted-by-close-session", steps: func(s *Script) {
		b := s.Open("b")
		b.Create("e", "", Open, Ephemeral)
		s.Exists("e", true)
		s.GetChildren("", true)
		b.CloseSession()
	}},
	{name: "watch/watches-of-closed-session-are-gone", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		b.GetData("n", true)
		b.Drop()
		s.SetData("n", "x", -1)
		b.Reconnect(false)
		s.SetData("n", "y", -1) // watches belong to the connection: none survived
		b.GetData("n", false)
	}},

	// --- persistent and persistent-recursive watches ---
	{name: "watch/persistent", steps: func(s *Script) {
		b := s.Open("b")
		s.AddWatch("n", Persist) // no node needed
		b.Create("n", "", Open, Persistent)
		b.SetData("n", "1", -1)
		b.SetData("n", "2", -1)
		b.Create("n/c", "", Open, Persistent)
		b.SetData("n/c", "x", -1)
		b.Create("n/c/d", "", Open, Persistent)
		b.Delete("n/c/d", -1)
		b.Delete("n/c", -1)
		b.Delete("n", -1)
		b.Create("n", "", Open, Persistent)
	}},
	{name: "watch/persistent-recursive", steps: func(s *Script) {
		b := s.Open("b")
		s.AddWatch("p", Recursive)
		b.Create("p", "", Open, Persistent)
		b.Create("p/a", "", Open, Persistent)
		b.Create("p/a/b", "", Open, Persistent)
		b.SetData("p/a/b", "x", -1)
		b.SetACL("p/a", Open, -1)
		b.Delete("p/a/b", -1)
		b.Delete("p/a", -1)
		b.Create("pp", "", Open, Persistent) // a sibling with the same prefix is not below p
		b.Delete("p", -1)
	}},
	{name: "watch/persistent-recursive-on-scenario-root", steps: func(s *Script) {
		b := s.Open("b")
		s.AddWatch("", Recursive)
		b.Multi(MCreate("x", "", Open, Persistent), MCreate("x/y", "", Open, Ephemeral), MSet("x", "1", 0))
		b.CloseSession()
	}},
	{name: "watch/addwatch-modes", steps: func(s *Script) {
		s.AddWatch("a", Persist)
		s.AddWatch("a", Persist)
		s.AddWatch("b", Recursive)
		s.AddWatch("c", 2)
		s.AddWatch("d", -1)
		s.AddWatch("!nopath", Persist)
		s.Create("a", "", Open, Persistent)
	}},
	{name: "watch/addwatch-needs-no-read-but-delivery-does", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("secret", "", World(C|D|W|Adm), Persistent)
		s.AddWatch("secret", Persist)
		b.SetData("secret", "x", -1)
		b.Create("secret/child", "", Open, Persistent) // readable child, unreadable parent
	}},
	{name: "watch/persistent-two-sessions", steps: func(s *Script) {
		b := s.Open("b")
		c := s.Open("c")
		s.AddWatch("n", Persist)
		b.AddWatch("", Recursive)
		c.Create("n", "", Open, Persistent)
		c.SetData("n", "x", -1)
	}},

	// --- removeWatches and checkWatches ---
	{name: "watch/remove-data-watch", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		s.GetData("n", true)
		s.CheckWatches("n", WData)
		s.CheckWatches("n", WChildren)
		s.RemoveWatches("n", WChildren)
		s.RemoveWatches("n", WData)
		s.CheckWatches("n", WData)
		s.RemoveWatches("n", WData)
		b.SetData("n", "x", -1)
	}},
	{name: "watch/remove-exists-watch-on-missing-node", steps: func(s *Script) {
		b := s.Open("b")
		s.Exists("n", true)
		s.CheckWatches("n", WData)
		s.CheckWatches("n", WAny)
		s.RemoveWatches("n", WAny)
		s.CheckWatches("n", WAny)
		b.Create("n", "", Open, Persistent)
	}},
	{name: "watch/remove-child-watch", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("p", "", Open, Persistent)
		s.GetChildren("p", true)
		s.GetData("p", true)
		s.CheckWatches("p", WChildren)
		s.RemoveWatches("p", WChildren)
		s.CheckWatches("p", WChildren)
		s.CheckWatches("p", WData)
		b.Create("p/c", "", Open, Persistent)
		b.SetData("p", "x", -1)
	}},
	{name: "watch/remove-any", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("p", "", Open, Persistent)
		s.GetChildren("p", true)
		s.Exists("p", true)
		s.RemoveWatches("p", WAny)
		s.RemoveWatches("p", WAny)
		b.Create("p/c", "", Open, Persistent)
		b.Delete("p/c", -1)
		b.SetData("p", "x", -1)
	}},
	{name: "watch/check-does-not-remove", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		s.Exists("n", true)
		s.CheckWatches("n", WAny)
		s.CheckWatches("n", WData)
		b.SetData("n", "x", -1)
		s.CheckWatches("n", WData) // fired, so gone
	}},
	{name: "watch/nowatcher", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		b.GetData("n", true) // another connection's watch is not ours to check or remove
		s.CheckWatches("n", WChildren)
		s.RemoveWatches("n", WChildren)
		// ZooKeeper 3.8's WatchManager.containsWatcher answers true when any connection
		// watches the path; 3.9 looks at the caller's own watches only.
		s.Since39("NOWATCHER")
		s.CheckWatches("n", WData)
		s.RemoveWatches("n", WData)
		s.Since39("NOWATCHER")
		s.CheckWatches("n", WAny)
		s.RemoveWatches("n", WAny)
		s.CheckWatches("missing", WAny)
		s.RemoveWatches("!nopath", WAny)
		b.CheckWatches("n", WData)
	}},
	{name: "watch/unknown-watcher-type", steps: func(s *Script) {
		s.Create("n", "", Open, Persistent)
		s.GetData("n", true)
		s.CheckWatches("n", proto.WatcherType(7))
		s.RemoveWatches("n", proto.WatcherType(0))
		s.Alive()
		s.CheckWatches("n", WData)
	}},
	{name: "watch/remove-persistent-with-any", steps: func(s *Script) {
		b := s.Open("b")
		s.AddWatch("n", Persist)
		s.AddWatch("r", Recursive)
		s.CheckWatches("n", WAny)
		s.CheckWatches("r", WAny)
		s.RemoveWatches("n", WAny)
		s.RemoveWatches("r", WAny)
		s.CheckWatches("n", WAny)
		b.Create("n", "", Open, Persistent)
		b.Create("r", "", Open, Persistent)
	}},
	{name: "watch/remove-persistent-by-type", steps: func(s *Script) {
		// WatcherType Persistent (4) and PersistentRecursive (5) exist since ZooKeeper
		// 3.9.0; 3.8 rejects them (MARSHALLINGERROR) and keeps the watch.
		b := s.Open("b")
		s.AddWatch("n", Persist)
		s.AddWatch("r", Recursive)
		s.Since39("OK")
		s.CheckWatches("n", WPersistent)
		s.Since39("NOWATCHER")
		s.CheckWatches("n", WRecursive)
		s.Since39("OK")
		s.CheckWatches("r", WRecursive)
		s.Since39("NOWATCHER")
		s.CheckWatches("r", WPersistent)
		s.Since39("OK")
		s.RemoveWatches("n", WPersistent)
		s.Since39("OK")
		s.RemoveWatches("r", WRecursive)
		// 3.8 still has both watches: remove them so the two servers agree again
		// (3.9 has none left: NOWATCHER).
		s.Since39("NOWATCHER")
		s.RemoveWatches("n", WAny)
		s.Since39("NOWATCHER")
		s.RemoveWatches("r", WAny)
		b.Create("n", "", Open, Persistent)
		b.Create("r", "", Open, Persistent)
	}},
	{name: "watch/persistent-is-not-a-standard-watch", steps: func(s *Script) {
		// ZooKeeper 3.9 checks and removes Data and Children watches in the standard mode
		// only; 3.8 also matched the persistent watch's registrations.
		s.AddWatch("n", Persist)
		s.AddWatch("r", Recursive)
		s.Since39("NOWATCHER")
		s.CheckWatches("n", WData)
		s.Since39("NOWATCHER")
		s.CheckWatches("n", WChildren)
		s.Since39("NOWATCHER")
		s.CheckWatches("r", WChildren)
		s.Since39("NOWATCHER")
		s.CheckWatches("r", WData)
		s.RemoveWatches("n", WAny)
		s.RemoveWatches("r", WAny)
	}},

	// --- setWatches / setWatches2 on reconnect ---
	{name: "watch/setwatches-fires-missed-events", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("changed", "", Open, Persistent)
		s.Create("deleted", "", Open, Persistent)
		s.Create("same", "", Open, Persistent)
		s.Create("p", "", Open, Persistent)
		r := s.GetData("same", true)
		s.Drop()
		b.SetData("changed", "x", -1)
		b.Delete("deleted", -1)
		b.Create("created", "", Open, Persistent)
		b.Create("p/child", "", Open, Persistent)
		s.Reconnect(false)
		s.SetWatches(r.Zxid, Watches{
			Data:  []string{"changed", "deleted", "same"},
			Exist: []string{"created", "absent"},
			Child: []string{"p", "deleted", "same"},
		}, false)
	}},
	{name: "watch/setwatches-rearms", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		s.Create("p", "", Open, Persistent)
		r := s.Exists("n", false)
		s.SetWatches(r.Zxid, Watches{Data: []string{"n"}, Exist: []string{"m"}, Child: []string{"p"}}, false)
		b.SetData("n", "x", -1)
		b.Create("m", "", Open, Persistent)
		b.Create("p/c", "", Open, Persistent)
		b.SetData("n", "y", -1) // all were one-shot
	}},
	{name: "watch/setwatches-relative-zxid", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		r1 := s.SetData("n", "1", -1)
		b.SetData("n", "2", -1)
		// mzxid > relative zxid: fires now; mzxid == relative zxid: armed.
		s.SetWatches(r1.Zxid, Watches{Data: []string{"n"}}, false)
		r2 := s.Exists("n", false)
		s.SetWatches(r2.Stat.Mzxid, Watches{Data: []string{"n"}}, false)
		b.SetData("n", "3", -1)
	}},
	{name: "watch/setwatches2-persistent", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		r := s.Exists("n", false)
		s.SetWatches(r.Zxid, Watches{Persistent: []string{"n"}, Recursive: []string{"r"}, Data: []string{"n"}}, true)
		b.SetData("n", "x", -1)
		b.SetData("n", "y", -1)
		b.Create("r", "", Open, Persistent)
		b.Create("r/c", "", Open, Persistent)
		b.Create("n/c", "", Open, Persistent)
	}},
	{name: "watch/setwatches-zero-zxid", steps: func(s *Script) {
		// relative zxid 0: every existing node has changed since.
		s.Create("n", "", Open, Persistent)
		s.SetWatches(0, Watches{Data: []string{"n"}, Child: []string{"n"}, Exist: []string{"n"}}, false)
	}},

	// --- delivery re-checked against the ACL (CVE-2024-23944, 3.9.2/3.8.4) ---
	{name: "watch/delivery-needs-read", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		s.Exists("n", true)
		b.SetACL("n", World(W|Adm), -1)
		b.SetData("n", "x", -1) // a may no longer read n: no event, and the watch is spent
		b.SetACL("n", Open, -1)
		b.SetData("n", "y", -1)
	}},
	{name: "watch/recursive-filtered-by-acl", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("p", "", Open, Persistent)
		s.AddWatch("p", Recursive)
		b.Create("p/open", "", Open, Persistent)
		b.Create("p/secret", "", World(W|D), Persistent)
		b.SetData("p/secret", "x", -1)
		b.Delete("p/secret", -1) // NodeDeleted is checked against the deleted node's ACL
		b.Delete("p/open", -1)
	}},
	{name: "watch/child-event-checked-against-parent", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("p", "", Open, Persistent)
		s.GetChildren("p", true)
		b.SetACL("p", World(C|D|Adm), -1)
		b.Create("p/c", "", Open, Persistent)
		s.AddWatch("p", Persist)
		b.Delete("p/c", -1)
	}},
}
