package client

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/paddock/paddock/internal/proto"
)

// conn is one TCP connection of the session, from the handshake until it dies. Its reader and
// writer goroutines start in start and end when it dies; the run loop waits for both before
// it fails what was left pending and connects again.
type conn struct {
	c        *Client
	nc       net.Conn
	br       *bufio.Reader
	addr     string
	timeout  time.Duration // the negotiated session timeout
	readOnly bool

	deadc    chan struct{} // closed by kill
	deadOnce sync.Once
	deadErr  error // why it died; written before deadc is closed

	pmu     sync.Mutex
	pending fifo // guarded by pmu: written requests waiting for their reply, in xid order
	auths   fifo // guarded by pmu: written auth packets (xid -4), in order

	wg sync.WaitGroup // the reader and the writer
}

// readBufferSize is the size of a connection's read buffer: many small replies are read with
// one syscall.
const readBufferSize = 64 << 10

// pingFrame is a whole ping request.
var pingFrame = proto.AppendRequest(nil, proto.RequestHeader{Xid: proto.XidPing, Type: proto.OpPing}, nil)

// errExpired is the handshake's report that the server no longer knows the session.
var errExpired = errors.New("session expired")

// dial connects to addr and performs the handshake, asking for the current session (or a new
// one). It returns errExpired when the server answers that the session is gone.
func (c *Client) dial(addr string) (*conn, *proto.ConnectResponse, error) {
	c.mu.Lock()
	req := proto.ConnectRequest{
		LastZxidSeen: c.lastZxid.Load(),
		TimeOut:      int32(c.opts.SessionTimeout.Milliseconds()),
		SessionID:    c.sessionID,
		Passwd:       c.passwd,
		ReadOnly:     c.opts.ReadOnly,
		HasReadOnly:  true,
	}
	if !c.seenRW {
		// A session granted by a read-only server exists on that server only; ask a
		// read-write server for a real one (as ZooKeeper's Java client does).
		req.SessionID, req.Passwd = 0, nil
	}
	timeout := c.connectTimeout()
	c.mu.Unlock()
	if req.Passwd == nil {
		req.Passwd = make([]byte, 16)
	}

	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	nc, err := c.opts.Dialer(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	// Close or the timeout abort the handshake's reads and writes.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*conn, *proto.ConnectResponse, error) {
		stop()
		nc.Close()
		if ctx.Err() != nil && c.ctx.Err() == nil {
			err = fmt.Errorf("handshake timed out after %v: %w", timeout, err)
		}
		return nil, nil, err
	}
	if d, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(d)
	}
	if _, err := nc.Write(proto.AppendRecord(nil, &req)); err != nil {
		return fail(err)
	}
	br := bufio.NewReaderSize(nc, readBufferSize)
	frame, err := proto.ReadFrame(br, nil, 1024)
	if err != nil {
		if err == io.EOF {
			err = errors.New("the server closed the connection during the handshake")
		}
		return fail(err)
	}
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(frame, &resp); err != nil {
		return fail(fmt.Errorf("%w: ConnectResponse: %v", ErrProtocol, err))
	}
	if resp.TimeOut <= 0 {
		return fail(errExpired)
	}
	if !stop() {
		nc.Close()
		return nil, nil, ctx.Err()
	}
	_ = nc.SetDeadline(time.Time{})
	cn := &conn{
		c:        c,
		nc:       nc,
		br:       br,
		addr:     addr,
		timeout:  time.Duration(resp.TimeOut) * time.Millisecond,
		readOnly: resp.ReadOnly,
		deadc:    make(chan struct{}),
	}
	return cn, &resp, nil
}

