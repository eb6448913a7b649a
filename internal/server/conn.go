package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/tree"
	"github.com/paddock/paddock/internal/watch"
)

// maxQueuedReply bounds the bytes queued to one slow client before it is disconnected.
const maxQueuedReply = 64 << 20

// conn is one client connection. The reader goroutine owns decoding and the request pipeline;
// the writer goroutine owns writes to the socket.
type conn struct {
	s      *Server
	nc     net.Conn
	ip     string
	remote string
	est    time.Time
	owner  uint64 // this connection's id in the session table: the txns' Owner
	seq    uint64 // the number of this connection's last proposal (tree.Txn.Seq); reader goroutine only

	sessionID   atomic.Int64
	timeout     atomic.Int32 // negotiated, ms
	ro          atomic.Bool  // a read-only session on a member cut off from the quorum
	hasReadOnly atomic.Bool  // the client's ConnectRequest had the readOnly byte
	// answering is set while the connection's four-letter word runs: stat, cons and dump
	// list it as ZooKeeper lists its own, with interest ops 0 (it reads nothing meanwhile).
	answering atomic.Bool

	authMu sync.RWMutex
	auth   []proto.ID // guarded by authMu: ip id first, then what auth packets added

	// The pipeline: writes proposed and not yet answered, and the reads behind them, in
	// request order.
	pmu  sync.Mutex
	cond *sync.Cond // signalled when fifo drains
	fifo []*request // guarded by pmu

	out struct {
		mu         sync.Mutex
		buf        []byte // guarded by mu: frames waiting for the writer
		spare      []byte // guarded by mu: the other buffer, written last time
		writing    bool   // guarded by mu: a goroutine is writing to the socket
		closeAfter bool   // guarded by mu: close once buf is written
		// deadlineSet is when the write deadline last moved; only the goroutine that set
		// writing touches it.
		deadlineSet time.Time
	}
	wake chan struct{} // cap 1: the writer has something to do

	dirty bool // replies queued by the apply goroutine, writer not yet woken (apply goroutine only)

	// check holds the records the reader decodes the common requests into (see record).
	check struct {
		set    proto.SetDataRequest
		create proto.CreateRequest
		del    proto.DeleteRequest
		pw     proto.PathWatchRequest
		dec    proto.Decoder
	}

	closed    atomic.Bool
	closedc   chan struct{}
	closeOnce sync.Once

	stats connStats
}

// request is a write waiting for its txn to apply, or a read waiting for the writes before
// it (query).
type request struct {
	c     *conn
	xid   int32
	op    proto.Op
	start time.Time
	done  bool    // guarded by c.pmu
	frame *[]byte // guarded by c.pmu: the encoded reply, a buffer of frameBufs
	// query marks a read, served (with body) once every request before it is answered.
	query bool
	body  proto.Record
	// resc receives the result instead of a reply frame (connect handshake).
	resc chan tree.Result
}

func newConn(s *Server, nc net.Conn, ip string) *conn {
	c := &conn{
		s:       s,
		nc:      nc,
		ip:      ip,
		remote:  nc.RemoteAddr().String(),
		est:     time.Now(),
		owner:   s.newOwner(),
		auth:    []proto.ID{{Scheme: "ip", ID: ip}},
		wake:    make(chan struct{}, 1),
		closedc: make(chan struct{}),
	}
	c.cond = sync.NewCond(&c.pmu)
	return c
}

func (c *conn) authIDs() []proto.ID {
	c.authMu.RLock()
	defer c.authMu.RUnlock()
	return c.auth
}

func (c *conn) close(reason string) {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		close(c.closedc)
		c.nc.Close()
		c.pmu.Lock()
		c.cond.Broadcast()
		c.pmu.Unlock()
		if reason != "" {
			c.s.log.Debug("connection closed", "remote", c.remote, "session", hexID(c.sessionID.Load()), "reason", reason)
		}
		go c.s.forget(c)
	})
}

// isTimeout reports whether err is a socket deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func hexID(id int64) string { return fmt.Sprintf("0x%x", id) }

// send queues one frame for the writer and wakes it.
func (c *conn) send(frame []byte) {
	if c.enqueue(frame) {
		c.wakeWriter()
	}
}

// enqueue queues one frame for the writer without waking it. It reports false if the
// connection is closing instead (its client does not read its replies).
func (c *conn) enqueue(frame []byte) bool {
	c.out.mu.Lock()
	c.out.buf = append(c.out.buf, frame...)
	n := len(c.out.buf)
	c.out.mu.Unlock()
	return c.queued(n, len(frame))
}

// reply encodes a reply straight into the writer's queue (no frame of its own to allocate
// and copy) and, if wake, wakes the writer.
func (c *conn) reply(h proto.ReplyHeader, body proto.Record, wake bool) {
	c.out.mu.Lock()
	before := len(c.out.buf)
	c.out.buf = proto.AppendReply(c.out.buf, h, body)
	n := len(c.out.buf)
	c.out.mu.Unlock()
	if c.queued(n, n-before) && wake {
		c.wakeWriter()
	}
}

