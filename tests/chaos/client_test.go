package chaos

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/zktest"
)

var openACL = []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}

// errLost is a connection loss: the outcome of the request in flight is unknown.
var errLost = errors.New("connection loss")

// errNotSent: the connection was already gone, the request never left; nothing happened.
var errNotSent = errors.New("not connected")

// errExpired says the ensemble refused the session: it expired (or was closed).
var errExpired = errors.New("session expired")

// wire is one connection of a session. zktest does the handshake; then a reader goroutine
// takes every frame and a pinger keeps the session alive, so that a request may wait (for an
// election, say) while pings flow, as with a real client. A connection that has received
// nothing for readTimeout (two thirds of the session timeout, as ZooKeeper's client) is dead.
type wire struct {
	zc      *zktest.Conn
	addr    string
	replies chan reply // from the reader: every reply but pings and notifications
	deadc   chan struct{}
	quietc  chan struct{} // closed by stopPings

	wmu sync.Mutex // serialises writes and xids
	xid int32      // guarded by wmu

	once sync.Once
}

type reply struct {
	h    proto.ReplyHeader
	body []byte
}

// handshakeTimeout bounds a connection attempt, so that a frozen member (whose kernel still
// accepts connections) costs a client little. zktest's own handshake deadline is longer.
func dialWire(addr string, o zktest.Options, handshakeTimeout time.Duration) (*wire, error) {
	type result struct {
		zc  *zktest.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		zc, err := zktest.Dial(addr, o)
		ch <- result{zc, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-time.After(handshakeTimeout):
		go func() {
			if late := <-ch; late.zc != nil {
				late.zc.Close()
			}
		}()
		return nil, fmt.Errorf("%s: handshake timed out", addr)
	}
	if r.err != nil {
		return nil, r.err
	}
	w := &wire{zc: r.zc, addr: addr, replies: make(chan reply, 16), deadc: make(chan struct{}), quietc: make(chan struct{})}
	timeout := time.Duration(r.zc.Timeout) * time.Millisecond
	go w.read(timeout * 2 / 3)
	go w.ping(timeout / 3)
	return w, nil
}

func (w *wire) close() {
	w.once.Do(func() {
		close(w.deadc)
		w.zc.Close()
	})
}

// stopPings silences the connection for good without closing it, as a client frozen by
// SIGSTOP would: no pings, and nobody notices that the server stops answering.
func (w *wire) stopPings() { close(w.quietc) }

func (w *wire) quiet() bool {
	select {
	case <-w.quietc:
		return true
	default:
		return false
	}
}

func (w *wire) read(readTimeout time.Duration) {
	for {
		h, body, err := w.zc.ReadReply(readTimeout)
		if err != nil {
			if !w.quiet() {
				w.close()
			}
			return
		}
		if h.Xid == proto.XidPing || h.Xid == proto.XidNotification {
			continue
		}
		select {
		case w.replies <- reply{h, body}:
		case <-w.deadc:
			return
		}
		if w.quiet() {
			return
		}
	}
}

func (w *wire) ping(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.deadc:
			return
		case <-w.quietc:
			return
		case <-t.C:
		}
		w.wmu.Lock()
		err := w.zc.SendRaw(proto.AppendRequest(nil, proto.RequestHeader{Xid: proto.XidPing, Type: proto.OpPing}, nil))
		w.wmu.Unlock()
		if err != nil {
			w.close()
			return
		}
	}
}

