package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFrameTooLarge is returned (wrapped) by ReadFrame for a length outside 0..max.
var ErrFrameTooLarge = errors.New("proto: frame length out of range")

// ReadFrame reads one frame (a 4-byte big-endian length, then that many bytes) from r and
// returns its payload, reusing buf when it is large enough. A length below 0 or above max
// returns ErrFrameTooLarge without reading the payload.
func ReadFrame(r io.Reader, buf []byte, max int) ([]byte, error) {
	// The length is read into buf too (a local array would escape through r, costing an
	// allocation per frame).
	if cap(buf) < 4 {
		buf = make([]byte, 4, 64)
	}
	hdr := buf[:4]
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr))
	if n < 0 || int(n) > max {
		return nil, fmt.Errorf("%w: %d (max %d)", ErrFrameTooLarge, n, max)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// BeginFrame appends a placeholder length to b and returns the extended slice and the
// placeholder's offset, for EndFrame.
func BeginFrame(b []byte) ([]byte, int) {
	return append(b, 0, 0, 0, 0), len(b)
}

// EndFrame writes the length of everything appended since BeginFrame at offset start.
func EndFrame(b []byte, start int) []byte {
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

// AppendReply appends a whole reply frame: header plus optional body.
func AppendReply(b []byte, h ReplyHeader, body Record) []byte {
	b, start := BeginFrame(b)
	e := Encoder{B: b}
	h.Encode(&e)
	// The common replies are encoded through their concrete types, so that e stays on the
	// stack: an Encoder passed to an interface method is allocated, once per reply.
	switch r := body.(type) {
	case nil:
	case *StatResponse:
		r.Encode(&e)
	case *GetDataResponse:
		r.Encode(&e)
	case *Create2Response:
		r.Encode(&e)
	case *PathRequest:
		r.Encode(&e)
	case *ChildrenResponse:
		r.Encode(&e)
	default:
		he := &Encoder{B: e.B}
		body.Encode(he)
		e.B = he.B
	}
	return EndFrame(e.B, start)
}

// AppendRequest appends a whole request frame: header plus optional body.
func AppendRequest(b []byte, h RequestHeader, body Record) []byte {
	b, start := BeginFrame(b)
	e := Encoder{B: b}
	h.Encode(&e)
	if body != nil {
		body.Encode(&e)
	}
	return EndFrame(e.B, start)
}

// AppendRecord appends a frame holding one bare record (the connect handshake).
func AppendRecord(b []byte, r Record) []byte {
	b, start := BeginFrame(b)
	e := Encoder{B: b}
	r.Encode(&e)
	return EndFrame(e.B, start)
}
