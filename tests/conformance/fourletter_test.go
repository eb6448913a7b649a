package conformance

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paddock/paddock/internal/zktest"
)

// The four-letter words whose formats the scenarios below compare, beyond ruok, isro, srvr
// and mntr (misc_test.go). Each normalizer keeps what monitoring scripts parse (line
// structure and order, key names, separators, value formats) and exact values where they are
// the same on any server; it drops what legitimately differs (ports, paths, ZooKeeper's
// version string, JVM facts, clocks, and the order of lists ZooKeeper prints from hash maps,
// which are sorted here).

func init() {
	// These scenarios describe one standalone server's connections, sessions, watches and
	// configuration; a member of an ensemble holds only its own share of them.
	for name, reason := range map[string]string{
		"misc/4lw-stat-cons-crst-srst": "stat and cons list only the member's own connections, and stat names the mode",
		"misc/4lw-watches":             "wchs, wchc and wchp list only the watches of the member's own connections",
		"misc/4lw-dump":                "dump's session and connection sets are the member's (a follower tracks no global sessions)",
		"misc/4lw-conf":                "conf on a member adds the quorum keys (initLimit, electionPort, membership, ...)",
		"misc/4lw-cons-counts":         "cons lists only the member's own connections",
	} {
		notInEnsemble[name] = reason
	}
}

var fourLetterScenarios = []scenario{
	{name: "misc/4lw-stat-cons-crst-srst", opts: fresh("4lw-conns"), steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		b.GetData("n", false)
		s.settle()
		s.FourLetter("stat", s.normStat(false))
		s.FourLetter("cons", s.normCons(false))
		s.FourLetter("crst", nil)
		// After crst every connection's counters and last-request fields are reset.
		s.FourLetter("cons", s.normCons(true))
		s.FourLetter("stat", s.normStat(true))
		s.FourLetter("srst", nil)
		s.FourLetter("srvr", s.normSrvr(true))
		b.Exists("n", false)
		s.settle()
		s.FourLetter("cons", s.normCons(true))
	}},
	{name: "misc/4lw-cons-counts", opts: fresh("4lw-cons-counts"), steps: func(s *Script) {
		b := s.Open("b") // only connects, then answers the barrier's pings
		s.Create("n", "", Open, Persistent)
		s.GetData("n", false)
		b.Alive()
		s.settle()
		s.FourLetter("cons", s.normCons(true))
	}},
	{name: "misc/4lw-watches", opts: fresh("4lw-watches"), steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "", Open, Persistent)
		s.Create("m", "", Open, Persistent)
		s.FourLetter("wchs", nil) // no watches: "0 connections watching 0 paths"
		s.FourLetter("wchc", s.normWchc)
		s.FourLetter("wchp", s.normWchp)
		s.Exists("n", true)
		s.GetData("n", true)    // a second watcher of ~/n on the same connection: one entry
		s.GetChildren("", true) // a child watch: wchs, wchc and wchp list data watches only
		b.Exists("n", true)
		b.Exists("missing", true)
		b.GetData("m", true)
		s.FourLetter("wchs", nil)
		s.FourLetter("wchc", s.normWchc)
		s.FourLetter("wchp", s.normWchp)
		s.SetData("n", "x", -1) // fires the watches on ~/n
		s.FourLetter("wchs", nil)
		s.FourLetter("wchc", s.normWchc)
		s.FourLetter("wchp", s.normWchp)
	}},
	{name: "misc/4lw-dump", opts: fresh("4lw-dump"), steps: func(s *Script) {
		b := s.Open("b")
		s.Open("c") // a session without ephemerals
		s.Create("e1", "", Open, Ephemeral)
		s.Create("e2", "", Open, Ephemeral)
		b.Create("e3", "", Open, Ephemeral)
		s.FourLetter("dump", s.normDump)
		s.Delete("e1", -1)
		b.CloseSession()
		b.WaitClosed(5 * time.Second) // then its connection is gone from the server's list
		s.FourLetter("dump", s.normDump)
	}},
	{name: "misc/4lw-conf", steps: func(s *Script) {
		s.FourLetter("conf", normConf)
	}},
	{name: "misc/4lw-envi-dirs-gtmk", steps: func(s *Script) {
		s.FourLetter("envi", normEnvi)
		s.FourLetter("dirs", normDirs)
		s.FourLetter("gtmk", nil)
	}},
}

