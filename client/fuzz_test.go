package client_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/tests/harness"
)

// fuzzCall is one call whose reply FuzzReply replaces.
type fuzzCall struct {
	name string
	call func(ctx context.Context, c *client.Client) error
}

var fuzzCalls = []fuzzCall{
	{"create", func(ctx context.Context, c *client.Client) error {
		_, err := c.Create(ctx, "/a", nil, client.ModePersistent, nil)
		return err
	}},
	{"create2", func(ctx context.Context, c *client.Client) error {
		_, _, err := c.Create2(ctx, "/a", nil, client.ModeContainer, nil)
		return err
	}},
	{"getData", func(ctx context.Context, c *client.Client) error {
		_, _, _, err := c.GetDataW(ctx, "/a")
		return err
	}},
	{"exists", func(ctx context.Context, c *client.Client) error {
		_, _, _, err := c.ExistsW(ctx, "/a")
		return err
	}},
	{"getChildren2", func(ctx context.Context, c *client.Client) error {
		_, _, _, err := c.GetChildren2W(ctx, "/a")
		return err
	}},
	{"getChildren", func(ctx context.Context, c *client.Client) error {
		_, err := c.GetChildren(ctx, "/a")
		return err
	}},
	{"setData", func(ctx context.Context, c *client.Client) error {
		_, err := c.SetData(ctx, "/a", []byte("x"), 1)
		return err
	}},
	{"getACL", func(ctx context.Context, c *client.Client) error {
		_, _, err := c.GetACL(ctx, "/a")
		return err
	}},
	{"multi", func(ctx context.Context, c *client.Client) error {
		_, err := c.Multi(ctx, client.CreateOp("/a", nil, client.ModePersistent, nil), client.SetDataOp("/a", nil, -1), client.DeleteOp("/a", -1))
		return err
	}},
	{"multiRead", func(ctx context.Context, c *client.Client) error {
		_, err := c.MultiRead(ctx, client.GetDataOp("/a"), client.GetChildrenOp("/a"))
		return err
	}},
	{"whoAmI", func(ctx context.Context, c *client.Client) error {
		_, err := c.WhoAmI(ctx)
		return err
	}},
	{"getEphemerals", func(ctx context.Context, c *client.Client) error {
		_, err := c.GetEphemerals(ctx, "/")
		return err
	}},
	{"getAllChildrenNumber", func(ctx context.Context, c *client.Client) error {
		_, err := c.GetAllChildrenNumber(ctx, "/a")
		return err
	}},
	{"addWatch", func(ctx context.Context, c *client.Client) error {
		_, err := c.AddWatch(ctx, "/a", client.AddWatchPersistentRecursive)
		return err
	}},
	{"reconfig", func(ctx context.Context, c *client.Client) error {
		_, _, err := c.Reconfig(ctx, nil, []string{"2"}, nil, -1)
		return err
	}},
	{"auth", func(ctx context.Context, c *client.Client) error {
		return c.AddAuth(ctx, "digest", []byte("u:p"))
	}},
}

// reply encodes a reply payload (header and body) with xid 0, for FuzzReply's seeds.
func reply(code proto.Code, body proto.Record) []byte {
	b := proto.AppendReply(nil, proto.ReplyHeader{Zxid: 5, Err: code}, body)
	return b[4:]
}

