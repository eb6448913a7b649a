package server

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/paddock/paddock/internal/proto"
)

// Version is paddock's version, reported in ZooKeeper's version format so that tools that
// parse "Zookeeper version: 3.9..." keep working.
var Version = "0.1.0"

// zkVersion is what srvr, stat and mntr print.
func zkVersion() string {
	return "3.9.0-paddock-" + Version + ", built on " + runtime.Version()
}

var fourLetterWords = map[string]bool{
	"ruok": true, "srvr": true, "stat": true, "conf": true, "cons": true, "crst": true,
	"dump": true, "envi": true, "mntr": true, "wchs": true, "wchc": true, "wchp": true,
	"isro": true, "srst": true, "dirs": true, "gtmk": true, "stmk": true,
}

func isFourLetterWord(s string) bool { return fourLetterWords[s] }

// fourLetter answers a four-letter word and closes the connection.
func (c *conn) fourLetter(cmd string) {
	s := c.s
	var out string
	if !s.fourLW["*"] && !s.fourLW[cmd] {
		out = cmd + " is not executed because it is not in the whitelist.\n"
	} else {
		out = s.runFourLetter(cmd)
	}
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	c.nc.Write([]byte(out))
}

// notServing is ZooKeeper's answer to the words that need a running server while a member
// is out of the quorum (and not serving read-only clients).
const notServing = "This ZooKeeper instance is not currently serving requests\n"

func (s *Server) runFourLetter(cmd string) string {
	if !s.standalone() && !s.readOnly() && s.node.Status().Leader == 0 {
		switch cmd {
		case "srvr", "stat", "cons", "crst", "srst", "dump", "wchs", "wchc", "wchp", "mntr", "dirs", "conf":
			return notServing
		case "isro":
			return "null"
		}
	}
	var b strings.Builder
	switch cmd {
	case "ruok":
		return "imok"
	case "srvr":
		s.writeServerStats(&b, false)
	case "stat":
		s.writeServerStats(&b, true)
	case "conf":
		for _, l := range s.opts.ConfigLines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	case "cons":
		for _, c := range s.connections() {
			c.writeCons(&b, true)
		}
		b.WriteByte('\n')
	case "crst":
		for _, c := range s.connections() {
			c.stats.reset()
		}
		return "Connection stats reset.\n"
	case "srst":
		s.stats.reset()
		return "Server stats reset.\n"
	case "dump":
		s.writeDump(&b)
	case "envi":
		b.WriteString("Environment:\n")
		for _, kv := range environment() {
			fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
		}
	case "mntr":
		for _, kv := range s.monitor() {
			v := fmt.Sprint(kv.value)
			if f, ok := kv.value.(float64); ok {
				v = formatFloat(f)
			}
			fmt.Fprintf(&b, "zk_%s\t%s\n", kv.key, v)
		}
	case "wchs":
		conns, paths, total := s.watches.Summary()
		fmt.Fprintf(&b, "%d connections watching %d paths\nTotal watches:%d\n", conns, paths, total)
	case "wchc":
		for _, e := range s.watchesBySession() {
			fmt.Fprintf(&b, "0x%x\n", e.sid)
			for _, p := range e.paths {
				fmt.Fprintf(&b, "\t%s\n", p)
			}
		}
	case "wchp":
		for _, e := range s.watchesByPath() {
			fmt.Fprintf(&b, "%s\n", e.path)
			for _, sid := range e.sids {
				fmt.Fprintf(&b, "\t0x%x\n", sid)
			}
		}
	case "isro":
		if s.readOnly() {
			return "ro"
		}
		return "rw"
	case "dirs":
		fmt.Fprintf(&b, "datadir_size: %d\nlogdir_size: %d\n", dirSize(filepath.Join(s.opts.DataDir, "snap")), dirSize(filepath.Join(s.opts.LogDir, "wal")))
	case "gtmk":
		return "0\n"
	case "stmk":
		return "0\n"
	}
	return b.String()
}

// mode is what srvr's Mode line and mntr's zk_server_state say.
func (s *Server) mode() string {
	if s.standalone() {
		return "standalone"
	}
	if s.readOnly() {
		return "read-only"
	}
	switch s.node.Status().Role {
	case "leader":
		return "leader"
	case "learner":
		return "observer"
	}
	return "follower"
}