// settle waits until the server has finished with every request it answered: ZooKeeper
// counts a reply as sent, and reads from the connection again (interest ops 1), a moment
// after the client has the reply, so a cons sent at once could catch a connection in
// between. It polls cons, unrecorded, until every session's connection reads again.
func (s *Script) settle() {
	deadline := time.Now().Add(opTimeout)
	for {
		out, err := zktest.FourLetter(s.srv.addr(s.member), "cons")
		busy := err != nil
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, ",sid=") && !strings.Contains(l, "[1](queued=0,") {
				busy = true
			}
		}
		if !busy || time.Now().After(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// splitAnswer splits a four-letter answer into lines and says how it ends (tools that split
// on blank lines care whether there is one).
func splitAnswer(out string) (lines []string, end string) {
	body := strings.TrimRight(out, "\n")
	end = fmt.Sprintf("end %q", out[len(body):])
	if body == "" {
		return nil, end
	}
	return strings.Split(body, "\n"), end
}

// consLine is one connection of stat or cons:
// " /127.0.0.1:50000[1](queued=0,recved=3,sent=3,sid=0x...,lop=GETD,...)".
var consLine = regexp.MustCompile(`^ /(\S+):([0-9]+)\[([0-9a-f]+)\]\((.*)\)$`)

// normConn normalizes one connection line: the address and clocks become formats, session
// ids and zxids are named, everything else stays. The packet counters are exact when
// exactCounts is set (after crst they are the same on any server).
func (s *Script) normConn(l string, exactCounts bool) string {
	m := consLine.FindStringSubmatch(l)
	if m == nil {
		return fmt.Sprintf("not a connection line: %q", l)
	}
	var fields []string
	for _, f := range strings.Split(m[4], ",") {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			fields = append(fields, fmt.Sprintf("%q", f))
			continue
		}
		switch k {
		case "queued", "lop", "to", "lcxid":
		case "recved", "sent":
			if !exactCounts {
				v = valueClass(v)
			}
		case "sid":
			if id, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64); err == nil {
				v = s.norm.session(int64(id))
			}
		case "lzxid":
			if z, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64); err == nil {
				v = "0x:" + s.norm.zxid(int64(z))
			}
		// est is a wall-clock time; lresp is ZooKeeper's monotonic clock (wall-clock on
		// paddock); latencies depend on timing.
		default:
			v = valueClass(v)
		}
		fields = append(fields, k+"="+v)
	}
	return fmt.Sprintf(" /%s:<port>[%s](%s)", m[1], m[3], strings.Join(fields, ","))
}

// normCons sorts the connections (ZooKeeper lists them from a hash set) and normalizes each.
func (s *Script) normCons(exactCounts bool) func(string) string {
	return func(out string) string {
		lines, end := splitAnswer(out)
		var conns []string
		for _, l := range lines {
			conns = append(conns, s.normConn(l, exactCounts))
		}
		slices.Sort(conns)
		return strings.Join(append(conns, end), "\n")
	}
}

// normStat is srvr's normalization around the "Clients:" block of brief connection lines;
// the Connections count is exact (on a fresh server it is the scenario's sessions plus the
// connection asking).
func (s *Script) normStat(exactCounts bool) func(string) string {
	return func(out string) string {
		lines, end := splitAnswer(out)
		var head, conns, tail []string
		i := 0
		for ; i < len(lines) && lines[i] != "Clients:"; i++ {
			head = append(head, lines[i])
		}
		if i == len(lines) {
			return "no Clients: line\n" + s.normSrvr(true)(out)
		}
		for i++; i < len(lines) && lines[i] != ""; i++ {
			conns = append(conns, s.normConn(lines[i], exactCounts))
		}
		slices.Sort(conns)
		tail = lines[min(i+1, len(lines)):]
		var res []string
		res = append(res, s.normSrvr(true)(strings.Join(head, "\n")))
		res = append(res, "Clients:")
		res = append(res, conns...)
		res = append(res, "<blank line>")
		for _, l := range strings.Split(s.normSrvr(true)(strings.Join(tail, "\n")), "\n") {
			if strings.HasPrefix(l, "Connections: ") {
				for _, raw := range tail {
					if strings.HasPrefix(raw, "Connections: ") {
						l = raw
					}
				}
			}
			res = append(res, l)
		}
		return strings.Join(append(res, end), "\n")
	}
}

