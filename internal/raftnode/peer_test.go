package raftnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// peerRecv is a Receiver that records what it is given.
type peerRecv struct {
	onReceive func(*pb.Message) // optional, called before recording
	block     chan struct{}     // if set, Receive waits until it is closed

	mu    sync.Mutex
	msgs  []*pb.Message
	down  map[uint64]int
	snaps []peerSnapReport
}

func (r *peerRecv) Receive(m *pb.Message) {
	if r.block != nil {
		<-r.block
	}
	if r.onReceive != nil {
		r.onReceive(m)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
}

func (r *peerRecv) ReportUnreachable(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down == nil {
		r.down = map[uint64]int{}
	}
	r.down[id]++
}

func (r *peerRecv) ReportSnapshot(id uint64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snaps = append(r.snaps, peerSnapReport{id, ok})
}

func (r *peerRecv) received() []*pb.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

func (r *peerRecv) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *peerRecv) unreachable(id uint64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down[id]
}

func (r *peerRecv) snapshotReports() []peerSnapReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.snaps)
}

// peerTestLogger logs at info level into lb (debug too with RAFTNODE_TEST_LOG).
func peerTestLogger(lb *logBuffer) *slog.Logger {
	if os.Getenv("RAFTNODE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(io.MultiWriter(lb, os.Stderr), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

const peerTestClusterID = "paddock-test-c0ffee"

// newPeerTransport makes a transport on an ephemeral loopback port with fast
// retries, stopped at the end of the test. mod may adjust the config.
func newPeerTransport(t *testing.T, id uint64, lb *logBuffer, mod func(*TCPConfig)) *TCPTransport {
	t.Helper()
	cfg := TCPConfig{
		ID:               id,
		ListenAddr:       "127.0.0.1:0",
		ClusterID:        peerTestClusterID,
		Secret:           []byte("correct horse battery staple"),
		DialTimeout:      2 * time.Second,
		HandshakeTimeout: 5 * time.Second,
		BackoffMin:       2 * time.Millisecond,
		BackoffMax:       20 * time.Millisecond,
		Logger:           peerTestLogger(lb),
	}
	if mod != nil {
		mod(&cfg)
	}
	tr, err := NewTCPTransport(cfg)
	if err != nil {
		t.Fatalf("NewTCPTransport: %v", err)
	}
	t.Cleanup(func() {
		if err := tr.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return tr
}

func startPeer(t *testing.T, tr *TCPTransport, r Receiver) {
	t.Helper()
	if err := tr.Start(StartInfo{Receiver: r}); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// connectPeers makes each transport know the others.
func connectPeers(trs ...*TCPTransport) {
	for _, a := range trs {
		for _, b := range trs {
			a.AddPeer(Peer{ID: b.cfg.ID, Addr: b.Addr().String()})
		}
	}
}

func peerMsg(from, to, index uint64) *pb.Message {
	return &pb.Message{
		Type: pb.MsgApp.Enum(), From: new(from), To: new(to), Term: new(uint64(1)), Index: new(index),
		Entries: []*pb.Entry{{Index: new(index + 1), Term: new(uint64(1)), Data: fmt.Appendf(nil, "entry %d", index+1)}},
	}
}

// checkNoPeerGoroutines fails the test if goroutines of a TCPTransport are
// still running once the test's cleanups (which stop the transports) are
// done. Call it first, so that its cleanup runs last.
func checkNoPeerGoroutines(t *testing.T) {
	t.Cleanup(func() {
		var leaked string
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if leaked = peerGoroutines(); leaked == "" {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Errorf("transport goroutines left running:\n%s", leaked)
	})
}

func peerGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 { // this goroutine
			continue
		}
		if strings.Contains(g, "raftnode.(*TCPTransport)") || strings.Contains(g, "raftnode.(*peerLink)") {
			leaked = append(leaked, g)
		}
	}
	return strings.Join(leaked, "\n\n")
}

// waitSending polls cond like waitFor, sending msg() from tr before each
// check: a lazily dialled link needs traffic to (re)connect.
func waitSending(t *testing.T, what string, tr *TCPTransport, msg func() *pb.Message, cond func() bool) {
	t.Helper()
	waitFor(t, what, func() bool {
		tr.Send([]*pb.Message{msg()})
		return cond()
	})
}

func TestPeerDeliversInOrder(t *testing.T) {
	checkNoPeerGoroutines(t)
	lb := &logBuffer{}
	a := newPeerTransport(t, 1, lb, nil)
	b := newPeerTransport(t, 2, lb, nil)
	connectPeers(a, b)
	ra, rb := &peerRecv{}, &peerRecv{}
	startPeer(t, a, ra)
	startPeer(t, b, rb)

	const N = 2000
	for i := uint64(0); i < N; i += 50 {
		batch := make([]*pb.Message, 0, 50)
		for j := i; j < i+50; j++ {
			batch = append(batch, peerMsg(1, 2, j))
		}
		a.Send(batch)
		b.Send([]*pb.Message{peerMsg(2, 1, i)})
	}
	waitFor(t, "B to receive every message", func() bool { return rb.count() == N })
	waitFor(t, "A to receive every message", func() bool { return ra.count() == N/50 })
	for i, m := range rb.received() {
		want := peerMsg(1, 2, uint64(i))
		if m.GetIndex() != uint64(i) || m.GetFrom() != 1 || m.GetTo() != 2 || len(m.Entries) != 1 ||
			!bytes.Equal(m.Entries[0].Data, want.Entries[0].Data) {
			t.Fatalf("message %d arrived as %v", i, m)
		}
	}
	if n := ra.unreachable(2) + rb.unreachable(1); n != 0 {
		t.Fatalf("%d unreachable reports on a healthy link", n)
	}
	if got := strings.Count(lb.String(), "peer up"); got != 2 {
		t.Fatalf("logged %d peer-up lines, want 2 (one per direction):\n%s", got, lb)
	}
}

func TestPeerFrameLimit(t *testing.T) {
	checkNoPeerGoroutines(t)
	lb := &logBuffer{}
	const limit = 64 << 10
	a := newPeerTransport(t, 1, lb, func(c *TCPConfig) { c.MaxFrameSize = 4 * limit })
	b := newPeerTransport(t, 2, lb, func(c *TCPConfig) { c.MaxFrameSize = limit })
	connectPeers(a, b)
	ra, rb := &peerRecv{}, &peerRecv{}
	startPeer(t, a, ra)
	startPeer(t, b, rb)

	big := func(from, to, index uint64, size int) *pb.Message {
		m := peerMsg(from, to, index)
		m.Entries[0].Data = bytes.Repeat([]byte{'x'}, size)
		return m
	}
	// Over the sender's own limit: dropped at once, never queued.
	a.Send([]*pb.Message{big(1, 2, 0, 5*limit)})
	waitFor(t, "the oversized message to be reported", func() bool { return ra.unreachable(2) == 1 })
	if !strings.Contains(lb.String(), "frame too large") {
		t.Fatalf("oversized message not logged:\n%s", lb)
	}
	// Over the receiver's limit: it closes the stream and raft never sees it;
	// the link reconnects and later messages flow again.
	a.Send([]*pb.Message{peerMsg(1, 2, 1), big(1, 2, 2, 2*limit)})
	waitFor(t, "the receiver to refuse the frame", func() bool { return strings.Contains(lb.String(), "closed peer stream") })
	waitSending(t, "messages after the refused frame", a, func() *pb.Message { return peerMsg(1, 2, 3) }, func() bool {
		return slices.ContainsFunc(rb.received(), func(m *pb.Message) bool { return m.GetIndex() == 3 })
	})
	for _, m := range rb.received() {
		if m.GetIndex() == 2 {
			t.Fatal("a frame over the receiver's limit was delivered")
		}
	}
	// Just under the limit is fine.
	a.Send([]*pb.Message{big(1, 2, 4, limit-100)})
	waitFor(t, "a frame just under the limit", func() bool {
		return slices.ContainsFunc(rb.received(), func(m *pb.Message) bool { return m.GetIndex() == 4 })
	})
}

func TestPeerReconnectAfterListenerRestart(t *testing.T) {
	checkNoPeerGoroutines(t)
	lbA, lbB := &logBuffer{}, &logBuffer{}
	var dials atomic.Int64
	a := newPeerTransport(t, 1, lbA, func(c *TCPConfig) {
		d := &net.Dialer{}
		c.dialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		}
	})
	b := newPeerTransport(t, 2, lbB, nil)
	connectPeers(a, b)
	ra, rb := &peerRecv{}, &peerRecv{}
	startPeer(t, a, ra)
	startPeer(t, b, rb)
	var index atomic.Uint64
	next := func() *pb.Message { return peerMsg(1, 2, index.Add(1)) }
	waitSending(t, "the first delivery", a, next, func() bool { return rb.count() > 0 })

	addr := b.Addr().String()
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	waitSending(t, "A to report B unreachable", a, next, func() bool { return ra.unreachable(2) > 0 })
	before := dials.Load()
	waitSending(t, "A to retry several times", a, next, func() bool { return dials.Load() >= before+5 })

	b2 := newPeerTransport(t, 2, lbB, func(c *TCPConfig) { c.ListenAddr = addr })
	connectPeers(b2, a)
	rb2 := &peerRecv{}
	startPeer(t, b2, rb2)
	waitSending(t, "delivery to the restarted listener", a, next, func() bool { return rb2.count() > 0 })

	// The link is up again: a burst arrives complete and in order.
	first := index.Load() + 1
	var burst []*pb.Message
	for range 500 {
		burst = append(burst, next())
	}
	a.Send(burst)
	last := index.Load()
	waitFor(t, "the burst", func() bool {
		ms := rb2.received()
		return len(ms) > 0 && ms[len(ms)-1].GetIndex() == last
	})
	var got []uint64
	for _, m := range rb2.received() {
		if m.GetIndex() >= first {
			got = append(got, m.GetIndex())
		}
	}
	if len(got) != 500 || !slices.IsSorted(got) {
		t.Fatalf("burst arrived as %d messages, sorted %v", len(got), slices.IsSorted(got))
	}

	// One warning for the outage, however many retries; one "up" per connection.
	log := lbA.String()
	if n := strings.Count(log, "peer down"); n != 1 {
		t.Fatalf("A logged %d peer-down lines for one outage, want 1:\n%s", n, log)
	}
	if n := strings.Count(log, "cannot connect to peer"); n != 0 {
		t.Fatalf("A logged retries at warning level:\n%s", log)
	}
	if n := strings.Count(log, "peer up"); n != 2 {
		t.Fatalf("A logged %d peer-up lines, want 2:\n%s", n, log)
	}
}

func TestPeerRejectsForeignPeers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		id        uint64
		mod       func(*TCPConfig)
		dialAs    uint64 // the id the intruder believes B has; 0: 2
		reason    string // in B's log
		dialerLog string // in the intruder's log
	}{
		{name: "cluster id", id: 1, mod: func(c *TCPConfig) { c.ClusterID = "some-other-ensemble" },
			reason: "cluster id mismatch", dialerLog: "rejected by peer: cluster id mismatch"},
		{name: "secret", id: 1, mod: func(c *TCPConfig) { c.Secret = []byte("wrong") },
			reason: "authentication failed", dialerLog: "rejected by peer: authentication failed"},
		{name: "no secret", id: 1, mod: func(c *TCPConfig) { c.Secret = nil },
			reason: "authentication failed", dialerLog: "rejected by peer: authentication failed"},
		{name: "unknown member", id: 9,
			reason: "unknown member id", dialerLog: "rejected by peer: unknown member id"},
		{name: "wrong member", id: 1, dialAs: 3,
			reason: "addressed to another member", dialerLog: "rejected by peer: addressed to another member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkNoPeerGoroutines(t)
			lbB, lbX := &logBuffer{}, &logBuffer{}
			b := newPeerTransport(t, 2, lbB, nil)
			b.AddPeer(Peer{ID: 1, Addr: "127.0.0.1:1"}) // the real member 1, never running
			rb := &peerRecv{}
			startPeer(t, b, rb)

			x := newPeerTransport(t, tc.id, lbX, tc.mod)
			as := peerIDOr(tc.dialAs, 2)
			x.AddPeer(Peer{ID: as, Addr: b.Addr().String()})
			startPeer(t, x, &peerRecv{})
			waitSending(t, "B to reject the intruder", x, func() *pb.Message { return peerMsg(tc.id, as, 1) }, func() bool {
				return strings.Contains(lbB.String(), tc.reason)
			})
			waitFor(t, "the intruder to log why", func() bool { return strings.Contains(lbX.String(), tc.dialerLog) })
			if n := rb.count(); n != 0 {
				t.Fatalf("B delivered %d messages from a rejected peer", n)
			}
			if !strings.Contains(lbB.String(), "rejected peer connection") {
				t.Fatalf("B's log:\n%s", lbB)
			}
			// Retries are logged at debug level, not once per attempt.
			waitSending(t, "more attempts", x, func() *pb.Message { return peerMsg(tc.id, as, 1) }, func() bool {
				return strings.Count(lbX.String(), "rejected by peer") == 1 && x.linkFailures(as) >= 3
			})
		})
	}
}

