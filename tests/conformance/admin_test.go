package conformance

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/zktest"
	"github.com/paddock/paddock/tests/harness"
)

// The admin server's commands (GET /commands/<name>, JSON) are compared by shape: the keys
// of the answer, recursively, and the JSON type of each value. Values differ between any two
// servers (ports, times, sizes); what tools depend on is that the keys they read are there
// and hold what they expect.

// adminCommands are the names requested from both servers: the four-letter aliases and the
// full names ZooKeeper 3.8 and 3.9 both know.
var adminCommands = []string{
	"ruok",
	"conf", "configuration", "config",
	"cons", "connections",
	"crst", "connection_stat_reset",
	"srst", "stat_reset",
	"dirs",
	"dump",
	"envi", "environment", "env",
	"mntr", "monitor",
	"srvr", "server_stats",
	"stat", "stats",
	"wchs", "watch_summary",
	"wchc", "watches",
	"wchp", "watches_by_path",
	"isro", "is_read_only",
	"gtmk", "get_trace_mask",
	"lsnp", "last_snapshot",
	"icfg", "initial_configuration",
	"sysp", "system_properties",
	"voting_view",
	"zabstate",
	"lead", "leader",
	"hash",
	"obsr", "observers",
	"orst", "observer_connection_stat_reset",
}

// adminDataKeys are the objects whose keys are data (session ids, paths, times, server
// ids) rather than names: their members are compared as one shape, under "*".
var adminDataKeys = map[string]bool{
	"dump.expiry_time_to_session_ids":     true,
	"dump.session_id_to_ephemeral_paths":  true,
	"watches.session_id_to_watched_paths": true,
	"watches_by_path.path_to_session_ids": true,
	"voting_view.current_config":          true,
	"system_properties":                   true, // JVM system properties / environment
	"environment":                         true, // compared key by key in adminEnvironmentKeys
}

// adminIgnored are keys only ZooKeeper's answers have, each with why paddock cannot have
// them; they are left out of the comparison. (monitor is compared apart: see monitorKeys.)
var adminIgnored = map[string]string{}

// adminPaddockOnly are keys only paddock's answers have, each with what it is; they are
// documented in docs/operations.md.
var adminPaddockOnly = map[string]string{
	"configuration.zoo_cfg": "the whole configuration paddock read, key by key (ZooKeeper prints no such thing)",
	"last_snapshot.index":   "the raft log index of the last snapshot, paddock's own record of it",
}

// monitorKeys are the monitor (mntr) figures compared by presence and type: the gauges of
// zookeeper-surface.md §7.2 that a standalone server reports. Beyond them ZooKeeper reports
// a hundred or so summaries of its own request pipeline and JVM (commit processor queues,
// jvm_pause_time_ms, per-namespace read and write sizes, ...) that paddock has no
// counterpart of, and paddock its raft figures (raft_term, raft_commit_index, ...): a key
// that only one server has is not compared, a key both have must have the same type.
var monitorKeys = append([]string{"version", "server_state"}, standaloneGauges...)

// adminEnvironmentKeys are environment's keys both servers have; ZooKeeper's java.* keys
// describe its JVM, paddock's go.version its Go runtime.
var adminEnvironmentKeys = []string{
	"zookeeper.version", "host.name", "os.name", "os.arch", "os.version", "user.name",
	"user.home", "user.dir", "os.memory.free", "os.memory.max", "os.memory.total",
}

// jsonType is the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// shape flattens a decoded JSON value into "path: type" entries. Array elements are merged
// under "[]", the members of data-keyed objects under "*"; an empty array or data object
// contributes its own type only.
func shape(path string, v any, out map[string]string) {
	add := func(p, t string) { // a union of types is kept sorted: "null|string"
		types := strings.Split(out[p], "|")
		if out[p] == "" {
			types = nil
		}
		if !slices.Contains(types, t) {
			types = append(types, t)
			slices.Sort(types)
		}
		out[p] = strings.Join(types, "|")
	}
	if path != "" {
		add(path, jsonType(v))
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			shape(path+"[]", e, out)
		}
	case map[string]any:
		for k, e := range x {
			if adminDataKeys[path] {
				shape(join("*"), e, out)
			} else {
				shape(join(k), e, out)
			}
		}
	}
}