// queued accounts for a frame of size bytes just queued, n bytes now in the queue; false
// when the queue is over its limit and the connection closes.
func (c *conn) queued(n, size int) bool {
	if n > maxQueuedReply {
		c.s.log.Warn("client is not reading its replies; closing", "remote", c.remote, "queued", n)
		go c.close("reply queue over limit") // callers may hold c.pmu
		return false
	}
	c.s.stats.packetsSent.Add(1)
	c.s.stats.observeResponse(size)
	c.stats.sent.Add(1)
	return true
}

func (c *conn) wakeWriter() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// sendAndClose queues a last frame and closes the connection once it is written.
func (c *conn) sendAndClose(frame []byte) {
	c.out.mu.Lock()
	c.out.closeAfter = true
	c.out.mu.Unlock()
	c.send(frame)
}

// enqueueAndClose is sendAndClose without waking the writer.
func (c *conn) enqueueAndClose(frame []byte) bool {
	c.out.mu.Lock()
	c.out.closeAfter = true
	c.out.mu.Unlock()
	return c.enqueue(frame)
}

func (c *conn) writeLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.closedc:
			return
		}
		c.out.mu.Lock()
		if c.out.writing {
			// The reader is writing (flush); it wakes us if more is queued when it is done.
			c.out.mu.Unlock()
			continue
		}
		buf := c.out.buf
		c.out.buf = c.out.spare[:0]
		c.out.writing = true
		closeAfter := c.out.closeAfter
		c.out.mu.Unlock()
		if !c.writeOut(buf) {
			return
		}
		if closeAfter {
			c.close("")
			return
		}
	}
}

// writeOut writes buf to the socket for the goroutine that set out.writing, then clears it.
// It returns false if the connection failed.
func (c *conn) writeOut(buf []byte) bool {
	var err error
	if len(buf) > 0 {
		// A write blocked for the session timeout means a client that does not read. The
		// deadline moves at most every eighth of it (each move is a timer update).
		if now, limit := time.Now(), c.writeTimeout(); now.Sub(c.out.deadlineSet) > limit/8 {
			c.nc.SetWriteDeadline(now.Add(limit))
			c.out.deadlineSet = now
		}
		_, err = c.nc.Write(buf)
	}
	c.out.mu.Lock()
	c.out.spare = buf
	c.out.writing = false
	more := len(c.out.buf) > 0 || c.out.closeAfter
	c.out.mu.Unlock()
	if err != nil {
		if isTimeout(err) {
			c.s.log.Warn("closing connection: client is not reading its replies", "remote", c.remote,
				"session", hexID(c.sessionID.Load()), "blocked", c.writeTimeout())
		}
		c.close("write: " + err.Error())
		return false
	}
	if more {
		c.wakeWriter()
	}
	return true
}

// flush writes what is queued on the reader goroutine, which is about to wait for the
// client: the replies to the requests it just read go out in one write, without waking the
// writer goroutine. It leaves the queue to the writer if that is busy or closing.
func (c *conn) flush() {
	c.out.mu.Lock()
	if c.out.writing || c.out.closeAfter || len(c.out.buf) == 0 {
		c.out.mu.Unlock()
		return
	}
	buf := c.out.buf
	c.out.buf = c.out.spare[:0]
	c.out.writing = true
	c.out.mu.Unlock()
	c.writeOut(buf)
}

func (c *conn) writeTimeout() time.Duration {
	if t := c.timeout.Load(); t > 0 {
		return time.Duration(t) * time.Millisecond
	}
	return c.s.opts.MaxSessionTimeout
}

// addWatch registers a watch of this connection. A connection closing concurrently has its
// watches removed by forget; re-removing here closes the window where an Add lands after that.
func (c *conn) addWatch(path string, kind watch.Kind) {
	c.s.watches.Add(path, kind, c)
	if c.closed.Load() {
		c.s.watches.RemoveAll(c)
	}
}

// Notify implements watch.Watcher: it queues a notification (xid -1). As ZooKeeper 3.9 does,
// the header carries the zxid of the txn that fired it.
func (c *conn) Notify(ev proto.WatcherEvent, zxid int64) {
	if c.closed.Load() {
		return
	}
	c.send(c.s.events.frame(ev, zxid))
}

// eventFrames encodes a notification once for all the connections it goes to: a write that
// fires ten thousand watches encodes one frame, which each connection's queue copies.
type eventFrames struct {
	mu    sync.Mutex
	ev    proto.WatcherEvent
	zxid  int64
	bytes []byte // never modified once built: a new event gets a new slice
}

func (f *eventFrames) frame(ev proto.WatcherEvent, zxid int64) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bytes == nil || f.ev != ev || f.zxid != zxid {
		f.ev, f.zxid = ev, zxid
		f.bytes = proto.AppendReply(nil, proto.ReplyHeader{Xid: proto.XidNotification, Zxid: zxid}, &ev)
	}
	return f.bytes
}

var _ watch.Watcher = (*conn)(nil)

// finish ends the reader: a connection with a last frame queued (sendAndClose) is closed by
// its writer once the frame is out; any other is closed now.
func (c *conn) finish() {
	c.out.mu.Lock()
	pending := c.out.closeAfter
	c.out.mu.Unlock()
	if pending {
		select {
		case <-c.closedc:
			return
		case <-time.After(c.writeTimeout()):
		}
	}
	c.close("")
}