// linkFailures counts the failed connection attempts of the link to id.
func (t *TCPTransport) linkFailures(id uint64) int {
	t.mu.Lock()
	l := t.peers[id]
	t.mu.Unlock()
	if l == nil {
		return 0
	}
	return int(l.failures.Load())
}

func peerIDOr(v, def uint64) uint64 {
	if v == 0 {
		return def
	}
	return v
}

// TestPeerRejectsRawIntruders speaks the protocol by hand: garbage, a wrong
// version, and a well-formed hello followed by a forged proof and a valid
// message frame. B logs why and raft never sees the frame.
func TestPeerRejectsRawIntruders(t *testing.T) {
	checkNoPeerGoroutines(t)
	lb := &logBuffer{}
	b := newPeerTransport(t, 2, lb, nil)
	b.AddPeer(Peer{ID: 1, Addr: "127.0.0.1:1"})
	rb := &peerRecv{}
	startPeer(t, b, rb)

	frame, err := appendPeerMessage(nil, peerMsg(1, 2, 7), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	hello := appendPeerHello(nil, peerHello{kind: peerKindStream, from: 1, to: 2, cluster: peerTestClusterID})
	badVersion := bytes.Clone(hello)
	badVersion[len(peerMagic)+1] = 9
	zeroHello := slices.Concat([]byte(peerMagic), []byte{0, peerVersion, 0, peerHelloMinBody}, make([]byte, peerHelloMinBody))
	forged := slices.Concat(hello, bytes.Repeat([]byte{0xAA}, peerMACLen), frame)
	for _, tc := range []struct {
		name, send, reason string
		status             byte
	}{
		{"http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "bad magic", peerRejectMalformed},
		{"version", string(badVersion), "unsupported protocol version", peerRejectVersion},
		{"bad kind", string(zeroHello), "unknown connection kind", peerRejectMalformed},
		{"forged proof", string(forged), "authentication failed", peerRejectAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", b.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, tc.send); err != nil {
				t.Fatal(err)
			}
			reply, err := io.ReadAll(c) // until B closes
			if errors.Is(err, syscall.ECONNRESET) {
				// B closed with our pipelined bytes unread; the reply may be lost.
				waitFor(t, "B to log the reason", func() bool { return strings.Contains(lb.String(), tc.reason) })
				return
			}
			status := byte(0xFF)
			switch {
			case tc.status == peerRejectAuth && len(reply) == peerWelcomeHdrLen+peerWelcomeBodyLen+1:
				status = reply[len(reply)-1]
			case len(reply) == peerWelcomeHdrLen:
				status = reply[peerWelcomeHdrLen-1]
			}
			if status != tc.status {
				t.Fatalf("B answered %x, want rejection code %d", reply, tc.status)
			}
			waitFor(t, "B to log the reason", func() bool { return strings.Contains(lb.String(), tc.reason) })
		})
	}
	if n := rb.count(); n != 0 {
		t.Fatalf("B delivered %d messages from intruders", n)
	}
}

