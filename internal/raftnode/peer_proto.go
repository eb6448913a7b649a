package raftnode

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// The peer protocol. Every connection starts with a handshake in which both
// ends prove knowledge of the ensemble's key; only then are frames read.
// Integers are big-endian.
//
//	dialer -> acceptor  hello    "PDKPEER\x00" u16 version, u16 body length, body:
//	                             u8 kind, u64 from, u64 to, [32] nonce,
//	                             u16 cluster id length, cluster id
//	acceptor -> dialer  welcome  "PDKPEER\x00" u16 version, u8 status; if status is 0:
//	                             u64 id, [32] nonce
//	dialer -> acceptor  proof    [32] MAC("client")
//	acceptor -> dialer  verdict  u8 status; if status is 0: [32] MAC("server")
//
// MAC(label) is HMAC-SHA256 keyed with the shared secret (the cluster id when
// there is none) over a fixed prefix, the label, the hello, the welcome and,
// under TLS, 32 bytes of keying material exported from the TLS session, which
// tie the proofs to that session. Each proof covers the other side's fresh
// nonce, so a recorded handshake cannot be replayed, and the labels differ,
// so one side's proof is useless as the other's. The dialer proves first, so
// that the acceptor can tell (and log) a wrong secret from a dropped
// connection; the dialer sends nothing more until the acceptor has proved
// itself too. A non-zero status is a rejection code (peerReject*), after
// which the acceptor closes.
//
// After the handshake the dialer sends frames: u32 payload length, u8 type,
// payload. A stream connection carries frameMsg frames (a raftpb.Message in
// protobuf wire format) one way, dialer to acceptor. A snapshot connection
// carries one frameMsg holding a MsgSnap, the snapshot file in frameSnapChunk
// frames, a frameSnapEnd frame holding the file's u64 length, and is
// answered by one frameSnapAck frame (u8 0 = delivered to raft).
const (
	peerMagic        = "PDKPEER\x00"
	peerVersion      = 1
	peerNonceLen     = 32
	peerMACLen       = sha256.Size
	peerBindingLen   = 32
	peerBindingLabel = "EXPORTER-paddock-peer-v1"
	maxClusterIDLen  = 1024

	peerHelloPrefixLen = len(peerMagic) + 2 + 2
	peerHelloMinBody   = 1 + 8 + 8 + peerNonceLen + 2
	peerHelloMaxBody   = peerHelloMinBody + maxClusterIDLen
	peerWelcomeHdrLen  = len(peerMagic) + 2 + 1
	peerWelcomeBodyLen = 8 + peerNonceLen

	peerKindStream   byte = 1
	peerKindSnapshot byte = 2

	frameHeaderLen      = 5
	frameMsg       byte = 1
	frameSnapChunk byte = 2
	frameSnapEnd   byte = 3
	frameSnapAck   byte = 4
)

// Rejection codes, sent in a welcome or verdict status.
const (
	peerRejectNone byte = iota
	peerRejectVersion
	peerRejectMalformed
	peerRejectCluster
	peerRejectUnknown
	peerRejectWrongMember
	peerRejectAuth
)

func peerRejectReason(code byte) string {
	switch code {
	case peerRejectVersion:
		return "unsupported protocol version"
	case peerRejectMalformed:
		return "malformed handshake"
	case peerRejectCluster:
		return "cluster id mismatch"
	case peerRejectUnknown:
		return "unknown member id"
	case peerRejectWrongMember:
		return "addressed to another member"
	case peerRejectAuth:
		return "authentication failed (wrong secret?)"
	}
	return fmt.Sprintf("rejection code %d", code)
}

var (
	// ErrPeerFrameTooLarge is returned when a frame exceeds the configured
	// limit, on either side.
	ErrPeerFrameTooLarge = errors.New("raftnode: peer frame too large")

	errPeerBadMagic = errors.New("raftnode: peer: not the peer protocol (bad magic)")
)

// peerHandshakeError is a handshake that failed on a decision (as opposed to
// I/O): the code says why, detail adds what the logs need.
type peerHandshakeError struct {
	code   byte
	remote bool // the other end rejected us
	detail string
}