func (c *conn) readLoop() {
	defer c.finish()
	r := bufio.NewReaderSize(c.nc, 64<<10)
	// A client has until the largest session timeout to complete the handshake.
	c.nc.SetReadDeadline(time.Now().Add(c.s.opts.MaxSessionTimeout))
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if isTimeout(err) {
			c.s.log.Info("closing connection: no request before the handshake deadline", "remote", c.remote, "deadline", c.s.opts.MaxSessionTimeout)
		}
		return
	}
	if cmd := string(hdr[:]); isFourLetterWord(cmd) {
		c.s.stats.packetsReceived.Add(1)
		c.fourLetter(cmd)
		return
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if n < 0 || int(n) > c.s.opts.MaxBuffer {
		c.s.log.Warn("closing connection: bad frame length", "remote", c.remote, "len", n, "max", c.s.opts.MaxBuffer)
		return
	}
	first := make([]byte, n)
	if _, err := io.ReadFull(r, first); err != nil {
		if isTimeout(err) {
			c.s.log.Info("closing connection: ConnectRequest incomplete at the handshake deadline", "remote", c.remote, "deadline", c.s.opts.MaxSessionTimeout)
		}
		return
	}
	if !c.handshake(first) {
		return
	}
	var buf []byte
	var deadlineSet time.Time
	for {
		// A client silent for twice its session timeout is gone. The deadline moves at most
		// every eighth of the timeout, not on every request (each move is a timer update).
		limit := 2 * time.Duration(c.timeout.Load()) * time.Millisecond
		if now := time.Now(); now.Sub(deadlineSet) > limit/8 {
			c.nc.SetReadDeadline(now.Add(limit))
			deadlineSet = now
		}
		frame, err := proto.ReadFrame(r, buf, c.s.opts.MaxBuffer)
		if err != nil {
			switch {
			case errors.Is(err, proto.ErrFrameTooLarge):
				c.s.log.Warn("closing connection: frame over jute.maxbuffer", "remote", c.remote, "err", err)
			case isTimeout(err):
				c.s.log.Info("closing connection: client silent for twice its session timeout",
					"remote", c.remote, "session", hexID(c.sessionID.Load()), "silent", limit)
			}
			return
		}
		buf = frame
		if !c.handle(frame) {
			return
		}
		if !frameBuffered(r) {
			c.flush()
		}
	}
}

// frameBuffered reports whether r holds a whole frame, which the reader can take without
// waiting for the client.
func frameBuffered(r *bufio.Reader) bool {
	if r.Buffered() < 4 {
		return false // Peek would wait for more
	}
	hdr, _ := r.Peek(4)
	return r.Buffered() >= 4+int(binary.BigEndian.Uint32(hdr))
}

// handshake answers the ConnectRequest. It returns false when the connection must close.
func (c *conn) handshake(frame []byte) bool {
	s := c.s
	s.stats.packetsReceived.Add(1)
	c.stats.received.Add(1)
	var req proto.ConnectRequest
	if err := proto.Unmarshal(frame, &req); err != nil {
		s.log.Warn("closing connection: malformed ConnectRequest", "remote", c.remote, "err", err)
		return false
	}
	c.hasReadOnly.Store(req.HasReadOnly)
	s.treeMu.RLock()
	last := s.tree.LastZxid()
	s.treeMu.RUnlock()
	if req.LastZxidSeen > last {
		s.log.Info("refusing client that has seen a newer zxid; it must try another server",
			"remote", c.remote, "clientZxid", hexID(req.LastZxidSeen), "serverZxid", hexID(last))
		return false
	}
	timeout := s.negotiateTimeout(req.TimeOut)
	if !s.standalone() && !s.opts.ReadOnlyMode && s.node.Status().Leader == 0 {
		s.log.Info("refusing a client while cut off from the quorum; it must try another member", "remote", c.remote)
		return false
	}
	if s.readOnly() {
		if !req.ReadOnly {
			s.log.Info("refusing a read-write client while cut off from the quorum", "remote", c.remote)
			return false
		}
		return c.readOnlyHandshake(&req, timeout)
	}
	if req.SessionID == 0 {
		sid := s.newSessionID()
		passwd := newPasswd()
		body := proto.Marshal(nil, &tree.CreateSessionTxn{Timeout: timeout, Passwd: passwd})
		r := &request{c: c, op: proto.OpCreateSession, start: time.Now(), resc: make(chan tree.Result, 1)}
		c.seq++
		txn := &tree.Txn{Type: proto.OpCreateSession, SessionID: sid, Owner: c.owner, Seq: c.seq, Time: time.Now().UnixMilli(), Body: body}
		if err := s.propose(context.Background(), txn, r); err != nil {
			return false
		}
		var res tree.Result
		select {
		case res = <-r.resc:
		case <-c.closedc:
			return false
		}
		if res.Err != proto.CodeOK {
			return false
		}
		c.establish(sid, timeout)
		c.send(proto.AppendRecord(nil, &proto.ConnectResponse{TimeOut: timeout, SessionID: sid, Passwd: passwd, HasReadOnly: req.HasReadOnly}))
		s.log.Debug("session established", "session", hexID(sid), "timeout", timeout, "remote", c.remote)
		return true
	}
	// Reconnect: other connections of the session are closed first, then the session is
	// revalidated through the log, as ZooKeeper asks the leader to revalidate a moving
	// session: the entry attaches the session to this connection if the password matches.
	// It is judged as the ensemble knows the session now, not as this member last applied it
	// (its creation, or its close, may still be on the way here), and from then on writes
	// from the session's old connection, on any member, fail with SESSIONMOVED.
	s.bind(req.SessionID, c)
	attached, err := s.attach(req.SessionID, req.Passwd, c, time.Duration(timeout)*time.Millisecond)
	if err != nil {
		s.log.Info("cannot revalidate a reconnecting session; the client must try another member", "session", hexID(req.SessionID), "err", err)
		return false
	}
	si, ok := s.session(req.SessionID)
	if !attached || !ok || !s.sessions.SetTimeout(req.SessionID, time.Duration(timeout)*time.Millisecond, time.Now()) {
		s.log.Info("refusing reconnect to an invalid or expired session", "session", hexID(req.SessionID), "remote", c.remote)
		c.sendAndClose(proto.AppendRecord(nil, &proto.ConnectResponse{Passwd: make([]byte, 16), HasReadOnly: req.HasReadOnly}))
		return false
	}
	c.establish(req.SessionID, timeout)
	c.send(proto.AppendRecord(nil, &proto.ConnectResponse{TimeOut: timeout, SessionID: req.SessionID, Passwd: si.Passwd, HasReadOnly: req.HasReadOnly}))
	s.log.Debug("session reconnected", "session", hexID(req.SessionID), "remote", c.remote)
	return true
}

