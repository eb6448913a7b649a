package conformance

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/zktest"
)

const (
	// opTimeout bounds one request; a server that does not answer costs this much, once.
	opTimeout = 3 * time.Second
	// writeGap separates the writes of a scenario so that each txn gets its own
	// millisecond: times are compared by rank, and two writes in one millisecond on one
	// server but not on the other would make the ranks differ.
	writeGap = 3 * time.Millisecond
	// keepAlive is how often sessions are pinged while a scenario waits.
	keepAlive = 250 * time.Millisecond
)

// Null is the data argument that sends a null buffer (length -1) instead of a string.
const Null = "\x00<null>"

func data(s string) []byte {
	if s == Null {
		return nil
	}
	return []byte(s)
}

// Script drives one scenario against one server and records its transcript. Its embedded
// Session is the scenario's first session, "a", opened before the steps run.
type Script struct {
	*Session
	t        testing.TB
	target   string
	srv      deployment
	root     string // the scenario's own root znode; "" when the scenario has none
	lines    []string
	norm     normalizer
	sessions []*Session
	lastW    time.Time

	// AutoBarrier makes every write end with a barrier on the other sessions, so their
	// events appear right after the write that caused them. Scenarios that check what a
	// session sees before its own next reply turn it off.
	AutoBarrier bool

	zk39 *string // see Since39

	ensembleState // the paddock-ensemble target's bookkeeping (ensemble_test.go)
}

// Session is one client connection with its session.
type Session struct {
	s      *Script
	name   string
	c      *zktest.Conn // nil while disconnected
	id     int64
	passwd []byte
	// Idle sessions are left out of barriers and keep-alive pings, so that they can expire
	// with their socket open.
	Idle bool

	timeout  time.Duration // negotiated
	lastSent time.Time     // of the last request, for keep-alive pings
	events   int           // events recorded since the session's last reply

	member int  // the index of the server it is connected to (ensemble members)
	stale  bool // it must sync before its next read (ensemble target; ensemble_test.go)
}

// Reply is what an op returned, for steps that need a value (a sequential name, a zxid).
type Reply struct {
	Code     proto.Code
	NoReply  bool // the connection closed or timed out instead of answering
	Zxid     int64
	Path     string
	Stat     proto.Stat
	Data     []byte
	Children []string
}

func newScript(t testing.TB, target string, srv deployment, root string) *Script {
	return &Script{t: t, target: target, srv: srv, root: root, AutoBarrier: true}
}

// record appends a transcript line.
func (s *Script) record(format string, args ...any) {
	s.lines = append(s.lines, fmt.Sprintf(format, args...))
}

// Since39 declares that ZooKeeper 3.9 gives the next reply where the installed 3.8 answers
// differently: on the zookeeper target that reply is recorded as reply (the text after
// "->", e.g. "NOAUTH"; the reply header's zxid is appended unless reply has its own
// "hz=") and the 3.8 answer is only logged. Every use carries a comment naming the change.
func (s *Script) Since39(reply string) { s.zk39 = &reply }

// P resolves a scenario path: "" is the scenario root, "x/y" is under the root, "/x" is
// absolute, and "!x" is sent literally as "x" (for paths that are invalid on purpose).
func (s *Script) P(p string) string {
	switch {
	case strings.HasPrefix(p, "!"):
		return p[1:]
	case strings.HasPrefix(p, "/"):
		return p
	case p == "":
		return s.root
	}
	return s.root + "/" + p
}

// show prints a server path with the scenario root abbreviated to "~".
func (s *Script) show(p string) string {
	if s.root != "" {
		if p == s.root {
			p = "~"
		} else if strings.HasPrefix(p, s.root+"/") {
			p = "~" + p[len(s.root):]
		}
	}
	plain := p != ""
	for _, r := range p {
		if !unicode.IsPrint(r) || r == ' ' || r == '"' {
			plain = false
		}
	}
	if plain {
		return p
	}
	return fmt.Sprintf("%q", p)
}

// Open connects a new named session with a 10 s requested timeout.
func (s *Script) Open(name string) *Session {
	return s.OpenWith(name, zktest.Options{})
}

