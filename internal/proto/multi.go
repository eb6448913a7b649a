package proto

import "fmt"

// MultiHeader precedes each op of a multi request and each result of a multi reply.
type MultiHeader struct {
	Type Op
	Done bool
	Err  Code
}

func (r *MultiHeader) Encode(e *Encoder) { e.Int(int32(r.Type)); e.Bool(r.Done); e.Int(int32(r.Err)) }
func (r *MultiHeader) Decode(d *Decoder) {
	r.Type = Op(d.Int())
	r.Done = d.Bool()
	r.Err = Code(d.Int())
}

// MultiOp is one op of a multi or multiRead request. Which fields are used depends on Type:
// create*: Path, Data, ACL, Flags (TTL for createTTL); delete and check: Path, Version;
// setData: Path, Data, Version; getData and getChildren: Path, Watch.
type MultiOp struct {
	Type    Op
	Path    string
	Data    []byte
	ACL     []ACL
	Flags   int32
	TTL     int64
	Version int32
	Watch   bool
}

// MultiRequest is the body of multi and multiRead.
type MultiRequest struct {
	Ops []MultiOp
}

func (r *MultiRequest) Encode(e *Encoder) {
	for i := range r.Ops {
		op := &r.Ops[i]
		h := MultiHeader{Type: op.Type, Done: false, Err: -1}
		h.Encode(e)
		switch op.Type {
		case OpCreate, OpCreate2, OpCreateContainer:
			(&CreateRequest{Path: op.Path, Data: op.Data, ACL: op.ACL, Flags: op.Flags}).Encode(e)
		case OpCreateTTL:
			(&CreateTTLRequest{Path: op.Path, Data: op.Data, ACL: op.ACL, Flags: op.Flags, TTL: op.TTL}).Encode(e)
		case OpDelete, OpCheck:
			(&DeleteRequest{Path: op.Path, Version: op.Version}).Encode(e)
		case OpSetData:
			(&SetDataRequest{Path: op.Path, Data: op.Data, Version: op.Version}).Encode(e)
		case OpGetChildren, OpGetData:
			(&PathWatchRequest{Path: op.Path, Watch: op.Watch}).Encode(e)
		}
	}
	end := MultiHeader{Type: -1, Done: true, Err: -1}
	end.Encode(e)
}

// Decode reads ops until the terminating header. An op type that cannot appear in a multi
// fails the decode, as it does in ZooKeeper.
func (r *MultiRequest) Decode(d *Decoder) {
	r.Ops = r.Ops[:0]
	for d.err == nil {
		var h MultiHeader
		h.Decode(d)
		if d.err != nil || h.Done {
			return
		}
		if len(r.Ops) >= d.max() {
			d.fail("too many ops in multi")
			return
		}
		op := MultiOp{Type: h.Type}
		switch h.Type {
		case OpCreate, OpCreate2, OpCreateContainer:
			var c CreateRequest
			c.Decode(d)
			op.Path, op.Data, op.ACL, op.Flags = c.Path, c.Data, c.ACL, c.Flags
		case OpCreateTTL:
			var c CreateTTLRequest
			c.Decode(d)
			op.Path, op.Data, op.ACL, op.Flags, op.TTL = c.Path, c.Data, c.ACL, c.Flags, c.TTL
		case OpDelete, OpCheck:
			op.Path = d.String()
			op.Version = d.Int()
		case OpSetData:
			var s SetDataRequest
			s.Decode(d)
			op.Path, op.Data, op.Version = s.Path, s.Data, s.Version
		case OpGetChildren, OpGetData:
			op.Path = d.String()
			op.Watch = d.Bool()
		default:
			d.fail(fmt.Sprintf("invalid op type %d in multi", int32(h.Type)))
			return
		}
		r.Ops = append(r.Ops, op)
	}
}

// MultiResult is one result of a multi or multiRead reply. Type is the op's result type
// (OpError for a failed op, whose code is in Err).
type MultiResult struct {
	Type     Op
	Err      Code
	Path     string
	Stat     Stat
	Data     []byte
	Children []string
}

// MultiResponse is the reply body of multi and multiRead.
type MultiResponse struct {
	Results []MultiResult
}

func (r *MultiResponse) Encode(e *Encoder) {
	for i := range r.Results {
		res := &r.Results[i]
		h := MultiHeader{Type: res.Type, Done: false, Err: res.Err}
		if res.Type != OpError {
			h.Err = 0
		}
		h.Encode(e)
		switch res.Type {
		case OpCreate:
			e.String(res.Path)
		case OpCreate2:
			e.String(res.Path)
			res.Stat.Encode(e)
		case OpSetData:
			res.Stat.Encode(e)
		case OpGetChildren:
			e.Strings(res.Children)
		case OpGetData:
			e.Buffer(res.Data)
			res.Stat.Encode(e)
		case OpError:
			e.Int(int32(res.Err))
		}
	}
	end := MultiHeader{Type: -1, Done: true, Err: -1}
	end.Encode(e)
}

func (r *MultiResponse) Decode(d *Decoder) {
	r.Results = r.Results[:0]
	for d.err == nil {
		var h MultiHeader
		h.Decode(d)
		if d.err != nil || h.Done {
			return
		}
		if len(r.Results) >= d.max() {
			d.fail("too many results in multi")
			return
		}
		res := MultiResult{Type: h.Type, Err: h.Err}
		switch h.Type {
		case OpCreate:
			res.Path = d.String()
		case OpCreate2:
			res.Path = d.String()
			res.Stat.Decode(d)
		case OpSetData:
			res.Stat.Decode(d)
		case OpGetChildren:
			res.Children = d.Strings()
		case OpGetData:
			res.Data = d.Buffer()
			res.Stat.Decode(d)
		case OpError:
			res.Err = Code(d.Int())
		case OpDelete, OpCheck:
		default:
			d.fail(fmt.Sprintf("invalid result type %d in multi", int32(h.Type)))
			return
		}
		r.Results = append(r.Results, res)
	}
}
