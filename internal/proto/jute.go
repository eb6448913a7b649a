// Package proto is ZooKeeper's client wire protocol: the jute binary encoding, every request
// and response record of the 3.9 op set, opcodes, error codes and framing.
//
// It uses the standard library only and no reflection. Records encode by appending to a
// caller-owned byte slice (so buffers can be pooled) and decode from a byte slice with a sticky
// error: a malformed or truncated record yields ErrMalformed (wrapped with the field that failed),
// never a panic. Decoded strings are copies (unless Decoder.Unmarshal is asked for views);
// decoded []byte fields alias the input buffer unless a record's doc says otherwise, so a
// caller that keeps them must copy or keep the frame alive.
package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// DefaultMaxBuffer is jute.maxbuffer's default: the largest frame and the largest single
// buffer or string the server accepts.
const DefaultMaxBuffer = 0xfffff

// ErrMalformed is returned (wrapped) for input that is not a valid jute record.
var ErrMalformed = errors.New("proto: malformed record")

// Encoder appends jute-encoded values to B. The zero value is ready to use.
type Encoder struct {
	B []byte
}

// Int appends a 4-byte big-endian int.
func (e *Encoder) Int(v int32) { e.B = binary.BigEndian.AppendUint32(e.B, uint32(v)) }

// Long appends an 8-byte big-endian long.
func (e *Encoder) Long(v int64) { e.B = binary.BigEndian.AppendUint64(e.B, uint64(v)) }

// Bool appends one byte, 0 or 1.
func (e *Encoder) Bool(v bool) {
	if v {
		e.B = append(e.B, 1)
	} else {
		e.B = append(e.B, 0)
	}
}

// String appends a length-prefixed UTF-8 string. The empty string is encoded with length 0;
// use NullString for jute's null.
func (e *Encoder) String(s string) {
	e.Int(int32(len(s)))
	e.B = append(e.B, s...)
}

// NullString appends a null string (length -1).
func (e *Encoder) NullString() { e.Int(-1) }

// Buffer appends a length-prefixed byte buffer; nil is encoded as null (length -1).
func (e *Encoder) Buffer(b []byte) {
	if b == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(b)))
	e.B = append(e.B, b...)
}

// Strings appends a vector of strings; nil is encoded as null (count -1).
func (e *Encoder) Strings(v []string) {
	if v == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(v)))
	for _, s := range v {
		e.String(s)
	}
}

// Decoder reads jute values from a byte slice. After the first error every read returns a zero
// value and Err reports that first error.
type Decoder struct {
	b   []byte
	off int
	err error
	// Max bounds the length of any single buffer, string or vector count. Zero means
	// DefaultMaxBuffer.
	Max int
	// view makes strings alias the input instead of copying it (Decoder.Unmarshal).
	view bool
}

// NewDecoder returns a decoder over b with the default length bound.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Reset points the decoder at b and clears its error.
func (d *Decoder) Reset(b []byte) { d.b, d.off, d.err = b, 0, nil }

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// Len returns the number of unread bytes.
func (d *Decoder) Len() int { return len(d.b) - d.off }

// Offset returns the number of bytes consumed.
func (d *Decoder) Offset() int { return d.off }

// Rest returns the unread bytes without consuming them.
func (d *Decoder) Rest() []byte { return d.b[d.off:] }

func (d *Decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at offset %d", ErrMalformed, what, d.off)
	}
}

func (d *Decoder) max() int {
	if d.Max > 0 {
		return d.Max
	}
	return DefaultMaxBuffer
}

func (d *Decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b)-d.off < n {
		d.fail("truncated " + what)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

// Int reads a 4-byte int.
func (d *Decoder) Int() int32 {
	p := d.take(4, "int")
	if p == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(p))
}

// Long reads an 8-byte long.
func (d *Decoder) Long() int64 {
	p := d.take(8, "long")
	if p == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(p))
}

// Bool reads one byte; any non-zero value is true.
func (d *Decoder) Bool() bool {
	p := d.take(1, "boolean")
	if p == nil {
		return false
	}
	return p[0] != 0
}

func (d *Decoder) length(what string) int {
	n := d.Int()
	if d.err != nil {
		return 0
	}
	if n < -1 || int(n) > d.max() {
		d.fail(fmt.Sprintf("%s length %d out of range", what, n))
		return 0
	}
	return int(n)
}

// String reads a string; null decodes as "". Invalid UTF-8 is kept byte for byte, as the
// Java server's lenient decoder would replace it; path validation rejects it later.
func (d *Decoder) String() string {
	n := d.length("string")
	if n <= 0 {
		return ""
	}
	p := d.take(n, "string")
	if d.view && p != nil {
		return unsafe.String(&p[0], len(p))
	}
	return string(p)
}

// StringView reads a string as String does, returning its bytes without a copy: they alias
// the decoder's input (nil for an empty or null string).
func (d *Decoder) StringView() []byte {
	n := d.length("string")
	if n <= 0 {
		return nil
	}
	return d.take(n, "string")
}

// NullableString reads a string and reports whether it was null.
func (d *Decoder) NullableString() (s string, null bool) {
	n := d.length("string")
	if n == -1 {
		return "", true
	}
	if n == 0 {
		return "", false
	}
	return string(d.take(n, "string")), false
}

// Buffer reads a buffer. Null decodes as nil, empty as a non-nil empty slice. The result
// aliases the decoder's input.
func (d *Decoder) Buffer() []byte {
	n := d.length("buffer")
	if d.err != nil || n == -1 {
		return nil
	}
	p := d.take(n, "buffer")
	if p == nil {
		return nil
	}
	return p[:n:n]
}

// Count reads a vector count: -1 for null, otherwise 0..n where each element needs at least
// minSize bytes (which bounds allocations by the input's size).
func (d *Decoder) Count(minSize int) int {
	n := d.Int()
	if d.err != nil {
		return 0
	}
	if n == -1 {
		return -1
	}
	if n < 0 || (minSize > 0 && int64(n)*int64(minSize) > int64(d.Len())) || int(n) > d.max() {
		d.fail(fmt.Sprintf("vector count %d out of range", n))
		return 0
	}
	return int(n)
}

// Strings reads a vector of strings; null decodes as nil.
func (d *Decoder) Strings() []string {
	n := d.Count(4)
	if n < 0 || d.err != nil {
		return nil
	}
	v := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		v = append(v, d.String())
	}
	return v
}