// start writes the priming frames (the session's credentials, then its watches) and starts
// the reader and the writer. The server handles them in order, before anything queued. The
// priming write is bounded by timeout.
func (cn *conn) start(prime []*request, timeout time.Duration) {
	var b []byte
	cn.pmu.Lock()
	for _, r := range prime {
		b = append(b, r.enc.B...)
		if r.op == proto.OpAuth {
			cn.auths.push(r)
		} else {
			cn.pending.push(r)
		}
	}
	cn.pmu.Unlock()
	if len(b) > 0 {
		_ = cn.nc.SetWriteDeadline(time.Now().Add(timeout))
		if _, err := cn.nc.Write(b); err != nil {
			cn.kill(err)
		}
		_ = cn.nc.SetWriteDeadline(time.Time{})
	}
	cn.wg.Add(2)
	go cn.readLoop()
	go cn.writeLoop()
}

// kill ends the connection (once) with err as the reason.
func (cn *conn) kill(err error) {
	cn.deadOnce.Do(func() {
		cn.deadErr = err
		close(cn.deadc)
		cn.nc.Close()
	})
}

func (cn *conn) dead() bool {
	select {
	case <-cn.deadc:
		return true
	default:
		return false
	}
}

// finish waits for the reader and the writer and fails what is still pending with
// ErrConnectionLoss (the server may or may not have carried those requests out), or with
// ErrClosed when Close ended the connection.
func (cn *conn) finish() {
	cn.wg.Wait()
	cn.pmu.Lock()
	pending := cn.pending.drain()
	auths := cn.auths.drain()
	cn.pmu.Unlock()
	var err error = ErrConnectionLoss
	if cn.deadErr == ErrClosed {
		err = ErrClosed
	}
	for _, r := range pending {
		r.fail(err)
	}
	for _, r := range auths {
		r.fail(err)
	}
}

// writeLoop writes queued requests, many per syscall, and pings the server when nothing was
// sent for a third of the session timeout.
func (cn *conn) writeLoop() {
	defer cn.wg.Done()
	c := cn.c
	interval := cn.timeout / 3
	ping := time.NewTimer(interval)
	defer ping.Stop()
	var batch []*request
	var buf []byte
	// Requests may have queued up while there was no connection.
	select {
	case c.wakec <- struct{}{}:
	default:
	}
	for {
		select {
		case <-cn.deadc:
			return
		case <-ping.C:
			if _, err := cn.nc.Write(pingFrame); err != nil {
				cn.kill(err)
				return
			}
			ping.Reset(interval)
			continue
		case <-c.wakec:
		}
		var more bool
		batch, more = c.takeQueue(batch[:0])
		if more {
			select {
			case c.wakec <- struct{}{}:
			default:
			}
		}
		if len(batch) == 0 {
			continue
		}
		if cn.dead() {
			if !c.requeue(batch) {
				for _, r := range batch {
					r.fail(ErrClosed)
				}
			}
			return
		}
		buf = buf[:0]
		cn.pmu.Lock()
		for _, r := range batch {
			switch r.op {
			case proto.OpAuth:
				r.setXid(proto.XidAuth)
				cn.auths.push(r)
			default:
				r.setXid(c.nextXid())
				cn.pending.push(r)
			}
			buf = append(buf, r.enc.B...)
		}
		cn.pmu.Unlock()
		clear(batch)
		if _, err := cn.nc.Write(buf); err != nil {
			cn.kill(err)
			return
		}
		if cap(buf) > maxPooledBuffer {
			buf = nil
		}
		ping.Reset(interval)
	}
}

// readLoop reads and dispatches frames until the connection dies. Silence for two thirds of
// the session timeout (the writer pings every third) means the server is gone.
func (cn *conn) readLoop() {
	defer cn.wg.Done()
	readTimeout := 2 * cn.timeout / 3
	refresh := readTimeout / 8
	var deadlineSet time.Time
	var buf []byte
	for {
		if now := time.Now(); now.Sub(deadlineSet) > refresh {
			deadlineSet = now
			_ = cn.nc.SetReadDeadline(now.Add(readTimeout))
		}
		frame, err := proto.ReadFrame(cn.br, buf, cn.c.opts.MaxFrameSize)
		if err != nil {
			if errors.Is(err, proto.ErrFrameTooLarge) {
				err = fmt.Errorf("%w: %v", ErrProtocol, err)
			}
			cn.kill(err)
			return
		}
		buf, err = cn.dispatch(frame)
		if err != nil {
			cn.kill(err)
			return
		}
	}
}

