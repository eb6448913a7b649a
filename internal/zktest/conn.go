// Package zktest is a small, synchronous ZooKeeper wire client for tests: it speaks the raw
// protocol from internal/proto, so a test can send any request (including malformed ones) to
// Apache ZooKeeper or to paddock and compare exactly what comes back. It is not the public
// client (see /client); it has no reconnect logic and no chroot.
package zktest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/paddock/paddock/internal/proto"
)

// Event is a notification with the zxid from its reply header.
type Event struct {
	proto.WatcherEvent
	Zxid int64
}

// Conn is one session's connection. Call is safe for concurrent use, but replies are matched
// in order, as the protocol requires.
type Conn struct {
	nc        net.Conn
	r         *bufio.Reader
	SessionID int64
	Passwd    []byte
	Timeout   int32
	ReadOnly  bool

	mu       sync.Mutex // serialises Call
	xid      int32
	LastZxid int64

	Events chan Event // notifications, buffered
}

// Options for Dial.
type Options struct {
	Timeout      time.Duration // requested session timeout; default 10s
	SessionID    int64         // reconnect to this session
	Passwd       []byte
	LastZxidSeen int64
	NoReadOnly   bool // omit the trailing readOnly byte (a 3.3 client)
	ReadOnly     bool
}

// ErrSessionInvalid is returned by Dial when the server answers with timeout 0 (an expired or
// unknown session, or a wrong password).
var ErrSessionInvalid = errors.New("zktest: session expired or invalid")

// Dial connects and completes the handshake.
func Dial(addr string, o Options) (*Conn, error) {
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	passwd := o.Passwd
	if passwd == nil {
		passwd = make([]byte, 16)
	}
	req := proto.ConnectRequest{
		LastZxidSeen: o.LastZxidSeen, TimeOut: int32(o.Timeout.Milliseconds()),
		SessionID: o.SessionID, Passwd: passwd, ReadOnly: o.ReadOnly, HasReadOnly: !o.NoReadOnly,
	}
	c := &Conn{nc: nc, r: bufio.NewReader(nc), Events: make(chan Event, 1024)}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write(proto.AppendRecord(nil, &req)); err != nil {
		nc.Close()
		return nil, err
	}
	frame, err := proto.ReadFrame(c.r, nil, proto.DefaultMaxBuffer)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("zktest: handshake: %w", err)
	}
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(frame, &resp); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	if resp.TimeOut <= 0 {
		nc.Close()
		return nil, ErrSessionInvalid
	}
	c.SessionID, c.Passwd, c.Timeout, c.ReadOnly = resp.SessionID, resp.Passwd, resp.TimeOut, resp.ReadOnly
	return c, nil
}

// Close closes the socket without closing the session.
func (c *Conn) Close() error { return c.nc.Close() }

// Raw returns the underlying socket, for tests that write garbage.
func (c *Conn) Raw() net.Conn { return c.nc }

// Call sends one request and waits for its reply, decoding the body into resp when the reply
// has no error. Notifications that arrive first are queued on Events. Special xids (ping -2,
// auth -4, setWatches -8) are used for those ops.
func (c *Conn) Call(op proto.Op, req proto.Record, resp proto.Record) (proto.ReplyHeader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	xid := c.nextXid(op)
	if err := c.send(proto.RequestHeader{Xid: xid, Type: op}, req); err != nil {
		return proto.ReplyHeader{}, err
	}
	return c.await(xid, resp)
}

func (c *Conn) nextXid(op proto.Op) int32 {
	switch op {
	case proto.OpPing:
		return proto.XidPing
	case proto.OpAuth:
		return proto.XidAuth
	case proto.OpSetWatches, proto.OpSetWatches2:
		return proto.XidSetWatches
	}
	c.xid++
	return c.xid
}

func (c *Conn) send(h proto.RequestHeader, req proto.Record) error {
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write(proto.AppendRequest(nil, h, req))
	return err
}

// SendRaw writes bytes as they are.
func (c *Conn) SendRaw(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write(b)
	return err
}

func (c *Conn) await(xid int32, resp proto.Record) (proto.ReplyHeader, error) {
	for {
		h, body, err := c.ReadReply(10 * time.Second)
		if err != nil {
			return h, err
		}
		if h.Xid == proto.XidNotification {
			continue
		}
		if h.Zxid > 0 {
			c.LastZxid = h.Zxid
		}
		if h.Xid != xid {
			return h, fmt.Errorf("zktest: xid out of order: got %d, want %d", h.Xid, xid)
		}
		if h.Err == 0 && resp != nil {
			if err := proto.Unmarshal(body, resp); err != nil {
				return h, err
			}
		}
		return h, nil
	}
}

// ReadReply reads the next frame; a notification is also queued on Events.
func (c *Conn) ReadReply(timeout time.Duration) (proto.ReplyHeader, []byte, error) {
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	frame, err := proto.ReadFrame(c.r, nil, 16<<20)
	if err != nil {
		return proto.ReplyHeader{}, nil, err
	}
	d := proto.NewDecoder(frame)
	var h proto.ReplyHeader
	h.Decode(d)
	if d.Err() != nil {
		return h, nil, d.Err()
	}
	body := d.Rest()
	if h.Xid == proto.XidNotification {
		var ev proto.WatcherEvent
		if err := proto.Unmarshal(body, &ev); err != nil {
			return h, nil, err
		}
		select {
		case c.Events <- Event{WatcherEvent: ev, Zxid: h.Zxid}:
		default:
		}
	}
	return h, body, nil
}

// NextEvent waits up to timeout for a notification, reading the socket if none is queued.
func (c *Conn) NextEvent(timeout time.Duration) (Event, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for {
		select {
		case ev := <-c.Events:
			return ev, nil
		default:
		}
		left := time.Until(deadline)
		if left <= 0 {
			return Event{}, errors.New("zktest: no event")
		}
		if _, _, err := c.ReadReply(left); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return Event{}, errors.New("zktest: no event")
			}
			return Event{}, err
		}
	}
}

// FourLetter sends a four-letter word on a new connection and returns the answer.
func FourLetter(addr, cmd string) (string, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write([]byte(cmd)); err != nil {
		return "", err
	}
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := nc.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	return string(out), nil
}