func TestPeerRetriesUnresolvableHost(t *testing.T) {
	checkNoPeerGoroutines(t)
	lbA := &logBuffer{}
	var resolvable atomic.Bool
	var lookups atomic.Int64
	a := newPeerTransport(t, 1, lbA, func(c *TCPConfig) {
		c.lookupHost = func(ctx context.Context, host string) ([]string, error) {
			lookups.Add(1)
			if host != "b.paddock.test" || !resolvable.Load() {
				return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
			}
			return []string{"127.0.0.1"}, nil
		}
	})
	b := newPeerTransport(t, 2, &logBuffer{}, nil)
	_, port, _ := net.SplitHostPort(b.Addr().String())
	a.AddPeer(Peer{ID: 2, Addr: net.JoinHostPort("b.paddock.test", port)})
	b.AddPeer(Peer{ID: 1, Addr: a.Addr().String()})
	ra, rb := &peerRecv{}, &peerRecv{}
	startPeer(t, a, ra)
	startPeer(t, b, rb)

	var index atomic.Uint64
	next := func() *pb.Message { return peerMsg(1, 2, index.Add(1)) }
	waitSending(t, "several failed lookups", a, next, func() bool { return lookups.Load() >= 5 })
	if rb.count() != 0 || ra.unreachable(2) == 0 {
		t.Fatalf("before the name resolves: %d delivered, %d unreachable reports", rb.count(), ra.unreachable(2))
	}
	resolvable.Store(true)
	waitSending(t, "delivery once the name resolves", a, next, func() bool { return rb.count() > 0 })

	log := lbA.String()
	if n := strings.Count(log, "cannot connect to peer"); n != 1 {
		t.Fatalf("logged %d warnings for one unresolvable name, want 1:\n%s", n, log)
	}
	if !strings.Contains(log, "no such host") || strings.Count(log, "peer up") != 1 {
		t.Fatalf("log:\n%s", log)
	}
}

