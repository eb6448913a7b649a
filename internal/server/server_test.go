package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/zktest"
)

var openACL = []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}

func testOptions(t testing.TB, dir string) Options {
	return Options{
		ClientAddr:        "127.0.0.1:0",
		AdminAddr:         "127.0.0.1:0",
		DataDir:           dir,
		TickTime:          100 * time.Millisecond,
		MinSessionTimeout: 200 * time.Millisecond,
		MaxSessionTimeout: 10 * time.Second,
		MaxClientCnxns:    60,
		FourLetterWords:   []string{"*"},
		DigestEnabled:     true,
		ExtendedTypes:     true,
		SuperDigest:       acl.Digest("super:secret"),
		Logger:            slog.New(slog.NewTextHandler(testLogOut(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func startServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	done := make(chan struct{})
	go func() { s.Serve(); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
	waitFor(t, 10*time.Second, func() bool { return s.node.Status().Leader != 0 })
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dial(t testing.TB, s *Server, o zktest.Options) *zktest.Conn {
	t.Helper()
	c, err := zktest.Dial(s.Addr().String(), o)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func create(t testing.TB, c *zktest.Conn, path, data string, flags proto.CreateMode) string {
	t.Helper()
	var resp proto.PathRequest
	h, err := c.Call(proto.OpCreate, &proto.CreateRequest{Path: path, Data: []byte(data), ACL: openACL, Flags: int32(flags)}, &resp)
	if err != nil || h.Err != 0 {
		t.Fatalf("create %s: %v %v", path, err, h.Err)
	}
	return resp.Path
}

func TestBasicOps(t *testing.T) {
	s := startServer(t, testOptions(t, t.TempDir()))
	c := dial(t, s, zktest.Options{})
	create(t, c, "/a", "hello", proto.ModePersistent)
	var gd proto.GetDataResponse
	h, err := c.Call(proto.OpGetData, &proto.PathWatchRequest{Path: "/a", Watch: true}, &gd)
	if err != nil || h.Err != 0 || string(gd.Data) != "hello" || gd.Stat.DataLength != 5 {
		t.Fatalf("getData: %v %v %+v", err, h.Err, gd)
	}
	var sr proto.StatResponse
	h, err = c.Call(proto.OpSetData, &proto.SetDataRequest{Path: "/a", Data: []byte("x"), Version: 0}, &sr)
	if err != nil || h.Err != 0 || sr.Stat.Version != 1 {
		t.Fatalf("setData: %v %v %+v", err, h.Err, sr)
	}
	ev, err := c.NextEvent(5 * time.Second)
	if err != nil || ev.Type != proto.EventNodeDataChanged || ev.Path != "/a" {
		t.Fatalf("event: %v %+v", err, ev)
	}
	h, _ = c.Call(proto.OpSetData, &proto.SetDataRequest{Path: "/a", Data: []byte("y"), Version: 0}, nil)
	if h.Err != proto.CodeBadVersion {
		t.Fatalf("stale version: %v", h.Err)
	}
	seq := create(t, c, "/a/s-", "", proto.ModePersistentSequential)
	if seq != "/a/s-0000000000" {
		t.Fatalf("sequential name %q", seq)
	}
	var ch proto.ChildrenResponse
	if h, _ = c.Call(proto.OpGetChildren, &proto.PathWatchRequest{Path: "/a"}, &ch); h.Err != 0 || len(ch.Children) != 1 {
		t.Fatalf("children: %v %v", h.Err, ch.Children)
	}
	if h, _ = c.Call(proto.OpDelete, &proto.DeleteRequest{Path: "/a", Version: -1}, nil); h.Err != proto.CodeNotEmpty {
		t.Fatalf("delete non-empty: %v", h.Err)
	}
}

func TestEphemeralsGoWithTheirSession(t *testing.T) {
	s := startServer(t, testOptions(t, t.TempDir()))
	owner := dial(t, s, zktest.Options{Timeout: 400 * time.Millisecond})
	watcher := dial(t, s, zktest.Options{})
	create(t, owner, "/e", "", proto.ModeEphemeral)
	if h, _ := watcher.Call(proto.OpExists, &proto.PathWatchRequest{Path: "/e", Watch: true}, &proto.StatResponse{}); h.Err != 0 {
		t.Fatalf("exists: %v", h.Err)
	}
	// Stop pinging: the session expires and its ephemeral is deleted.
	owner.Close()
	ev, err := watcher.NextEvent(10 * time.Second)
	if err != nil || ev.Type != proto.EventNodeDeleted || ev.Path != "/e" {
		t.Fatalf("event: %v %+v", err, ev)
	}
	// The expired session cannot be resumed.
	if _, err := zktest.Dial(s.Addr().String(), zktest.Options{SessionID: owner.SessionID, Passwd: owner.Passwd}); !errors.Is(err, zktest.ErrSessionInvalid) {
		t.Fatalf("reconnect to expired session: %v", err)
	}
}

func TestSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	waitFor(t, 10*time.Second, func() bool { return s.node.Status().Leader != 0 })
	c, err := zktest.Dial(s.Addr().String(), zktest.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	create(t, c, "/durable", "v", proto.ModePersistent)
	create(t, c, "/mine", "", proto.ModeEphemeral)
	c.Close()
	s.Close()

	s2 := startServer(t, opts)
	c2 := dial(t, s2, zktest.Options{SessionID: c.SessionID, Passwd: c.Passwd, Timeout: 5 * time.Second, LastZxidSeen: c.LastZxid})
	for _, p := range []string{"/durable", "/mine"} {
		if h, _ := c2.Call(proto.OpExists, &proto.PathWatchRequest{Path: p}, &proto.StatResponse{}); h.Err != 0 {
			t.Fatalf("%s after restart: %v", p, h.Err)
		}
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	s := startServer(t, testOptions(t, t.TempDir()))
	c := dial(t, s, zktest.Options{})
	bad := append([]byte(nil), c.Passwd...)
	bad[0] ^= 0xff
	if _, err := zktest.Dial(s.Addr().String(), zktest.Options{SessionID: c.SessionID, Passwd: bad}); !errors.Is(err, zktest.ErrSessionInvalid) {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestClientAheadRefused(t *testing.T) {
	s := startServer(t, testOptions(t, t.TempDir()))
	if _, err := zktest.Dial(s.Addr().String(), zktest.Options{LastZxidSeen: 1 << 60}); err == nil {
		t.Fatal("a client that has seen a newer zxid was accepted")
	}
}

func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	s := startServer(t, testOptions(t, t.TempDir()))
	good := dial(t, s, zktest.Options{})
	cases := map[string][]byte{
		"garbage":         []byte("\x00\x00\x00\x05hello world this is not jute"),
		"negative length": {0xff, 0xff, 0xff, 0xf0},
		"over maxbuffer":  {0x7f, 0xff, 0xff, 0xff},
		"truncated":       {0x00, 0x00, 0x00, 0x40, 0x00},
	}
	for name, b := range cases {
		nc, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(b)
		if name == "truncated" {
			nc.Close()
			continue
		}
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(nc); err != nil {
			t.Fatalf("%s: connection not closed: %v", name, err)
		}
		nc.Close()
	}
	// Malformed requests after the handshake: a truncated create, and a create whose ACL
	// vector claims 2^31-1 entries (decoded without allocating them).
	for name, b := range map[string][]byte{
		"truncated create": {0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, 0xff},
		"huge ACL vector": {0, 0, 0, 22, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, '/', 'h',
			0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff},
	} {
		bad := dial(t, s, zktest.Options{})
		bad.SendRaw(b)
		h, _, err := bad.ReadReply(5 * time.Second)
		if err != nil || h.Err != proto.CodeMarshallingError {
			t.Fatalf("%s: %v %v", name, err, h.Err)
		}
	}
	create(t, good, "/still-fine", "", proto.ModePersistent)
}

// TestSilentConnectionsAreClosed: a socket that never sends a ConnectRequest is closed at the
// handshake deadline (the largest session timeout), and a session that stops sending (no
// requests, no pings) expires and its connection is closed; the log says why each time, and
// the server carries on serving.
func TestSilentConnectionsAreClosed(t *testing.T) {
	logs := &zktest.Buffer{}
	opts := testOptions(t, t.TempDir())
	opts.MaxSessionTimeout = time.Second
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s := startServer(t, opts)

	raw, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	quiet := dial(t, s, zktest.Options{Timeout: 300 * time.Millisecond})

	for name, nc := range map[string]net.Conn{"no handshake": raw, "silent session": quiet.Raw()} {
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(nc); err != nil {
			t.Fatalf("%s: not closed by the server: %v", name, err)
		}
	}
	for _, want := range []string{
		"no request before the handshake deadline",
		fmt.Sprintf("session expired\" session=0x%x", quiet.SessionID),
	} {
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(logs.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("the log lacks %q:\n%s", want, logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	create(t, dial(t, s, zktest.Options{}), "/talking", "", proto.ModePersistent)
}

// TestClientNotReadingIsClosed: a client that sends requests but never reads the replies is
// disconnected once a write has been blocked for its session timeout; others carry on.
func TestClientNotReadingIsClosed(t *testing.T) {
	logs := &zktest.Buffer{}
	opts := testOptions(t, t.TempDir())
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s := startServer(t, opts)
	good := dial(t, s, zktest.Options{})
	create(t, good, "/big", strings.Repeat("x", 512<<10), proto.ModePersistent)

	deaf := dial(t, s, zktest.Options{Timeout: 500 * time.Millisecond})
	req := proto.AppendRequest(nil, proto.RequestHeader{Xid: 1, Type: proto.OpGetData}, &proto.PathWatchRequest{Path: "/big"})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		// Up to 256 MB of replies asked for; the writes fail once the server closes.
		for i := 0; i < 512; i++ {
			deaf.Raw().SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := deaf.Raw().Write(req); err != nil {
				return
			}
		}
	}()
	waitFor(t, 30*time.Second, func() bool { return len(s.connections()) == 1 })
	if !strings.Contains(logs.String(), "not reading its replies") {
		t.Fatalf("the log does not say why the client was closed:\n%s", logs.String())
	}
	deaf.Close()
	<-sent
	var resp proto.GetDataResponse
	if h, err := good.Call(proto.OpGetData, &proto.PathWatchRequest{Path: "/big"}, &resp); err != nil || h.Err != 0 || len(resp.Data) != 512<<10 {
		t.Fatalf("getData after the deaf client: %v %v %d bytes", err, h.Err, len(resp.Data))
	}
}

// TestSlowFsyncIsLoggedAndCounted: a log sync over fsync.warningthresholdms is logged and
// counted in server_stats, as ZooKeeper's fsync_threshold_exceed_count.
func TestSlowFsyncIsLoggedAndCounted(t *testing.T) {
	logs := &zktest.Buffer{}
	opts := testOptions(t, t.TempDir())
	opts.FsyncWarningThreshold = time.Nanosecond // every sync is slower
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s := startServer(t, opts)
	create(t, dial(t, s, zktest.Options{}), "/synced", "", proto.ModePersistent)
	var m struct {
		ServerStats struct {
			FsyncThresholdExceedCount int64 `json:"fsync_threshold_exceed_count"`
		} `json:"server_stats"`
	}
	adminGet(t, s, "/commands/server_stats", &m)
	if m.ServerStats.FsyncThresholdExceedCount < 1 {
		t.Errorf("fsync_threshold_exceed_count = %d after a synced write", m.ServerStats.FsyncThresholdExceedCount)
	}
	if !strings.Contains(logs.String(), "longer than fsync.warningthresholdms") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
}

func TestMaxClientCnxns(t *testing.T) {
	opts := testOptions(t, t.TempDir())
	opts.MaxClientCnxns = 2
	s := startServer(t, opts)
	dial(t, s, zktest.Options{})
	dial(t, s, zktest.Options{})
	if _, err := zktest.Dial(s.Addr().String(), zktest.Options{}); err == nil {
		t.Fatal("third connection from one address accepted")
	}
}

func TestFourLetterWords(t *testing.T) {
	opts := testOptions(t, t.TempDir())
	s := startServer(t, opts)
	addr := s.Addr().String()
	if out, _ := zktest.FourLetter(addr, "ruok"); out != "imok" {
		t.Fatalf("ruok: %q", out)
	}
	out, _ := zktest.FourLetter(addr, "srvr")
	for _, want := range []string{"Zookeeper version: ", "Mode: standalone\n", "Node count: 5\n", "Zxid: 0x"} {
		if !strings.Contains(out, want) {
			t.Fatalf("srvr lacks %q:\n%s", want, out)
		}
	}
	out, _ = zktest.FourLetter(addr, "mntr")
	for _, want := range []string{"zk_version\t", "zk_server_state\tstandalone\n", "zk_znode_count\t5\n", "zk_num_alive_connections\t"} {
		if !strings.Contains(out, want) {
			t.Fatalf("mntr lacks %q:\n%s", want, out)
		}
	}
	opts2 := testOptions(t, t.TempDir())
	opts2.FourLetterWords = []string{"srvr"}
	s2 := startServer(t, opts2)
	if out, _ := zktest.FourLetter(s2.Addr().String(), "ruok"); out != "ruok is not executed because it is not in the whitelist.\n" {
		t.Fatalf("not whitelisted: %q", out)
	}
}

func TestAdminCommands(t *testing.T) {
	s := startServer(t, testOptions(t, t.TempDir()))
	base := "http://" + s.AdminAddr().String()
	get := func(path string) (m map[string]any) {
		adminGet(t, s, path, &m)
		return m
	}
	m := get("/commands/mntr")
	if m["command"] != "monitor" || m["error"] != nil || m["znode_count"] != float64(5) {
		t.Fatalf("monitor: %v", m)
	}
	if m := get("/commands/nope"); m["error"] != "Unknown command: nope" {
		t.Fatalf("unknown: %v", m)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\nznode_count 5\n") {
		t.Fatalf("metrics lack znode_count:\n%.2000s", body)
	}
}

// adminGet decodes the JSON the admin server answers at path into v.
func adminGet(t *testing.T, s *Server, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + s.AdminAddr().String() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func testLogOut() io.Writer {
	if os.Getenv("PADDOCK_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
