package conformance

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/zktest"
)

// Connection states, waits, hand-made handshakes and four-letter words.

// Alive records whether the server still answers on this connection (a ping).
func (x *Session) Alive() {
	s := x.s
	if x.c == nil {
		s.record("%s: alive? -> closed", x.name)
		return
	}
	_, err := x.call(proto.OpPing, nil, nil)
	x.drainEvents()
	if err != nil {
		s.record("%s: alive? -> closed", x.name)
		x.disconnect()
		return
	}
	s.record("%s: alive? -> open", x.name)
}

// Drop closes the socket without closing the session, as a client that loses its
// connection does.
func (x *Session) Drop() {
	x.s.record("%s: drop connection", x.name)
	x.disconnect()
}

// Reconnect opens a new connection to the same session (id and password), closing the
// current socket first if it is open. With keepOld the old socket is left open, so the
// server has to close it.
func (x *Session) Reconnect(keepOld bool) {
	s := x.s
	var last int64
	if x.c != nil {
		last = x.c.LastZxid
		if !keepOld {
			x.disconnect()
		}
	}
	old := x.c
	m := s.srv.next(x.member) // in an ensemble the session moves to another member
	s.catchUp(m, last)
	c, err := zktest.Dial(s.srv.addr(m), zktest.Options{SessionID: x.id, Passwd: x.passwd, LastZxidSeen: last,
		Timeout: 10 * time.Second})
	if err != nil {
		s.record("%s: reconnect -> %s", x.name, dialError(err))
		return
	}
	s.record("%s: reconnect -> timeout=%d session=%s", x.name, c.Timeout, s.norm.addSession(c.SessionID))
	x.timeout, x.lastSent = time.Duration(c.Timeout)*time.Millisecond, time.Now()
	if old != nil {
		// ZooKeeper closes the other connections of a session before it answers a
		// reconnect to it.
		state := "open"
		if _, err := (&Session{s: s, c: old}).call(proto.OpPing, nil, nil); err != nil {
			state = "closed"
		}
		old.Close()
		s.record("%s: previous connection -> %s", x.name, state)
	}
	x.c = c
	x.moved(m)
}

// WaitEvents waits up to timeout until n events have arrived on this session since its
// last reply or last wait (counting those already recorded), keeping the sessions alive
// meanwhile.
func (x *Session) WaitEvents(n int, timeout time.Duration) {
	s := x.s
	defer func() {
		if x.events > 0 {
			s.changed(x) // what fired them may be news to other members' sessions
		}
		x.events = 0
	}()
	deadline := time.Now().Add(timeout)
	for x.c != nil && x.events < n && time.Now().Before(deadline) {
		ev, err := x.c.NextEvent(min(keepAlive, time.Until(deadline)))
		if err == nil {
			x.recordEvent(ev)
			continue
		}
		if err.Error() != "zktest: no event" {
			s.record("%s: connection closed", x.name)
			x.disconnect()
			return
		}
		s.keepAlive(nil)
	}
}

// WaitClosed waits up to timeout for the server to close this session's connection (an
// expired session), recording events that arrive first.
func (x *Session) WaitClosed(timeout time.Duration) {
	s := x.s
	if x.c == nil {
		return
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ev, err := x.c.NextEvent(min(keepAlive, time.Until(deadline)))
		if err == nil {
			x.recordEvent(ev)
			continue
		}
		if err.Error() != "zktest: no event" {
			s.record("%s: connection closed by server", x.name)
			x.disconnect()
			return
		}
		s.keepAlive(x)
	}
	s.record("%s: connection still open after %v", x.name, timeout)
}

// Sleep waits, keeping the sessions alive.
func (s *Script) Sleep(d time.Duration) {
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		time.Sleep(min(left, keepAlive))
		s.keepAlive(nil)
	}
}

// keepAlive pings the sessions that have sent nothing for a third of their timeout, as a
// real client does; sessions that were active recently are left alone, so a short wait
// reads nothing and the transcript does not depend on when the wait's pings happen.
func (s *Script) keepAlive(except *Session) {
	for _, o := range s.sessions {
		if o != except && o.c != nil && !o.Idle && time.Since(o.lastSent) > o.timeout/3 {
			o.ping()
		}
	}
}

// --- raw handshakes ---

