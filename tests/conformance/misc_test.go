package conformance

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/paddock/paddock/internal/proto"
)

// reaper runs the container and TTL reaper every 100 ms.
var reaper = serverOpts{Name: "reaper", Properties: map[string]string{
	"zookeeper.extendedTypesEnabled":  "true",
	"znode.container.checkIntervalMs": "100",
}}

// whitelist allows only two four-letter words (ruok stays on it: the harness probes with it).
var whitelist = serverOpts{Name: "whitelist", Config: []string{"4lw.commands.whitelist=ruok, srvr"}}

// miscScenarios: sync, unknown opcodes, reconfig, four-letter words, the reserved nodes of
// a fresh tree, malformed requests, the reaper, and a restart; then the formats of the other
// four-letter words (fourLetterScenarios, fourletter_test.go).
var miscScenarios = append([]scenario{
	{name: "misc/sync", steps: func(s *Script) {
		s.Create("n", "", Open, Persistent)
		s.Sync("n")
		s.Sync("missing")
		s.Sync("!not/a/path")
		s.Sync("!")
		s.Sync("/zookeeper")
	}},
	{name: "misc/unknown-opcode", steps: func(s *Script) {
		// UNIMPLEMENTED (zxid -1), then the server closes the connection. ZooKeeper queues
		// that close behind the reply, so under load it may still answer a ping sent right
		// after: a probe would compare the timing of two closes. Wait for the close instead,
		// sending nothing.
		s.Raw(proto.Op(999), nil)
		s.WaitClosed(5 * time.Second)
		b := s.Open("b")
		b.Raw(proto.Op(10), nil)
		b.WaitClosed(5 * time.Second)
		c := s.Open("c")
		c.Raw(proto.OpNotification, nil)
		c.WaitClosed(5 * time.Second)
	}},
	{name: "misc/reconfig-disabled", steps: func(s *Script) {
		s.Reconfig("server.2=127.0.0.1:2888:3888;2181", "", "", -1)
		s.Reconfig("", "1", "", -1)
		s.Alive()
	}},
	{name: "misc/sasl-without-a-provider", steps: func(s *Script) {
		s.Raw(proto.OpSASL, proto.Marshal(nil, &proto.PathRequest{Path: "token"}))
		s.Alive()
	}},
	{name: "misc/malformed-request-body", steps: func(s *Script) {
		s.Raw(proto.OpGetData, []byte{1, 2, 3})
		s.Raw(proto.OpExists, nil)
		s.Alive()
		s.Create("n", "", Open, Persistent)
	}},
	{name: "misc/frame-over-jute-maxbuffer", steps: func(s *Script) {
		s.Create("ok", strings.Repeat("x", 1000000), Open, Persistent)
		s.Create("too-big", strings.Repeat("x", 1100000), Open, Persistent)
		s.Alive()
	}},
	{name: "misc/read-paths-are-not-validated", steps: func(s *Script) {
		for _, p := range []string{"x/", "x//y", "x/./y", "!rel"} {
			s.GetACL(p)
			s.GetChildren2(p, false)
			s.GetAllChildrenNumber(p)
		}
	}},
	{name: "misc/nul-in-read-paths", steps: func(s *Script) {
		s.Create("n", "", Open, Persistent)
		s.GetData("n\x00x", false)
		s.GetChildren("n\x00x", false)
		s.GetACL("n\x00x")
		s.Exists("n\x00x", false)
		s.Sync("n\x00x")
	}},
	{name: "misc/ping-with-an-ordinary-xid", steps: func(s *Script) {
		// A ping sent with a request xid is answered with xid -2 all the same.
		s.Raw(proto.OpPing, nil)
	}},
	{name: "misc/close-session-with-body", steps: func(s *Script) {
		s.Create("e", "", Open, Ephemeral)
		s.Raw(proto.OpCloseSession, []byte{1, 2, 3, 4})
		s.Alive()
		b := s.Open("b")
		b.Exists("e", false)
	}},
	{name: "misc/requests-after-auth-failure-are-not-answered", steps: func(s *Script) {
		b := s.Open("b")
		b.Auth("bogus", "x")
		b.GetData("", false)
		s.GetData("", false)
	}},
	{name: "misc/4lw-ruok-and-isro", steps: func(s *Script) {
		s.FourLetter("ruok", nil)
		s.FourLetter("isro", nil)
		s.FourLetter("abcd", nil) // not a word: read as a huge frame length, and closed
	}},
	{name: "misc/4lw-srvr", steps: func(s *Script) {
		s.FourLetter("srvr", s.normSrvr(false))
	}},
	{name: "misc/4lw-mntr", steps: func(s *Script) {
		s.FourLetter("mntr", s.normMntr(false))
	}},
	{name: "misc/4lw-not-whitelisted", opts: whitelist, steps: func(s *Script) {
		s.FourLetter("ruok", nil)
		s.FourLetter("mntr", nil)
		s.FourLetter("isro", nil)
		s.FourLetter("conf", nil)
		s.FourLetter("srvr", s.normSrvr(false))
	}},
	{name: "misc/fresh-tree", opts: fresh("fresh-tree"), noRoot: true, steps: func(s *Script) {
		s.GetChildren2("/", false)
		s.GetData("/", false)
		s.GetACL("/")
		s.GetAllChildrenNumber("/")
		s.GetAllChildrenNumber("/zookeeper")
		s.GetChildren2("/zookeeper", false)
		s.FourLetter("srvr", s.normSrvr(true))
		s.FourLetter("mntr", s.normMntr(true))
		s.Create("/", "", Open, PersistentSeq) // the root's counter: one child ever (zookeeper)
		s.Create("/a", "", Open, Persistent)
		s.Create("/a/e", "", Open, Ephemeral)
		s.GetAllChildrenNumber("/")
		s.GetChildren2("/", false)
		s.FourLetter("mntr", s.normMntr(true))
		s.FourLetter("srvr", s.normSrvr(true))
	}},
	{name: "misc/restart-keeps-tree-and-sessions", opts: fresh("restart"), steps: func(s *Script) {
		s.Create2("p", "data", Open, Persistent)
		s.Create("p/e", "", Open, Ephemeral)
		s.SetData("p", "more", 0)
		s.SetACL("p", World(All), 0)
		s.Multi(MCreate("p/s-", "", Open, PersistentSeq), MDelete("p/e", 0), MCreate("p/e", "", Open, Ephemeral))
		s.Drop()
		s.srv.Restart()
		s.Reconnect(false)
		s.GetData("p", false)
		s.GetChildren2("p", false)
		s.GetEphemerals("")
		s.Create("p/s-", "", Open, PersistentSeq)
		s.Create("after", "", Open, Persistent)
	}},
	{name: "misc/container-reaped-after-last-child", opts: reaper, steps: func(s *Script) {
		s.CreateContainer("c", "", Open)
		s.Create("c/x", "", Open, Persistent)
		s.Exists("c", true)
		s.GetChildren("", true)
		s.Delete("c/x", -1)
		s.WaitEvents(2, 5*time.Second)
		s.Exists("c", false)
	}},
	{name: "misc/container-never-used-is-kept", opts: reaper, steps: func(s *Script) {
		s.CreateContainer("c", "", Open)
		s.Sleep(500 * time.Millisecond)
		s.Exists("c", false)
		s.Delete("c", -1)
	}},
	{name: "misc/ttl-node-expires", opts: reaper, steps: func(s *Script) {
		s.CreateTTL("t", "", Open, TTL, 1000)
		s.CreateTTL("busy", "", Open, TTL, 1000)
		s.Create("busy/child", "", Open, Persistent) // a TTL node with children stays
		s.Exists("t", true)
		s.WaitEvents(1, 5*time.Second)
		s.Exists("t", false)
		s.Exists("busy", false)
		s.Delete("busy/child", -1)
		s.Exists("busy", true)
		s.WaitEvents(1, 5*time.Second)
	}},
}, fourLetterScenarios...)