func (e *peerHandshakeError) Error() string {
	who := "peer handshake"
	if e.remote {
		who = "rejected by peer"
	}
	if e.detail == "" {
		return fmt.Sprintf("raftnode: %s: %s", who, peerRejectReason(e.code))
	}
	return fmt.Sprintf("raftnode: %s: %s: %s", who, peerRejectReason(e.code), e.detail)
}

type peerHello struct {
	kind    byte
	from    uint64
	to      uint64
	nonce   [peerNonceLen]byte
	cluster string
}

func appendPeerHello(b []byte, h peerHello) []byte {
	b = append(b, peerMagic...)
	b = binary.BigEndian.AppendUint16(b, peerVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(peerHelloMinBody+len(h.cluster)))
	b = append(b, h.kind)
	b = binary.BigEndian.AppendUint64(b, h.from)
	b = binary.BigEndian.AppendUint64(b, h.to)
	b = append(b, h.nonce[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.cluster)))
	return append(b, h.cluster...)
}

// readPeerHello reads a hello from r and returns it with its raw bytes (for
// the MAC transcript). A wrong version is a *peerHandshakeError with code
// peerRejectVersion.
func readPeerHello(r io.Reader) (peerHello, []byte, error) {
	raw := make([]byte, peerHelloPrefixLen, peerHelloPrefixLen+peerHelloMaxBody)
	if _, err := io.ReadFull(r, raw); err != nil {
		return peerHello{}, nil, err
	}
	if string(raw[:len(peerMagic)]) != peerMagic {
		return peerHello{}, nil, errPeerBadMagic
	}
	if v := binary.BigEndian.Uint16(raw[len(peerMagic):]); v != peerVersion {
		return peerHello{}, nil, &peerHandshakeError{code: peerRejectVersion, detail: fmt.Sprintf("peer speaks version %d, we speak %d", v, peerVersion)}
	}
	n := int(binary.BigEndian.Uint16(raw[len(peerMagic)+2:]))
	if n < peerHelloMinBody || n > peerHelloMaxBody {
		return peerHello{}, nil, &peerHandshakeError{code: peerRejectMalformed, detail: fmt.Sprintf("hello body of %d bytes", n)}
	}
	raw = raw[:peerHelloPrefixLen+n]
	if _, err := io.ReadFull(r, raw[peerHelloPrefixLen:]); err != nil {
		return peerHello{}, nil, err
	}
	h, err := decodePeerHelloBody(raw[peerHelloPrefixLen:])
	return h, raw, err
}

func decodePeerHelloBody(b []byte) (peerHello, error) {
	var h peerHello
	if len(b) < peerHelloMinBody {
		return h, &peerHandshakeError{code: peerRejectMalformed, detail: "hello truncated"}
	}
	h.kind = b[0]
	h.from = binary.BigEndian.Uint64(b[1:])
	h.to = binary.BigEndian.Uint64(b[9:])
	copy(h.nonce[:], b[17:17+peerNonceLen])
	b = b[17+peerNonceLen:]
	n := int(binary.BigEndian.Uint16(b))
	if n != len(b)-2 {
		return peerHello{}, &peerHandshakeError{code: peerRejectMalformed, detail: "cluster id length does not match the hello"}
	}
	h.cluster = string(b[2:])
	if h.kind != peerKindStream && h.kind != peerKindSnapshot {
		return peerHello{}, &peerHandshakeError{code: peerRejectMalformed, detail: fmt.Sprintf("unknown connection kind %d", h.kind)}
	}
	if h.from == 0 {
		return peerHello{}, &peerHandshakeError{code: peerRejectMalformed, detail: "member id 0"}
	}
	return h, nil
}

func appendPeerWelcomeHeader(b []byte, status byte) []byte {
	b = append(b, peerMagic...)
	b = binary.BigEndian.AppendUint16(b, peerVersion)
	return append(b, status)
}

// peerAuth holds what both sides of a handshake need. It is immutable.
type peerAuth struct {
	id      uint64
	cluster string
	key     []byte
}

func (a *peerAuth) mac(label string, hello, welcome, binding []byte) []byte {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte("paddock peer handshake v1\x00"))
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write(hello)
	m.Write(welcome)
	m.Write(binding)
	return m.Sum(nil)
}

