package server

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
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
	c.stats.received.Add(1) // the word is the connection's one packet, as ZooKeeper counts it
	c.answering.Store(true)
	var out string
	if !s.fourLW["*"] && !s.fourLW[cmd] {
		out = cmd + " is not executed because it is not in the whitelist.\n"
	} else {
		out = s.runFourLetter(cmd)
	}
	c.answering.Store(false)
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	c.nc.Write([]byte(out))
	// Drop the connection from the list before its socket closes, as ZooKeeper does, so
	// that the next word a client sends once it has read this answer does not see it.
	s.forget(c)
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
		s.writeConf(&b)
	case "cons":
		for _, c := range s.connections() {
			c.writeCons(&b, true)
		}
		b.WriteByte('\n')
	case "crst":
		s.resetConnStats()
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
	// wchc and wchp end with a blank line, as ZooKeeper's do (3.8 and 3.9).
	case "wchc":
		for _, e := range s.watchesBySession() {
			fmt.Fprintf(&b, "0x%x\n", e.sid)
			for _, p := range e.paths {
				fmt.Fprintf(&b, "\t%s\n", p)
			}
		}
		b.WriteByte('\n')
	case "wchp":
		for _, e := range s.watchesByPath() {
			fmt.Fprintf(&b, "%s\n", e.path)
			for _, sid := range e.sids {
				fmt.Fprintf(&b, "\t0x%x\n", sid)
			}
		}
		b.WriteByte('\n')
	case "isro":
		if s.readOnly() {
			return "ro"
		}
		return "rw"
	case "dirs":
		data, log := s.dirSizes()
		fmt.Fprintf(&b, "datadir_size: %d\nlogdir_size: %d\n", data, log)
	case "gtmk", "stmk":
		// ZooKeeper prints the mask without a newline. stmk's argument (8 more bytes) is
		// not read: paddock has no trace log, so the mask stays ZooKeeper's default.
		return strconv.FormatInt(traceMask, 10)
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

// connections returns the live connections, oldest first. A connection being closed is
// left out: it leaves s.conns only after its socket is closed (conn.close), while ZooKeeper
// drops a connection from its list first, so a client that has seen its connection close
// never finds it in cons, stat or dump.
func (s *Server) connections() []*conn {
	s.connsMu.Lock()
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		if !c.closed.Load() {
			cs = append(cs, c)
		}
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
	fmt.Fprintf(b, " /%s[%d](queued=%d,recved=%d,sent=%d", c.remote, c.interestOps(), queued, c.stats.received.Load(), c.stats.sent.Load())
	if full {
		sid := c.sessionID.Load()
		if sid != 0 {
			min, avg, max, _ := c.stats.latency.snapshot()
			fmt.Fprintf(b, ",sid=0x%x,lop=%s,est=%d,to=%d", sid, c.lastOp(), c.est.UnixMilli(), c.timeout.Load())
			// After crst there is no last request: ZooKeeper leaves lcxid out then, and
			// prints lzxid -1 as a 64-bit hex number.
			if cxid := c.stats.lastCxid.Load(); cxid >= 0 {
				fmt.Fprintf(b, ",lcxid=0x%x", cxid)
			}
			fmt.Fprintf(b, ",lzxid=0x%x,lresp=%d,llat=%d,minlat=%d,avglat=%d,maxlat=%d",
				uint64(c.stats.lastZxid.Load()), c.stats.lastResp.Load(), c.stats.lastLat.Load(), int64(min), int64(avg), int64(max))
		}
	}
	b.WriteString(")\n")
}

// interestOps is what ZooKeeper prints in brackets: 1 (OP_READ) for a connection that reads
// requests, 0 for one answering a four-letter word.
func (c *conn) interestOps() int {
	if c.answering.Load() {
		return 0
	}
	return 1
}

// noLastOp is the last operation after crst: no opcode, printed "NA".
const noLastOp = -1

// lastOp is cons's lop: the abbreviated name of the last request's opcode.
func (c *conn) lastOp() string {
	if lop, ok := opAbbrev[proto.Op(c.stats.lastOp.Load())]; ok {
		return lop
	}
	return "NA"
}

