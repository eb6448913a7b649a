package conformance

// deleteScenarios: delete with versions, its errors in PrepRequestProcessor's order
// (reserved or malformed path, parent missing, no DELETE on the parent, node missing,
// version, children) and what it does to the parent's Stat.
var deleteScenarios = []scenario{
	{name: "delete/basic", steps: func(s *Script) {
		s.Create("n", "v", Open, Persistent)
		s.Delete("n", -1)
		s.Exists("n", false)
		s.GetChildren2("", false) // cversion +1 again, pzxid = the delete's zxid
	}},
	{name: "delete/version", steps: func(s *Script) {
		s.Create("n", "", Open, Persistent)
		s.SetData("n", "1", -1)
		s.Delete("n", 0)
		s.Delete("n", 2)
		s.Delete("n", -2)
		s.Delete("n", 1)
		s.Exists("n", false)
	}},
	{name: "delete/nonode", steps: func(s *Script) {
		s.Delete("missing", -1)
		s.Delete("missing/child", -1)
		s.Delete("missing", 5)
		s.Create("n", "", Open, Persistent) // failed deletes used zxids
	}},
	{name: "delete/notempty", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/c", "", Open, Persistent)
		s.Delete("p", -1)
		s.Delete("p/c", -1)
		s.Delete("p", -1)
		s.GetChildren2("", false)
	}},
	{name: "delete/version-before-notempty", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/c", "", Open, Persistent)
		s.Delete("p", 3)
		s.Delete("p", 0)
	}},
	{name: "delete/reserved-nodes", steps: func(s *Script) {
		s.Delete("/", -1)
		s.Delete("/zookeeper", -1)
		s.Delete("/zookeeper/quota", -1)
		s.Delete("/zookeeper/config", -1)
		s.Delete("/zookeeper/quota", 0)
		s.Exists("/zookeeper/quota", false)
	}},
	{name: "delete/malformed-paths", steps: func(s *Script) {
		s.Delete("!x", -1)
		s.Delete("!", -1)
		s.Delete("a\x00b", -1)
		s.Create("p", "", Open, Persistent)
		// delete does no full path validation: these are just missing nodes.
		s.Delete("p/", -1)
		s.Delete("p/.", -1)
		s.Delete("p//x", -1)
	}},
	{name: "delete/noauth-on-parent", steps: func(s *Script) {
		s.Create("p", "", World(R|W|C|Adm), Persistent)
		s.Create("p/c", "", Open, Persistent)
		s.Delete("p/c", -1)
		s.Delete("p/missing", -1) // NOAUTH before NONODE
		s.Delete("p/c", 7)        // NOAUTH before BADVERSION
		s.Exists("p/c", false)
	}},
	{name: "delete/needs-no-permission-on-node", steps: func(s *Script) {
		s.Create("n", "", World(0), Persistent)
		s.Delete("n", -1)
	}},
	{name: "delete/ephemeral-of-other-session", steps: func(s *Script) {
		b := s.Open("b")
		b.Create("e", "", Open, Ephemeral)
		s.Delete("e", -1)
		b.GetEphemerals("")
		b.Create2("e", "", Open, Ephemeral)
	}},
	{name: "delete/parent-stat", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/a", "", Open, Persistent)
		s.Create("p/b", "", Open, Persistent)
		s.Delete("p/a", -1)
		s.GetChildren2("p", false)
		s.Delete("p/b", -1)
		s.GetChildren2("p", false)
	}},
	{name: "delete/recreate", steps: func(s *Script) {
		s.Create2("n", "1", Open, Persistent)
		s.SetData("n", "2", -1)
		s.Delete("n", 1)
		s.Create2("n", "3", Open, Persistent) // a new node: version 0 again, new czxid
		s.GetChildren2("", false)
	}},
	{name: "delete/container-ttl-ephemeral", steps: func(s *Script) {
		s.CreateContainer("c", "", Open)
		s.CreateTTL("t", "", Open, TTL, 3600000)
		s.Create("e", "", Open, Ephemeral)
		s.Delete("c", 0)
		s.Delete("t", 0)
		s.Delete("e", 0)
		s.GetEphemerals("")
		s.GetChildren2("", false)
	}},
	{name: "delete/container-with-children", steps: func(s *Script) {
		s.CreateContainer("c", "", Open)
		s.Create("c/x", "", Open, Persistent)
		s.Delete("c", -1)
		s.Delete("c/x", -1)
		s.Exists("c", false)
		s.Delete("c", -1) // no reapable container left behind
	}},
	{name: "delete/deep-chain", steps: func(s *Script) {
		s.Create("a", "", Open, Persistent)
		s.Create("a/b", "", Open, Persistent)
		s.Create("a/b/c", "", Open, Persistent)
		s.Delete("a/b", -1)
		s.Delete("a/b/c", -1)
		s.Delete("a/b", -1)
		s.Delete("a", -1)
		s.GetAllChildrenNumber("")
	}},
}