// FuzzReply answers a call with arbitrary bytes in place of the server's reply, then closes
// the connection: the client must return (a result or an error) and never panic. The first
// 4 bytes are replaced with the request's xid unless raw is set, so most inputs reach the
// call's own decoder; raw inputs test notifications, pings, auth replies and stray xids.
func FuzzReply(f *testing.F) {
	stat := proto.Stat{Czxid: 1, Mzxid: 2, Ctime: 3, Mtime: 4, Version: 5, DataLength: 1, Pzxid: 6}
	seeds := []struct {
		call byte
		raw  bool
		b    []byte
	}{
		{0, false, reply(0, &proto.PathRequest{Path: "/a"})},
		{1, false, reply(0, &proto.Create2Response{Path: "/a", Stat: stat})},
		{2, false, reply(0, &proto.GetDataResponse{Data: []byte("x"), Stat: stat})},
		{2, false, reply(proto.CodeNoNode, nil)},
		{3, false, reply(0, &proto.StatResponse{Stat: stat})},
		{3, false, reply(proto.CodeNoNode, nil)},
		{4, false, reply(0, &proto.ChildrenResponse{Children: []string{"x", "y"}, Stat: stat, HasStat: true})},
		{5, false, reply(0, &proto.ChildrenResponse{Children: []string{"x"}})},
		{6, false, reply(0, &proto.StatResponse{Stat: stat})},
		{6, false, reply(proto.CodeBadVersion, nil)},
		{7, false, reply(0, &proto.GetACLResponse{ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "world", ID: "anyone"}}}, Stat: stat})},
		{8, false, reply(0, &proto.MultiResponse{Results: []proto.MultiResult{{Type: proto.OpCreate2, Path: "/a", Stat: stat}, {Type: proto.OpSetData, Stat: stat}, {Type: proto.OpDelete}}})},
		{8, false, reply(0, &proto.MultiResponse{Results: []proto.MultiResult{{Type: proto.OpError}, {Type: proto.OpError, Err: proto.CodeBadVersion}, {Type: proto.OpError, Err: proto.CodeRuntimeInconsistency}}})},
		{9, false, reply(0, &proto.MultiResponse{Results: []proto.MultiResult{{Type: proto.OpGetData, Data: []byte("d"), Stat: stat}, {Type: proto.OpError, Err: proto.CodeNoNode}}})},
		{10, false, reply(0, &proto.WhoAmIResponse{Infos: []proto.ClientInfo{{AuthScheme: "ip", User: "127.0.0.1"}}})},
		{11, false, reply(0, &proto.StringsResponse{Strings: []string{"/a", "/b"}})},
		{12, false, reply(0, &proto.IntResponse{N: 7})},
		{13, false, reply(0, &proto.IntResponse{N: 0})},
		{14, false, reply(0, &proto.GetDataResponse{Data: []byte("server.1=a:1:2;3\nversion=1"), Stat: stat})},
		{15, true, reply(0, nil)},
		{15, true, reply(proto.CodeAuthFailed, nil)},
	}
	notification := reply(0, &proto.WatcherEvent{Type: proto.EventNodeDataChanged, State: proto.StateSyncConnected, Path: "/a"})
	binary.BigEndian.PutUint32(notification, uint32(0xffffffff))
	seeds = append(seeds, struct {
		call byte
		raw  bool
		b    []byte
	}{2, true, notification})
	for _, s := range seeds {
		if s.call == 15 {
			binary.BigEndian.PutUint32(s.b, uint32(0xfffffffc)) // auth replies have xid -4
		}
		f.Add(s.call, s.raw, s.b)
	}
	f.Fuzz(func(t *testing.T, call byte, raw bool, b []byte) {
		fc := fuzzCalls[int(call)%len(fuzzCalls)]
		srv := &fakeServer{reply: b, raw: raw}
		c, err := client.Connect(context.Background(), "fake:1", client.Options{Dialer: srv.dial, KeepOrder: true})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = fc.call(ctx, c)
		cancel()
		c.Close()
		srv.wait()
	})
}

// fakeServer serves in-memory connections: a handshake, then the first request of the first
// connection gets reply (as a frame) and the connection is closed; later connections answer
// every request with an empty OK reply until closeSession.
type fakeServer struct {
	reply  []byte
	raw    bool
	normal bool // no reply replaced: every connection answers every request

	mu    sync.Mutex
	conns int
	wg    sync.WaitGroup
}

func (s *fakeServer) dial(context.Context, string, string) (net.Conn, error) {
	cli, srv := net.Pipe()
	s.mu.Lock()
	first := s.conns == 0 && !s.normal
	s.conns++
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer srv.Close()
		s.serve(srv, first)
	}()
	return cli, nil
}

func (s *fakeServer) wait() { s.wg.Wait() }

func (s *fakeServer) serve(nc net.Conn, first bool) {
	br := bufio.NewReader(nc)
	if _, err := proto.ReadFrame(br, nil, 1<<20); err != nil {
		return
	}
	resp := proto.ConnectResponse{TimeOut: 30000, SessionID: 1, Passwd: make([]byte, 16), HasReadOnly: true}
	if _, err := nc.Write(proto.AppendRecord(nil, &resp)); err != nil {
		return
	}
	for {
		frame, err := proto.ReadFrame(br, nil, 1<<20)
		if err != nil || len(frame) < 8 {
			return
		}
		xid, op := binary.BigEndian.Uint32(frame[0:4]), proto.Op(binary.BigEndian.Uint32(frame[4:8]))
		if op == proto.OpCloseSession {
			return
		}
		if op == proto.OpPing {
			xid = uint32(0xfffffffe)
		}
		if first {
			b := append([]byte(nil), s.reply...)
			if !s.raw && len(b) >= 4 {
				binary.BigEndian.PutUint32(b, xid)
			}
			out := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
			_, _ = nc.Write(append(out, b...))
			return
		}
		h := proto.ReplyHeader{Xid: int32(xid)}
		if _, err := nc.Write(proto.AppendReply(nil, h, nil)); err != nil {
			return
		}
	}
}

// TestCloseEndsGoroutines checks that a closed client leaves no goroutine behind, whether it
// closed a session or gave up connecting.
func TestCloseEndsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	srv := &fakeServer{normal: true}
	for range 3 {
		c, err := client.Connect(ctx(t), "fake:1,fake:2", client.Options{Dialer: srv.dial})
		must(t, err)
		must(t, c.Sync(ctx(t), "/"))
		if _, err := c.AddWatch(ctx(t), "/", client.AddWatchPersistentRecursive); err != nil {
			t.Fatal(err)
		}
		must(t, c.Close())
	}
	srv.wait()
	refuse := func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("refused") }
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := client.Connect(short, "fake:1", client.Options{Dialer: refuse}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Connect with every server refusing: %v", err)
	}
	harness.CheckFor(t, waitTime, func() error {
		if n := runtime.NumGoroutine(); n > before {
			return fmt.Errorf("%d goroutines, %d before", n, before)
		}
		return nil
	})
}