// resetConnStats is crst: every connection's figures start again (connStats.reset).
func (s *Server) resetConnStats() {
	for _, c := range s.connections() {
		c.stats.reset()
	}
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
		fmt.Fprintf(b, "%d expire at %s:\n", len(ids), d.Format(javaDate))
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
	// ZooKeeper's NIO server expires idle connections: a connection with a session after
	// its session timeout, any other after 10 s, in sets of 10 s (sessionlessCnxnTimeout).
	// paddock times connections out differently (conn.go); it prints the same sets as if
	// every connection had been active just now.
	b.WriteString("Connections dump:\n")
	conns := s.connections()
	now := time.Now()
	byExpiry := map[time.Time][]*conn{}
	for _, c := range conns {
		to := cnxnExpiryInterval
		if c.sessionID.Load() != 0 {
			to = time.Duration(c.timeout.Load()) * time.Millisecond
		}
		at := now.Add(to).Truncate(cnxnExpiryInterval).Add(cnxnExpiryInterval)
		byExpiry[at] = append(byExpiry[at], c)
	}
	times := make([]time.Time, 0, len(byExpiry))
	for t := range byExpiry {
		times = append(times, t)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	fmt.Fprintf(b, "Connections Sets (%d)/(%d):\n", len(times), len(conns))
	for _, t := range times {
		fmt.Fprintf(b, "%d expire at %s:\n", len(byExpiry[t]), t.Format(javaDate))
		for _, c := range byExpiry[t] {
			fmt.Fprintf(b, "\tip: /%s sessionId: 0x%x\n", c.remote, c.sessionID.Load())
		}
	}
}

// cnxnExpiryInterval is ZooKeeper's zookeeper.nio.sessionlessCnxnTimeout default, the
// expiry of a connection without a session and the width of its connection expiry sets.
const cnxnExpiryInterval = 10 * time.Second

// javaDate is java.util.Date's toString layout, which dump's expiry times use.
const javaDate = "Mon Jan 02 15:04:05 MST 2006"

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
		{"os.name", javaOSName()},
		{"os.arch", javaOSArch()},
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

// traceMask is what gtmk prints: ZooKeeper's default trace mask (client requests, server
// packets, sessions and warnings). paddock writes no trace log, so it never changes.
const traceMask int64 = 306

// writeConf is conf: ZooKeeper's keys first, in its order (ZooKeeperServer.dumpConf, and on
// a member QuorumZooKeeperServer.dumpConf's; the same in 3.8 and 3.9), so scripts that read
// them work; then the rest of the configuration paddock read, key=value, which ZooKeeper
// does not print (docs/operations.md).
func (s *Server) writeConf(b *strings.Builder) {
	data, log := s.dirSizes()
	printed := map[string]bool{}
	kv := func(k string, v any) {
		printed[k] = true
		fmt.Fprintf(b, "%s=%v\n", k, v)
	}
	kv("clientPort", s.clientPort())
	kv("secureClientPort", -1)
	kv("dataDir", s.opts.DataDir)
	kv("dataDirSize", data)
	kv("dataLogDir", s.opts.LogDir)
	kv("dataLogSize", log)
	kv("tickTime", s.opts.TickTime.Milliseconds())
	kv("maxClientCnxns", s.opts.MaxClientCnxns)
	kv("minSessionTimeout", s.opts.MinSessionTimeout.Milliseconds())
	kv("maxSessionTimeout", s.opts.MaxSessionTimeout.Milliseconds())
	kv("clientPortListenBacklog", -1)
	kv("serverId", s.confServerID())
	if !s.standalone() {
		kv("initLimit", s.configValue("initLimit"))
		kv("syncLimit", s.configValue("syncLimit"))
		kv("electionAlg", 3)
		if self, ok := s.member(s.opts.ServerID); ok {
			kv("electionPort", self.ElectionPort)
			kv("quorumPort", self.PeerPort)
			kv("peerType", int(self.Role))
		}
		b.WriteString("membership: \n")
		for _, m := range s.opts.Members {
			fmt.Fprintf(b, "server.%d=%s\n", m.ID, m)
		}
	}
	for _, l := range s.opts.ConfigLines {
		if k, _, _ := strings.Cut(l, "="); printed[k] || strings.HasPrefix(k, "server.") {
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
}

// configValue is the value of key in the configuration paddock read, or "".
func (s *Server) configValue(key string) string {
	for _, l := range s.opts.ConfigLines {
		if k, v, ok := strings.Cut(l, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// dirSizes are dirs' datadir_size and logdir_size: the bytes of the snapshots and of the
// write-ahead log. Without a dataLogDir ZooKeeper keeps both in one directory and reports
// its size twice; so does paddock when LogDir is DataDir.
func (s *Server) dirSizes() (data, log int64) {
	snap, wal := dirSize(filepath.Join(s.opts.DataDir, "snap")), dirSize(filepath.Join(s.opts.LogDir, "wal"))
	if filepath.Clean(s.opts.DataDir) == filepath.Clean(s.opts.LogDir) {
		return snap + wal, snap + wal
	}
	return snap, wal
}

// javaOSName is os.name as Java spells it for the systems paddock runs on.
func javaOSName() string {
	switch runtime.GOOS {
	case "linux":
		return "Linux"
	case "darwin":
		return "Mac OS X"
	case "freebsd":
		return "FreeBSD"
	case "windows":
		return "Windows"
	}
	return runtime.GOOS
}

// javaOSArch is os.arch as Java spells it (amd64 is the same in both).
func javaOSArch() string {
	switch runtime.GOARCH {
	case "arm64":
		return "aarch64"
	case "386":
		return "i386"
	}
	return runtime.GOARCH
}