// readOnlyHandshake grants a session that lives only on this member and only for this
// connection: nothing can be written while the quorum is away. A known session with the right
// password keeps its id.
func (c *conn) readOnlyHandshake(req *proto.ConnectRequest, timeout int32) bool {
	s := c.s
	sid, passwd := req.SessionID, req.Passwd
	if si, ok := s.session(sid); !ok || !bytes.Equal(si.Passwd, passwd) {
		sid, passwd = s.newSessionID(), newPasswd()
	}
	c.ro.Store(true)
	c.sessionID.Store(sid)
	c.timeout.Store(timeout)
	c.send(proto.AppendRecord(nil, &proto.ConnectResponse{TimeOut: timeout, SessionID: sid, Passwd: passwd, ReadOnly: true, HasReadOnly: req.HasReadOnly}))
	s.log.Info("read-only session", "session", hexID(sid), "remote", c.remote)
	return true
}

// expired closes the connection of a session that expired. A client still in the middle of
// reconnecting to it gets ZooKeeper's answer for an expired session first.
func (c *conn) expired() {
	if c.timeout.Load() == 0 {
		c.sendAndClose(proto.AppendRecord(nil, &proto.ConnectResponse{Passwd: make([]byte, 16), HasReadOnly: c.hasReadOnly.Load()}))
		return
	}
	c.close("session expired")
}

func (c *conn) establish(sid int64, timeout int32) {
	c.sessionID.Store(sid)
	c.timeout.Store(timeout)
	c.s.bind(sid, c)
}

// handle dispatches one request frame. It returns false when the connection must close.
func (c *conn) handle(frame []byte) bool {
	s := c.s
	s.stats.packetsReceived.Add(1)
	c.stats.received.Add(1)
	var h proto.RequestHeader
	d := proto.NewDecoder(frame)
	h.Decode(d)
	if d.Err() != nil {
		s.log.Warn("closing connection: malformed request header", "remote", c.remote)
		return false
	}
	body := d.Rest()
	if c.ro.Load() {
		return c.handleReadOnly(h, body)
	}
	sid := c.sessionID.Load()
	if !s.sessions.Touch(sid, time.Now()) {
		// The session expired (its closeSession is on its way); ZooKeeper answers nothing more.
		return false
	}
	if !s.standalone() {
		s.noteTouch(sid)
	}
	c.stats.lastOp.Store(int32(h.Type))
	if h.Xid >= 0 { // as ZooKeeper, cons shows the last cxid of a request, not a ping's -2
		c.stats.lastCxid.Store(h.Xid)
	}

	switch h.Type {
	case proto.OpPing:
		zxid := s.lastZxid()
		c.stats.observe(0, zxid)
		c.send(proto.AppendReply(nil, proto.ReplyHeader{Xid: proto.XidPing, Zxid: zxid}, nil))
		return true
	case proto.OpAuth:
		return c.authenticate(h, body)
	case proto.OpSetWatches, proto.OpSetWatches2:
		return c.setWatches(h, body)
	case proto.OpCloseSession:
		return c.write(h, body)
	case proto.OpCheck:
		// check is only valid inside multi (ZOOKEEPER-2623): UNIMPLEMENTED, then close.
		c.unimplemented(h.Xid)
		return false
	case proto.OpReconfig:
		return c.reconfig(h, body)
	case proto.OpSync:
		return c.sync(h, body)
	case proto.OpSASL:
		// No SASL provider: ZooKeeper answers OK, zxid 0, with a null token.
		if c.waitIdle() {
			c.send(proto.AppendReply(nil, proto.ReplyHeader{Xid: h.Xid}, &proto.SASLResponse{}))
		}
		return true
	}
	write := h.Type.IsWrite()
	req, known := c.record(h.Type)
	if !known || h.Type == proto.OpDeleteContainer || h.Type == proto.OpCreateSession {
		s.log.Info("closing connection: unknown opcode", "remote", c.remote, "op", int32(h.Type))
		c.unimplemented(h.Xid)
		return false
	}
	if req != nil {
		// A write's record is only checked: its txn carries the body as it came, so its
		// strings need not be copies of the frame. Neither need a path read's (see record).
		view := req == proto.Record(&c.check.pw) || write
		if err := c.check.dec.Unmarshal(body, req, view); err != nil || !wellFormed(req) {
			s.log.Info("malformed request", "remote", c.remote, "op", h.Type.String(), "err", err)
			c.replyInOrder(h.Xid, proto.CodeMarshallingError, nil)
			return true
		}
	}
	if write {
		return c.write(h, body)
	}
	c.read(h, req)
	return true
}

