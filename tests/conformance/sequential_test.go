package conformance

// sequentialScenarios: the sequence suffix is the parent's count of child creations ever
// (its persisted cversion), whatever the mode of those children and whatever was deleted.
var sequentialScenarios = []scenario{
	{name: "sequential/counter-counts-plain-creates", steps: func(s *Script) {
		s.Create("a", "", Open, Persistent)
		s.Create("b", "", Open, Ephemeral)
		s.Create2("s-", "", Open, PersistentSeq)
		s.Create("c", "", Open, Persistent)
		s.Create2("s-", "", Open, EphemeralSeq)
	}},
	{name: "sequential/parent-slash", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create2("p/", "", Open, PersistentSeq)
		s.Create2("p/", "", Open, EphemeralSeq)
		s.Create("p/", "", Open, Persistent) // without the flag "/p/" is invalid
		s.GetChildren("p", false)
	}},
	{name: "sequential/after-deletes", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/s-", "", Open, PersistentSeq)
		s.Create("p/s-", "", Open, PersistentSeq)
		s.Delete("p/s-0000000000", -1)
		s.Delete("p/s-0000000001", -1)
		s.Create2("p/s-", "", Open, PersistentSeq) // 2, although client cversion is 4
		s.Exists("p", false)
	}},
	{name: "sequential/failed-creates-do-not-count", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/x", "", Open, Persistent)
		s.Create("p/x", "", Open, Persistent)
		s.Create("p/missing/x", "", Open, Persistent)
		s.Create2("p/s-", "", Open, PersistentSeq)
	}},
	{name: "sequential/name-collision", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/s-0000000001", "", Open, Persistent)
		s.Create("p/s-", "", Open, PersistentSeq) // counter 1: collides, and stays at 1
		s.Create("p/s-", "", Open, PersistentSeq)
		s.Create("p/other", "", Open, Persistent)
		s.Create("p/s-", "", Open, PersistentSeq)
	}},
	{name: "sequential/mixed-modes-share-counter", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/e-", "", Open, EphemeralSeq)
		s.CreateTTL("p/t-", "", Open, TTLSeq, 3600000)
		s.CreateContainer("p/c", "", Open)
		s.CreateContainerFlags("p/cs-", "", Open, PersistentSeq)
		s.Create("p/p-", "", Open, PersistentSeq)
		s.GetChildren("p", false)
		s.Delete("p/c", -1)
		s.Delete("p/cs-0000000003", -1)
	}},
	{name: "sequential/per-parent", steps: func(s *Script) {
		s.Create("a", "", Open, Persistent)
		s.Create("b", "", Open, Persistent)
		s.Create("a/x", "", Open, Persistent)
		s.Create("a/s-", "", Open, PersistentSeq)
		s.Create("b/s-", "", Open, PersistentSeq)
	}},
	{name: "sequential/odd-prefixes", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/.", "", Open, PersistentSeq)  // ".0000000000" is a fine name
		s.Create("p/..", "", Open, PersistentSeq) // so is "..0000000001"
		s.Create("p//", "", Open, PersistentSeq)  // an empty component stays invalid
		s.Create("p/x/", "", Open, PersistentSeq) // parent p/x is missing
		s.GetChildren("p", false)
	}},
	{name: "sequential/under-ephemeral", steps: func(s *Script) {
		s.Create("e", "", Open, Ephemeral)
		s.Create("e/", "", Open, PersistentSeq)
		s.Create("e/s-", "", Open, EphemeralSeq)
	}},
	{name: "sequential/create2-stat-and-parent", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create2("p/s-", "data", Open, PersistentSeq)
		s.Create2("p/s-", Null, Open, EphemeralSeq)
		s.GetChildren2("p", false)
	}},
}