// TestPeerSlowPeersDoNotBlock has member 1 send to a member whose dial hangs,
// one that stopped reading, and a healthy one. Send never blocks, the first
// two overflow their queues and are reported unreachable, and the healthy
// one gets everything, in order.
func TestPeerSlowPeersDoNotBlock(t *testing.T) {
	checkNoPeerGoroutines(t)
	lb := &logBuffer{}
	const blackhole = "192.0.2.1:9" // TEST-NET-1: nothing answers
	a := newPeerTransport(t, 1, lb, func(c *TCPConfig) {
		c.QueueLen = 64
		c.QueueBytes = 1 << 20
		c.DialTimeout = time.Minute
		c.WriteTimeout = time.Minute
		d := &net.Dialer{}
		c.dialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == blackhole {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return d.DialContext(ctx, network, addr)
		}
	})
	stuck := newPeerTransport(t, 3, &logBuffer{}, nil)
	healthy := newPeerTransport(t, 4, &logBuffer{}, nil)
	connectPeers(a, stuck, healthy)
	a.AddPeer(Peer{ID: 2, Addr: blackhole})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before the transports stop
	ra, rStuck, rHealthy := &peerRecv{}, &peerRecv{block: release}, &peerRecv{}
	startPeer(t, a, ra)
	startPeer(t, stuck, rStuck)
	startPeer(t, healthy, rHealthy)

	payload := bytes.Repeat([]byte{'p'}, 256<<10)
	var sent uint64
	sendRound := func() {
		var batch []*pb.Message
		for _, to := range []uint64{2, 3} {
			m := peerMsg(1, to, sent)
			m.Entries[0].Data = payload
			batch = append(batch, m)
		}
		batch = append(batch, peerMsg(1, 4, sent))
		sent++
		done := make(chan struct{})
		go func() { a.Send(batch); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Send blocked")
		}
	}
	waitFor(t, "both slow peers reported unreachable", func() bool {
		sendRound()
		// Keep the healthy queue from overflowing: it drains between rounds.
		waitFor(t, "the healthy peer to keep up", func() bool { return uint64(rHealthy.count()) == sent })
		return ra.unreachable(2) > 0 && ra.unreachable(3) > 0
	})
	for i, m := range rHealthy.received() {
		if m.GetIndex() != uint64(i) {
			t.Fatalf("healthy peer got message %d as index %d", i, m.GetIndex())
		}
	}
	if ra.unreachable(4) != 0 {
		t.Fatal("the healthy peer was reported unreachable")
	}
	if !strings.Contains(lb.String(), "peer queue full") {
		t.Fatalf("queue overflow not logged:\n%s", lb)
	}
}