// sessionHex names a "0x..." session id.
func (s *Script) sessionHex(v string) string {
	id, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
	if err != nil || !strings.HasPrefix(v, "0x") {
		return fmt.Sprintf("not a session id: %q", v)
	}
	return s.norm.session(int64(id))
}

// normBlocks normalizes a list of blocks, a head line followed by tab-indented lines, as
// wchc, wchp and dump print them: head and items pass through the given functions, the
// items of a block are sorted and so are the blocks (ZooKeeper prints them from hash maps).
func normBlocks(lines []string, head, item func(string) string) []string {
	type block struct {
		head  string
		items []string
	}
	var bs []block
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "\t"); ok && len(bs) > 0 {
			bs[len(bs)-1].items = append(bs[len(bs)-1].items, "\t"+item(v))
			continue
		}
		bs = append(bs, block{head: head(l)})
	}
	slices.SortFunc(bs, func(a, b block) int { return strings.Compare(a.head, b.head) })
	var out []string
	for _, b := range bs {
		slices.Sort(b.items)
		out = append(out, b.head)
		out = append(out, b.items...)
	}
	return out
}

// normWchc: "0x<session>" lines, each followed by its watched paths.
func (s *Script) normWchc(out string) string {
	lines, end := splitAnswer(out)
	return strings.Join(append(normBlocks(lines, s.sessionHex, s.show), end), "\n")
}

// normWchp: path lines, each followed by the sessions watching it.
func (s *Script) normWchp(out string) string {
	lines, end := splitAnswer(out)
	return strings.Join(append(normBlocks(lines, s.show, s.sessionHex), end), "\n")
}

var (
	setsLine   = regexp.MustCompile(`^(Session|Connections) Sets \(([0-9]+)\)/\(([0-9]+)\):$`)
	expireLine = regexp.MustCompile(`^([0-9]+) expire at [A-Z][a-z]{2} [A-Z][a-z]{2} [0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} \S+ [0-9]{4}:$`)
	connEntry  = regexp.MustCompile(`^ip: /(\S+):[0-9]+ sessionId: (0x[0-9a-f]+)$`)
	ephHead    = regexp.MustCompile(`^(0x[0-9a-f]+):$`)
)

// normDump keeps dump's section headers and totals exact. An expiry set groups what expires
// in the same tick, so how many sets there are and their times depend on timing: the set
// lines are checked for their format and that they add up to the total, and the members of
// all sets are listed together, sorted. Ephemerals are listed per session, sorted.
func (s *Script) normDump(out string) string {
	lines, end := splitAnswer(out)
	var res, members, eph []string
	total, inSets := 0, 0
	flushSets := func() {
		if members == nil && total == 0 {
			return
		}
		check := "ok"
		if inSets != total {
			check = fmt.Sprintf("sets hold %d, header says %d", inSets, total)
		}
		res = append(res, "expire-at lines: "+check)
		slices.Sort(members)
		res = append(res, members...)
		members, total, inSets = nil, 0, 0
	}
	flushEph := func() {
		res = append(res, normBlocks(eph, func(h string) string {
			if m := ephHead.FindStringSubmatch(h); m != nil {
				return s.sessionHex(m[1]) + ":"
			}
			return fmt.Sprintf("%q", h)
		}, s.show)...)
		eph = nil
	}
	section := ""
	for _, l := range lines {
		switch {
		case l == "SessionTracker dump:" || l == "ephemeral nodes dump:" || l == "Connections dump:":
			flushSets()
			flushEph()
			section = l
			res = append(res, l)
		case setsLine.MatchString(l):
			m := setsLine.FindStringSubmatch(l)
			total, _ = strconv.Atoi(m[3])
			res = append(res, fmt.Sprintf("%s Sets (<int>)/(%s):", m[1], m[3]))
		case expireLine.MatchString(l):
			n, _ := strconv.Atoi(expireLine.FindStringSubmatch(l)[1])
			inSets += n
		case strings.HasPrefix(l, "Sessions with Ephemerals ("):
			res = append(res, l)
		case section == "ephemeral nodes dump:":
			eph = append(eph, l)
		case section == "SessionTracker dump:" && strings.HasPrefix(l, "\t"):
			members = append(members, "\t"+s.sessionHex(l[1:]))
		case section == "Connections dump:" && connEntry.MatchString(l[min(1, len(l)):]):
			m := connEntry.FindStringSubmatch(l[1:])
			members = append(members, fmt.Sprintf("\tip: /%s:<port> sessionId: %s", m[1], s.sessionHex(m[2])))
		default:
			res = append(res, fmt.Sprintf("unexpected: %q", l))
		}
	}
	flushSets()
	flushEph()
	return strings.Join(append(res, end), "\n")
}

