package conformance

import "github.com/paddock/paddock/internal/proto"

// multiScenarios: multi's result shapes on success and failure (one zxid for the whole
// multi, err 0 in the header either way), check inside a multi and on its own, and
// multiRead's independent results.
var multiScenarios = []scenario{
	{name: "multi/success-shapes", steps: func(s *Script) {
		s.Create("d", "", Open, Persistent)
		s.Create("s", "", Open, Persistent)
		s.Multi(
			MCreate("a", "1", Open, Persistent),
			MCreate2("b", "2", Open, Persistent),
			MSet("s", "x", 0),
			MCheck("s", 1),
			MDelete("d", 0),
		)
		s.Exists("b", false)
		s.GetChildren2("", false)
	}},
	{name: "multi/one-zxid-one-time", steps: func(s *Script) {
		s.Multi(
			MCreate("a", "", Open, Persistent),
			MCreate2("b", "", Open, Ephemeral),
			MCreate2("a/c", "x", Open, Persistent),
		)
		s.Exists("a", false)
		s.Exists("b", false)
		s.Exists("a/c", false)
		s.Exists("", false)
	}},
	{name: "multi/container-and-ttl-results", steps: func(s *Script) {
		// createContainer and createTTL results come back with type create2 (15).
		s.Multi(
			MContainer("c", "", Open),
			MCreateTTL("t", "", Open, TTL, 3600000),
			MCreate("c/x", "", Open, Persistent),
		)
		s.Exists("c", false)
		s.Exists("t", false)
		s.Multi(MDelete("c/x", -1), MDelete("c", -1))
	}},
	{name: "multi/failure-in-the-middle", steps: func(s *Script) {
		s.Create("x", "", Open, Persistent)
		s.Multi(
			MCreate("a", "", Open, Persistent),
			MSet("missing", "", -1),
			MCreate("b", "", Open, Persistent),
			MDelete("x", -1),
		)
		s.GetChildren("", false) // nothing applied
		s.Create("c", "", Open, Persistent)
	}},
	{name: "multi/failure-first-and-last", steps: func(s *Script) {
		s.Create("x", "", Open, Persistent)
		s.Multi(MCreate("x", "", Open, Persistent), MCreate("a", "", Open, Persistent))
		s.Multi(MCreate("a", "", Open, Persistent), MDelete("x", 5))
		s.Multi(MCheck("x", 3))
		s.GetChildren2("", false)
	}},
	{name: "multi/check", steps: func(s *Script) {
		s.Create("n", "", Open, Persistent)
		s.SetData("n", "", -1)
		s.Multi(MCheck("n", 1))
		s.Multi(MCheck("n", -1))
		s.Multi(MCheck("n", 0))
		s.Multi(MCheck("missing", -1))
		s.Multi(MCheck("!bad", -1))
	}},
	{name: "multi/check-guards-writes", steps: func(s *Script) {
		s.Create("lock", "", Open, Persistent)
		s.Create("data", "0", Open, Persistent)
		s.Multi(MCheck("lock", 0), MSet("data", "1", -1))
		s.SetData("lock", "", -1)
		s.Multi(MCheck("lock", 0), MSet("data", "2", -1))
		s.GetData("data", false)
	}},
	{name: "multi/check-needs-read", steps: func(s *Script) {
		s.Create("n", "", World(W|C|D|Adm), Persistent)
		s.Multi(MCheck("n", 0))
		s.Multi(MCheck("n", -1), MCreate("x", "", Open, Persistent))
	}},
	{name: "multi/empty", steps: func(s *Script) {
		s.Multi()
		s.Create("n", "", Open, Persistent)
	}},
	{name: "multi/ops-see-earlier-ops", steps: func(s *Script) {
		s.Multi(
			MCreate("p", "", Open, Persistent),
			MCreate("p/c", "", Open, Persistent),
			MSet("p/c", "x", 0),
			MSet("p/c", "y", 1),
			MDelete("p/c", 2),
			MDelete("p", 0),
		)
		s.Exists("p", false)
		s.Exists("", false)
	}},
	{name: "multi/sequential", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Multi(MCreate("p/s-", "", Open, PersistentSeq), MCreate2("p/s-", "", Open, EphemeralSeq))
		s.Exists("p/s-0000000001", false)
		s.Multi(MCreate("p/s-", "", Open, PersistentSeq), MCreate("p/missing/x", "", Open, Persistent))
		s.Create("p/s-", "", Open, PersistentSeq) // the failed multi did not advance the counter
	}},
	{name: "multi/errors-inside", steps: func(s *Script) {
		s.Create("e", "", Open, Ephemeral)
		s.Create("p", "", Open, Persistent)
		s.Create("p/c", "", Open, Persistent)
		s.Create("ro", "", World(R), Persistent)
		s.Multi(MCreate("e/x", "", Open, Persistent))
		s.Multi(MDelete("p", -1))
		s.Multi(MCreate("ro/x", "", Open, Persistent))
		s.Multi(MSet("ro", "x", -1))
		s.Multi(MCreate("bad//path", "", Open, Persistent))
		s.Multi(MCreate("acl", "", ACL(), Persistent))
		s.Multi(MDelete("/zookeeper", -1))
	}},
	{name: "multi/bad-flags", steps: func(s *Script) {
		// ZooKeeper 3.9 rejects unknown create flags while decoding the multi
		// (MultiOperationRecord: "invalid flag"), so the whole request fails; 3.8 decodes
		// them as a persistent create and fails that op with BADARGUMENTS.
		s.Since39("MARSHALLINGERROR")
		s.Multi(MCreate("a", "", Open, Persistent), MCreate("flags", "", Open, proto.CreateMode(42)))
		s.Create("b", "", Open, Persistent)
	}},
	{name: "multi/ttl-inside", steps: func(s *Script) {
		s.Multi(MCreateTTL("t", "", Open, TTL, 0))
		s.Multi(MCreateTTL("t", "", Open, Persistent, 5))
		s.Exists("t", false)
	}},
	{name: "multi/ttl-disabled", opts: plain, steps: func(s *Script) {
		s.Multi(MCreate("a", "", Open, Persistent), MCreateTTL("t", "", Open, TTL, 1000))
	}},
	{name: "multi/failed-multi-consumes-one-zxid", steps: func(s *Script) {
		s.Multi(MCreate("a", "", Open, Persistent), MCreate("a", "", Open, Persistent), MCreate("b", "", Open, Persistent))
		s.Create("c", "", Open, Persistent)
		s.Exists("c", false)
	}},
	{name: "multi/events-of-a-multi", steps: func(s *Script) {
		s.Create("x", "", Open, Persistent)
		b := s.Open("b")
		b.Exists("a", true)
		b.GetData("x", true)
		b.GetChildren("", true)
		s.Multi(MCreate("a", "", Open, Persistent), MSet("x", "1", -1), MDelete("x", -1))
	}},
	{name: "multi/no-events-when-failed", steps: func(s *Script) {
		s.Create("x", "", Open, Persistent)
		b := s.Open("b")
		b.Exists("a", true)
		b.GetData("x", true)
		s.Multi(MCreate("a", "", Open, Persistent), MSet("x", "1", 7))
		s.SetData("x", "2", -1) // the watches are still armed
	}},
	{name: "multi/standalone-check", steps: func(s *Script) {
		// check outside a multi is not a valid request in ZooKeeper 3.9 (ZOOKEEPER-2623):
		// UNIMPLEMENTED with zxid -1 from UnimplementedRequestProcessor, then the server
		// closes the connection. 3.8.0 accepts it and fails on a null Stat without
		// answering (its socket is then closed by the suite's timeout).
		s.Create("n", "", Open, Persistent)
		s.Since39("UNIMPLEMENTED hz=-1")
		s.Check("n", 0)
		s.Alive()
	}},
	{name: "multi/multiread", steps: func(s *Script) {
		s.Create("a", "da", Open, Persistent)
		s.Create("a/x", "", Open, Persistent)
		s.Create("secret", "", World(W), Persistent)
		s.MultiRead(
			MGetData("a"),
			MGetChildren("a"),
			MGetData("missing"),
			MGetChildren("missing"),
			MGetData("secret"),
			MGetChildren("a/x"),
		)
	}},
	{name: "multi/multiread-empty-and-odd-paths", steps: func(s *Script) {
		s.MultiRead()
		s.MultiRead(MGetData("!nopath"), MGetChildren("a\x00"))
	}},
	{name: "multi/multiread-no-watches", steps: func(s *Script) {
		// multiRead ops carry no watch flag: nothing is armed.
		s.Create("a", "", Open, Persistent)
		s.MultiRead(MGetData("a"), MGetChildren("a"))
		s.SetData("a", "x", -1)
		s.Create("a/c", "", Open, Persistent)
	}},
	{name: "multi/mixing-reads-and-writes", steps: func(s *Script) {
		s.Create("a", "", Open, Persistent)
		s.Multi(MCreate("b", "", Open, Persistent), MGetData("a"))
		s.Alive()
	}},
	{name: "multi/multiread-with-a-write", steps: func(s *Script) {
		s.Create("a", "", Open, Persistent)
		s.MultiRead(MGetData("a"), MCreate("b", "", Open, Persistent))
		s.Alive()
	}},
	{name: "multi/ephemerals", steps: func(s *Script) {
		s.Multi(MCreate("e1", "", Open, Ephemeral), MCreate2("e2-", "", Open, EphemeralSeq))
		s.Exists("e2-0000000001", false)
		s.GetEphemerals("")
		b := s.Open("b")
		b.Multi(MDelete("e1", -1), MSet("e2-0000000001", "x", 0))
		s.GetEphemerals("")
	}},
	{name: "multi/create-then-delete-same-node", steps: func(s *Script) {
		s.Multi(MCreate("n", "", Open, Persistent), MDelete("n", 0), MCreate("n", "again", Open, Persistent))
		s.GetData("n", false)
		s.GetChildren2("", false)
	}},
}