// record returns the record to decode a request of type op into. The common writes and the
// path reads get the connection's own, their strings aliasing the frame: handle only checks
// a write's, and a path read is served before the next frame is read unless it waits behind
// writes, when read copies it (as serve copies the path of a watch it sets). Any other
// request gets a new record.
func (c *conn) record(op proto.Op) (proto.Record, bool) {
	switch op {
	case proto.OpSetData:
		return &c.check.set, true
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer:
		return &c.check.create, true
	case proto.OpDelete:
		return &c.check.del, true
	case proto.OpExists, proto.OpGetData, proto.OpGetChildren, proto.OpGetChildren2:
		return &c.check.pw, true
	}
	return proto.NewRequest(op)
}

// handleReadOnly serves a read-only session: changes and sync are answered NOTREADONLY, as
// ZooKeeper's ReadOnlyRequestProcessor does; closeSession just closes.
func (c *conn) handleReadOnly(h proto.RequestHeader, body []byte) bool {
	switch h.Type {
	case proto.OpSync, proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL,
		proto.OpDelete, proto.OpDeleteContainer, proto.OpSetData, proto.OpReconfig, proto.OpSetACL,
		proto.OpMulti, proto.OpCheck:
		c.replyInOrder(h.Xid, proto.CodeNotReadOnly, nil)
		return true
	case proto.OpCloseSession:
		c.replyAndClose(h.Xid, proto.CodeOK)
		return false
	case proto.OpPing:
		c.send(proto.AppendReply(nil, proto.ReplyHeader{Xid: proto.XidPing, Zxid: c.s.lastZxid()}, nil))
		return true
	case proto.OpAuth:
		return c.authenticate(h, body)
	case proto.OpSetWatches, proto.OpSetWatches2:
		return c.setWatches(h, body)
	}
	req, known := proto.NewRequest(h.Type)
	if !known || h.Type.IsWrite() || h.Type == proto.OpSASL {
		c.unimplemented(h.Xid)
		return false
	}
	if req != nil {
		if err := proto.Unmarshal(body, req); err != nil || !wellFormed(req) {
			c.replyInOrder(h.Xid, proto.CodeMarshallingError, nil)
			return true
		}
	}
	c.read(h, req)
	return true
}

// wellFormed rejects what ZooKeeper's record decoding rejects beyond jute itself: unknown
// create flags inside a multi, unknown addWatch modes and unknown watcher types.
func wellFormed(req proto.Record) bool {
	switch r := req.(type) {
	case *proto.MultiRequest:
		for i := range r.Ops {
			switch r.Ops[i].Type {
			case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
				if !proto.CreateMode(r.Ops[i].Flags).Valid() {
					return false
				}
			}
		}
	case *proto.AddWatchRequest:
		return r.Mode == proto.AddWatchPersistent || r.Mode == proto.AddWatchPersistentRecursive
	case *proto.WatchesRequest:
		return r.Type >= proto.WatcherChildren && r.Type <= proto.WatcherPersistentRecursive
	}
	return true
}

// unimplemented answers UNIMPLEMENTED with zxid -1, as ZooKeeper's
// UnimplementedRequestProcessor does, then closes the connection.
func (c *conn) unimplemented(xid int32) {
	if !c.waitIdle() {
		return
	}
	c.sendAndClose(proto.AppendReply(nil, proto.ReplyHeader{Xid: xid, Zxid: -1, Err: proto.CodeUnimplemented}, nil))
}

// waitIdle blocks until every earlier write of this connection has been answered, so that a
// read sees them (per-session FIFO). It returns false if the connection closed meanwhile.
func (c *conn) waitIdle() bool {
	c.pmu.Lock()
	for len(c.fifo) > 0 && !c.closed.Load() {
		c.cond.Wait()
	}
	c.pmu.Unlock()
	return !c.closed.Load()
}