// confKeys are the keys conf prints on a standalone server, in ZooKeeper's order
// (ZooKeeperServer.dumpConf, the same in 3.8 and 3.9), and how their values compare.
var confKeys = []struct{ key, value string }{
	{"clientPort", "<int>"}, // an ephemeral port
	{"secureClientPort", "exact"},
	{"dataDir", "<path>"},    // ZooKeeper's is <dataDir>/version-2
	{"dataDirSize", "<int>"}, // ZooKeeper preallocates its log: the sizes differ
	{"dataLogDir", "<path>"},
	{"dataLogSize", "<int>"},
	{"tickTime", "exact"},
	{"maxClientCnxns", "exact"},
	{"minSessionTimeout", "exact"},
	{"maxSessionTimeout", "exact"},
	{"clientPortListenBacklog", "exact"},
	{"serverId", "exact"},
}

// normConf keeps ZooKeeper's keys in the order they come. paddock follows them with the
// rest of its effective configuration (docs/operations.md: conf shows what paddock read,
// which docs/containers.md relies on); those extra keys are paddock's own and dropped here.
func normConf(out string) string {
	lines, end := splitAnswer(out)
	res := []string{}
	for _, l := range lines {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			res = append(res, fmt.Sprintf("not key=value: %q", l))
			continue
		}
		i := slices.IndexFunc(confKeys, func(c struct{ key, value string }) bool { return c.key == k })
		if i < 0 {
			continue
		}
		switch confKeys[i].value {
		case "<int>":
			v = valueClass(v)
		case "<path>":
			if strings.HasPrefix(v, "/") {
				v = "<path>"
			}
		}
		res = append(res, k+"="+v)
	}
	return strings.Join(append(res, end), "\n")
}

// enviKeys are envi's keys both servers have, and how their values compare. ZooKeeper's
// java.* keys describe its JVM and paddock's go.version its Go runtime: neither is compared.
var enviKeys = map[string]string{
	"zookeeper.version": "version",  // ZooKeeper's own version string
	"host.name":         "nonempty", // Java's canonical host name comes from the resolver
	"os.name":           "exact",
	"os.arch":           "exact",
	"os.version":        "exact",
	"user.name":         "exact",
	"user.home":         "exact",
	"user.dir":          "<path>", // each server runs in its own directory
	"os.memory.free":    "mb",
	"os.memory.max":     "mb",
	"os.memory.total":   "mb",
}

var mbValue = regexp.MustCompile(`^[0-9]+MB$`)

func normEnvi(out string) string {
	lines, end := splitAnswer(out)
	if len(lines) == 0 || lines[0] != "Environment:" {
		return fmt.Sprintf("no Environment: line: %q", out)
	}
	res := []string{lines[0]}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			res = append(res, fmt.Sprintf("not key=value: %q", l))
			continue
		}
		switch enviKeys[k] {
		case "":
			continue
		case "version":
			v = valueClass(v)
		case "nonempty":
			if v != "" {
				v = "<name>"
			}
		case "<path>":
			if strings.HasPrefix(v, "/") {
				v = "<path>"
			}
		case "mb":
			if mbValue.MatchString(v) {
				v = "<int>MB"
			}
		}
		res = append(res, k+"="+v)
	}
	return strings.Join(append(res, end), "\n")
}

// normDirs keeps dirs' two keys and their format; the sizes depend on the storage layout.
func normDirs(out string) string {
	lines, end := splitAnswer(out)
	var res []string
	for _, l := range lines {
		if k, v, ok := strings.Cut(l, ": "); ok {
			l = k + ": " + valueClass(v)
		} else {
			l = fmt.Sprintf("%q", l)
		}
		res = append(res, l)
	}
	return strings.Join(append(res, end), "\n")
}