// adminGet fetches one admin command and decodes its JSON answer.
func adminGet(t *testing.T, srv *harness.Server, cmd string) (int, map[string]any) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + srv.AdminAddr() + "/commands/" + cmd)
	if err != nil {
		t.Fatalf("%s: GET %s: %v", srv.Kind(), cmd, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: GET %s: %v", srv.Kind(), cmd, err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: GET %s: not a JSON object: %v\n%s", srv.Kind(), cmd, err, body)
	}
	return resp.StatusCode, m
}

// adminFixture gives a server two sessions with ephemerals and data watches, so that the
// lists and maps of cons, dump and the watch commands have members whose shape is compared.
// The connections stay open until the test ends.
func adminFixture(t *testing.T, srv *harness.Server) {
	t.Helper()
	acl := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}
	for i, name := range []string{"a", "b"} {
		c, err := zktest.Dial(srv.Addr(), zktest.Options{})
		if err != nil {
			t.Fatalf("%s: dial: %v", srv.Kind(), err)
		}
		t.Cleanup(func() { c.Close() })
		path := "/admin-" + name
		var created proto.PathRequest
		if h, err := c.Call(proto.OpCreate, &proto.CreateRequest{Path: path, ACL: acl, Flags: 1}, &created); err != nil || h.Err != 0 {
			t.Fatalf("%s: create %s: %v %v", srv.Kind(), path, h.Err, err)
		}
		for _, p := range []string{path, "/admin-missing-" + fmt.Sprint(i)} {
			if _, err := c.Call(proto.OpExists, &proto.PathWatchRequest{Path: p, Watch: true}, &proto.StatResponse{}); err != nil {
				t.Fatalf("%s: exists %s: %v", srv.Kind(), p, err)
			}
		}
	}
}

// adminTestName is what -scenario matches to select TestAdminCommands.
const adminTestName = "admin/commands"

func TestAdminCommands(t *testing.T) {
	targets := selectedTargets(t)
	if !slices.Contains(targets, targetZooKeeper) || !slices.Contains(targets, targetPaddock) {
		t.Skip("compares zookeeper with paddock: -target does not select both")
	}
	if pat := cmp.Or(*flagScenario, os.Getenv("CONFORMANCE_SCENARIO")); pat != "" {
		if re, err := regexp.Compile(pat); err == nil && !re.MatchString(adminTestName) {
			t.Skipf("-scenario does not match %s", adminTestName)
		}
	}
	usePaddockBinary(t)
	zk := harness.StartZooKeeper(t, harness.ZKOptions{AdminServer: true})
	pd := harness.StartPaddock(t, harness.PaddockOptions{AdminServer: true})
	for _, srv := range []*harness.Server{zk, pd} {
		if srv.AdminAddr() == "" {
			t.Fatalf("%s: no admin address", srv.Kind())
		}
		adminFixture(t, srv)
	}

	for _, cmd := range adminCommands {
		t.Run(cmd, func(t *testing.T) {
			zs, zm := adminGet(t, zk, cmd)
			ps, pm := adminGet(t, pd, cmd)
			if zs != ps {
				t.Errorf("HTTP status: zookeeper %d, paddock %d", zs, ps)
			}
			// command (the full name an alias stands for) and error are compared exactly.
			for _, k := range []string{"command", "error"} {
				if !reflect.DeepEqual(zm[k], pm[k]) {
					t.Errorf("%q: zookeeper %#v, paddock %#v", k, zm[k], pm[k])
				}
			}
			name, _ := zm["command"].(string)
			compareShapes(t, name, zm, pm)
		})
	}

	t.Run("unknown-command", func(t *testing.T) {
		zs, zm := adminGet(t, zk, "no_such_command")
		ps, pm := adminGet(t, pd, "no_such_command")
		if zs != ps || !reflect.DeepEqual(zm, pm) {
			t.Errorf("zookeeper: %d %v\npaddock:   %d %v", zs, zm, ps, pm)
		}
	})

	t.Run("metrics", func(t *testing.T) { checkMetrics(t, pd) })
}