// OpenWith connects a new named session with explicit connect options.
func (s *Script) OpenWith(name string, o zktest.Options) *Session {
	x := &Session{s: s, name: name, member: len(s.sessions) % s.srv.size()}
	s.sessions = append(s.sessions, x)
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	c, err := zktest.Dial(s.srv.addr(x.member), o)
	desc := fmt.Sprintf("connect timeout=%d", o.Timeout.Milliseconds())
	if o.NoReadOnly {
		desc += " noReadOnlyByte"
	}
	if err != nil {
		s.record("%s: %s -> %s", name, desc, dialError(err))
		return x
	}
	x.c, x.id, x.passwd = c, c.SessionID, c.Passwd
	x.timeout, x.lastSent = time.Duration(c.Timeout)*time.Millisecond, time.Now()
	s.record("%s: %s -> timeout=%d session=%s passwd=%dB", name, desc, c.Timeout, s.norm.addSession(c.SessionID), len(c.Passwd))
	s.changed(x) // the session's creation is a txn
	return x
}

func dialError(err error) string {
	if errors.Is(err, zktest.ErrSessionInvalid) {
		return "INVALID (timeout=0)"
	}
	return "CLOSED (no response)"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// spaceWrite keeps consecutive time-stamping writes at least writeGap apart.
func (s *Script) spaceWrite() {
	if d := writeGap - time.Since(s.lastW); d > 0 {
		time.Sleep(d)
	}
}

// Barrier pings every connected, non-idle session, recording the events that were queued
// before the ping's reply and any connection the server has closed.
func (s *Script) Barrier() { s.barrier(nil) }

func (s *Script) barrier(except *Session) {
	for _, x := range s.sessions {
		if x == except || x.c == nil || x.Idle {
			continue
		}
		if s.ensemble() {
			x.settle() // a sync: see ensemble_test.go
			continue
		}
		x.ping()
	}
}

// ping is an unrecorded round trip; events read meanwhile and a closed connection are.
func (x *Session) ping() {
	_, err := x.call(proto.OpPing, nil, nil)
	x.drainEvents()
	if err != nil {
		x.s.record("%s: connection closed", x.name)
		x.disconnect()
	}
}

func (x *Session) disconnect() {
	if x.c != nil {
		x.c.Close()
		x.c = nil
		x.s.changed(x) // a server that closed it may have closed the session (a txn)
	}
}

// call sends one request with a watchdog: a server that does not answer within opTimeout
// gets its connection closed.
func (x *Session) call(op proto.Op, req, resp proto.Record) (proto.ReplyHeader, error) {
	if x.c == nil {
		return proto.ReplyHeader{}, net.ErrClosed
	}
	var timedOut atomic.Bool
	c := x.c
	x.lastSent = time.Now()
	wd := time.AfterFunc(opTimeout, func() { timedOut.Store(true); c.Close() })
	h, err := c.Call(op, req, resp)
	wd.Stop()
	x.s.maxZxid = max(x.s.maxZxid, h.Zxid)
	if err != nil && timedOut.Load() {
		err = fmt.Errorf("no reply within %v: %w", opTimeout, errTimeout)
	}
	return h, err
}

var errTimeout = errors.New("timeout")

func (x *Session) drainEvents() {
	if x.c == nil {
		return
	}
	for {
		select {
		case ev := <-x.c.Events:
			x.recordEvent(ev)
		default:
			return
		}
	}
}

// recordEvent prints a notification. Its header zxid is left out on purpose: ZooKeeper 3.8
// sends -1 there, 3.9 the zxid of the txn that fired the watch (paddock follows 3.9).
func (x *Session) recordEvent(ev zktest.Event) {
	state := ""
	if ev.State != proto.StateSyncConnected {
		state = fmt.Sprintf(" state=%d", ev.State)
	}
	x.s.record("%s: event %s %s%s", x.name, ev.Type, x.s.show(ev.Path), state)
	x.events++
}

// op sends a request and records its line: events that arrived before the reply come
// first. body formats the response when the code is OK.
func (x *Session) op(op proto.Op, desc string, req, resp proto.Record, write bool, body func() string) Reply {
	s := x.s
	if write {
		s.spaceWrite()
	}
	x.beforeOp(op, write)
	h, err := x.call(op, req, resp)
	if write {
		s.lastW = time.Now()
	}
	x.drainEvents()
	x.events = 0
	r := Reply{Code: h.Err, Zxid: h.Zxid}
	var line string
	switch {
	case err != nil && errors.Is(err, proto.ErrMalformed):
		line = fmt.Sprintf("%s: %s -> %s BADBODY hz=%s", x.name, desc, h.Err.String(), s.norm.zxid(h.Zxid))
	case err != nil:
		r.NoReply = true
		what := "CLOSED"
		if errors.Is(err, errTimeout) {
			what = "NO REPLY"
		} else if strings.Contains(err.Error(), "xid out of order") {
			what = "XID MISMATCH"
		}
		line = fmt.Sprintf("%s: %s -> %s", x.name, desc, what)
		x.disconnect()
	default:
		b, more := "", ""
		if h.Err == proto.CodeOK && body != nil {
			b = body()
		}
		if i := strings.IndexByte(b, '\n'); i >= 0 {
			b, more = b[:i], b[i:]
		}
		if b != "" {
			b = " " + b
		}
		line = fmt.Sprintf("%s: %s -> %s%s hz=%s%s", x.name, desc, h.Err.String(), b, s.norm.zxid(h.Zxid), more)
	}
	if s.zk39 != nil {
		want := *s.zk39
		s.zk39 = nil
		if s.onZooKeeper() {
			if !strings.Contains(want, " hz=") {
				if r.NoReply {
					s.t.Fatalf("Since39(%q) needs an explicit hz: 3.8 did not reply", want)
				}
				want += " hz=" + s.norm.zxid(h.Zxid)
			}
			s.t.Logf("3.8 answered %q; recording the 3.9 answer %q", line, want)
			line = fmt.Sprintf("%s: %s -> %s", x.name, desc, want)
		}
	}
	for i, l := range strings.Split(line, "\n") {
		if i > 0 {
			l = x.name + ":   " + l
		}
		s.lines = append(s.lines, l)
	}
	x.afterOp(op, write)
	if write && s.AutoBarrier {
		s.barrier(x)
	}
	return r
}

// rawBody is a record of arbitrary bytes: a request body sent as it is, or a reply body
// kept to check that an op which has none got none.
type rawBody struct{ b []byte }

func (r *rawBody) Encode(e *proto.Encoder) { e.B = append(e.B, r.b...) }
func (r *rawBody) Decode(d *proto.Decoder) {
	r.b = append([]byte(nil), d.Rest()...)
	d.Reset(nil) // consumed
}

// noBody formats an op that has no response body: nothing, or the stray bytes.
func noBody(r *rawBody) func() string {
	return func() string {
		if len(r.b) == 0 {
			return ""
		}
		return fmt.Sprintf("unexpected-body=%dB", len(r.b))
	}
}

func (s *Script) stat(st proto.Stat) string { return "stat=" + s.norm.formatStat(st) }

// --- setup and teardown ---

// start opens session "a" and creates the scenario root.
func (s *Script) start() {
	s.Session = s.Open("a")
	if s.root == "" || s.c == nil {
		return
	}
	// The root is created without a transcript line: its creation is the same on both
	// servers and its stat shows up when a step reads it.
	_, err := s.call(proto.OpCreate, &proto.CreateRequest{Path: s.root, ACL: Open}, &proto.PathRequest{})
	s.lastW = time.Now()
	if err != nil {
		s.t.Fatalf("creating scenario root %s: %v", s.root, err)
	}
}

// finish records the final state of every connection and then closes every session that
// may still exist, so nothing of this scenario outlives it on a shared server.
func (s *Script) finish() {
	s.Barrier()
	var st []string
	for _, x := range s.sessions {
		state := "closed"
		if x.c != nil {
			state = "open"
		}
		st = append(st, x.name+"="+state)
	}
	s.record("final: %s", strings.Join(st, " "))
	s.resolveCreate2()
	for _, x := range s.sessions {
		if x.id == 0 {
			continue
		}
		if x.c == nil {
			c, err := zktest.Dial(s.srv.addr(x.member), zktest.Options{SessionID: x.id, Passwd: x.passwd, Timeout: 10 * time.Second})
			if err != nil {
				continue
			}
			x.c = c
		}
		x.Idle = false
		x.call(proto.OpCloseSession, nil, nil)
		x.disconnect()
	}
}