// accept runs the acceptor's side of the handshake: it reads from r, answers
// on w and returns the dialer's hello once the dialer has proved it holds the
// key. known reports whether a member id belongs to the ensemble. binding is
// the TLS keying material, or nil on plaintext. On a decision error (a
// *peerHandshakeError) the rejection has been sent.
func (a *peerAuth) accept(r io.Reader, w io.Writer, binding []byte, known func(uint64) bool) (peerHello, error) {
	h, hello, err := readPeerHello(r)
	reject := func(code byte, detail string) (peerHello, error) {
		w.Write(appendPeerWelcomeHeader(nil, code))
		return peerHello{}, &peerHandshakeError{code: code, detail: detail}
	}
	var he *peerHandshakeError
	switch {
	case errors.As(err, &he):
		return reject(he.code, he.detail)
	case errors.Is(err, errPeerBadMagic):
		return reject(peerRejectMalformed, "bad magic")
	case err != nil:
		return peerHello{}, err
	case h.cluster != a.cluster:
		return reject(peerRejectCluster, fmt.Sprintf("member %d says %q", h.from, truncateForLog(h.cluster, 64)))
	case h.to != a.id:
		return reject(peerRejectWrongMember, fmt.Sprintf("member %d dialled member %d, this is %d", h.from, h.to, a.id))
	case h.from == a.id || !known(h.from):
		return reject(peerRejectUnknown, fmt.Sprintf("member %d", h.from))
	}
	welcome := appendPeerWelcomeHeader(make([]byte, 0, peerWelcomeHdrLen+peerWelcomeBodyLen), peerRejectNone)
	welcome = binary.BigEndian.AppendUint64(welcome, a.id)
	var nonce [peerNonceLen]byte
	rand.Read(nonce[:])
	welcome = append(welcome, nonce[:]...)
	if _, err := w.Write(welcome); err != nil {
		return peerHello{}, err
	}
	proof := make([]byte, peerMACLen)
	if _, err := io.ReadFull(r, proof); err != nil {
		return peerHello{}, err
	}
	if !hmac.Equal(proof, a.mac("client", hello, welcome, binding)) {
		w.Write([]byte{peerRejectAuth})
		return peerHello{}, &peerHandshakeError{code: peerRejectAuth, detail: fmt.Sprintf("member %d", h.from)}
	}
	verdict := append([]byte{peerRejectNone}, a.mac("server", hello, welcome, binding)...)
	if _, err := w.Write(verdict); err != nil {
		return peerHello{}, err
	}
	return h, nil
}

// dial runs the dialer's side of the handshake for a connection of the given
// kind to member to. A rejection by the acceptor, or an acceptor that cannot
// prove it holds the key, is a *peerHandshakeError.
func (a *peerAuth) dial(r io.Reader, w io.Writer, to uint64, kind byte, binding []byte) error {
	h := peerHello{kind: kind, from: a.id, to: to, cluster: a.cluster}
	rand.Read(h.nonce[:])
	hello := appendPeerHello(nil, h)
	if _, err := w.Write(hello); err != nil {
		return err
	}
	welcome := make([]byte, peerWelcomeHdrLen, peerWelcomeHdrLen+peerWelcomeBodyLen)
	if _, err := io.ReadFull(r, welcome); err != nil {
		return err
	}
	if string(welcome[:len(peerMagic)]) != peerMagic {
		return errPeerBadMagic
	}
	v := binary.BigEndian.Uint16(welcome[len(peerMagic):])
	if status := welcome[peerWelcomeHdrLen-1]; status != peerRejectNone {
		detail := ""
		if status == peerRejectVersion {
			detail = fmt.Sprintf("peer speaks version %d, we speak %d", v, peerVersion)
		}
		return &peerHandshakeError{code: status, remote: true, detail: detail}
	}
	if v != peerVersion {
		return &peerHandshakeError{code: peerRejectVersion, detail: fmt.Sprintf("peer answered with version %d", v)}
	}
	welcome = welcome[:peerWelcomeHdrLen+peerWelcomeBodyLen]
	if _, err := io.ReadFull(r, welcome[peerWelcomeHdrLen:]); err != nil {
		return peerNoEOF(err)
	}
	if id := binary.BigEndian.Uint64(welcome[peerWelcomeHdrLen:]); id != to {
		return &peerHandshakeError{code: peerRejectWrongMember, detail: fmt.Sprintf("the peer is member %d, expected %d", id, to)}
	}
	if _, err := w.Write(a.mac("client", hello, welcome, binding)); err != nil {
		return err
	}
	var verdict [1 + peerMACLen]byte
	if _, err := io.ReadFull(r, verdict[:1]); err != nil {
		return err
	}
	if verdict[0] != peerRejectNone {
		return &peerHandshakeError{code: verdict[0], remote: true}
	}
	if _, err := io.ReadFull(r, verdict[1:]); err != nil {
		return peerNoEOF(err)
	}
	if !hmac.Equal(verdict[1:], a.mac("server", hello, welcome, binding)) {
		return &peerHandshakeError{code: peerRejectAuth, detail: fmt.Sprintf("member %d could not prove it holds the key", to)}
	}
	return nil
}

