package conformance

import (
	"strings"

	"github.com/paddock/paddock/internal/proto"
)

// plain is a server with ZooKeeper's defaults: extended types (TTL) off, no super digest.
var plain = serverOpts{Name: "plain"}

// createScenarios: create, create2, createContainer and createTTL in every mode, and the
// errors of PrepRequestProcessor.pRequest2TxnCreate in their order of precedence.
var createScenarios = []scenario{
	// --- every mode, through every opcode ---
	{name: "create/persistent", steps: func(s *Script) {
		s.Create("n", "v", Open, Persistent)
		s.GetData("n", false)
		s.GetData("", false) // the parent: cversion+1, pzxid = the create's zxid
	}},
	{name: "create/persistent-create2", steps: func(s *Script) {
		s.Create2("n", "hello", Open, Persistent)
		s.Exists("n", false)
		s.Exists("", false)
	}},
	{name: "create/ephemeral", steps: func(s *Script) {
		s.Create2("e", "x", Open, Ephemeral)
		b := s.Open("b")
		b.Exists("e", false) // ephemeralOwner is a's session
		b.GetEphemerals("")
		s.GetEphemerals("")
	}},
	{name: "create/ephemeral-create", steps: func(s *Script) {
		s.Create("e", "", Open, Ephemeral)
		s.GetData("e", false)
	}},
	{name: "create/persistent-sequential", steps: func(s *Script) {
		s.Create2("s-", "", Open, PersistentSeq)
		s.Create("s-", "", Open, PersistentSeq)
		s.GetChildren2("", false)
	}},
	{name: "create/ephemeral-sequential", steps: func(s *Script) {
		s.Create2("lock-", "", Open, EphemeralSeq)
		s.Create2("lock-", "", Open, EphemeralSeq)
		s.GetEphemerals("")
	}},
	{name: "create/container", steps: func(s *Script) {
		s.CreateContainer("c", "d", Open) // ephemeralOwner reads 0 although it is stored specially
		s.Create2("c/child", "", Open, Persistent)
		s.GetData("c", false)
	}},
	{name: "create/container-via-create", steps: func(s *Script) {
		// Flag 4 on plain create/create2: the reply is the same as for a container.
		s.Create("c1", "", Open, Container)
		s.Create2("c2", "", Open, Container)
		s.Exists("c1", false)
		s.Exists("c2", false)
	}},
	{name: "create/container-other-flags", steps: func(s *Script) {
		s.CreateContainerFlags("p", "", Open, Persistent)
		s.CreateContainerFlags("seq-", "", Open, PersistentSeq)
		s.GetChildren("", false)
	}},
	{name: "create/ttl", steps: func(s *Script) {
		s.CreateTTL("t", "x", Open, TTL, 60000) // ephemeralOwner reads 0
		s.GetData("t", false)
		s.Create2("t/child", "", Open, Persistent) // TTL nodes may have children
	}},
	{name: "create/ttl-sequential", steps: func(s *Script) {
		s.CreateTTL("t-", "", Open, TTLSeq, 60000)
		s.CreateTTL("t-", "", Open, TTLSeq, 60000)
		s.GetChildren2("", false)
	}},
	{name: "create/ttl-bounds", steps: func(s *Script) {
		s.CreateTTL("zero", "", Open, TTL, 0)
		s.CreateTTL("neg", "", Open, TTL, -5)
		s.CreateTTL("max", "", Open, TTL, proto.MaxTTL)
		s.CreateTTL("over", "", Open, TTL, proto.MaxTTL+1)
	}},
	{name: "create/ttl-mode-without-ttl-op", steps: func(s *Script) {
		// A TTL mode through create/create2 carries no ttl (-1): BADARGUMENTS.
		s.Create("t1", "", Open, TTL)
		s.Create2("t2", "", Open, TTLSeq)
	}},
	{name: "create/ttl-op-with-plain-mode", steps: func(s *Script) {
		// createTTL with a non-TTL mode and ttl >= 0: BADARGUMENTS.
		s.CreateTTL("p", "", Open, Persistent, 1000)
		s.CreateTTL("e", "", Open, Ephemeral, 0)
	}},
	{name: "create/ttl-disabled", opts: plain, steps: func(s *Script) {
		s.CreateTTL("t", "", Open, TTL, 1000)
		s.CreateTTL("t-", "", Open, TTLSeq, 1000)
		s.Create("t2", "", Open, TTL) // the mode alone is enough
		s.Exists("t", false)
	}},
	{name: "create/ttl-disabled-before-bad-path", opts: plain, steps: func(s *Script) {
		s.CreateTTL("!nopath", "", Open, TTL, 1000)
		s.CreateTTL("missing/t", "", Open, TTL, 0)
	}},

	// --- data ---
	{name: "create/null-and-empty-data", steps: func(s *Script) {
		s.Create2("null", Null, Open, Persistent)
		s.Create2("empty", "", Open, Persistent)
		s.GetData("null", false)
		s.GetData("empty", false)
	}},
	{name: "create/binary-and-large-data", steps: func(s *Script) {
		s.Create2("bin", "\x00\x01\xff\xfe", Open, Persistent)
		s.Create2("big", strings.Repeat("x", 100000), Open, Persistent)
		s.GetData("bin", false)
		s.GetData("big", false)
	}},

	// --- error precedence ---
	{name: "create/bad-flags", steps: func(s *Script) {
		s.Create("f7", "", Open, proto.CreateMode(7))
		s.Create("fneg", "", Open, proto.CreateMode(-1))
		s.Create2("f100", "", Open, proto.CreateMode(100))
	}},
	{name: "create/bad-flags-first", steps: func(s *Script) {
		// Flags are checked before the path, the ACL and the parent.
		s.Create("!nopath", "", nil, proto.CreateMode(9))
		s.Create("missing/x", "", Open, proto.CreateMode(9))
	}},
	{name: "create/ttl-checked-before-path", steps: func(s *Script) {
		s.CreateTTL("!nopath", "", Open, TTL, 0)
		s.CreateTTL("missing/x", "", nil, TTL, -1)
	}},
	{name: "create/path-without-slash", steps: func(s *Script) {
		s.Create("!relative", "", Open, Persistent)
		s.Create("!", "", Open, Persistent)
		s.Create2("!x/y", "", Open, Persistent)
	}},
	{name: "create/path-with-nul", steps: func(s *Script) {
		s.Create("a\x00b", "", Open, Persistent)
		s.Create("a\x00b", "", nil, Persistent) // before the ACL check
	}},
	{name: "create/invalid-acl", steps: func(s *Script) {
		s.Create("empty", "", ACL(), Persistent)
		s.Create("null", "", nil, Persistent)
		s.Create("scheme", "", ACL(A(All, "nosuch", "x")), Persistent)
		s.Create("world", "", ACL(A(All, "world", "someone")), Persistent)
		s.Create("mixed", "", ACL(A(All, "world", "anyone"), A(R, "nosuch", "x")), Persistent)
		s.Exists("empty", false)
	}},
	{name: "create/invalid-acl-before-parent", steps: func(s *Script) {
		s.Create("missing/x", "", ACL(), Persistent)
		s.Create("missing/x", "", Open, Persistent)
	}},
	{name: "create/invalid-acl-before-full-path-check", steps: func(s *Script) {
		// Only '/' and NUL are checked before the ACL; the full path validation comes later.
		s.Create("a//b", "", ACL(), Persistent)
		s.Create("a//b", "", Open, Persistent)
	}},
	{name: "create/parent-missing", steps: func(s *Script) {
		s.Create("no/such/parent", "", Open, Persistent)
		s.Create2("no/x", "", Open, Ephemeral)
		s.CreateContainer("no/c", "", Open)
		s.CreateTTL("no/t", "", Open, TTL, 100)
	}},
	{name: "create/noauth-on-parent", steps: func(s *Script) {
		s.Create("ro", "", World(R|W|D|Adm), Persistent)
		s.Create("ro/x", "", Open, Persistent)
		s.Create2("ro/x", "", Open, EphemeralSeq)
		s.GetChildren2("ro", false)
	}},
	{name: "create/noauth-before-exists", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/x", "", Open, Persistent)
		s.SetACL("p", World(R), -1)
		s.Create("p/x", "", Open, Persistent) // NOAUTH, not NODEEXISTS
	}},
	{name: "create/noauth-before-full-path-check", steps: func(s *Script) {
		s.Create("p", "", World(R), Persistent)
		s.Create("p/.", "", Open, Persistent)
		s.Create("p/", "", Open, Persistent)
	}},
	{name: "create/full-path-validation", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/", "", Open, Persistent)
		s.Create("p/.", "", Open, Persistent)
		s.Create("p/..", "", Open, Persistent)
		s.Create("p//x", "", Open, Persistent)
		s.Create("p/a\x01b", "", Open, Persistent)
		s.Create("p/a\u007fb", "", Open, Persistent)
		s.Create("p/a\u0090b", "", Open, Persistent)
		s.Create("p/a\ue000b", "", Open, Persistent)
		s.Create("p/a\ufff5b", "", Open, Persistent)
		s.GetChildren("p", false)
	}},
	{name: "create/valid-odd-names", steps: func(s *Script) {
		s.Create("...", "", Open, Persistent)
		s.Create(".x", "", Open, Persistent)
		s.Create("x.", "", Open, Persistent)
		s.Create("ü-名前", "", Open, Persistent)
		s.Create("a b", "", Open, Persistent)
		s.Create("zookeeper", "", Open, Persistent) // only the top-level one is special
		s.GetChildren("", false)
	}},
	{name: "create/trailing-slash-missing-parent", steps: func(s *Script) {
		// "/x/missing/" has parent "/x/missing": NONODE before the path check.
		s.Create("missing/", "", Open, Persistent)
	}},
	{name: "create/node-exists", steps: func(s *Script) {
		s.Create("n", "1", Open, Persistent)
		s.Create("n", "2", Open, Persistent)
		s.Create2("n", "2", Open, Ephemeral)
		s.CreateContainer("n", "", Open)
		s.CreateTTL("n", "", Open, TTL, 1000)
		s.Create("n2", "", Open, Persistent) // failed creates still used zxids
		s.GetData("n", false)
	}},
	{name: "create/node-exists-before-ephemeral-parent", steps: func(s *Script) {
		s.Create("e", "", Open, Ephemeral)
		s.Create("e", "", Open, Persistent)
		s.Create("e/x", "", Open, Persistent)
		s.Create("e/", "", Open, PersistentSeq)
		s.Create("e/.", "", Open, Persistent) // path check before the ephemeral parent
	}},
	{name: "create/no-children-for-ephemerals", steps: func(s *Script) {
		s.Create("e", "", Open, Ephemeral)
		s.Create("e/x", "", Open, Persistent)
		s.Create2("e/y", "", Open, Ephemeral)
		s.CreateContainer("e/c", "", Open)
		s.CreateTTL("e/t", "", Open, TTL, 100)
		s.Create("e/s-", "", Open, PersistentSeq)
		s.GetData("e", false) // cversion untouched
	}},
	{name: "create/children-of-containers-and-ttl", steps: func(s *Script) {
		s.CreateContainer("c", "", Open)
		s.Create2("c/e", "", Open, Ephemeral)
		s.CreateTTL("t", "", Open, TTL, 60000)
		s.Create2("t/e", "", Open, EphemeralSeq)
		s.CreateContainer("c/c", "", Open)
		s.GetChildren2("c", false)
		s.GetChildren2("t", false)
	}},
	{name: "create/reserved-paths", steps: func(s *Script) {
		s.Create("/", "", Open, Persistent)
		s.Create("/zookeeper", "", Open, Persistent)
		s.Create("/zookeeper/quota", "", Open, Persistent)
		s.Create("/zookeeper/config", "", Open, Persistent)
	}},
	{name: "create/duplicate-acl-entries", steps: func(s *Script) {
		s.Create("n", "", ACL(A(All, "world", "anyone"), A(All, "world", "anyone"), A(R, "world", "anyone")), Persistent)
		s.GetACL("n")
	}},
	{name: "create/acl-zero-perms", steps: func(s *Script) {
		s.Create("n", "v", World(0), Persistent)
		s.GetData("n", false)
		s.GetACL("n")
		s.Create("n/x", "", Open, Persistent)
	}},
	{name: "create/stat-of-parent-after-creates", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/a", "", Open, Persistent)
		s.Create("p/b", "", Open, Ephemeral)
		s.Create("p/a", "", Open, Persistent) // a failed create changes nothing
		s.GetChildren2("p", false)
	}},
	{name: "create/many-in-a-row-zxids", steps: func(s *Script) {
		for _, n := range []string{"a", "b", "c", "d"} {
			s.Create2(n, n, Open, Persistent)
		}
		s.Exists("", false)
	}},
}
