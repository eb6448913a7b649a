package client

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/paddock/paddock/internal/proto"
)

// request is one request from the moment a caller encodes it until both the caller and the
// connection side are done with it. Requests are pooled with their buffers, so an op costs no
// allocation of its own beyond what it returns.
//
// Ownership: a request starts with two references, the caller's and the connection side's
// (the send queue, then a connection's writer, then its pending FIFO, then the reader that
// completes it). Each side calls release once; the last one recycles it. A request no caller
// waits for (a replayed auth, setWatches) starts with one.
type request struct {
	op  proto.Op
	enc proto.Encoder // enc.B is the request frame; bytes [4:8] take the xid when it is written
	// done receives one value when the request completes (buffered, so completing never
	// blocks, even when the caller has given up).
	done     chan struct{}
	watch    *watchReg   // watch bookkeeping to do when the reply arrives, or nil
	cred     *credential // the credential of an auth request
	internal bool        // no caller waits for it

	// Set by the connection side before done is signalled.
	xid   int32
	code  proto.Code
	zxid  int64
	frame []byte // the reply: ReplyHeader (16 bytes) then the body; reused across requests
	err   error  // the request never got a reply: ErrConnectionLoss, ErrClosed, ...

	refs atomic.Int32
}

// replyHeaderSize is the encoded size of a ReplyHeader.
const replyHeaderSize = 16

// maxPooledBuffer is the largest buffer kept with a pooled request; larger ones (a big
// setData or getData) are left to the garbage collector.
const maxPooledBuffer = 64 << 10

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// newRequest returns a request of type op, its frame begun with the request header; the
// caller appends the body to r.enc.
func newRequest(op proto.Op) *request {
	r := requestPool.Get().(*request)
	r.op = op
	r.refs.Store(2)
	b, _ := proto.BeginFrame(r.enc.B[:0])
	r.enc.B = b
	r.enc.Int(0) // xid, set by the writer
	r.enc.Int(int32(op))
	return r
}

// seal writes the frame length.
func (r *request) seal() { proto.EndFrame(r.enc.B, 0) }

// setXid writes the xid into the frame and records it.
func (r *request) setXid(xid int32) {
	r.xid = xid
	binary.BigEndian.PutUint32(r.enc.B[4:8], uint32(xid))
}

// complete hands the result to the caller and drops the connection side's reference.
func (r *request) complete() {
	r.done <- struct{}{}
	r.release()
}

// fail completes the request with an error of the connection or the client.
func (r *request) fail(err error) {
	r.err = err
	r.complete()
}

// release drops one reference and recycles the request with the last one.
func (r *request) release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	select {
	case <-r.done:
	default:
	}
	if cap(r.enc.B) > maxPooledBuffer {
		r.enc.B = nil
	}
	if cap(r.frame) > maxPooledBuffer {
		r.frame = nil
	} else {
		r.frame = r.frame[:0]
	}
	r.op, r.watch, r.cred, r.internal = 0, nil, nil, false
	r.xid, r.code, r.zxid, r.err = 0, 0, 0, nil
	requestPool.Put(r)
}

// body returns the reply body (after the reply header).
func (r *request) body() []byte { return r.frame[replyHeaderSize:] }

// decode reads the reply body into rec. Trailing bytes are ignored, as the Java client does,
// so that a server may extend a record.
func (r *request) decode(rec proto.Record, max int) error {
	d := r.decoder(max)
	rec.Decode(&d)
	return r.decoded(&d)
}

// decoder and decoded are decode in two halves, for the hot paths: a record decoded with a
// direct method call, rather than through the Record interface, stays on the stack.
func (r *request) decoder(max int) proto.Decoder {
	var d proto.Decoder
	d.Reset(r.body())
	d.Max = max
	return d
}

func (r *request) decoded(d *proto.Decoder) error {
	if err := d.Err(); err != nil {
		return fmt.Errorf("%w: %s reply: %v", ErrProtocol, r.op, err)
	}
	return nil
}

// do sends r and waits for its reply, or for ctx. It returns the request's error (the
// connection's, or the reply's code as an error); on nil the reply is in r. The caller still
// owns its reference and must release it, whatever do returns.
//
// When ctx ends first, a request still in the send queue is taken out and never sent; one
// already written may still be carried out by the server, its reply then discarded.
func (c *Client) do(ctx context.Context, r *request) error {
	r.seal()
	if err := ctx.Err(); err != nil {
		r.release() // never sent
		return err
	}
	if err := c.enqueue(r); err != nil {
		r.release() // the connection side never had it
		return err
	}
	if d := ctx.Done(); d != nil {
		select {
		case <-r.done:
		case <-d:
			if c.dequeue(r) {
				r.release()
			}
			return ctx.Err()
		}
	} else {
		<-r.done
	}
	if r.err != nil {
		return r.err
	}
	return errorOf(r.code)
}

// enqueue adds r to the send queue and wakes the writer.
func (c *Client) enqueue(r *request) error {
	c.qmu.Lock()
	if c.qerr != nil {
		err := c.qerr
		c.qmu.Unlock()
		return err
	}
	c.queue = append(c.queue, r)
	c.qmu.Unlock()
	select {
	case c.wakec <- struct{}{}:
	default:
	}
	return nil
}

// dequeue takes r out of the send queue, reporting whether it was there (not yet written).
func (c *Client) dequeue(r *request) bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	for i, q := range c.queue {
		if q == r {
			copy(c.queue[i:], c.queue[i+1:])
			c.queue[len(c.queue)-1] = nil
			c.queue = c.queue[:len(c.queue)-1]
			return true
		}
	}
	return false
}

// maxBatchBytes bounds what a writer sends in one write; the rest waits for the next one.
const maxBatchBytes = 256 << 10

// takeQueue moves queued requests to batch (for a writer), as many as fit in maxBatchBytes
// but at least one, and reports whether any are left.
func (c *Client) takeQueue(batch []*request) ([]*request, bool) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	n, size := 0, 0
	for n < len(c.queue) && (n == 0 || size+len(c.queue[n].enc.B) <= maxBatchBytes) {
		size += len(c.queue[n].enc.B)
		n++
	}
	batch = append(batch, c.queue[:n]...)
	rest := copy(c.queue, c.queue[n:])
	clear(c.queue[rest:])
	c.queue = c.queue[:rest]
	return batch, rest > 0
}

// requeue puts requests a writer took but could not write back at the front of the queue, in
// their order, for the next connection. It reports false (and leaves them to the caller) when
// the queue is closed.
func (c *Client) requeue(batch []*request) bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.qerr != nil {
		return false
	}
	q := make([]*request, 0, len(batch)+len(c.queue))
	q = append(q, batch...)
	c.queue = append(q, c.queue...)
	return true
}

// closeQueue fails every queued request with err and makes later ones fail at once.
func (c *Client) closeQueue(err error) {
	c.qmu.Lock()
	c.qerr = err
	q := c.queue
	c.queue = nil
	c.qmu.Unlock()
	for _, r := range q {
		r.fail(err)
	}
}

// fifo is a queue of requests in the order they were written.
type fifo struct {
	items []*request
	head  int
}

func (q *fifo) push(r *request) { q.items = append(q.items, r) }

func (q *fifo) len() int { return len(q.items) - q.head }

func (q *fifo) pop() *request {
	if q.head == len(q.items) {
		return nil
	}
	r := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head >= 256 && 2*q.head >= len(q.items):
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return r
}

// drain removes and returns every request.
func (q *fifo) drain() []*request {
	out := append([]*request(nil), q.items[q.head:]...)
	clear(q.items)
	q.items, q.head = q.items[:0], 0
	return out
}
