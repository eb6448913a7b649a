package harness

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// fourLetter sends a four-letter word to addr and returns everything the server writes
// back before it closes the connection.
func fourLetter(addr, cmd string, timeout time.Duration) (string, error) {
	c, err := dial(addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", err
	}
	out, err := io.ReadAll(c)
	return string(out), err
}

// dial connects to addr, refusing a socket connected to itself: probing a local port the
// server has not bound yet can pick that very port as the source (TCP simultaneous open),
// and the probe would then hold the port the server is about to bind.
func dial(addr string, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	if c.LocalAddr().String() == c.RemoteAddr().String() {
		c.Close()
		return nil, fmt.Errorf("dial %s: connected to itself (nothing listens there yet)", addr)
	}
	return c, nil
}

// Opcode and sizes of the client protocol that probeSession needs. They are written out
// here rather than taken from internal/proto so the harness does not trust the code it
// tests.
const (
	opCloseSession  = -11
	probeTimeoutMs  = 10000
	passwordLen     = 16
	maxProbeReplySz = 1 << 16
)

// probeSession proves that addr serves the client protocol: it sends a ConnectRequest for
// a new session, expects a ConnectResponse with a session id and a positive timeout, and
// then closes that session so it does not linger until it expires.
func probeSession(addr string, timeout time.Duration) error {
	c, err := dial(addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}

	// ConnectRequest: protocolVersion int, lastZxidSeen long, timeOut int, sessionId long,
	// passwd buffer, readOnly bool.
	req := make([]byte, 4, 4+4+8+4+8+4+passwordLen+1)
	req = binary.BigEndian.AppendUint32(req, 0)
	req = binary.BigEndian.AppendUint64(req, 0)
	req = binary.BigEndian.AppendUint32(req, probeTimeoutMs)
	req = binary.BigEndian.AppendUint64(req, 0)
	req = binary.BigEndian.AppendUint32(req, passwordLen)
	req = append(req, make([]byte, passwordLen)...)
	req = append(req, 0)
	binary.BigEndian.PutUint32(req, uint32(len(req)-4))
	if _, err := c.Write(req); err != nil {
		return err
	}

	// ConnectResponse: protocolVersion int, timeOut int, sessionId long, passwd buffer,
	// [readOnly bool].
	resp, err := readFrame(c)
	if err != nil {
		return fmt.Errorf("reading ConnectResponse: %w", err)
	}
	if len(resp) < 4+4+8+4 {
		return fmt.Errorf("short ConnectResponse (%d bytes)", len(resp))
	}
	negotiated := int32(binary.BigEndian.Uint32(resp[4:]))
	session := int64(binary.BigEndian.Uint64(resp[8:]))
	if negotiated <= 0 || session == 0 {
		return fmt.Errorf("server refused the session (timeout %d, session 0x%x)", negotiated, session)
	}

	// closeSession: RequestHeader{xid int, type int}, no body.
	op := int32(opCloseSession)
	closeReq := binary.BigEndian.AppendUint32(nil, 8)
	closeReq = binary.BigEndian.AppendUint32(closeReq, 1)
	closeReq = binary.BigEndian.AppendUint32(closeReq, uint32(op))
	if _, err := c.Write(closeReq); err != nil {
		return err
	}
	// ReplyHeader: xid int, zxid long, err int.
	reply, err := readFrame(c)
	if err != nil {
		return fmt.Errorf("reading closeSession reply: %w", err)
	}
	if len(reply) < 16 {
		return fmt.Errorf("short closeSession reply (%d bytes)", len(reply))
	}
	if code := int32(binary.BigEndian.Uint32(reply[12:])); code != 0 {
		return fmt.Errorf("closeSession failed with error code %d", code)
	}
	return nil
}

func readFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if n < 0 || n > maxProbeReplySz {
		return nil, errors.New("frame length out of range")
	}
	buf := make([]byte, n)
	_, err := io.ReadFull(r, buf)
	return buf, err
}
