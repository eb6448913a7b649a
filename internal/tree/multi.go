package tree

import (
	"github.com/paddock/paddock/internal/proto"
)

type undoOp uint8

const (
	undoCreate undoOp = iota + 1
	undoDelete
	undoSetData
)

// undoRec is what a multi needs to take one op back: the parent's cversion and pzxid for a
// create, the removed node and the parent's pzxid for a delete, the old data fields for a
// setData.
type undoRec struct {
	op       undoOp
	path     string
	node     *node
	data     []byte
	mzxid    int64
	mtime    int64
	pzxid    int64
	version  int32
	cversion int32
}

func (t *Tree) logUndo(u undoRec) {
	if t.inMulti {
		t.undo = append(t.undo, u)
	}
}

// multi applies the ops in order, each seeing the effects of the ones before, all under one
// zxid. If one fails, everything is rolled back and the reply has an error result for every
// op: 0 before the failing one, its code, then RUNTIMEINCONSISTENCY (DataTree.processTxn).
func (t *Tree) multi(zxid int64, txn *Txn, ops []proto.MultiOp, ev *[]Event) *proto.MultiResponse {
	resp := &proto.MultiResponse{Results: make([]proto.MultiResult, len(ops))}
	t.inMulti = true
	t.undo = t.undo[:0]
	var opEv []Event
	failed := -1
	var failCode proto.Code
	for i := range ops {
		op := &ops[i]
		res := &resp.Results[i]
		var code proto.Code
		switch op.Type {
		case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
			ttl := int64(-1)
			if op.Type == proto.OpCreateTTL {
				if proto.CreateMode(op.Flags).TTL() {
					ttl = op.TTL
				} else {
					// ZooKeeper's MultiOperationRecord turns a createTTL whose mode is not a
					// TTL mode into a plain create (Op.create with a ttl).
					op.Type = proto.OpCreate
				}
			}
			res.Path, res.Stat, code = t.create(zxid, txn, op.Type, op.Path, op.Data, op.ACL, op.Flags, ttl, &opEv)
			res.Type = proto.OpCreate2
			if op.Type == proto.OpCreate {
				res.Type = proto.OpCreate
				res.Stat = proto.Stat{}
			}
		case proto.OpDelete:
			code = t.delete(zxid, txn, op.Path, op.Version, &opEv)
			res.Type = proto.OpDelete
		case proto.OpSetData:
			res.Stat, code = t.setData(zxid, txn, op.Path, op.Data, op.Version, &opEv)
			res.Type = proto.OpSetData
		case proto.OpCheck:
			code = t.check(txn, op.Path, op.Version)
			res.Type = proto.OpCheck
		}
		if code != proto.CodeOK {
			failed, failCode = i, code
			break
		}
	}
	if failed >= 0 {
		t.rollback()
		for i := range resp.Results {
			c := proto.CodeOK
			switch {
			case i == failed:
				c = failCode
			case i > failed:
				c = proto.CodeRuntimeInconsistency
			}
			resp.Results[i] = proto.MultiResult{Type: proto.OpError, Err: c}
		}
	} else {
		*ev = append(*ev, opEv...)
	}
	t.inMulti = false
	clear(t.undo)
	t.undo = t.undo[:0]
	return resp
}

// rollback undoes the logged ops of the current multi, newest first.
func (t *Tree) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		u := &t.undo[i]
		parentPath, _, _ := splitParent(u.path)
		switch u.op {
		case undoCreate:
			pm := t.mut(parentPath)
			n := t.unlink(pm, u.path)
			pm.cversion = u.cversion
			pm.pzxid = u.pzxid
			t.account(u.path, n, -1)
			t.releaseACL(n.acl)
		case undoDelete:
			pm := t.mut(parentPath)
			n := u.node
			if e := t.retainACL(n.acl); e != n.acl {
				if n.gen != t.gen {
					n = n.clone(t.gen)
				}
				n.acl = e
			}
			pm.insert(n)
			pm.pzxid = u.pzxid
			t.account(u.path, n, +1)
		case undoSetData:
			m := t.mut(u.path)
			t.dataSize += int64(len(u.data) - m.dataLen())
			m.setData(u.data)
			m.version, m.mzxid, m.mtime = u.version, u.mzxid, u.mtime
		}
	}
}