func (c *conn) replyInOrder(xid int32, code proto.Code, body proto.Record) {
	if !c.waitIdle() {
		return
	}
	if code != proto.CodeOK {
		body = nil
	}
	c.send(proto.AppendReply(nil, proto.ReplyHeader{Xid: xid, Zxid: c.s.lastZxid(), Err: code}, body))
}

func (c *conn) replyAndClose(xid int32, code proto.Code) {
	if !c.waitIdle() {
		return
	}
	c.sendAndClose(proto.AppendReply(nil, proto.ReplyHeader{Xid: xid, Zxid: c.s.lastZxid(), Err: code}, nil))
}

// write proposes a txn for a write request; its reply is sent when the txn applies. body
// may alias the reader's buffer: propose encodes it before returning.
func (c *conn) write(h proto.RequestHeader, body []byte) bool {
	return c.propose(h, h.Type, body)
}

// propose queues a request in the pipeline and proposes its txn (of type op, with body, which
// is encoded into the log entry before propose returns and not kept).
func (c *conn) propose(h proto.RequestHeader, op proto.Op, body []byte) bool {
	r := &request{c: c, xid: h.Xid, op: h.Type, start: time.Now()}
	c.pmu.Lock()
	c.fifo = append(c.fifo, r)
	c.pmu.Unlock()
	c.seq++
	txn := &tree.Txn{
		Type:      op,
		SessionID: c.sessionID.Load(),
		Cxid:      h.Xid,
		Owner:     c.owner,
		Seq:       c.seq,
		Time:      time.Now().UnixMilli(),
		Auth:      c.authIDs(),
		Body:      body,
	}
	// Not waiting for raft to take it: the next request is read meanwhile, so one fsync
	// covers many of this connection's writes. If raft drops it, OnDropped closes the
	// connection, and Txn.Seq keeps any later write of it from applying.
	if err := c.s.proposeAsync(txn, r); err != nil {
		c.s.log.Warn("closing connection: proposal failed", "remote", c.remote, "err", err)
		return false
	}
	return true
}

// writeError proposes an error txn for a request refused in a way that consumes a zxid, as
// ZooKeeper logs an ErrorTxn for it; the reply carries code and the txn's zxid.
func (c *conn) writeError(h proto.RequestHeader, code proto.Code) bool {
	var e proto.Encoder
	e.Int(int32(code))
	return c.propose(h, proto.OpError, e.B)
}

// frameBufs keeps reply buffers between writes: a reply is encoded into one, copied into
// the connection's queue when its turn comes, and the buffer reused. The pool holds the
// pointer it handed out (putting &b of a fresh variable would allocate a new one each time).
var frameBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func getFrameBuf() *[]byte {
	p := frameBufs.Get().(*[]byte)
	*p = (*p)[:0]
	return p
}

func putFrameBuf(p *[]byte) {
	if cap(*p) <= 4096 {
		frameBufs.Put(p)
	}
}

// complete is called on the apply goroutine with the result of r's txn. The replies it
// releases are queued, and the writer woken once the whole batch of entries has applied
// (stateMachine.ApplyDone): one socket write per connection per batch.
func (c *conn) complete(r *request, res *tree.Result) {
	if r.resc != nil {
		r.resc <- *res
		return
	}
	if res.Err == proto.CodeSessionMoved {
		// ZooKeeper closes the connection instead of answering: the client has moved on.
		c.s.log.Info("closing a connection its session has moved away from (or that lost a write)", "session", hexID(c.sessionID.Load()), "remote", c.remote)
		c.close("session moved to another connection")
		return
	}
	var body proto.Record
	if res.Err == proto.CodeOK {
		body = res.Resp
	}
	frame := getFrameBuf()
	*frame = proto.AppendReply(*frame, proto.ReplyHeader{Xid: r.xid, Zxid: res.Zxid, Err: res.Err}, body)
	took := time.Since(r.start)
	c.s.stats.latency.observe(took)
	c.stats.observe(took, res.Zxid)
	c.pmu.Lock()
	r.done, r.frame = true, frame
	popped := 0
	for popped < len(c.fifo) && (c.fifo[popped].done || c.fifo[popped].query) {
		head := c.fifo[popped]
		popped++
		if head.query {
			// Every write before it has applied, and no later one of this connection has:
			// they apply in order, after this entry, on this goroutine.
			c.serve(head.xid, head.op, head.body, head.start, false)
			continue
		}
		if head.op == proto.OpCloseSession {
			c.enqueueAndClose(*head.frame)
		} else {
			c.enqueue(*head.frame)
		}
		putFrameBuf(head.frame) // enqueue copied it
		head.frame = nil
	}
	flushed := popped > 0
	if flushed {
		// Move what is left to the front: the queue keeps its array, and the appends of
		// later requests allocate nothing.
		n := copy(c.fifo, c.fifo[popped:])
		clear(c.fifo[n:])
		c.fifo = c.fifo[:n]
		if n == 0 {
			c.cond.Broadcast()
		}
	}
	c.pmu.Unlock()
	if flushed && !c.dirty {
		c.dirty = true
		c.s.sm.dirty = append(c.s.sm.dirty, c)
	}
}

