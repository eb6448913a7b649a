package client

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/paddock/paddock/internal/proto"
)

// Op is one operation of a Multi: CreateOp, CreateTTLOp, DeleteOp, SetDataOp or CheckOp.
type Op struct {
	op      proto.Op
	path    string
	data    []byte
	acl     []ACL
	mode    CreateMode
	ttl     time.Duration
	version int32
}

// CreateOp creates a node, as Create2 (its result has the path and the Stat). A nil acl means
// WorldACL(PermAll). A TTL mode needs CreateTTLOp.
func CreateOp(path string, data []byte, mode CreateMode, acl []ACL) Op {
	op := proto.OpCreate2
	if mode == ModeContainer {
		op = proto.OpCreateContainer
	}
	return Op{op: op, path: path, data: data, acl: acl, mode: mode}
}

// CreateTTLOp creates a node of a TTL mode, as CreateTTL.
func CreateTTLOp(path string, data []byte, mode CreateMode, acl []ACL, ttl time.Duration) Op {
	return Op{op: proto.OpCreateTTL, path: path, data: data, acl: acl, mode: mode, ttl: ttl}
}

// DeleteOp deletes a node, as Delete.
func DeleteOp(path string, version int32) Op {
	return Op{op: proto.OpDelete, path: path, version: version}
}

// SetDataOp sets a node's data, as SetData (its result has the new Stat).
func SetDataOp(path string, data []byte, version int32) Op {
	return Op{op: proto.OpSetData, path: path, data: data, version: version}
}

// CheckOp fails the multi unless the node exists with this version (AnyVersion: unless it
// exists). It changes nothing.
func CheckOp(path string, version int32) Op {
	return Op{op: proto.OpCheck, path: path, version: version}
}

// OpResult is the result of one Op of a Multi.
type OpResult struct {
	// Path is the created node's path (without the chroot) for a create.
	Path string
	// Stat is the new Stat for a create and a setData. (ZooKeeper before 3.9 leaves it zero for
	// a plain create, answering it as create rather than create2: ZOOKEEPER-4026.)
	Stat Stat
	// Err is nil when the op succeeded. When the multi failed (and so nothing was applied), the
	// failing op has its error, the ops after it ErrRuntimeInconsistency, and the ops before it
	// nil: they would have succeeded.
	Err error
}

// Multi carries out ops atomically: all of them, in order, or none. It returns one result per
// op. When one op fails, nothing is applied and the error is a *MultiError naming the failing
// op and wrapping its error (errors.Is(err, ErrBadVersion)), and the results say what each op
// met. An error that is not a *MultiError (ErrConnectionLoss, ...) comes with no results.
func (c *Client) Multi(ctx context.Context, ops ...Op) ([]OpResult, error) {
	req := proto.MultiRequest{Ops: make([]proto.MultiOp, len(ops))}
	for i, op := range ops {
		mo := &req.Ops[i]
		mo.Type, mo.Data, mo.Version = op.op, op.data, op.version
		seq := false
		switch op.op {
		case proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
			if !proto.CreateMode(op.mode).Valid() || op.mode.ttl() != (op.op == proto.OpCreateTTL) {
				return nil, opErr("multi", op.path, fmt.Errorf("%w: op %d: create mode %v", ErrBadArguments, i, op.mode))
			}
			seq = op.mode.sequential()
			mo.ACL, mo.Flags, mo.TTL = protoACLs(op.acl), int32(op.mode), op.ttl.Milliseconds()
		case proto.OpDelete, proto.OpSetData, proto.OpCheck:
		default:
			return nil, opErr("multi", op.path, fmt.Errorf("%w: op %d: not an op of Multi (use CreateOp, DeleteOp, ...)", ErrBadArguments, i))
		}
		sp, err := c.serverPath(op.path, seq)
		if err != nil {
			return nil, opErr("multi", op.path, err)
		}
		mo.Path = sp
	}
	r := newRequest(proto.OpMulti)
	defer r.release()
	req.Encode(&r.enc)
	if err := c.do(ctx, r); err != nil {
		return nil, opErr("multi", "", err)
	}
	var resp proto.MultiResponse
	if err := r.decode(&resp, c.opts.MaxFrameSize); err != nil {
		return nil, opErr("multi", "", err)
	}
	if len(resp.Results) != len(ops) {
		return nil, opErr("multi", "", fmt.Errorf("%w: %d results for %d ops", ErrProtocol, len(resp.Results), len(ops)))
	}
	out := make([]OpResult, len(resp.Results))
	var failed error
	for i := range resp.Results {
		res := &resp.Results[i]
		switch res.Type {
		case proto.OpError:
			out[i].Err = errorOf(res.Err)
			if failed == nil && res.Err != proto.CodeOK {
				failed = &MultiError{Index: i, Err: out[i].Err}
			}
		case proto.OpCreate, proto.OpCreate2:
			out[i].Path = c.cs.clientPath(res.Path)
			out[i].Stat = statOf(&res.Stat)
		case proto.OpSetData:
			out[i].Stat = statOf(&res.Stat)
		}
	}
	return out, failed
}