func TestPeerAddRemove(t *testing.T) {
	checkNoPeerGoroutines(t)
	lbA := &logBuffer{}
	a := newPeerTransport(t, 1, lbA, nil)
	b := newPeerTransport(t, 2, &logBuffer{}, nil)
	b.AddPeer(Peer{ID: 1, Addr: a.Addr().String()})
	ra, rb := &peerRecv{}, &peerRecv{}
	startPeer(t, a, ra)
	startPeer(t, b, rb)
	var index atomic.Uint64
	fromB := func() *pb.Message { return peerMsg(2, 1, index.Add(1)) }

	// A does not know member 2 yet: refused.
	waitSending(t, "A to refuse an unknown member", b, fromB, func() bool {
		return strings.Contains(lbA.String(), "unknown member id")
	})
	if ra.count() != 0 {
		t.Fatal("a message from an unknown member was delivered")
	}
	a.Send([]*pb.Message{peerMsg(1, 2, 1)})
	waitFor(t, "a send to an unknown member to be reported", func() bool { return ra.unreachable(2) > 0 })

	// Added at runtime: accepted both ways.
	a.AddPeer(Peer{ID: 2, Addr: b.Addr().String()})
	waitSending(t, "A to accept member 2", b, fromB, func() bool { return ra.count() > 0 })
	waitSending(t, "A to reach member 2", a, func() *pb.Message { return peerMsg(1, 2, 1) }, func() bool { return rb.count() > 0 })

	// Removed: its connections close and it is refused again.
	a.RemovePeer(2)
	refusals := strings.Count(lbA.String(), "unknown member id")
	waitSending(t, "A to refuse the removed member", b, fromB, func() bool {
		return strings.Count(lbA.String(), "unknown member id")+strings.Count(lbA.String(), "rejected peer connection") > refusals
	})
	n := ra.count()
	before := ra.unreachable(2)
	a.Send([]*pb.Message{peerMsg(1, 2, 2)})
	waitFor(t, "a send to the removed member to be reported", func() bool { return ra.unreachable(2) > before })
	if ra.count() != n {
		t.Fatal("a removed member's message was delivered")
	}
	if !strings.Contains(lbA.String(), "peer removed") {
		t.Fatalf("log:\n%s", lbA)
	}
}