// call sends one request and waits for its reply, decoding the body into resp when the reply
// has no error. errLost means the outcome is unknown; the wire is closed then. errNotSent
// means the wire was closed before.
func (w *wire) call(op proto.Op, req, resp proto.Record, timeout time.Duration) (proto.ReplyHeader, error) {
	if w.dead() {
		return proto.ReplyHeader{}, errNotSent
	}
	w.wmu.Lock()
	w.xid++
	xid := w.xid
	err := w.zc.SendRaw(proto.AppendRequest(nil, proto.RequestHeader{Xid: xid, Type: op}, req))
	w.wmu.Unlock()
	if err != nil {
		w.close()
		return proto.ReplyHeader{}, errLost
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var r reply
	select {
	case r = <-w.replies:
	case <-w.deadc:
		// The reader queues a reply before it can notice the end of the connection.
		select {
		case r = <-w.replies:
		default:
			return proto.ReplyHeader{}, errLost
		}
	case <-timer.C:
		w.close()
		return proto.ReplyHeader{}, errLost
	}
	if r.h.Xid != xid {
		w.close()
		return r.h, fmt.Errorf("%s: reply xid %d to request xid %d (%v)", w.addr, r.h.Xid, xid, op)
	}
	switch r.h.Err {
	case proto.CodeConnectionLoss, proto.CodeSessionExpired, proto.CodeSessionMoved, proto.CodeOperationTimeout:
		w.close()
		return r.h, errLost
	}
	if r.h.Err == proto.CodeOK && resp != nil {
		if err := proto.Unmarshal(r.body, resp); err != nil {
			w.close()
			return r.h, fmt.Errorf("%s: decoding the reply to %v: %w", w.addr, op, err)
		}
	}
	return r.h, nil
}

func (w *wire) dead() bool {
	select {
	case <-w.deadc:
		return true
	default:
		return false
	}
}

// session is a client session that survives connection losses: it reconnects to another
// member with its id and password (and the last zxid it saw, so that it never goes back in
// time), and tells its user when the ensemble says the session expired. Not safe for
// concurrent use.
type session struct {
	addrs    func() []string // the members' client addresses
	timeout  time.Duration   // requested session timeout
	opTime   time.Duration   // longest wait for one reply
	rng      *rand.Rand
	id       int64
	passwd   []byte
	lastZxid int64
	w        *wire
	member   int // index of the member w is connected to
}

func newSession(addrs func() []string, timeout time.Duration, rng *rand.Rand) *session {
	return &session{addrs: addrs, timeout: timeout, opTime: 15 * time.Second, rng: rng}
}

// connect (re)connects the session within patience, trying the members in a random order. It
// returns errExpired when a member refuses the session; the caller then starts a new one
// (renew).
func (s *session) connect(patience time.Duration) error {
	if s.w != nil && !s.w.dead() {
		return nil
	}
	deadline := time.Now().Add(patience)
	var last error
	for round := 0; ; round++ {
		addrs := s.addrs()
		for _, i := range s.rng.Perm(len(addrs)) {
			if round == 0 && s.w != nil && i == s.member && len(addrs) > 1 {
				continue // the member that just lost us; try the others first
			}
			w, err := dialWire(addrs[i], zktest.Options{
				Timeout: s.timeout, SessionID: s.id, Passwd: s.passwd, LastZxidSeen: s.lastZxid,
			}, s.timeout)
			if errors.Is(err, zktest.ErrSessionInvalid) && s.id != 0 {
				s.w, s.member = nil, i
				return errExpired
			}
			if err != nil {
				last = err
				continue
			}
			s.w, s.member = w, i
			if s.id == 0 {
				s.id, s.passwd = w.zc.SessionID, w.zc.Passwd
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no member took session 0x%x within %v: %v", s.id, patience, last)
		}
		s.w = nil
		time.Sleep(time.Duration(50+s.rng.IntN(100)) * time.Millisecond)
	}
}

// acceptedElsewhere reports whether a member other than the one that just refused the
// session takes it. It drops the connection it may open, without closeSession.
func (s *session) acceptedElsewhere() bool {
	for i, addr := range s.addrs() {
		if i == s.member {
			continue
		}
		w, err := dialWire(addr, zktest.Options{Timeout: s.timeout, SessionID: s.id, Passwd: s.passwd, LastZxidSeen: s.lastZxid}, time.Second)
		if err == nil {
			w.close()
			return true
		}
	}
	return false
}

// renew forgets the expired session; the next connect creates a new one.
func (s *session) renew() {
	if s.w != nil {
		s.w.close()
	}
	s.w, s.id, s.passwd, s.lastZxid = nil, 0, nil, 0
}

// call sends one request on the current connection (connect first). errLost: unknown
// outcome; errNotSent: there was no connection.
func (s *session) call(op proto.Op, req, resp proto.Record) (proto.ReplyHeader, error) {
	if s.w == nil {
		return proto.ReplyHeader{}, errNotSent
	}
	h, err := s.w.call(op, req, resp, s.opTime)
	if h.Zxid > s.lastZxid {
		s.lastZxid = h.Zxid
	}
	return h, err
}

// closeSession ends the session with closeSession (not just the connection).
func (s *session) closeSession() error {
	h, err := s.call(proto.OpCloseSession, nil, nil)
	if s.w != nil {
		s.w.close()
	}
	if err != nil {
		return err
	}
	if h.Err != proto.CodeOK {
		return h.Err
	}
	return nil
}

// drop closes the connection without closing the session.
func (s *session) drop() {
	if s.w != nil {
		s.w.close()
	}
}