func (s *Server) writeServerStats(b *strings.Builder, clients bool) {
	if s.readOnly() {
		b.WriteString("READ-ONLY mode; serving only read-only clients\n")
	}
	fmt.Fprintf(b, "Zookeeper version: %s\n", zkVersion())
	if clients {
		b.WriteString("Clients:\n")
		for _, c := range s.connections() {
			c.writeCons(b, false)
		}
		b.WriteByte('\n')
	}
	min, avg, max, _ := s.stats.latency.snapshot()
	fmt.Fprintf(b, "Latency min/avg/max: %d/%s/%d\n", int64(min), formatFloat(avg), int64(max))
	fmt.Fprintf(b, "Received: %d\n", s.stats.packetsReceived.Load())
	fmt.Fprintf(b, "Sent: %d\n", s.stats.packetsSent.Load())
	fmt.Fprintf(b, "Connections: %d\n", len(s.connections()))
	fmt.Fprintf(b, "Outstanding: %d\n", s.outstanding())
	fmt.Fprintf(b, "Zxid: 0x%x\n", s.lastZxid())
	fmt.Fprintf(b, "Mode: %s\n", s.mode())
	fmt.Fprintf(b, "Node count: %d\n", s.treeStats().NodeCount)
}

// formatFloat prints like Java's Double.toString for the values we meet: at least one digit
// after the point.
func formatFloat(f float64) string {
	s := fmt.Sprintf("%.4g", f)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// connections returns the live connections, oldest first.
func (s *Server) connections() []*conn {
	s.connsMu.Lock()
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.connsMu.Unlock()
	sort.Slice(cs, func(i, j int) bool { return cs[i].est.Before(cs[j].est) })
	return cs
}

func (s *Server) outstanding() int {
	s.sm.mu.Lock()
	defer s.sm.mu.Unlock()
	return len(s.sm.pending)
}

var opAbbrev = map[proto.Op]string{
	proto.OpNotification: "NOTI", proto.OpCreate: "CREA", proto.OpDelete: "DELE", proto.OpExists: "EXIS",
	proto.OpGetData: "GETD", proto.OpSetData: "SETD", proto.OpGetACL: "GETA", proto.OpSetACL: "SETA",
	proto.OpGetChildren: "GETC", proto.OpSync: "SYNC", proto.OpPing: "PING", proto.OpGetChildren2: "GETC",
	proto.OpCheck: "CHEC", proto.OpMulti: "MULT", proto.OpCreate2: "CRE2", proto.OpReconfig: "RECO",
	proto.OpCheckWatches: "CHKW", proto.OpRemoveWatches: "REMW", proto.OpCreateContainer: "CTNR",
	proto.OpCreateTTL: "CTTL", proto.OpMultiRead: "MLTR", proto.OpAuth: "AUTH", proto.OpSetWatches: "SETW",
	proto.OpSetWatches2: "STW2", proto.OpGetEphemerals: "GETE", proto.OpGetAllChildrenNumber: "GCNT",
	proto.OpAddWatch: "ADDW", proto.OpWhoAmI: "WHOA", proto.OpCreateSession: "SESS", proto.OpCloseSession: "CLOS",
}

// writeCons prints one connection as ZooKeeper's cons (full) or stat (brief) does.
func (c *conn) writeCons(b *strings.Builder, full bool) {
	queued := 0
	c.pmu.Lock()
	queued = len(c.fifo)
	c.pmu.Unlock()
	fmt.Fprintf(b, " /%s[1](queued=%d,recved=%d,sent=%d", c.remote, queued, c.stats.received.Load(), c.stats.sent.Load())
	if full {
		sid := c.sessionID.Load()
		if sid != 0 {
			lop := opAbbrev[proto.Op(c.stats.lastOp.Load())]
			if lop == "" {
				lop = "NA"
			}
			min, avg, max, _ := c.stats.latency.snapshot()
			fmt.Fprintf(b, ",sid=0x%x,lop=%s,est=%d,to=%d,lcxid=0x%x,lzxid=0x%x,lresp=%d,llat=%d,minlat=%d,avglat=%d,maxlat=%d",
				sid, lop, c.est.UnixMilli(), c.timeout.Load(), c.stats.lastCxid.Load(), c.stats.lastZxid.Load(),
				c.stats.lastResp.Load(), c.stats.lastLat.Load(), int64(min), int64(avg), int64(max))
		}
	}
	b.WriteString(")\n")
}

func (s *Server) writeDump(b *strings.Builder) {
	b.WriteString("SessionTracker dump:\n")
	groups := s.sessions.ByDeadline()
	deadlines := make([]time.Time, 0, len(groups))
	n := 0
	for d, ids := range groups {
		deadlines = append(deadlines, d)
		n += len(ids)
	}
	sort.Slice(deadlines, func(i, j int) bool { return deadlines[i].Before(deadlines[j]) })
	fmt.Fprintf(b, "Session Sets (%d)/(%d):\n", len(deadlines), n)
	for _, d := range deadlines {
		ids := groups[d]
		fmt.Fprintf(b, "%d expire at %s:\n", len(ids), d.Format("Mon Jan 02 15:04:05 MST 2006"))
		for _, id := range ids {
			fmt.Fprintf(b, "\t0x%x\n", id)
		}
	}
	b.WriteString("ephemeral nodes dump:\n")
	eph := s.ephemeralsBySession()
	fmt.Fprintf(b, "Sessions with Ephemerals (%d):\n", len(eph))
	for _, e := range eph {
		fmt.Fprintf(b, "0x%x:\n", e.sid)
		for _, p := range e.paths {
			fmt.Fprintf(b, "\t%s\n", p)
		}
	}
	b.WriteString("Connections dump:\n")
	conns := s.connections()
	fmt.Fprintf(b, "Connections Sets (%d)/(%d):\n", min(1, len(conns)), len(conns))
	for _, c := range conns {
		if sid := c.sessionID.Load(); sid != 0 {
			fmt.Fprintf(b, "0x%x\n", sid)
		}
	}
}

type sessionPaths struct {
	sid   int64
	paths []string
}

func (s *Server) ephemeralsBySession() []sessionPaths {
	s.treeMu.RLock()
	defer s.treeMu.RUnlock()
	var out []sessionPaths
	for _, si := range s.tree.Sessions() {
		if ps := s.tree.SessionEphemerals(si.ID); len(ps) > 0 {
			out = append(out, sessionPaths{si.ID, ps})
		}
	}
	return out
}

func (s *Server) watchesBySession() []sessionPaths {
	var out []sessionPaths
	for w, paths := range s.watches.ByWatcher() {
		c, ok := w.(*conn)
		if !ok {
			continue
		}
		ps := append([]string(nil), paths...)
		sort.Strings(ps)
		out = append(out, sessionPaths{c.sessionID.Load(), ps})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].sid < out[j].sid })
	return out
}