// read answers a read request in order: now if no write of this connection is waiting,
// else once the writes before it have applied (complete serves it then). The reader goes on
// meanwhile, so a session's writes behind the read join the same fsync.
func (c *conn) read(h proto.RequestHeader, req proto.Record) {
	c.pmu.Lock()
	switch {
	case len(c.fifo) == 0:
		c.pmu.Unlock()
		// The reader flushes the reply before it waits for the client again.
		c.serve(h.Xid, h.Type, req, time.Now(), false)
		return
	case c.reconfigWaiting():
		// A reconfig is proposed when the change is made, maybe after writes behind it have
		// applied: a read queued behind it could see them. Wait instead.
		c.pmu.Unlock()
		if c.waitIdle() {
			c.serve(h.Xid, h.Type, req, time.Now(), true)
		}
		return
	}
	if req == proto.Record(&c.check.pw) {
		// It waits while the reader goes on: a copy of its own, not the frame's.
		pw := c.check.pw
		pw.Path = strings.Clone(pw.Path)
		req = &pw
	}
	c.fifo = append(c.fifo, &request{c: c, xid: h.Xid, op: h.Type, start: time.Now(), query: true, body: req})
	c.pmu.Unlock()
}

// reconfigWaiting reports whether a reconfig is in the pipeline; c.pmu is held.
func (c *conn) reconfigWaiting() bool {
	for _, r := range c.fifo {
		if r.op == proto.OpReconfig {
			return true
		}
	}
	return false
}

// serve runs a read against the local tree and queues its reply, waking the writer if wake
// (complete leaves that to the end of the applied batch).
func (c *conn) serve(xid int32, op proto.Op, req proto.Record, start time.Time, wake bool) {
	h := proto.RequestHeader{Xid: xid, Type: op}
	s := c.s
	sid := c.sessionID.Load()
	var code proto.Code
	var resp proto.Record
	var zxid int64
	switch h.Type {
	case proto.OpAddWatch:
		aw := req.(*proto.AddWatchRequest)
		kind := watch.KindPersistent
		if aw.Mode == proto.AddWatchPersistentRecursive {
			kind = watch.KindPersistentRecursive
		} else if aw.Mode != proto.AddWatchPersistent {
			code = proto.CodeBadArguments
		}
		if code == proto.CodeOK {
			c.addWatch(aw.Path, kind)
			resp = &proto.IntResponse{N: 0}
		}
		zxid = s.lastZxid()
	case proto.OpCheckWatches, proto.OpRemoveWatches:
		wr := req.(*proto.WatchesRequest)
		var found bool
		if h.Type == proto.OpCheckWatches {
			found = s.watches.Has(wr.Path, wr.Type, c)
		} else {
			found = s.watches.Remove(wr.Path, wr.Type, c)
		}
		if !found {
			code = proto.CodeNoWatcher
		}
		zxid = s.lastZxid()
	case proto.OpWhoAmI:
		ids := c.authIDs()
		infos := make([]proto.ClientInfo, 0, len(ids))
		for _, id := range ids {
			user := id.ID
			if id.Scheme == "digest" {
				// DigestAuthenticationProvider.getUserName: the id up to its first ':'.
				user, _, _ = strings.Cut(user, ":")
			}
			infos = append(infos, proto.ClientInfo{AuthScheme: id.Scheme, User: user})
		}
		resp = &proto.WhoAmIResponse{Infos: infos}
		zxid = s.lastZxid()
	default:
		auth := c.authIDs()
		s.treeMu.RLock()
		code, resp = s.tree.Read(h.Type, req, sid, auth)
		if pw, ok := req.(*proto.PathWatchRequest); ok && pw.Watch {
			kind, set := watch.KindData, true
			switch {
			case code == proto.CodeOK && (h.Type == proto.OpExists || h.Type == proto.OpGetData):
			case code == proto.CodeNoNode && h.Type == proto.OpExists:
			case code == proto.CodeOK:
				kind = watch.KindChild
			default:
				set = false
			}
			if set {
				c.addWatch(strings.Clone(pw.Path), kind) // the path may alias the frame (record)
			}
		}
		zxid = s.tree.LastZxid()
		s.treeMu.RUnlock()
	}
	if code != proto.CodeOK {
		resp = nil
	}
	c.reply(proto.ReplyHeader{Xid: h.Xid, Zxid: zxid, Err: code}, resp, wake)
	took := time.Since(start)
	s.stats.latency.observe(took)
	c.stats.observe(took, zxid)
}

