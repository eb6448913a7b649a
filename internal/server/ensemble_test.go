package server

import (
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/raftnode"
	"github.com/paddock/paddock/internal/zktest"
)

// startEnsemble starts n members in-process over real TCP peer transports on loopback.
func startEnsemble(t *testing.T, n int, tweak ...func(*Options)) []*Server {
	t.Helper()
	trs := make([]*raftnode.TCPTransport, n)
	peers := make([]raftnode.Peer, n)
	dirs := make([]string, n)
	for i := range trs {
		dirs[i] = t.TempDir()
		tr, err := raftnode.NewTCPTransport(raftnode.TCPConfig{
			ID: uint64(i + 1), ListenAddr: "127.0.0.1:0", ClusterID: "test/ensemble", DataDir: dirs[i],
			Logger: testOptions(t, "").Logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		trs[i] = tr
		peers[i] = raftnode.Peer{ID: uint64(i + 1), Addr: tr.Addr().String()}
	}
	servers := make([]*Server, n)
	for i := range servers {
		opts := testOptions(t, dirs[i])
		opts.ServerID = uint64(i + 1)
		opts.Peers = peers
		opts.Transport = trs[i]
		for _, f := range tweak {
			f(&opts)
		}
		s, err := New(opts)
		if err != nil {
			t.Fatalf("member %d: %v", i+1, err)
		}
		servers[i] = s
		done := make(chan struct{})
		go func() { s.Serve(); close(done) }()
		t.Cleanup(func() { s.Close(); <-done })
	}
	waitFor(t, 20*time.Second, func() bool {
		for _, s := range servers {
			if s.node.Status().Leader == 0 {
				return false
			}
		}
		return true
	})
	return servers
}

func leaderOf(servers []*Server) int {
	for i, s := range servers {
		if !s.stopped() && s.isLeader() {
			return i
		}
	}
	return -1
}

func TestEnsembleReplicatesAndMovesSessions(t *testing.T) {
	servers := startEnsemble(t, 3)
	modes := map[string]int{}
	for _, s := range servers {
		modes[s.mode()]++
		m := adminCommands["members"](s)
		if members := m["members"].([]map[string]any); len(members) != 3 || m["leader_id"] == uint64(0) {
			t.Fatalf("members: %v", m)
		}
	}
	if modes["leader"] != 1 || modes["follower"] != 2 {
		t.Fatalf("modes %v", modes)
	}
	// The leader's mntr shows its two followers in sync (polled: raft marks members active
	// once it has heard from them).
	lead := servers[leaderOf(servers)]
	waitFor(t, 10*time.Second, func() bool {
		out := lead.runFourLetter("mntr")
		return strings.Contains(out, "zk_peer_state\tleading - broadcast\n") &&
			strings.Contains(out, "zk_synced_followers\t2\n") && strings.Contains(out, "zk_quorum_size\t3\n")
	})
	// Every member timed the election that gave it its first leader.
	for i, s := range servers {
		if out := s.runFourLetter("mntr"); !regexp.MustCompile(`\nzk_cnt_election_time\t[1-9]`).MatchString(out) {
			t.Fatalf("member %d: mntr has no election time:\n%s", i+1, out)
		}
	}
	// A write through a follower is forwarded to the leader and visible everywhere after sync.
	f := (leaderOf(servers) + 1) % 3
	c := dial(t, servers[f], zktest.Options{Timeout: 4 * time.Second})
	create(t, c, "/x", "v1", proto.ModePersistent)
	create(t, c, "/eph", "", proto.ModeEphemeral)
	for i, s := range servers {
		r := dial(t, s, zktest.Options{})
		if h, err := r.Call(proto.OpSync, &proto.PathRequest{Path: "/x"}, &proto.PathRequest{}); err != nil || h.Err != 0 {
			t.Fatalf("member %d sync: %v %v", i+1, err, h.Err)
		}
		var gd proto.GetDataResponse
		if h, err := r.Call(proto.OpGetData, &proto.PathWatchRequest{Path: "/x"}, &gd); err != nil || h.Err != 0 || string(gd.Data) != "v1" {
			t.Fatalf("member %d: %v %v %q", i+1, err, h.Err, gd.Data)
		}
	}
	// The session moves to another member with its id and password and keeps its ephemeral.
	other := (f + 1) % 3
	c.Close()
	c2 := dial(t, servers[other], zktest.Options{SessionID: c.SessionID, Passwd: c.Passwd, Timeout: 4 * time.Second, LastZxidSeen: c.LastZxid})
	if h, _ := c2.Call(proto.OpExists, &proto.PathWatchRequest{Path: "/eph"}, &proto.StatResponse{}); h.Err != 0 {
		t.Fatalf("ephemeral after moving: %v", h.Err)
	}
}

func TestEnsembleFailover(t *testing.T) {
	servers := startEnsemble(t, 3)
	l := leaderOf(servers)
	survivor := (l + 1) % 3
	c := dial(t, servers[survivor], zktest.Options{Timeout: 6 * time.Second})
	create(t, c, "/before", "", proto.ModePersistent)
	servers[l].Close()
	// A new leader is elected among the two others and writes resume; the client's session
	// (owned by the ensemble) stays alive through the failover. The client's member must
	// know the new leader too: a write it proposes before then is dropped and its connection
	// closed (the client would reconnect; this raw one does not).
	waitFor(t, 20*time.Second, func() bool {
		nl := leaderOf(servers)
		return nl >= 0 && nl != l && servers[survivor].node.Status().Leader == servers[nl].opts.ServerID
	})
	for i := 0; i < 20; i++ {
		create(t, c, fmt.Sprintf("/after-%d", i), "", proto.ModePersistent)
	}
	if h, _ := c.Call(proto.OpExists, &proto.PathWatchRequest{Path: "/before"}, &proto.StatResponse{}); h.Err != 0 {
		t.Fatalf("/before after failover: %v", h.Err)
	}
}

// TestReadOnlyMode: a member cut off from the quorum serves reads to read-only clients,
// answers writes NOTREADONLY, refuses read-write clients, and says "ro" to isro.
func TestReadOnlyMode(t *testing.T) {
	servers := startEnsemble(t, 3, func(o *Options) { o.ReadOnlyMode = true })
	c := dial(t, servers[0], zktest.Options{})
	create(t, c, "/ro", "data", proto.ModePersistent)
	waitFor(t, 10*time.Second, func() bool {
		return servers[2].lastZxid() == servers[0].lastZxid()
	})
	servers[0].Close()
	servers[1].Close()
	last := servers[2]
	waitFor(t, 20*time.Second, last.readOnly)

	if _, err := zktest.Dial(last.Addr().String(), zktest.Options{}); err == nil {
		t.Fatal("a read-write client was accepted while cut off from the quorum")
	}
	ro := dial(t, last, zktest.Options{ReadOnly: true})
	if !ro.ReadOnly {
		t.Fatal("ConnectResponse does not say read-only")
	}
	var gd proto.GetDataResponse
	if h, err := ro.Call(proto.OpGetData, &proto.PathWatchRequest{Path: "/ro"}, &gd); err != nil || h.Err != 0 || string(gd.Data) != "data" {
		t.Fatalf("read: %v %v %q", err, h.Err, gd.Data)
	}
	if h, _ := ro.Call(proto.OpCreate, &proto.CreateRequest{Path: "/no", ACL: openACL}, nil); h.Err != proto.CodeNotReadOnly {
		t.Fatalf("write in read-only mode: %v", h.Err)
	}
	if out, _ := zktest.FourLetter(last.Addr().String(), "isro"); out != "ro" {
		t.Fatalf("isro: %q", out)
	}
	if out, _ := zktest.FourLetter(last.Addr().String(), "srvr"); !strings.Contains(out, "Mode: read-only\n") {
		t.Fatalf("srvr:\n%s", out)
	}
}

// TestLeaderHandsOverOnClose: a leader that is shut down makes another member leader before
// it stops, and writes carry on.
func TestLeaderHandsOverOnClose(t *testing.T) {
	servers := startEnsemble(t, 3)
	l := leaderOf(servers)
	next := (l + 1) % 3
	c := dial(t, servers[next], zktest.Options{Timeout: 6 * time.Second})
	servers[l].Close()
	if got := servers[l].node.Status().Leader; got == uint64(l+1) || got == 0 {
		t.Fatalf("the stopped leader saw no new leader (leader %d)", got)
	}
	// The client's member learns the new leader by its first message; a write proposed
	// before that is dropped and the (raw, not reconnecting) client's connection closed.
	waitFor(t, 20*time.Second, func() bool {
		got := servers[next].node.Status().Leader
		return got != 0 && got != uint64(l+1)
	})
	create(t, c, "/after-handover", "", proto.ModePersistent)
}

// TestSessionMovedAcrossMembers: once a session has reconnected through another member, a
// write from its old connection (still open on the first member) is refused as ZooKeeper
// refuses it, with SESSIONMOVED: the connection is closed without an answer and nothing is
// written. The new connection writes on.
func TestSessionMovedAcrossMembers(t *testing.T) {
	servers := startEnsemble(t, 3)
	l := leaderOf(servers)
	a, b := servers[(l+1)%3], servers[(l+2)%3]
	old := dial(t, a, zktest.Options{Timeout: 6 * time.Second})
	create(t, old, "/mine", "", proto.ModeEphemeral)
	// A member behind the client's last zxid refuses it, as ZooKeeper's does.
	waitFor(t, 10*time.Second, func() bool { return b.lastZxid() >= old.LastZxid })
	moved := dial(t, b, zktest.Options{SessionID: old.SessionID, Passwd: old.Passwd, Timeout: 6 * time.Second, LastZxidSeen: old.LastZxid})

	// Reads on the old connection are still answered (ZooKeeper checks the owner on writes).
	if h, err := old.Call(proto.OpExists, &proto.PathWatchRequest{Path: "/mine"}, &proto.StatResponse{}); err != nil || h.Err != 0 {
		t.Fatalf("read on the old connection: %v %v", err, h.Err)
	}
	if h, err := old.Call(proto.OpCreate, &proto.CreateRequest{Path: "/stale", ACL: openACL}, nil); err == nil {
		t.Fatalf("write on the old connection answered %v; want the connection closed", h.Err)
	}
	create(t, moved, "/fresh", "", proto.ModePersistent)
	if h, _ := moved.Call(proto.OpExists, &proto.PathWatchRequest{Path: "/stale"}, &proto.StatResponse{}); h.Err != proto.CodeNoNode {
		t.Fatalf("/stale after a write from the moved-away connection: %v", h.Err)
	}
	if h, _ := moved.Call(proto.OpExists, &proto.PathWatchRequest{Path: "/mine"}, &proto.StatResponse{}); h.Err != 0 {
		t.Fatalf("the session's ephemeral after the refused write: %v", h.Err)
	}
	// A reconnect with a wrong password attaches nothing: the moved connection keeps writing.
	bad := append([]byte(nil), old.Passwd...)
	bad[0] ^= 1
	if _, err := zktest.Dial(a.Addr().String(), zktest.Options{SessionID: old.SessionID, Passwd: bad, Timeout: 6 * time.Second}); err == nil {
		t.Fatal("a reconnect with a wrong password was accepted")
	}
	create(t, moved, "/still-mine", "", proto.ModePersistent)
}

// TestReadinessAndNotServing: /readyz is 200 on a member in a quorum and caught up, 503 once
// it is cut off; srvr and mntr then answer ZooKeeper's "not currently serving" (ruok still
// says imok, as ZooKeeper's does).
func TestReadinessAndNotServing(t *testing.T) {
	servers := startEnsemble(t, 3)
	a := &adminServer{s: servers[2]}
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		a.ready(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	waitFor(t, 10*time.Second, func() bool { code, _ := get(); return code == 200 })
	if _, body := get(); !strings.HasPrefix(body, "ready: ") {
		t.Fatalf("/readyz body %q", body)
	}
	servers[0].Close()
	servers[1].Close()
	waitFor(t, 20*time.Second, func() bool { return servers[2].node.Status().Leader == 0 })
	if code, body := get(); code != 503 || !strings.Contains(body, "not ready") {
		t.Fatalf("/readyz without a quorum: %d %q", code, body)
	}
	for _, w := range []string{"srvr", "mntr"} {
		if out := servers[2].runFourLetter(w); out != notServing {
			t.Fatalf("%s without a quorum: %q", w, out)
		}
	}
	if out := servers[2].runFourLetter("ruok"); out != "imok" {
		t.Fatalf("ruok: %q", out)
	}
}
