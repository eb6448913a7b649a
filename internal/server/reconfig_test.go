package server

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paddock/paddock/internal/config"
	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/raftnode"
	"github.com/paddock/paddock/internal/zktest"
)

// reconfigEnsemble is an in-process ensemble whose members know their server.N lines, so
// that /zookeeper/config reads as ZooKeeper's would, and to which members can be added.
// PADDOCK_TEST_LOG=1 sends the members' logs to stderr.
type reconfigEnsemble struct {
	t       *testing.T
	servers map[uint64]*Server
	members map[int64]config.Server
	tweak   []func(*Options)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startReconfigEnsemble(t *testing.T, n int, tweak ...func(*Options)) *reconfigEnsemble {
	t.Helper()
	e := &reconfigEnsemble{t: t, servers: map[uint64]*Server{}, members: map[int64]config.Server{}, tweak: tweak}
	trs := map[uint64]*raftnode.TCPTransport{}
	for id := uint64(1); id <= uint64(n); id++ {
		sv, tr := e.newMember(id, config.Participant)
		e.members[sv.ID] = sv
		trs[id] = tr
	}
	for id := uint64(1); id <= uint64(n); id++ {
		e.start(id, trs[id], e.members)
	}
	waitFor(t, 20*time.Second, func() bool {
		for _, s := range e.servers {
			if s.node.Status().Leader == 0 {
				return false
			}
		}
		return true
	})
	want := formatMembers(e.members)
	waitFor(t, 20*time.Second, func() bool {
		for _, s := range e.servers {
			if data, _ := s.configData(); !strings.HasPrefix(string(data), want+"version=") {
				return false
			}
		}
		return true
	})
	return e
}

// newMember makes member id's transport and its server line.
func (e *reconfigEnsemble) newMember(id uint64, role config.Role) (config.Server, *raftnode.TCPTransport) {
	t := e.t
	tr, err := raftnode.NewTCPTransport(raftnode.TCPConfig{
		ID: id, ListenAddr: "127.0.0.1:0", ClusterID: "test/reconfig",
		Logger: testOptions(t, "").Logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	return config.Server{
		ID: int64(id), Host: "127.0.0.1", PeerPort: tr.Addr().(*net.TCPAddr).Port, ElectionPort: 3880 + int(id),
		Role: role, ClientHost: "127.0.0.1", ClientPort: freePort(t),
	}, tr
}

// start starts member id with members as its configuration.
func (e *reconfigEnsemble) start(id uint64, tr *raftnode.TCPTransport, members map[int64]config.Server) *Server {
	t := e.t
	opts := testOptions(t, t.TempDir())
	opts.ServerID = id
	opts.ClientAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(members[int64(id)].ClientPort))
	opts.ReconfigEnabled = true
	opts.Transport = tr
	for _, k := range slices.Sorted(maps.Keys(members)) {
		sv := members[k]
		opts.Members = append(opts.Members, sv)
		opts.Peers = append(opts.Peers, raftnode.Peer{ID: uint64(k), Addr: peerAddr(sv), Learner: sv.Role == config.Observer})
	}
	if os.Getenv("PADDOCK_TEST_LOG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("member", id)
	}
	for _, f := range e.tweak {
		f(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("member %d: %v", id, err)
	}
	e.servers[id] = s
	done := make(chan struct{})
	go func() { s.Serve(); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
	return s
}

// join starts a new member whose configuration is the current members plus itself with
// role, as ZooKeeper's docs tell an operator to start a joining server. It returns the
// member's server line.
func (e *reconfigEnsemble) join(id uint64, role config.Role) config.Server {
	sv, tr := e.newMember(id, role)
	members := maps.Clone(e.members)
	members[sv.ID] = sv
	e.start(id, tr, members)
	return sv
}

func (e *reconfigEnsemble) leader() uint64 {
	for id, s := range e.servers {
		if !s.stopped() && s.isLeader() {
			return id
		}
	}
	return 0
}

// others returns the running members other than skip, by id.
func (e *reconfigEnsemble) others(skip ...uint64) []uint64 {
	var ids []uint64
	for _, id := range slices.Sorted(maps.Keys(e.servers)) {
		if !slices.Contains(skip, id) && !e.servers[id].stopped() {
			ids = append(ids, id)
		}
	}
	return ids
}

func superConn(t *testing.T, s *Server) *zktest.Conn {
	t.Helper()
	c := dial(t, s, zktest.Options{Timeout: 10 * time.Second})
	if h, err := c.Call(proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("super:secret")}, nil); err != nil || h.Err != 0 {
		t.Fatalf("auth: %v %v", err, h.Err)
	}
	return c
}

func callReconfig(t *testing.T, c *zktest.Conn, req *proto.ReconfigRequest) (proto.ReplyHeader, proto.GetDataResponse) {
	t.Helper()
	var resp proto.GetDataResponse
	h, err := c.Call(proto.OpReconfig, req, &resp)
	if err != nil {
		t.Fatalf("reconfig: %v", err)
	}
	return h, resp
}

// incremental builds an incremental request; "" means a null list.
func incremental(joining, leaving string) *proto.ReconfigRequest {
	return &proto.ReconfigRequest{
		JoiningServers: joining, JoiningNull: joining == "",
		LeavingServers: leaving, LeavingNull: leaving == "",
		NewMembersNull: true, CurConfigID: -1,
	}
}

func getConfig(t *testing.T, c *zktest.Conn, watch bool) (string, proto.Stat) {
	t.Helper()
	if h, err := c.Call(proto.OpSync, &proto.PathRequest{Path: "/zookeeper/config"}, &proto.PathRequest{}); err != nil || h.Err != 0 {
		t.Fatalf("sync: %v %v", err, h.Err)
	}
	var gd proto.GetDataResponse
	h, err := c.Call(proto.OpGetData, &proto.PathWatchRequest{Path: "/zookeeper/config", Watch: watch}, &gd)
	if err != nil || h.Err != 0 {
		t.Fatalf("getData /zookeeper/config: %v %v", err, h.Err)
	}
	return string(gd.Data), gd.Stat
}

func isVoter(st raftnode.Status, id uint64) bool {
	return slices.ContainsFunc(st.Voters, func(p raftnode.Peer) bool { return p.ID == id })
}

func isMemberOf(st raftnode.Status, id uint64) bool {
	return isVoter(st, id) || slices.ContainsFunc(st.Learners, func(p raftnode.Peer) bool { return p.ID == id })
}

// TestReconfigStandalone: disabled → RECONFIGDISABLED, enabled but standalone →
// UNIMPLEMENTED; both consume a zxid.
func TestReconfigStandalone(t *testing.T) {
	for _, tc := range []struct {
		enabled bool
		want    proto.Code
	}{{false, proto.CodeReconfigDisabled}, {true, proto.CodeUnimplemented}} {
		opts := testOptions(t, t.TempDir())
		opts.ReconfigEnabled = tc.enabled
		s := startServer(t, opts)
		c := superConn(t, s)
		before := s.lastZxid()
		h, _ := callReconfig(t, c, incremental("", "2"))
		if h.Err != tc.want || h.Zxid != before+1 {
			t.Fatalf("enabled=%v: %v zxid %#x (before %#x), want %v", tc.enabled, h.Err, h.Zxid, before, tc.want)
		}
		if data, _ := s.configData(); len(data) != 0 {
			t.Fatalf("standalone /zookeeper/config: %q", data)
		}
	}
}

// TestReconfigRefusals: the seeded /zookeeper/config, then each refusal, in ZooKeeper's
// codes, each consuming a zxid and changing nothing.
func TestReconfigRefusals(t *testing.T) {
	e := startReconfigEnsemble(t, 3)
	l := e.leader()
	f := e.others(l)
	c := superConn(t, e.servers[f[0]])

	// The seed: the configured members, version = its zxid (the leader's epoch, no counter).
	data, st := getConfig(t, c, false)
	want := formatMembers(e.members) + "version=" + strconv.FormatInt(st.Mzxid, 16)
	if data != want || st.Version != -1 || st.Mzxid&0xffffffff != 0 {
		t.Fatalf("seeded config %q %+v, want %q", data, st, want)
	}
	for _, id := range []int64{1, 2, 3} {
		if !strings.Contains(data, fmt.Sprintf("server.%d=127.0.0.1:%d:%d:participant;127.0.0.1:%d\n",
			id, e.members[id].PeerPort, 3880+id, e.members[id].ClientPort)) {
			t.Fatalf("server.%d missing from %q", id, data)
		}
	}

	refuse := func(c *zktest.Conn, req *proto.ReconfigRequest, code proto.Code) {
		t.Helper()
		before := e.servers[f[0]].lastZxid()
		h, _ := callReconfig(t, c, req)
		if h.Err != code {
			t.Fatalf("reconfig %+v: %v, want %v", req, h.Err, code)
		}
		if h.Zxid <= before {
			t.Fatalf("refusal %v did not consume a zxid: %#x after %#x", code, h.Zxid, before)
		}
		if now, _ := getConfig(t, c, false); now != data {
			t.Fatalf("config changed by a refused reconfig: %q", now)
		}
		for _, s := range e.servers {
			if st := s.node.Status(); len(st.Voters) != 3 || len(st.Learners) != 0 {
				t.Fatalf("membership changed by a refused reconfig: %+v", st)
			}
		}
	}

	bad := incremental("", strconv.Itoa(int(f[1])))
	bad.CurConfigID = st.Mzxid + 1
	refuse(c, bad, proto.CodeBadVersion)

	plain := dial(t, e.servers[f[0]], zktest.Options{})
	refuse(plain, incremental("", strconv.Itoa(int(f[1]))), proto.CodeNoAuth)

	refuse(c, incremental("server.9=nonsense", ""), proto.CodeBadArguments)
	refuse(c, incremental("server.9=127.0.0.1:7000:7001", ""), proto.CodeBadArguments) // no client port
	refuse(c, incremental(fmt.Sprintf("server.9=127.0.0.1:%d:7001;7002", e.members[1].PeerPort), ""), proto.CodeBadArguments)
	refuse(c, incremental("", "x"), proto.CodeBadArguments)
	refuse(c, incremental("", fmt.Sprintf("%d,%d", f[0], f[1])), proto.CodeBadArguments) // one participant left
	both := incremental("", "2")
	both.NewMembers, both.NewMembersNull = "server.1=127.0.0.1:1:2;3", false
	refuse(c, both, proto.CodeBadArguments)
	nonInc := &proto.ReconfigRequest{JoiningNull: true, LeavingNull: true, NewMembers: "group.1=1:2", CurConfigID: -1}
	refuse(c, nonInc, proto.CodeBadArguments)

	// Another member holds the reconfig lease: RECONFIGINPROGRESS until it lets go.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	seq, granted, err := e.servers[f[1]].beginReconfig(ctx, time.Minute)
	if err != nil || !granted {
		t.Fatalf("beginReconfig: %v %v", granted, err)
	}
	refuse(c, incremental("", strconv.Itoa(int(f[1]))), proto.CodeReconfigInProgress)
	e.servers[f[1]].endReconfig(seq)

	// A member is down: removing another would leave the new participants {leader, the dead
	// one} without a caught-up majority.
	e.servers[f[0]].Close()
	waitFor(t, 10*time.Second, func() bool {
		p, err := e.servers[l].node.Progress(ctx)
		return err == nil && !p.Members[f[0]].Active
	})
	c2 := superConn(t, e.servers[f[1]])
	before := e.servers[f[1]].lastZxid()
	h, _ := callReconfig(t, c2, incremental("", strconv.Itoa(int(f[1]))))
	if h.Err != proto.CodeNewConfigNoQuorum || h.Zxid <= before {
		t.Fatalf("losing quorum: %v zxid %#x", h.Err, h.Zxid)
	}
	if st := e.servers[l].node.Status(); len(st.Voters) != 3 {
		t.Fatalf("membership changed: %+v", st.Voters)
	}
}

// TestReconfigRemoveFollower: a follower removes another; it stops being a member, the
// config node says so everywhere (with a NodeDataChanged to its watchers) and writes go on.
func TestReconfigRemoveFollower(t *testing.T) {
	e := startReconfigEnsemble(t, 3)
	l := e.leader()
	f := e.others(l)
	keep, gone := f[0], f[1]
	c := superConn(t, e.servers[keep])
	w := dial(t, e.servers[l], zktest.Options{})
	_, st := getConfig(t, w, true)

	req := incremental("", strconv.Itoa(int(gone)))
	req.CurConfigID = st.Mzxid
	h, resp := callReconfig(t, c, req)
	if h.Err != 0 {
		t.Fatalf("reconfig: %v", h.Err)
	}
	next := maps.Clone(e.members)
	delete(next, int64(gone))
	want := formatMembers(next) + "version=" + strconv.FormatInt(h.Zxid, 16)
	if string(resp.Data) != want || resp.Stat.Mzxid != h.Zxid || resp.Stat.Version != -1 {
		t.Fatalf("reply %q %+v (zxid %#x), want %q", resp.Data, resp.Stat, h.Zxid, want)
	}
	for _, id := range []uint64{l, keep} {
		s := e.servers[id]
		waitFor(t, 10*time.Second, func() bool {
			st := s.node.Status()
			return !isMemberOf(st, gone) && len(st.Voters) == 2
		})
		data, _ := getConfig(t, dial(t, s, zktest.Options{}), false)
		if data != want {
			t.Fatalf("member %d reads %q", id, data)
		}
	}
	ev, err := w.NextEvent(5 * time.Second)
	if err != nil || ev.Type != proto.EventNodeDataChanged || ev.Path != "/zookeeper/config" {
		t.Fatalf("watch: %+v %v", ev, err)
	}
	for i := range 10 {
		create(t, c, fmt.Sprintf("/after-%d", i), "", proto.ModePersistent)
	}
	// The stale version is refused now.
	h, _ = callReconfig(t, c, req)
	if h.Err != proto.CodeBadVersion {
		t.Fatalf("stale curConfigId: %v", h.Err)
	}
}

// TestReconfigAddMembers: a new member started with the new membership in its configuration
// joins as a learner, catches up (from the log, or from a snapshot taken for it when the log
// is compacted), is promoted and serves; an observer joins and stays a learner.
func TestReconfigAddMembers(t *testing.T) {
	t.Run("log", func(t *testing.T) { testReconfigAddMembers(t) })
	t.Run("snapshot", func(t *testing.T) { testReconfigAddMembers(t, func(o *Options) { o.SnapCount = 20 }) })
}

func testReconfigAddMembers(t *testing.T, tweak ...func(*Options)) {
	e := startReconfigEnsemble(t, 3, tweak...)
	l := e.leader()
	f := e.others(l)
	c := superConn(t, e.servers[f[0]])
	for i := range 60 {
		create(t, c, fmt.Sprintf("/n-%d", i), "data", proto.ModePersistent)
	}
	sv4 := e.join(4, config.Participant)
	s4 := e.servers[4]
	// Listed as a participant in its own file, it still never leads: the others refuse it
	// until it is a member, and its empty log loses every election.
	for deadline := time.Now().Add(2 * electionTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st := s4.node.Status(); st.Leader == 4 || st.Term > e.servers[l].node.Status().Term {
			t.Fatalf("the joining member disturbs the ensemble: %+v", st)
		}
	}

	h, resp := callReconfig(t, c, incremental("server.4="+sv4.String(), ""))
	if h.Err != 0 {
		t.Fatalf("add participant: %v", h.Err)
	}
	e.members[4] = sv4
	want := formatMembers(e.members) + "version=" + strconv.FormatInt(h.Zxid, 16)
	if string(resp.Data) != want {
		t.Fatalf("reply %q, want %q", resp.Data, want)
	}
	for _, s := range e.servers {
		waitFor(t, 10*time.Second, func() bool { return isVoter(s.node.Status(), 4) })
	}
	c4 := dial(t, s4, zktest.Options{})
	if data, _ := getConfig(t, c4, false); data != want {
		t.Fatalf("member 4 reads %q", data)
	}
	var gd proto.GetDataResponse
	if h, err := c4.Call(proto.OpGetData, &proto.PathWatchRequest{Path: "/n-59"}, &gd); err != nil || h.Err != 0 || string(gd.Data) != "data" {
		t.Fatalf("member 4 lacks the data: %v %v %q", err, h.Err, gd.Data)
	}
	create(t, c4, "/from-4", "", proto.ModePersistent)

	// An observer, through the leader: a learner it stays.
	sv5 := e.join(5, config.Observer)
	cl := superConn(t, e.servers[l])
	h, resp = callReconfig(t, cl, incremental("server.5="+sv5.String(), ""))
	if h.Err != 0 {
		t.Fatalf("add observer: %v", h.Err)
	}
	if !strings.Contains(string(resp.Data), "server.5="+sv5.String()+"\n") || !strings.Contains(sv5.String(), ":observer;") {
		t.Fatalf("reply %q", resp.Data)
	}
	waitFor(t, 10*time.Second, func() bool {
		st := e.servers[l].node.Status()
		return isMemberOf(st, 5) && !isVoter(st, 5) && len(st.Voters) == 4
	})
	// The reply does not wait for an observer to catch up (it never counts towards a quorum).
	waitFor(t, 10*time.Second, func() bool { return e.servers[5].node.Status().Leader != 0 })
	c5 := dial(t, e.servers[5], zktest.Options{})
	if h, err := c5.Call(proto.OpSync, &proto.PathRequest{Path: "/"}, &proto.PathRequest{}); err != nil || h.Err != 0 {
		t.Fatalf("sync on the observer: %v %v", err, h.Err)
	}
	if h, _ := c5.Call(proto.OpExists, &proto.PathWatchRequest{Path: "/from-4"}, &proto.StatResponse{}); h.Err != 0 {
		t.Fatalf("observer lacks /from-4: %v", h.Err)
	}
}

// TestReconfigNonIncremental: a new member list without the leader, sent to a follower: the
// leader hands over, then leaves; the others carry on.
func TestReconfigNonIncremental(t *testing.T) {
	e := startReconfigEnsemble(t, 3)
	l := e.leader()
	f := e.others(l)
	c := superConn(t, e.servers[f[0]])
	next := maps.Clone(e.members)
	delete(next, int64(l))
	var lines []string
	for _, id := range slices.Sorted(maps.Keys(next)) {
		lines = append(lines, fmt.Sprintf("server.%d=%s", id, next[id]))
	}
	req := &proto.ReconfigRequest{JoiningNull: true, LeavingNull: true, NewMembers: strings.Join(lines, ","), CurConfigID: -1}
	h, resp := callReconfig(t, c, req)
	if h.Err != 0 {
		t.Fatalf("reconfig: %v", h.Err)
	}
	want := formatMembers(next) + "version=" + strconv.FormatInt(h.Zxid, 16)
	if string(resp.Data) != want {
		t.Fatalf("reply %q, want %q", resp.Data, want)
	}
	for _, id := range f {
		s := e.servers[id]
		waitFor(t, 10*time.Second, func() bool {
			st := s.node.Status()
			return st.Leader != 0 && st.Leader != l && !isMemberOf(st, l) && len(st.Voters) == 2
		})
	}
	create(t, c, "/after", "", proto.ModePersistent)
	c2 := dial(t, e.servers[f[1]], zktest.Options{})
	if data, _ := getConfig(t, c2, false); data != want {
		t.Fatalf("member %d reads %q", f[1], data)
	}
}

// TestReconfigRemoveSelf: a member removes itself. It answers with the new configuration,
// then leaves; the others carry on without it.
func TestReconfigRemoveSelf(t *testing.T) {
	e := startReconfigEnsemble(t, 3)
	l := e.leader()
	self := e.others(l)[0]
	c := superConn(t, e.servers[self])
	h, resp := callReconfig(t, c, incremental("", strconv.Itoa(int(self))))
	if h.Err != 0 {
		t.Fatalf("reconfig: %v", h.Err)
	}
	next := maps.Clone(e.members)
	delete(next, int64(self))
	want := formatMembers(next) + "version=" + strconv.FormatInt(h.Zxid, 16)
	if string(resp.Data) != want {
		t.Fatalf("reply %q, want %q", resp.Data, want)
	}
	for _, id := range e.others(self) {
		s := e.servers[id]
		waitFor(t, 10*time.Second, func() bool { return !isMemberOf(s.node.Status(), self) })
	}
	create(t, superConn(t, e.servers[l]), "/after", "", proto.ModePersistent)
}

// TestReconfigGrowFromOne: with standaloneEnabled=false a lone member runs as an ensemble of
// one (Mode: leader), grows by reconfig, and may shrink back to a single participant, which
// ZooKeeper refuses while standaloneEnabled is true.
func TestReconfigGrowFromOne(t *testing.T) {
	e := startReconfigEnsemble(t, 1, func(o *Options) { o.StandaloneDisabled = true })
	s1 := e.servers[1]
	if out := s1.runFourLetter("srvr"); !strings.Contains(out, "Mode: leader\n") {
		t.Fatalf("a lone member with standaloneEnabled=false:\n%s", out)
	}
	c := superConn(t, s1)
	create(t, c, "/one", "", proto.ModePersistent)
	sv2 := e.join(2, config.Participant)
	if h, _ := callReconfig(t, c, incremental("server.2="+sv2.String(), "")); h.Err != 0 {
		t.Fatalf("add a second participant: %v", h.Err)
	}
	e.members[2] = sv2
	for _, s := range e.servers {
		waitFor(t, 10*time.Second, func() bool { return len(s.node.Status().Voters) == 2 })
	}
	c2 := dial(t, e.servers[2], zktest.Options{})
	if h, err := c2.Call(proto.OpSync, &proto.PathRequest{Path: "/"}, &proto.PathRequest{}); err != nil || h.Err != 0 {
		t.Fatalf("sync on the new member: %v %v", err, h.Err)
	}
	if h, _ := c2.Call(proto.OpExists, &proto.PathWatchRequest{Path: "/one"}, &proto.StatResponse{}); h.Err != 0 {
		t.Fatalf("the new member lacks /one: %v", h.Err)
	}
	if h, _ := callReconfig(t, c, incremental("", "2")); h.Err != 0 {
		t.Fatalf("back to one participant: %v", h.Err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(s1.node.Status().Voters) == 1 })
	create(t, c, "/alone-again", "", proto.ModePersistent)
}