// compareShapes reports the keys one answer has and the other lacks, and values whose JSON
// types differ, leaving out adminIgnored and adminPaddockOnly.
func compareShapes(t *testing.T, name string, zm, pm map[string]any) {
	t.Helper()
	zs, ps := map[string]string{}, map[string]string{}
	// Root the paths at the command's name, so adminDataKeys and adminIgnored name them.
	shape(name, zm, zs)
	shape(name, pm, ps)
	if name == "environment" {
		for _, k := range adminEnvironmentKeys {
			zs[name+"."+k], ps[name+"."+k] = jsonType(zm[k]), jsonType(pm[k])
		}
	}
	var diffs []string
	for _, k := range sortedKeysOf(zs, ps) {
		z, zok := zs[k]
		p, pok := ps[k]
		figure, isMonitor := strings.CutPrefix(k, "monitor.")
		switch {
		case ignoredAdminKey(k, adminIgnored) || ignoredAdminKey(k, adminPaddockOnly):
		case isMonitor && (!zok || !pok) && !slices.Contains(monitorKeys, figure):
		case !pok:
			diffs = append(diffs, fmt.Sprintf("%s: paddock lacks it (zookeeper: %s)", k, z))
		case !zok:
			diffs = append(diffs, fmt.Sprintf("%s: only paddock has it (%s)", k, p))
		case z != p:
			diffs = append(diffs, fmt.Sprintf("%s: zookeeper %s, paddock %s", k, z, p))
		}
	}
	if len(diffs) > 0 {
		zj, _ := json.MarshalIndent(zm, "", "  ")
		pj, _ := json.MarshalIndent(pm, "", "  ")
		t.Errorf("shape of %s differs:\n  %s\nzookeeper: %s\npaddock: %s", name, strings.Join(diffs, "\n  "), zj, pj)
	}
}

// ignoredAdminKey reports whether k is listed, or lies under a listed key.
func ignoredAdminKey(k string, list map[string]string) bool {
	for p := range list {
		if k == p || strings.HasPrefix(k, p+".") || strings.HasPrefix(k, p+"[]") {
			return true
		}
	}
	return false
}

func sortedKeysOf(ms ...map[string]string) []string {
	var ks []string
	for _, m := range ms {
		for k := range m {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return slices.Compact(ks)
}

// metricsGauges are the gauges of ZooKeeper's mntr that monitoring relies on
// (zookeeper-surface.md §7.2), under their Prometheus names (without zk_). Those that
// paddock's mntr reports must be on its /metrics too.
var metricsGauges = append(slices.Clone(standaloneGauges),
	"quorum_size", "learners", "synced_followers", "synced_non_voting_followers",
	"synced_observers", "pending_syncs", "leader_uptime", "last_proposal_size",
	"max_proposal_size", "min_proposal_size")

// standaloneGauges are the gauges of §7.2 that every server reports, a standalone one too.
var standaloneGauges = []string{
	"avg_latency", "min_latency", "max_latency", "packets_received", "packets_sent",
	"num_alive_connections", "outstanding_requests", "uptime", "znode_count", "watch_count",
	"ephemerals_count", "approximate_data_size", "global_sessions", "local_sessions",
	"open_file_descriptor_count", "max_file_descriptor_count", "connection_drop_probability",
	"last_client_response_size", "max_client_response_size", "min_client_response_size",
	"outstanding_tls_handshake", "auth_failed_count", "non_mtls_remote_conn_count",
	"non_mtls_local_conn_count",
}

func checkMetrics(t *testing.T, srv *harness.Server) {
	mntr, err := srv.FourLetter("mntr")
	if err != nil {
		t.Fatalf("mntr: %v", err)
	}
	reported := map[string]bool{}
	for _, l := range strings.Split(mntr, "\n") {
		if k, _, ok := strings.Cut(l, "\t"); ok {
			reported[strings.TrimPrefix(k, "zk_")] = true
		}
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + srv.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	text := "\n" + string(body)
	checked := 0
	for _, g := range metricsGauges {
		if !reported[g] {
			continue
		}
		checked++
		if !strings.Contains(text, "\n# TYPE "+g+" gauge\n") {
			t.Errorf("/metrics has no gauge %s (mntr reports zk_%s)", g, g)
		}
		if !strings.Contains(text, "\n"+g+" ") {
			t.Errorf("/metrics has no sample of %s", g)
		}
	}
	if checked == 0 {
		t.Errorf("mntr reports none of the gauges:\n%s", mntr)
	}
}