// Handshake describes a hand-made ConnectRequest.
type Handshake struct {
	Timeout      time.Duration
	SessionID    int64
	Passwd       []byte
	LastZxidSeen int64
	NoReadOnly   bool
	ReadOnly     bool
}

// Connect sends a hand-made ConnectRequest on a new socket and records the whole
// ConnectResponse, or that the server closed without one; after a refusal (timeout 0) it
// records whether the server closed the socket. A granted session is closed again with
// closeSession.
func (s *Script) Connect(name string, h Handshake) {
	if h.Passwd == nil {
		h.Passwd = make([]byte, 16)
	}
	desc := fmt.Sprintf("%s: handshake timeout=%d session=%s lastZxid=%s", name, h.Timeout.Milliseconds(), s.norm.session(h.SessionID), s.norm.zxid(h.LastZxidSeen))
	if h.NoReadOnly {
		desc += " noReadOnlyByte"
	}
	m := s.handshakeMember(h.SessionID)
	s.catchUp(m, h.LastZxidSeen)
	nc, err := net.DialTimeout("tcp", s.srv.addr(m), opTimeout)
	if err != nil {
		s.record("%s -> dial failed", desc)
		return
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(opTimeout))
	req := proto.ConnectRequest{LastZxidSeen: h.LastZxidSeen, TimeOut: int32(h.Timeout.Milliseconds()),
		SessionID: h.SessionID, Passwd: h.Passwd, ReadOnly: h.ReadOnly, HasReadOnly: !h.NoReadOnly}
	if _, err := nc.Write(proto.AppendRecord(nil, &req)); err != nil {
		s.record("%s -> CLOSED (write failed)", desc)
		return
	}
	frame, err := proto.ReadFrame(nc, nil, proto.DefaultMaxBuffer)
	if err != nil {
		s.record("%s -> CLOSED (no response)", desc)
		return
	}
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(frame, &resp); err != nil {
		s.record("%s -> undecodable ConnectResponse (%dB)", desc, len(frame))
		return
	}
	ro := "absent"
	if resp.HasReadOnly {
		ro = fmt.Sprint(resp.ReadOnly)
	}
	zeros := "zero"
	for _, b := range resp.Passwd {
		if b != 0 {
			zeros = "set"
		}
	}
	var sess string
	if resp.TimeOut > 0 {
		sess = s.norm.addSession(resp.SessionID)
	} else {
		sess = s.norm.session(resp.SessionID)
	}
	s.record("%s -> proto=%d timeout=%d session=%s passwd=%dB(%s) readOnly=%s", desc, resp.ProtocolVersion, resp.TimeOut,
		sess, len(resp.Passwd), zeros, ro)
	if resp.TimeOut <= 0 {
		nc.SetReadDeadline(time.Now().Add(opTimeout))
		var b [1]byte
		if _, err := nc.Read(b[:]); err != nil && !isTimeout(err) {
			s.record("%s: then closed by server", name)
		} else {
			s.record("%s: then still open", name)
		}
		return
	}
	// Close the granted session so it does not outlive the scenario.
	s.changed(nil) // its creation and closing are txns
	nc.SetDeadline(time.Now().Add(opTimeout))
	if _, err := nc.Write(proto.AppendRequest(nil, proto.RequestHeader{Xid: 1, Type: proto.OpCloseSession}, nil)); err != nil {
		return
	}
	if f, err := proto.ReadFrame(nc, nil, proto.DefaultMaxBuffer); err == nil {
		var rh proto.ReplyHeader
		d := proto.NewDecoder(f)
		rh.Decode(d)
		s.record("%s: closeSession -> %s", name, rh.Err.String())
	}
}

// --- four-letter words ---

// FourLetter sends a four-letter word and records its answer as norm prints it.
func (s *Script) FourLetter(cmd string, norm func(string) string) {
	out, err := zktest.FourLetter(s.srv.addr(s.member), cmd)
	if err != nil {
		s.record("4lw %s -> no answer", cmd)
		return
	}
	if norm == nil {
		norm = func(o string) string { return fmt.Sprintf("%q", o) }
	}
	for i, l := range strings.Split(norm(out), "\n") {
		if i == 0 {
			s.record("4lw %s -> %s", cmd, l)
		} else {
			s.record("4lw %s    %s", cmd, l)
		}
	}
}