// authenticate handles an auth packet (xid -4). A failed digest auth is answered with
// AUTHFAILED and the connection closed, as ZooKeeper does.
func (c *conn) authenticate(h proto.RequestHeader, body []byte) bool {
	var ap proto.AuthPacket
	if err := proto.Unmarshal(body, &ap); err != nil {
		c.replyAndClose(h.Xid, proto.CodeMarshallingError)
		return false
	}
	s := c.s
	fail := func(why string) bool {
		s.stats.authFailed.Add(1)
		s.log.Info("authentication failed", "remote", c.remote, "scheme", ap.Scheme, "why", why)
		if !c.waitIdle() {
			return false
		}
		c.sendAndClose(proto.AppendReply(nil, proto.ReplyHeader{Xid: h.Xid, Err: proto.CodeAuthFailed}, nil))
		return false
	}
	if ap.Scheme == "ip" {
		// The ip provider authenticates the connection's own address, which every
		// connection already has; whatever the client sent is ignored, as in ZooKeeper.
		if !c.waitIdle() {
			return false
		}
		c.send(proto.AppendReply(nil, proto.ReplyHeader{Xid: h.Xid, Zxid: 0}, nil))
		return true
	}
	if ap.Scheme != "digest" || !s.opts.DigestEnabled {
		return fail("unsupported scheme")
	}
	ids, ok := acl.DigestAuth(ap.Auth, s.opts.SuperDigest)
	if !ok {
		return fail("malformed credentials")
	}
	c.authMu.Lock()
	next := append(append([]proto.ID(nil), c.auth...), ids...)
	c.auth = dedupIDs(next)
	c.authMu.Unlock()
	if !c.waitIdle() {
		return false
	}
	c.send(proto.AppendReply(nil, proto.ReplyHeader{Xid: h.Xid, Zxid: 0}, nil))
	return true
}

func dedupIDs(ids []proto.ID) []proto.ID {
	out := ids[:0]
	seen := make(map[proto.ID]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// setWatches re-arms watches after a reconnect, firing at once those whose change the client
// missed (relative to the last zxid it saw).
func (c *conn) setWatches(h proto.RequestHeader, body []byte) bool {
	sw := proto.SetWatches{V2: h.Type == proto.OpSetWatches2}
	if err := proto.Unmarshal(body, &sw); err != nil {
		c.replyAndClose(proto.XidSetWatches, proto.CodeMarshallingError)
		return false
	}
	if !c.waitIdle() {
		return false
	}
	s := c.s
	rel := sw.RelativeZxid
	auth := c.authIDs()
	var events []proto.WatcherEvent
	fire := func(t proto.EventType, p string, nodeACL []proto.ACL) {
		if !s.opts.SkipACL && nodeACL != nil && !acl.Check(nodeACL, auth, proto.PermRead) {
			return
		}
		events = append(events, proto.WatcherEvent{Type: t, State: proto.StateSyncConnected, Path: p})
	}
	// rearm re-adds one-shot watches of a kind, or fires at once the change they missed: the
	// node's deletion, or a change newer than rel (mzxid for data, pzxid for children).
	// ZooKeeper's order is kept: data watches, then exist watches, then child watches.
	rearm := func(paths []string, kind watch.Kind, missed proto.EventType, changed func(*proto.Stat) int64) {
		for _, p := range paths {
			st, a, ok := s.tree.Lookup(p)
			switch {
			case !ok:
				fire(proto.EventNodeDeleted, p, nil)
			case changed(&st) > rel:
				fire(missed, p, a)
			default:
				c.addWatch(p, kind)
			}
		}
	}
	s.treeMu.RLock()
	rearm(sw.DataWatches, watch.KindData, proto.EventNodeDataChanged, func(st *proto.Stat) int64 { return st.Mzxid })
	for _, p := range sw.ExistWatches {
		if _, a, ok := s.tree.Lookup(p); ok {
			fire(proto.EventNodeCreated, p, a)
		} else {
			c.addWatch(p, watch.KindData)
		}
	}
	rearm(sw.ChildWatches, watch.KindChild, proto.EventNodeChildrenChanged, func(st *proto.Stat) int64 { return st.Pzxid })
	for _, p := range sw.PersistentWatches {
		c.addWatch(p, watch.KindPersistent)
	}
	for _, p := range sw.PersistentRecursive {
		c.addWatch(p, watch.KindPersistentRecursive)
	}
	zxid := s.tree.LastZxid()
	s.treeMu.RUnlock()
	for i := range events {
		c.Notify(events[i], -1)
	}
	c.send(proto.AppendReply(nil, proto.ReplyHeader{Xid: proto.XidSetWatches, Zxid: zxid}, nil))
	return true
}

// sync is a linearizable barrier: once every earlier write of the session is answered, it
// waits for a raft ReadIndex and echoes the path.
func (c *conn) sync(h proto.RequestHeader, body []byte) bool {
	var pr proto.PathRequest
	if err := proto.Unmarshal(body, &pr); err != nil {
		c.replyAndClose(h.Xid, proto.CodeMarshallingError)
		return false
	}
	if !c.waitIdle() {
		return false
	}
	c.flush() // replies to the reads before it need not wait for the barrier
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.timeout.Load())*time.Millisecond)
	err := c.s.node.ReadIndex(ctx)
	cancel()
	if err != nil {
		c.s.log.Warn("sync failed", "remote", c.remote, "err", err)
		return false
	}
	c.send(proto.AppendReply(nil, proto.ReplyHeader{Xid: h.Xid, Zxid: c.s.lastZxid()}, &pr))
	return true
}

func (s *Server) session(id int64) (tree.SessionInfo, bool) {
	s.treeMu.RLock()
	defer s.treeMu.RUnlock()
	return s.tree.Session(id)
}

func (s *Server) lastZxid() int64 {
	s.treeMu.RLock()
	defer s.treeMu.RUnlock()
	return s.tree.LastZxid()
}