// appendPeerMessage appends m as a frameMsg frame. It fails if m's encoding
// exceeds limit bytes.
func appendPeerMessage(b []byte, m *pb.Message, limit int) ([]byte, error) {
	start := len(b)
	b = append(b, 0, 0, 0, 0, frameMsg)
	b, err := proto.MarshalOptions{}.MarshalAppend(b, m)
	if err != nil {
		return b[:start], fmt.Errorf("raftnode: peer: encode %s: %w", m.GetType(), err)
	}
	n := len(b) - start - frameHeaderLen
	if n > limit {
		return b[:start], fmt.Errorf("%w: %s of %d bytes, limit %d", ErrPeerFrameTooLarge, m.GetType(), n, limit)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(n))
	return b, nil
}

func appendPeerFrame(b []byte, typ byte, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, typ)
	return append(b, payload...)
}

// readPeerFrame reads one frame of at most limit payload bytes from r. The
// payload is read into buf when it fits (and then aliases it); a larger one
// is allocated as its bytes arrive, so a lying length costs no memory.
func readPeerFrame(r io.Reader, limit int, buf []byte) (typ byte, payload []byte, err error) {
	var hdr [frameHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int64(binary.BigEndian.Uint32(hdr[:]))
	if n > int64(limit) {
		return 0, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrPeerFrameTooLarge, n, limit)
	}
	if n <= int64(cap(buf)) {
		payload = buf[:n]
		if _, err := io.ReadFull(r, payload); err != nil {
			return 0, nil, peerNoEOF(err)
		}
		return hdr[4], payload, nil
	}
	var bb bytes.Buffer
	bb.Grow(int(min(n, 1<<20)))
	got, err := bb.ReadFrom(io.LimitReader(r, n))
	if err == nil && got < n {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return 0, nil, err
	}
	return hdr[4], bb.Bytes(), nil
}

func peerNoEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// decodePeerMessage decodes a frameMsg payload sent by member from to member
// to, and refuses what no peer may send: messages claiming another sender or
// recipient, and raft's local message types.
func decodePeerMessage(payload []byte, from, to uint64) (*pb.Message, error) {
	m := new(pb.Message)
	if err := proto.Unmarshal(payload, m); err != nil {
		return nil, fmt.Errorf("raftnode: peer %d: malformed message: %w", from, err)
	}
	if err := checkPeerMessage(m, from, to); err != nil {
		return nil, err
	}
	return m, nil
}

func checkPeerMessage(m *pb.Message, from, to uint64) error {
	switch t := m.GetType(); {
	case m.GetFrom() != from:
		return fmt.Errorf("raftnode: peer %d sent a %s claiming to be from %d", from, t, m.GetFrom())
	case m.GetTo() != to:
		return fmt.Errorf("raftnode: peer %d sent a %s addressed to %d", from, t, m.GetTo())
	case raft.IsLocalMsg(t):
		return fmt.Errorf("raftnode: peer %d sent local message type %s", from, t)
	case pb.MessageType_name[int32(t)] == "":
		return fmt.Errorf("raftnode: peer %d sent unknown message type %d", from, t)
	}
	return nil
}

func truncateForLog(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