// dispatch handles one frame from the server. It returns the buffer to read the next frame
// into: frame itself, unless a request took it over.
func (cn *conn) dispatch(frame []byte) ([]byte, error) {
	c := cn.c
	if len(frame) < replyHeaderSize {
		return frame, fmt.Errorf("%w: reply of %d bytes", ErrProtocol, len(frame))
	}
	xid := int32(binary.BigEndian.Uint32(frame[0:4]))
	zxid := int64(binary.BigEndian.Uint64(frame[4:12]))
	code := proto.Code(binary.BigEndian.Uint32(frame[12:16]))
	switch xid {
	case proto.XidPing:
		return frame, nil
	case proto.XidNotification:
		var ev proto.WatcherEvent
		var d proto.Decoder
		d.Reset(frame[replyHeaderSize:])
		d.Max = c.opts.MaxFrameSize
		ev.Decode(&d)
		if err := d.Err(); err != nil {
			return frame, fmt.Errorf("%w: notification: %v", ErrProtocol, err)
		}
		c.watches.trigger(c, ev.Type, ev.Path, zxid)
		return frame, nil
	case proto.XidAuth:
		cn.pmu.Lock()
		r := cn.auths.pop()
		cn.pmu.Unlock()
		if r == nil {
			return frame, fmt.Errorf("%w: auth reply without an auth request", ErrProtocol)
		}
		cn.authReply(r, code)
		return frame, nil
	}
	cn.pmu.Lock()
	r := cn.pending.pop()
	cn.pmu.Unlock()
	if r == nil {
		return frame, fmt.Errorf("%w: reply xid %d with nothing pending", ErrProtocol, xid)
	}
	if r.xid != xid {
		r.fail(ErrConnectionLoss)
		return frame, fmt.Errorf("%w: reply xid %d out of order (expected %d)", ErrProtocol, xid, r.xid)
	}
	if zxid > 0 {
		c.noteZxid(zxid)
	}
	if r.watch != nil {
		c.watches.onReply(c, r.watch, code)
	}
	if r.internal {
		if code != proto.CodeOK {
			c.log.Warn("request of the client failed", "op", r.op.String(), "err", code.String(), "server", cn.addr)
		}
		r.release()
		return frame, nil
	}
	r.code, r.zxid = code, zxid
	next := r.frame[:0]
	r.frame = frame
	r.complete()
	return next, nil
}

// authReply completes an auth request. A refused credential is reported with
// StateAuthFailed; the server closes the connection after it, and the client reconnects
// without it.
func (cn *conn) authReply(r *request, code proto.Code) {
	c := cn.c
	if code == proto.CodeOK {
		if !r.internal {
			c.addCredential(r.cred)
		}
	} else {
		if r.internal {
			c.dropCredential(r.cred)
		}
		c.emit(Event{State: StateAuthFailed, SessionID: c.SessionID(), Server: cn.addr, Err: errorOf(code)})
	}
	if r.internal {
		r.release()
		return
	}
	r.code = code
	r.complete()
}

// probeReadWrite asks addr with the "isro" four-letter word whether it serves read-write
// clients.
func (c *Client) probeReadWrite(addr string) bool {
	ctx, cancel := context.WithTimeout(c.ctx, c.connectTimeoutNow())
	defer cancel()
	nc, err := c.opts.Dialer(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer nc.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(d)
	}
	if _, err := nc.Write([]byte("isro")); err != nil {
		return false
	}
	var b [2]byte
	if _, err := io.ReadFull(nc, b[:]); err != nil {
		return false
	}
	return string(b[:]) == "rw"
}