func TestPeerStopIsIdempotentAndRefusesStart(t *testing.T) {
	checkNoPeerGoroutines(t)
	a := newPeerTransport(t, 1, &logBuffer{}, nil)
	a.AddPeer(Peer{ID: 2, Addr: "127.0.0.1:1"})
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(StartInfo{Receiver: &peerRecv{}}); !errors.Is(err, ErrTransportStopped) {
		t.Fatalf("Start after Stop: %v", err)
	}
	a.Send([]*pb.Message{peerMsg(1, 2, 1)}) // dropped, no panic
	a.AddPeer(Peer{ID: 3, Addr: "127.0.0.1:1"})
	a.RemovePeer(2)
}

func TestPeerConfigValidation(t *testing.T) {
	for _, cfg := range []TCPConfig{
		{ID: 1, ListenAddr: "127.0.0.1:0"},
		{ID: 1, ClusterID: strings.Repeat("c", maxClusterIDLen+1), ListenAddr: "127.0.0.1:0"},
	} {
		if tr, err := NewTCPTransport(cfg); err == nil {
			tr.Stop()
			t.Errorf("NewTCPTransport(%+v) succeeded", cfg)
		}
	}
}

func TestPeerBackoff(t *testing.T) {
	b := peerBackoff{min: 100 * time.Millisecond, max: time.Second}
	prevCap := time.Duration(0)
	for i := range 20 {
		d := b.next()
		if d < b.cur/2 || d > b.cur || b.cur > b.max || b.cur < prevCap {
			t.Fatalf("attempt %d: delay %v with cap %v", i, d, b.cur)
		}
		prevCap = b.cur
	}
	if b.cur != time.Second {
		t.Fatalf("backoff did not reach its cap: %v", b.cur)
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Fatalf("after reset: %v", d)
	}
}

