package conformance

import (
	"strings"

	"github.com/paddock/paddock/internal/proto"
)

// dataScenarios: exists, getData, setData, getACL and setACL; versions, null and empty
// data, and every Stat field after each op (cversion, pzxid and aversion rules).
var dataScenarios = []scenario{
	{name: "data/exists", steps: func(s *Script) {
		s.Exists("n", false)
		s.Create("n", "abc", Open, Persistent)
		s.Exists("n", false)
		s.Exists("n/child", false)
	}},
	{name: "data/exists-odd-paths", steps: func(s *Script) {
		// exists only rejects NUL; other malformed paths are simply not there.
		s.Exists("!x", false)
		s.Exists("a\x00", false)
		s.Exists("a//b", false)
		s.Exists("/zookeeper/", false)
		s.Exists("", false)
	}},
	{name: "data/getdata", steps: func(s *Script) {
		s.GetData("n", false)
		s.Create("n", "hello", Open, Persistent)
		s.GetData("n", false)
		s.GetData("!n", false)
		s.GetData("n\x00", false)
	}},
	{name: "data/setdata", steps: func(s *Script) {
		s.Create2("n", "one", Open, Persistent)
		s.SetData("n", "two!", -1) // version 1, new mzxid and mtime, ctime kept
		s.GetData("n", false)
		s.GetData("", false) // the parent is untouched by setData
	}},
	{name: "data/setdata-versions", steps: func(s *Script) {
		s.Create("n", "", Open, Persistent)
		s.SetData("n", "a", 0)
		s.SetData("n", "b", 0)
		s.SetData("n", "c", 1)
		s.SetData("n", "d", -2)
		s.SetData("n", "e", 100)
		s.SetData("n", "f", -1)
		s.GetData("n", false)
	}},
	{name: "data/setdata-null-and-empty", steps: func(s *Script) {
		s.Create("n", "x", Open, Persistent)
		s.SetData("n", Null, -1)
		s.GetData("n", false)
		s.SetData("n", "", -1)
		s.GetData("n", false)
		s.SetData("n", "back", -1)
		s.GetData("n", false)
	}},
	{name: "data/setdata-same-bytes", steps: func(s *Script) {
		s.Create("n", "same", Open, Persistent)
		s.SetData("n", "same", -1)
		s.SetData("n", "same", -1)
		s.GetData("n", false)
	}},
	{name: "data/setdata-errors", steps: func(s *Script) {
		s.SetData("missing", "x", -1)
		s.SetData("!x", "x", -1)
		s.SetData("!", "x", -1)
		s.SetData("a//b", "x", -1) // path validation before NONODE
		s.SetData("missing/", "x", 3)
		s.Create("n", "", World(R), Persistent)
		s.SetData("n", "x", -1)
		s.SetData("n", "x", 9) // NOAUTH before BADVERSION
		s.GetData("n", false)
	}},
	{name: "data/setdata-large", steps: func(s *Script) {
		s.Create("n", "", Open, Persistent)
		s.SetData("n", strings.Repeat("z", 500000), -1)
		s.GetData("n", false)
		s.SetData("n", "small", -1)
		s.Exists("n", false)
	}},
	{name: "data/setdata-ephemeral-container-ttl", steps: func(s *Script) {
		b := s.Open("b")
		b.Create("e", "", Open, Ephemeral)
		s.CreateContainer("c", "", Open)
		s.CreateTTL("t", "", Open, TTL, 3600000)
		s.SetData("e", "x", 0)
		s.SetData("c", "x", 0)
		s.SetData("t", "x", 0) // refreshes the TTL node's mtime
		s.GetData("t", false)
		s.Delete("c", -1)
	}},
	{name: "data/stat-after-each-op", steps: func(s *Script) {
		s.Create2("n", "1", Open, Persistent)
		s.SetData("n", "22", -1)
		s.SetACL("n", World(All), -1)
		s.Create2("n/c", "", Open, Persistent)
		s.SetData("n/c", "child data does not touch the parent", -1)
		s.Exists("n", false)
		s.Delete("n/c", -1)
		s.Exists("n", false)
		s.GetData("n", false)
	}},
	{name: "data/cversion-counts-creates-and-deletes", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		for _, c := range []string{"p/a", "p/b", "p/c"} {
			s.Create(c, "", Open, Persistent)
		}
		s.Delete("p/b", -1)
		s.Exists("p", false)
		s.Delete("p/a", -1)
		s.Delete("p/c", -1)
		s.Exists("p", false)
	}},
	{name: "data/pzxid-rules", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("p/a", "", Open, Persistent)
		s.SetData("p", "x", -1)
		s.SetData("p/a", "x", -1)
		s.Create("p/a/deep", "", Open, Persistent)
		s.Exists("p", false)
		s.Exists("p/a", false)
	}},
	{name: "data/getacl", steps: func(s *Script) {
		s.Create("n", "", ACL(A(R, "world", "anyone"), A(All, "ip", "127.0.0.1")), Persistent)
		s.GetACL("n")
		s.GetACL("missing")
		s.GetACL("!x")
	}},
	{name: "data/setacl", steps: func(s *Script) {
		s.Create2("n", "d", Open, Persistent)
		s.SetACL("n", World(R|W|Adm), -1) // aversion 1; mzxid and mtime unchanged
		s.GetACL("n")
		s.SetACL("n", World(R|W|Adm), -1) // the same ACL again still counts
		s.GetData("n", false)
	}},
	{name: "data/setacl-versions", steps: func(s *Script) {
		s.Create("n", "", Open, Persistent)
		s.SetACL("n", Open, 1)
		s.SetACL("n", Open, 0)
		s.SetACL("n", Open, 0)
		s.SetACL("n", Open, 1)
		s.SetACL("n", Open, -2)
		s.GetACL("n")
	}},
	{name: "data/setacl-errors", steps: func(s *Script) {
		s.SetACL("missing", Open, -1)
		s.SetACL("missing", ACL(), -1) // INVALIDACL before NONODE
		s.SetACL("!x", ACL(), -1)      // the path first
		s.SetACL("a//b", Open, -1)
		s.Create("n", "", World(R|W|C|D), Persistent)
		s.SetACL("n", Open, -1)
		s.SetACL("n", Open, 5) // NOAUTH before BADVERSION
		s.SetACL("n", ACL(A(All, "digest", "bad")), 0)
		s.GetACL("n")
	}},
	{name: "data/setacl-then-access", steps: func(s *Script) {
		s.Create("n", "v", Open, Persistent)
		b := s.Open("b")
		b.GetData("n", false)
		s.SetACL("n", World(W), -1)
		b.GetData("n", false)
		b.SetData("n", "w", -1)
		s.SetACL("n", World(Adm), -1)
		b.SetData("n", "w", -1)
	}},
	{name: "data/reads-of-other-session", steps: func(s *Script) {
		b := s.Open("b")
		b.Create2("e", "eph", Open, Ephemeral)
		s.GetData("e", false)
		s.Exists("e", false)
		s.GetACL("e")
	}},
	{name: "data/zookeeper-nodes", noRoot: true, steps: func(s *Script) {
		s.GetData("/zookeeper", false)
		s.GetData("/zookeeper/quota", false)
		s.GetData("/zookeeper/config", false)
		s.GetACL("/zookeeper")
		s.GetACL("/zookeeper/quota")
		s.GetACL("/zookeeper/config")
		s.GetChildren2("/zookeeper", false)
	}},
	{name: "data/zookeeper-config-readonly", noRoot: true, steps: func(s *Script) {
		s.SetData("/zookeeper/config", "x", -1)
		s.SetACL("/zookeeper/config", Open, -1)
		s.Create("/zookeeper/config/x", "", Open, Persistent)
		s.GetData("/zookeeper/config", false)
	}},
	{name: "data/version-is-int32", steps: func(s *Script) {
		s.Create("n", "", Open, Persistent)
		s.SetData("n", "", proto.MaxTTL&0x7fffffff)
		s.SetData("n", "", -2147483648)
		s.Exists("n", false)
	}},
	{name: "data/exists-vs-getdata-stat", steps: func(s *Script) {
		s.Create("n", "12345", Open, Persistent)
		s.Create("n/a", "", Open, Persistent)
		s.SetData("n", "6789", -1)
		s.Exists("n", false)
		s.GetData("n", false)
		s.GetChildren2("n", false)
		s.GetACL("n")
	}},
	{name: "data/multiple-sessions-see-writes", steps: func(s *Script) {
		b := s.Open("b")
		c := s.Open("c")
		s.Create("n", "0", Open, Persistent)
		b.SetData("n", "1", 0)
		c.SetData("n", "2", 1)
		s.GetData("n", false)
		b.GetData("n", false)
	}},
	{name: "data/failed-writes-change-nothing", steps: func(s *Script) {
		s.Create2("n", "v", Open, Persistent)
		s.SetData("n", "x", 3)
		s.SetACL("n", Open, 3)
		s.Delete("n", 3)
		s.Create("n", "", Open, Persistent)
		s.GetData("n", false) // version, aversion, mzxid and mtime as created
	}},
	{name: "data/parent-mtime-untouched-by-children", steps: func(s *Script) {
		s.Create2("p", "d", Open, Persistent)
		s.Create("p/a", "", Open, Persistent)
		s.Delete("p/a", -1)
		s.Multi(MCreate("p/b", "", Open, Persistent), MSet("p/b", "x", 0))
		s.GetData("p", false)
	}},
	{name: "data/data-length-counts-bytes", steps: func(s *Script) {
		s.Create2("u", "ü名", Open, Persistent)
		s.SetData("u", "\xff\x00\xfe", -1)
		s.GetData("u", false)
	}},
	{name: "data/stat-of-every-mode", steps: func(s *Script) {
		s.Create("p", "", Open, Persistent)
		s.Create("e", "", Open, Ephemeral)
		s.Create("ps", "", Open, PersistentSeq)
		s.Create("es", "", Open, EphemeralSeq)
		s.CreateContainer("c", "", Open)
		s.CreateTTL("t", "", Open, TTL, 3600000)
		s.CreateTTL("ts", "", Open, TTLSeq, 3600000)
		for _, n := range []string{"p", "e", "ps0000000002", "es0000000003", "c", "t", "ts0000000006"} {
			s.Exists(n, false)
		}
		s.Delete("c", -1)
	}},
	{name: "data/setdata-on-scenario-root", steps: func(s *Script) {
		s.SetData("", "root data", -1)
		s.SetACL("", Open, 0)
		s.GetData("", false)
	}},
	{name: "data/many-versions", steps: func(s *Script) {
		s.Create("n", "", Open, Persistent)
		for i := range int32(10) {
			s.SetData("n", string(rune('a'+i)), i)
		}
		s.Exists("n", false)
	}},
	{name: "data/ephemeral-gone-after-owner-closes", steps: func(s *Script) {
		b := s.Open("b")
		b.Create2("e", "x", Open, Ephemeral)
		s.GetData("e", false)
		b.CloseSession()
		s.GetData("e", false)
		s.Exists("", false)
	}},
	{name: "data/setacl-on-ephemeral-of-other-session", steps: func(s *Script) {
		b := s.Open("b")
		b.Create("e", "", Open, Ephemeral)
		s.SetACL("e", World(R), -1)
		b.SetData("e", "x", -1)
		b.GetACL("e")
	}},
	{name: "data/exists-after-delete-and-recreate", steps: func(s *Script) {
		s.Create("n", "1", Open, Persistent)
		s.Exists("n", false)
		s.Delete("n", 0)
		s.Exists("n", false)
		s.Create("n", "22", Open, Ephemeral)
		s.Exists("n", false)
	}},
	{name: "data/getdata-zookeeper-quota-children", noRoot: true, steps: func(s *Script) {
		s.GetChildren("/zookeeper/quota", false)
		s.Exists("/zookeeper/config", false)
		s.GetData("/zookeeper/config", true) // a watch on a node nobody changes
		s.CheckWatches("/zookeeper/config", WData)
		s.RemoveWatches("/zookeeper/config", WData)
	}},
	{name: "data/setacl-keeps-data-stat", steps: func(s *Script) {
		s.Create("p", "abc", Open, Persistent)
		s.Create("p/c", "", Open, Persistent)
		s.SetACL("p", World(R|W|C|D|Adm), -1)
		s.SetACL("p", ACL(A(All, "world", "anyone"), A(R, "ip", "127.0.0.1")), 1)
		s.GetChildren2("p", false)
		s.GetACL("p")
	}},
}
