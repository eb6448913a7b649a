package conformance

// childrenScenarios: getChildren, getChildren2, getAllChildrenNumber and getEphemerals.
var childrenScenarios = []scenario{
	{name: "children/basic", steps: func(s *Script) {
		for _, c := range []string{"c", "a", "b"} {
			s.Create(c, "", Open, Persistent)
		}
		s.GetChildren("", false)
		s.GetChildren2("", false)
	}},
	{name: "children/empty-and-missing", steps: func(s *Script) {
		s.Create("leaf", "", Open, Persistent)
		s.GetChildren("leaf", false)
		s.GetChildren2("leaf", false)
		s.GetChildren("missing", false)
		s.GetChildren2("missing", false)
		s.GetChildren("!x", false)
		s.GetChildren("x\x00", false)
	}},
	{name: "children/noauth", steps: func(s *Script) {
		s.Create("p", "", World(C|D|W|Adm), Persistent)
		s.Create("p/x", "", Open, Persistent)
		s.GetChildren("p", false)
		s.GetChildren2("p", false)
		s.GetAllChildrenNumber("p")
		s.GetChildren("p/x", false) // the child's own ACL counts
	}},
	{name: "children/all-children-number", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/a", "", Open, Persistent)
		s.Create("p/a/b", "", Open, Persistent)
		s.Create("p/a/b/c", "", Open, Ephemeral)
		s.Create("p/d", "", Open, Persistent)
		s.GetAllChildrenNumber("p")
		s.GetAllChildrenNumber("p/a")
		s.GetAllChildrenNumber("p/d")
		s.GetAllChildrenNumber("missing")
		s.GetAllChildrenNumber("")
	}},
	{name: "children/zookeeper", noRoot: true, steps: func(s *Script) {
		s.GetChildren("/zookeeper", false)
		s.GetAllChildrenNumber("/zookeeper")
		s.GetChildren2("/zookeeper/quota", false)
		s.GetAllChildrenNumber("/zookeeper/config")
	}},
	{name: "children/ephemerals-by-prefix", steps: func(s *Script) {
		s.Create("a", "", Open, Persistent)
		s.Create("a/e1", "", Open, Ephemeral)
		s.Create("ab", "", Open, Ephemeral)
		s.Create("abc", "", Open, EphemeralSeq)
		s.Create("b", "", Open, Ephemeral)
		s.GetEphemerals("")
		s.GetEphemerals("a")  // a plain string prefix: a, a/e1, ab, abc...
		s.GetEphemerals("ab") // ab and abc
		s.GetEphemerals("a/")
		s.GetEphemerals("zzz")
	}},
	{name: "children/ephemerals-only-own-session", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("mine", "", Open, Ephemeral)
		b.Create("yours", "", Open, Ephemeral)
		s.Create("persistent", "", Open, Persistent)
		s.GetEphemerals("")
		b.GetEphemerals("")
		b.Delete("yours", -1)
		b.GetEphemerals("")
	}},
	{name: "children/ephemerals-whole-tree", steps: func(s *Script) {
		// "/" and "" both mean every ephemeral of the session.
		s.Create("e", "", Open, Ephemeral)
		s.GetEphemerals("/")
		s.GetEphemerals("!")
	}},
	{name: "children/after-deletes", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/a", "", Open, Persistent)
		s.Create("p/b", "", Open, Persistent)
		s.Delete("p/a", -1)
		s.GetChildren2("p", false)
		s.Delete("p/b", -1)
		s.GetChildren("p", false)
		s.GetChildren2("p", false)
	}},
	{name: "children/of-ephemeral-container-ttl", steps: func(s *Script) {
		s.Create("e", "", Open, Ephemeral)
		s.CreateContainer("c", "", Open)
		s.CreateTTL("t", "", Open, TTL, 3600000)
		s.Create("c/x", "", Open, Persistent)
		s.GetChildren2("e", false)
		s.GetChildren2("c", false)
		s.GetChildren2("t", false)
		s.Delete("c/x", -1)
		s.Delete("c", -1)
	}},
	{name: "children/many", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		for range 25 {
			s.Create("p/n-", "", Open, PersistentSeq)
		}
		s.GetChildren2("p", false)
		s.GetAllChildrenNumber("p")
	}},
	{name: "children/names-with-odd-characters", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/ü", "", Open, Persistent)
		s.Create("p/a b", "", Open, Persistent)
		s.Create("p/.hidden", "", Open, Persistent)
		s.GetChildren("p", false)
	}},
}