// TestPeerStartInfo checks that the node's settings reach the transport
// through Start, and that settings given twice must agree.
func TestPeerStartInfo(t *testing.T) {
	checkNoPeerGoroutines(t)
	lb := &logBuffer{}
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  func(*TCPConfig)
		info StartInfo
		want string // in Start's error; "" for success
	}{
		{"no id anywhere", func(c *TCPConfig) { c.ID = 0 }, StartInfo{}, "without a member id"},
		{"ids differ", nil, StartInfo{ID: 2}, "TCPConfig.ID is 1"},
		{"snapshot directories differ", func(c *TCPConfig) { c.DataDir = dir }, StartInfo{ID: 1, SnapDir: t.TempDir()}, "snapshot directory"},
		{"same settings twice", func(c *TCPConfig) { c.DataDir = dir }, StartInfo{ID: 1, SnapDir: dir + "/snap/"}, ""},
		{"all from the node", func(c *TCPConfig) { c.ID = 0 }, StartInfo{ID: 1, SnapDir: dir}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newPeerTransport(t, 1, lb, tc.cfg)
			tc.info.Receiver = &peerRecv{}
			err := tr.Start(tc.info)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Start: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Start = %v, want an error about %q", err, tc.want)
			}
			if err == nil && (tr.id != 1 || tr.auth.id != 1 || tr.snapDir == "") {
				t.Fatalf("after Start: id %d, handshake id %d, snapshot directory %q", tr.id, tr.auth.id, tr.snapDir)
			}
		})
	}
	if err := newPeerTransport(t, 1, lb, nil).Start(StartInfo{ID: 1}); err == nil {
		t.Fatal("Start without a Receiver succeeded")
	}
}

// A dial to a local port nobody listens on may connect to itself (TCP simultaneous open,
// forced here by choosing the source port); the transport must recognise it.
func TestSelfConnectedIsRecognised(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	d := net.Dialer{LocalAddr: addr, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Skipf("this kernel does not connect a socket to itself: %v", err)
	}
	defer c.Close()
	if !selfConnected(c) {
		t.Fatalf("%v -> %v not recognised as connected to itself", c.LocalAddr(), c.RemoteAddr())
	}
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	c2, err := net.Dial("tcp", other.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if selfConnected(c2) {
		t.Fatal("an ordinary connection taken for a self-connection")
	}
}