// ReadOp is one read of a MultiRead: GetDataOp or GetChildrenOp.
type ReadOp struct {
	op   proto.Op
	path string
}

// GetDataOp reads a node's data and Stat, as GetData.
func GetDataOp(path string) ReadOp { return ReadOp{op: proto.OpGetData, path: path} }

// GetChildrenOp reads a node's children, as GetChildren.
func GetChildrenOp(path string) ReadOp { return ReadOp{op: proto.OpGetChildren, path: path} }

// ReadResult is the result of one ReadOp of a MultiRead.
type ReadResult struct {
	Data     []byte   // GetDataOp
	Stat     Stat     // GetDataOp
	Children []string // GetChildrenOp
	Err      error    // nil, or this read's error (ErrNoNode, ErrNoAuth)
}

// MultiRead carries out reads in one request (ZooKeeper 3.6+), from one consistent view of the
// server's tree. Each read succeeds or fails on its own: its error is in its result, and the
// returned error is only for the request as a whole.
func (c *Client) MultiRead(ctx context.Context, ops ...ReadOp) ([]ReadResult, error) {
	req := proto.MultiRequest{Ops: make([]proto.MultiOp, len(ops))}
	for i, op := range ops {
		if op.op != proto.OpGetData && op.op != proto.OpGetChildren {
			return nil, opErr("multiRead", op.path, fmt.Errorf("%w: op %d: not a ReadOp (use GetDataOp, GetChildrenOp)", ErrBadArguments, i))
		}
		sp, err := c.serverPath(op.path, false)
		if err != nil {
			return nil, opErr("multiRead", op.path, err)
		}
		req.Ops[i] = proto.MultiOp{Type: op.op, Path: sp}
	}
	r := newRequest(proto.OpMultiRead)
	defer r.release()
	req.Encode(&r.enc)
	if err := c.do(ctx, r); err != nil {
		return nil, opErr("multiRead", "", err)
	}
	var resp proto.MultiResponse
	if err := r.decode(&resp, c.opts.MaxFrameSize); err != nil {
		return nil, opErr("multiRead", "", err)
	}
	if len(resp.Results) != len(ops) {
		return nil, opErr("multiRead", "", fmt.Errorf("%w: %d results for %d reads", ErrProtocol, len(resp.Results), len(ops)))
	}
	out := make([]ReadResult, len(resp.Results))
	for i := range resp.Results {
		res := &resp.Results[i]
		switch res.Type {
		case proto.OpError:
			out[i].Err = errorOf(res.Err)
		case proto.OpGetData:
			out[i].Data = bytes.Clone(res.Data)
			out[i].Stat = statOf(&res.Stat)
		case proto.OpGetChildren:
			out[i].Children = res.Children
			if out[i].Children == nil {
				out[i].Children = []string{}
			}
		}
	}
	return out, nil
}