type pathSessions struct {
	path string
	sids []int64
}

func (s *Server) watchesByPath() []pathSessions {
	var out []pathSessions
	for p, ws := range s.watches.ByPath() {
		e := pathSessions{path: p}
		for _, w := range ws {
			if c, ok := w.(*conn); ok {
				e.sids = append(e.sids, c.sessionID.Load())
			}
		}
		sort.Slice(e.sids, func(i, j int) bool { return e.sids[i] < e.sids[j] })
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

func environment() [][2]string {
	host, _ := os.Hostname()
	wd, _ := os.Getwd()
	u, _ := user.Current()
	name, home := "", ""
	if u != nil {
		name, home = u.Username, u.HomeDir
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var uts syscall.Utsname
	osVersion := ""
	if syscall.Uname(&uts) == nil {
		osVersion = utsString(uts.Release[:])
	}
	return [][2]string{
		{"zookeeper.version", zkVersion()},
		{"host.name", host},
		{"go.version", runtime.Version()},
		{"os.name", runtime.GOOS},
		{"os.arch", runtime.GOARCH},
		{"os.version", osVersion},
		{"user.name", name},
		{"user.home", home},
		{"user.dir", wd},
		{"os.memory.free", fmt.Sprintf("%dMB", (ms.HeapSys-ms.HeapAlloc)>>20)},
		{"os.memory.max", fmt.Sprintf("%dMB", ms.Sys>>20)},
		{"os.memory.total", fmt.Sprintf("%dMB", ms.HeapSys>>20)},
	}
}

func utsString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