var (
	versionLine = regexp.MustCompile(`^\S+, built on .+$`)
	intValue    = regexp.MustCompile(`^-?[0-9]+$`)
	floatValue  = regexp.MustCompile(`^-?[0-9]+\.[0-9]+([eE]-?[0-9]+)?$`)
)

func valueClass(v string) string {
	switch {
	case intValue.MatchString(v):
		return "<int>"
	case floatValue.MatchString(v):
		return "<float>"
	case versionLine.MatchString(v):
		return "<version>, built on <date>"
	}
	return fmt.Sprintf("<other:%q>", v)
}

// normSrvr keeps srvr's lines, their order and their formats; exact values only where they
// are the same on any server (and the node count when exact is set: a fresh tree).
func (s *Script) normSrvr(exact bool) func(string) string {
	return func(out string) string {
		var lines []string
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			k, v, ok := strings.Cut(l, ": ")
			if !ok {
				lines = append(lines, fmt.Sprintf("%q", l))
				continue
			}
			switch k {
			case "Zookeeper version":
				v = valueClass(v)
			case "Latency min/avg/max":
				parts := strings.Split(v, "/")
				for i := range parts {
					parts[i] = valueClass(parts[i])
				}
				v = strings.Join(parts, "/")
			case "Zxid":
				if z, err := strconv.ParseInt(strings.TrimPrefix(v, "0x"), 16, 64); err == nil && strings.HasPrefix(v, "0x") {
					v = "0x:" + s.norm.zxid(z)
				}
			case "Mode", "Outstanding":
			case "Node count":
				if !exact {
					v = valueClass(v)
				}
			default:
				v = valueClass(v)
			}
			lines = append(lines, k+": "+v)
		}
		return strings.Join(lines, "\n")
	}
}

// mntrKeys are the gauges every server role reports and tools rely on.
var mntrKeys = []string{
	"zk_version", "zk_server_state", "zk_avg_latency", "zk_min_latency", "zk_max_latency",
	"zk_packets_received", "zk_packets_sent", "zk_num_alive_connections", "zk_outstanding_requests",
	"zk_uptime", "zk_znode_count", "zk_watch_count", "zk_ephemerals_count", "zk_approximate_data_size",
	"zk_global_sessions", "zk_local_sessions", "zk_open_file_descriptor_count", "zk_max_file_descriptor_count",
	"zk_connection_drop_probability", "zk_last_client_response_size", "zk_max_client_response_size",
	"zk_min_client_response_size", "zk_auth_failed_count",
}

// normMntr checks the first two keys, the presence and format of mntrKeys, and exact values
// of those that do not depend on timing (counts of the tree when exact is set).
func (s *Script) normMntr(exact bool) func(string) string {
	return func(out string) string {
		vals := map[string]string{}
		var order []string
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			k, v, ok := strings.Cut(l, "\t")
			if !ok {
				return fmt.Sprintf("not a mntr line: %q", l)
			}
			vals[k] = v
			order = append(order, k)
		}
		var lines []string
		if len(order) >= 2 {
			lines = append(lines, "first keys: "+order[0]+" "+order[1])
		}
		for _, k := range mntrKeys {
			v, ok := vals[k]
			switch {
			case !ok:
				v = "<missing>"
			case k == "zk_server_state":
			case exact && (k == "zk_znode_count" || k == "zk_ephemerals_count" || k == "zk_watch_count"):
			default:
				v = valueClass(v)
			}
			lines = append(lines, k+"\t"+v)
		}
		return strings.Join(lines, "\n")
	}
}
