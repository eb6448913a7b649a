package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/paddock/paddock/internal/config"
	"github.com/paddock/paddock/internal/raftnode"
	"github.com/paddock/paddock/internal/tree"
)

// adminServer serves ZooKeeper's AdminServer commands (GET /commands/<name>, JSON), the
// Prometheus metrics (/metrics, with ZooKeeper's metric names), and health probes.
type adminServer struct {
	s    *Server
	ln   net.Listener
	http *http.Server
}

func newAdminServer(s *Server, addr string) (*adminServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	a := &adminServer{s: s, ln: ln}
	mux := http.NewServeMux()
	base := strings.TrimSuffix(s.opts.AdminCommandURL, "/")
	mux.HandleFunc(base, a.list)
	mux.HandleFunc(base+"/", a.command)
	mux.Handle("/metrics", s.metricsHandler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", a.ready)
	for path, h := range s.opts.AdminHandlers {
		mux.Handle(path, h)
	}
	if s.opts.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	a.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
	return a, nil
}

func (a *adminServer) serve() {
	if err := a.http.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.s.log.Error("admin server", "err", err)
	}
}

func (a *adminServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	a.http.Shutdown(ctx)
}

// ready answers /readyz: 200 once this member is in a quorum and caught up with it (a raft
// ReadIndex round succeeds, so it has applied everything committed when asked), which is
// when it is safe to disrupt the next member; 503 otherwise, with the reason.
func (a *adminServer) ready(w http.ResponseWriter, r *http.Request) {
	s := a.s
	st := s.node.Status()
	switch {
	case st.Leader == 0:
		http.Error(w, "not ready: no leader", http.StatusServiceUnavailable)
		return
	case s.readOnly():
		http.Error(w, "not ready: read-only, cut off from the quorum", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.node.ReadIndex(ctx); err != nil {
		http.Error(w, "not ready: not caught up with a quorum: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	st = s.node.Status()
	fmt.Fprintf(w, "ready: %s, leader %d, applied %d\n", s.mode(), st.Leader, st.Applied)
}

// metricsHandler serves the Prometheus metrics: the mntr figures under ZooKeeper's names plus
// the Go runtime and process collectors.
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &metricsCollector{s: s})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// newMetricsServer serves /metrics alone, on the port ZooKeeper's Prometheus provider uses
// (metricsProvider.httpPort), for setups that scrape it there.
func newMetricsServer(s *Server, addr string) (*adminServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.metricsHandler())
	return &adminServer{s: s, ln: ln, http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}, nil
}

// adminCommands maps every command name and alias to its handler.
var adminCommands = map[string]func(s *Server) map[string]any{}

var adminAliases = map[string]string{
	"crst": "connection_stat_reset", "conf": "configuration", "config": "configuration",
	"cons": "connections", "env": "environment", "envi": "environment", "gtmk": "get_trace_mask",
	"isro": "is_read_only", "lead": "leader", "mntr": "monitor", "srvr": "server_stats",
	"stat": "stats", "srst": "stat_reset", "wchc": "watches", "wchp": "watches_by_path",
	"wchs": "watch_summary", "dirs": "dirs", "dump": "dump", "ruok": "ruok", "lsnp": "last_snapshot",
	"stmk": "set_trace_mask", "sysp": "system_properties", "icfg": "initial_configuration",
	"obsr": "observers", "orst": "observer_connection_stat_reset",
}

func init() {
	adminCommands = map[string]func(s *Server) map[string]any{
		"ruok": func(*Server) map[string]any { return map[string]any{} },
		"connection_stat_reset": func(s *Server) map[string]any {
			s.resetConnStats()
			return map[string]any{}
		},
		"stat_reset": func(s *Server) map[string]any { s.stats.reset(); return map[string]any{} },
		// configuration has ZooKeeper's keys (ZooKeeperServerConf.toMap, the same in 3.8 and
		// 3.9) and, under zoo_cfg, paddock's own: the whole configuration it read.
		"configuration": func(s *Server) map[string]any {
			cfg := map[string]any{}
			for _, l := range s.opts.ConfigLines {
				if k, v, ok := strings.Cut(l, "="); ok {
					cfg[k] = v
				}
			}
			return map[string]any{
				"client_port":                s.clientPort(),
				"data_dir":                   s.opts.DataDir,
				"data_log_dir":               s.opts.LogDir,
				"tick_time":                  s.opts.TickTime.Milliseconds(),
				"max_client_cnxns":           s.opts.MaxClientCnxns,
				"min_session_timeout":        s.opts.MinSessionTimeout.Milliseconds(),
				"max_session_timeout":        s.opts.MaxSessionTimeout.Milliseconds(),
				"server_id":                  s.confServerID(),
				"client_port_listen_backlog": -1,
				"zoo_cfg":                    cfg,
			}
		},
		"connections": func(s *Server) map[string]any {
			return map[string]any{"connections": s.connectionInfos(false), "secure_connections": []any{}}
		},
		"dirs": func(s *Server) map[string]any {
			data, log := s.dirSizes()
			return map[string]any{"datadir_size": data, "logdir_size": log}
		},
		"dump": func(s *Server) map[string]any {
			expiry := map[string][]int64{}
			for d, ids := range s.sessions.ByDeadline() {
				expiry[fmt.Sprint(d.UnixMilli())] = ids
			}
			eph := map[string][]string{}
			for _, e := range s.ephemeralsBySession() {
				eph[fmt.Sprint(e.sid)] = e.paths
			}
			return map[string]any{"expiry_time_to_session_ids": expiry, "session_id_to_ephemeral_paths": eph}
		},
		"environment": func(s *Server) map[string]any {
			m := map[string]any{}
			for _, kv := range environment() {
				m[kv[0]] = kv[1]
			}
			return m
		},
		"get_trace_mask": func(*Server) map[string]any { return map[string]any{"tracemask": traceMask} },
		"set_trace_mask": func(*Server) map[string]any { return map[string]any{"tracemask": traceMask} },
		"is_read_only":   func(s *Server) map[string]any { return map[string]any{"read_only": s.readOnly()} },
		// leader: a standalone server answers with an error, as ZooKeeper's does.
		"leader": func(s *Server) map[string]any {
			if s.standalone() {
				return map[string]any{"error": "server is not initialized"}
			}
			st := s.node.Status()
			ip := ""
			if m, ok := s.member(st.Leader); ok {
				ip = m.Host
			}
			return map[string]any{"is_leader": st.Leader == st.ID, "leader_id": st.Leader, "leader_ip": ip}
		},
		// hash lists ZooKeeper's tree digests (one every 128 txns). paddock keeps none
		// (raft's log matching is what keeps the members' trees equal), so the list is
		// always empty.
		"hash": func(*Server) map[string]any { return map[string]any{"digests": []any{}} },
		// observers: on the leader its observers (raft learners) and how many there are;
		// elsewhere none, as on a ZooKeeper follower that syncs no observer.
		"observers": func(s *Server) map[string]any {
			st := s.node.Status()
			list := []map[string]any{}
			if !s.standalone() && st.Role == "leader" {
				for _, p := range st.Learners {
					list = append(list, map[string]any{"sid": p.ID, "address": p.Addr})
				}
			}
			return map[string]any{"synced_observers": len(list), "observers": list}
		},
		// paddock keeps no per-observer connection statistics: nothing to reset.
		"observer_connection_stat_reset": func(*Server) map[string]any { return map[string]any{} },
		// last_snapshot: ZooKeeper's zxid is hex without 0x, and with no snapshot the zxid is
		// -1 (ffffffffffffffff) and the timestamp -1; the timestamp is in seconds. paddock
		// records a snapshot's raft index (its own key, index), not its zxid, so zxid is the
		// last zxid applied, which the snapshot may be older than.
		"last_snapshot": func(s *Server) map[string]any {
			st := s.node.Status()
			if st.LastSnapshotTime.IsZero() {
				return map[string]any{"zxid": "ffffffffffffffff", "timestamp": -1, "index": 0} // zxid -1
			}
			return map[string]any{"zxid": strconv.FormatUint(uint64(s.lastZxid()), 16), "timestamp": st.LastSnapshotTime.Unix(), "index": st.LastSnapshotIndex}
		},
		"monitor": func(s *Server) map[string]any {
			m := map[string]any{}
			for _, kv := range s.monitor() {
				m[kv.key] = kv.value
			}
			return m
		},
		"server_stats": func(s *Server) map[string]any { return s.serverStatsJSON() },
		// stats lists the connections briefly (getAllConnectionInfo(true)), as stat does.
		"stats": func(s *Server) map[string]any {
			m := s.serverStatsJSON()
			m["connections"] = s.connectionInfos(true)
			m["secure_connections"] = []any{}
			return m
		},
		"system_properties": func(s *Server) map[string]any {
			m := map[string]any{}
			for _, kv := range os.Environ() {
				if k, v, ok := strings.Cut(kv, "="); ok && (strings.HasPrefix(k, "ZOO_") || k == "JVMFLAGS" || k == "SERVER_JVMFLAGS") {
					m[k] = v
				}
			}
			return m
		},
		"initial_configuration": func(s *Server) map[string]any {
			return map[string]any{"initial_configuration": strings.Join(s.opts.ConfigLines, "\n")}
		},
		"watches": func(s *Server) map[string]any {
			m := map[string][]string{}
			for _, e := range s.watchesBySession() {
				m[fmt.Sprint(e.sid)] = e.paths
			}
			return map[string]any{"session_id_to_watched_paths": m}
		},
		"watches_by_path": func(s *Server) map[string]any {
			m := map[string][]int64{}
			for _, e := range s.watchesByPath() {
				m[e.path] = e.sids
			}
			return map[string]any{"path_to_session_ids": m}
		},
		"watch_summary": func(s *Server) map[string]any {
			conns, paths, total := s.watches.Summary()
			return map[string]any{"num_connections": conns, "num_paths": paths, "num_total_watches": total}
		},
		// voting_view: empty on a standalone server; on a member each voting member as
		// ZooKeeper's QuorumServerView (3.8 and 3.9 alike).
		"voting_view": func(s *Server) map[string]any {
			cfg := map[string]any{}
			if s.standalone() {
				return map[string]any{"current_config": cfg}
			}
			st := s.node.Status()
			for _, p := range st.Voters {
				cfg[fmt.Sprint(p.ID)] = s.votingView(p)
			}
			return map[string]any{"current_config": cfg}
		},
		// members is paddock's own: the ensemble as raft sees it from this member.
		"members": func(s *Server) map[string]any {
			st := s.node.Status()
			list := func(ps []raftnode.Peer, role string) []map[string]any {
				out := make([]map[string]any, 0, len(ps))
				for _, p := range ps {
					out = append(out, map[string]any{"id": p.ID, "address": p.Addr, "role": role, "leader": p.ID == st.Leader})
				}
				return out
			}
			members := append(list(st.Voters, "participant"), list(st.Learners, "observer")...)
			return map[string]any{
				"server_id": st.ID, "leader_id": st.Leader, "role": st.Role, "mode": s.mode(), "term": st.Term,
				"commit_index": st.Commit, "applied_index": st.Applied, "apply_lag": int64(st.Commit) - int64(st.Applied),
				"last_zxid": fmt.Sprintf("0x%x", s.lastZxid()), "members": members,
			}
		},
		// zabstate follows 3.9, which added the member's identity and last zxid to 3.8's
		// voting and zabstate; a standalone server answers voting false and zabstate "".
		"zabstate": func(s *Server) map[string]any {
			if s.standalone() {
				return map[string]any{"voting": false, "zabstate": ""}
			}
			st := s.node.Status()
			state := "broadcast"
			if st.Leader == 0 {
				state = "election"
			}
			z := s.lastZxid()
			m := map[string]any{
				"myid": s.opts.ServerID, "is_leader": st.Role == "leader", "voting": st.Role != "learner",
				"quorum_address": "", "election_address": "", "client_address": "",
				"last_zxid": fmt.Sprintf("0x%x", z), "zab_epoch": z >> 32, "zab_counter": z & 0xffffffff,
				"zabstate": state,
			}
			if self, ok := s.member(s.opts.ServerID); ok {
				m["quorum_address"] = net.JoinHostPort(self.Host, fmt.Sprint(self.PeerPort))
				m["election_address"] = net.JoinHostPort(self.Host, fmt.Sprint(self.ElectionPort))
				if self.ClientPort != 0 {
					m["client_address"] = net.JoinHostPort(self.ClientHost, fmt.Sprint(self.ClientPort))
				}
			}
			return m
		},
	}
}

func (a *adminServer) list(w http.ResponseWriter, r *http.Request) {
	names := make([]string, 0, len(adminCommands))
	for n := range adminCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("<h1>Available commands:</h1>\n<ul>\n")
	base := strings.TrimSuffix(a.s.opts.AdminCommandURL, "/")
	for _, n := range names {
		fmt.Fprintf(&b, "<li><a href=\"%s/%s\">%s</a></li>\n", base, n, n)
	}
	b.WriteString("</ul>\n")
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprint(w, b.String())
}

func (a *adminServer) command(w http.ResponseWriter, r *http.Request) {
	base := strings.TrimSuffix(a.s.opts.AdminCommandURL, "/") + "/"
	name := strings.Trim(strings.TrimPrefix(r.URL.Path, base), "/")
	if full, ok := adminAliases[name]; ok {
		name = full
	}
	var out map[string]any
	if f, ok := adminCommands[name]; ok {
		out = f(a.s)
		out["command"] = name
		if _, failed := out["error"]; !failed {
			out["error"] = nil
		}
	} else {
		out = map[string]any{"command": name, "error": "Unknown command: " + name}
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

// serverStatsJSON is server_stats (srvr): ZooKeeper's ServerStats bean and its client
// response sizes (BufferStats, -1 until a response was sent).
func (s *Server) serverStatsJSON() map[string]any {
	min, avg, max, _ := s.stats.latency.snapshot()
	data, log := s.dirSizes()
	resp := map[string]any{"last_buffer_size": s.stats.respLast.Load(), "max_buffer_size": s.stats.respMax.Load(),
		"min_buffer_size": s.stats.respMin()}
	return map[string]any{
		"version":   zkVersion(),
		"read_only": s.readOnly(),
		"server_stats": map[string]any{
			"packets_sent": s.stats.packetsSent.Load(), "packets_received": s.stats.packetsReceived.Load(),
			"max_latency": int64(max), "min_latency": int64(min), "avg_latency": avg,
			"num_alive_client_connections": len(s.connections()), "outstanding_requests": s.outstanding(),
			"server_state": s.mode(), "last_processed_zxid": s.lastZxid(), "data_dir_size": data,
			"log_dir_size": log, "uptime": time.Since(s.start).Milliseconds(),
			"auth_failed_count": s.stats.authFailed.Load(), "client_response_stats": resp,
			// The non-mTLS counts are 0 as with ZooKeeper's default NIO connection factory
			// (see monitor); the metrics provider is always there.
			"fsync_threshold_exceed_count": s.stats.fsyncSlow.Load(), "non_mtlslocal_conn_count": 0, "non_mtlsremote_conn_count": 0,
			"provider_null": false,
		},
		"client_response": resp,
		"node_count":      s.treeStats().NodeCount,
	}
}

// connectionInfos lists the live connections by adminInfo (an empty list, not null, when
// there are none).
func (s *Server) connectionInfos(brief bool) []map[string]any {
	list := []map[string]any{}
	for _, c := range s.connections() {
		list = append(list, c.adminInfo(brief))
	}
	return list
}

// adminInfo is one connection as ZooKeeper's getConnectionInfo(brief) describes it: numbers
// for the session id, cxid, zxid and establishment time (epoch ms), as Jackson writes them.
func (c *conn) adminInfo(brief bool) map[string]any {
	c.pmu.Lock()
	queued := len(c.fifo)
	c.pmu.Unlock()
	info := map[string]any{
		"remote_socket_address": c.remote, "interest_ops": c.interestOps(), "outstanding_requests": queued,
		"packets_received": c.stats.received.Load(), "packets_sent": c.stats.sent.Load(),
	}
	if brief {
		return info
	}
	min, avg, max, _ := c.stats.latency.snapshot()
	for k, v := range map[string]any{
		"session_id": c.sessionID.Load(), "last_operation": c.lastOp(), "established": c.est.UnixMilli(),
		"session_timeout": c.timeout.Load(), "last_cxid": c.stats.lastCxid.Load(), "last_zxid": c.stats.lastZxid.Load(),
		"last_response_time": c.stats.lastResp.Load(), "last_latency": c.stats.lastLat.Load(),
		"min_latency": int64(min), "avg_latency": int64(avg), "max_latency": int64(max),
	} {
		info[k] = v
	}
	return info
}

// clientPort is the port clients connect to.
func (s *Server) clientPort() int {
	if a, ok := s.ln.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// confServerID is conf's serverId: 0 on a standalone server, which has no myid in
// ZooKeeper.
func (s *Server) confServerID() uint64 {
	if s.standalone() {
		return 0
	}
	return s.opts.ServerID
}

// member is the server.N line of member id, if the configuration has one.
func (s *Server) member(id uint64) (config.Server, bool) {
	for _, m := range s.opts.Members {
		if uint64(m.ID) == id {
			return m, true
		}
	}
	return config.Server{}, false
}

// votingView is one member of voting_view, with ZooKeeper's QuorumServerView keys; the
// ports come from the member's server.N line when there is one.
func (s *Server) votingView(p raftnode.Peer) map[string]any {
	v := map[string]any{"serverAddresses": []string{p.Addr}, "electionAddresses": []string{}, "clientAddress": "", "learnerType": "participant"}
	if m, ok := s.member(p.ID); ok {
		v["serverAddresses"] = []string{net.JoinHostPort(m.Host, fmt.Sprint(m.PeerPort))}
		v["electionAddresses"] = []string{net.JoinHostPort(m.Host, fmt.Sprint(m.ElectionPort))}
		if m.ClientPort != 0 {
			v["clientAddress"] = net.JoinHostPort(m.ClientHost, fmt.Sprint(m.ClientPort))
		}
	}
	return v
}

func (s *Server) treeStats() tree.Stats {
	s.treeMu.RLock()
	defer s.treeMu.RUnlock()
	return s.tree.Stats()
}

type kv struct {
	key   string
	value any
}

// monitor returns the mntr figures, in mntr's order, without the zk_ prefix.
func (s *Server) monitor() []kv {
	min, avg, max, _ := s.stats.latency.snapshot()
	ts := s.treeStats()
	s.treeMu.RLock()
	sessions := len(s.tree.Sessions())
	s.treeMu.RUnlock()
	st := s.node.Status()
	openFDs, maxFDs := fdCounts()
	figures := []kv{
		{"version", zkVersion()},
		{"server_state", s.mode()},
		{"avg_latency", avg},
		{"min_latency", int64(min)},
		{"max_latency", int64(max)},
		{"packets_received", s.stats.packetsReceived.Load()},
		{"packets_sent", s.stats.packetsSent.Load()},
		{"num_alive_connections", len(s.connections())},
		{"outstanding_requests", s.outstanding()},
		{"uptime", time.Since(s.start).Milliseconds()},
		{"znode_count", ts.NodeCount},
		{"watch_count", s.watches.Count()},
		{"ephemerals_count", ts.EphemeralCount},
		{"approximate_data_size", ts.ApproximateDataSize},
		{"global_sessions", sessions},
		{"local_sessions", 0},
		{"open_file_descriptor_count", openFDs},
		{"max_file_descriptor_count", maxFDs},
		{"connection_drop_probability", 0.0},
		{"last_client_response_size", s.stats.respLast.Load()},
		{"max_client_response_size", s.stats.respMax.Load()},
		{"min_client_response_size", s.stats.respMin()},
		{"auth_failed_count", s.stats.authFailed.Load()},
		// paddock serves no TLS, so no handshake is outstanding; ZooKeeper counts non-mTLS
		// connections only with its Netty connection factory, and with the default NIO
		// one (whose cons and dump paddock's follow) both counts stay 0, as here.
		{"non_mtls_remote_conn_count", 0},
		{"non_mtls_local_conn_count", 0},
		{"outstanding_tls_handshake", 0},
	}
	if !s.standalone() {
		figures = append(figures[:2], append(s.ensembleFigures(st), figures[2:]...)...)
	}
	fmin, favg, fmax, fcnt := s.stats.fsync.snapshot()
	figures = append(figures,
		kv{"avg_fsynctime", favg}, kv{"min_fsynctime", fmin}, kv{"max_fsynctime", fmax},
		kv{"cnt_fsynctime", fcnt},
		kv{"avg_sync_processor_batch_size", s.stats.batch.avg()},
		kv{"max_sync_processor_batch_size", s.stats.batch.max.Load()},
		kv{"cnt_sync_processor_batch_size", s.stats.batch.count.Load()},
		kv{"proposal_count", s.stats.proposals.Load()},
		kv{"leader_changes", s.stats.leaderChanges.Load()},
	)
	if !s.standalone() {
		emin, eavg, emax, ecnt := s.stats.election.snapshot()
		figures = append(figures, kv{"avg_election_time", eavg}, kv{"min_election_time", emin},
			kv{"max_election_time", emax}, kv{"cnt_election_time", ecnt})
	}
	return append(figures, []kv{
		// paddock's own figures follow ZooKeeper's.
		{"connection_rejected", s.stats.connRejected.Load()},
		{"sessions_expired", s.stats.sessionsExpired.Load()},
		{"raft_term", st.Term},
		{"raft_commit_index", st.Commit},
		{"raft_applied_index", st.Applied},
		{"last_snapshot_index", st.LastSnapshotIndex},
		{"goroutines", runtime.NumGoroutine()},
	}...)
}

// ensembleFigures are mntr's ensemble lines: zk_peer_state, zk_quorum_size, and on the
// leader its learners and how many of them are in sync (caught up and heard from recently).
func (s *Server) ensembleFigures(st raftnode.Status) []kv {
	state := "following - broadcast"
	switch {
	case st.Role == "leader":
		state = "leading - broadcast"
	case st.Role == "learner":
		state = "observing - broadcast"
	case st.Leader == 0:
		state = "looking - election"
	}
	out := []kv{{"peer_state", state}, {"quorum_size", len(st.Voters)}}
	if st.Role != "leader" {
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	p, err := s.node.Progress(ctx)
	cancel()
	if err != nil {
		return out
	}
	var learners, syncedVoters, syncedObservers, pending int
	for id, m := range p.Members {
		if id == p.Leader || !m.Active {
			continue
		}
		learners++
		switch {
		case !caughtUp(p, id):
			pending++
		case m.Learner:
			syncedObservers++
		default:
			syncedVoters++
		}
	}
	return append(out,
		kv{"learners", learners}, kv{"synced_followers", syncedVoters},
		kv{"synced_non_voting_followers", 0}, kv{"synced_observers", syncedObservers},
		kv{"pending_syncs", pending})
}

func fdCounts() (open, max int64) {
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		open = int64(len(ents))
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		max = int64(rl.Cur)
	}
	return open, max
}

// metricsCollector exports the mntr figures under ZooKeeper's Prometheus metric names (the
// mntr keys without the zk_ prefix).
type metricsCollector struct{ s *Server }

func (m *metricsCollector) Describe(ch chan<- *prometheus.Desc) {}

func (m *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, e := range m.s.monitor() {
		var v float64
		switch x := e.value.(type) {
		case int:
			v = float64(x)
		case int64:
			v = float64(x)
		case uint64:
			v = float64(x)
		case float64:
			v = x
		default:
			continue
		}
		desc := prometheus.NewDesc(e.key, "ZooKeeper mntr figure "+e.key, nil, nil)
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v)
	}
}
