package tree

import (
	"math"
	"strconv"
	"strings"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/proto"
)

// Apply applies one committed txn at zxid and returns the reply and the watch events. It is
// the only method that changes the tree, and a pure function of the tree and its arguments.
//
// Validation happens here, against the state the txn meets, in ZooKeeper's order
// (PrepRequestProcessor): a failed write changes nothing but still advances LastZxid. A txn
// from a connection its session has moved away from fails first, with CodeSessionMoved.
// Every write needs a live session (CodeSessionExpired otherwise) except createSession,
// closeSession (an unknown session is an OK no-op) and the internal deleteContainer. An
// undecodable body gives CodeMarshallingError.
//
// The Result's records and event slices are new; ACL slices in events are shared with the
// tree and must not be modified. txn and its Body are not retained.
func (t *Tree) Apply(zxid int64, txn *Txn) Result {
	if zxid > t.lastZxid {
		t.lastZxid = zxid
	}
	r := Result{Zxid: zxid}
	if t.moved(txn) {
		r.Err = proto.CodeSessionMoved
		return r
	}
	var ev []Event
	switch txn.Type {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer:
		var req proto.CreateRequest
		if !t.decode(txn.Body, &req) {
			r.Err = proto.CodeMarshallingError
			break
		}
		r.Resp, r.Err = t.applyCreate(zxid, txn, txn.Type, req.Path, req.Data, req.ACL, req.Flags, -1, &ev)
	case proto.OpCreateTTL:
		var req proto.CreateTTLRequest
		if !t.decode(txn.Body, &req) {
			r.Err = proto.CodeMarshallingError
			break
		}
		r.Resp, r.Err = t.applyCreate(zxid, txn, txn.Type, req.Path, req.Data, req.ACL, req.Flags, req.TTL, &ev)
	case proto.OpDelete:
		var req proto.DeleteRequest
		if !t.decode(txn.Body, &req) {
			r.Err = proto.CodeMarshallingError
			break
		}
		r.Err = t.delete(zxid, txn, req.Path, req.Version, &ev)
	case proto.OpDeleteContainer:
		var req proto.PathRequest
		if !t.decode(txn.Body, &req) {
			r.Err = proto.CodeMarshallingError
			break
		}
		r.Err = t.deleteContainer(zxid, txn, req.Path, &ev)
	case proto.OpSetData:
		req := &t.setReq
		if !t.decode(txn.Body, req) {
			r.Err = proto.CodeMarshallingError
			break
		}
		var st proto.Stat
		if st, r.Err = t.setData(zxid, txn, req.Path, req.Data, req.Version, &ev); r.Err == proto.CodeOK {
			r.Resp = &proto.StatResponse{Stat: st}
		}
	case proto.OpSetACL:
		var req proto.SetACLRequest
		if !t.decode(txn.Body, &req) {
			r.Err = proto.CodeMarshallingError
			break
		}
		var st proto.Stat
		if st, r.Err = t.setACL(txn, req.Path, req.ACL, req.Version); r.Err == proto.CodeOK {
			r.Resp = &proto.StatResponse{Stat: st}
		}
	case proto.OpMulti:
		var req proto.MultiRequest
		if !t.decode(txn.Body, &req) || !writeOps(req.Ops) {
			r.Err = proto.CodeMarshallingError
			break
		}
		r.Resp = t.multi(zxid, txn, req.Ops, &ev)
	case proto.OpReconfig:
		r.Resp, r.Err = t.reconfig(zxid, txn, &ev)
	case proto.OpCreateSession:
		r.Err = t.createSession(txn)
	case proto.OpCloseSession:
		r.ClosedSession = t.closeSession(zxid, txn.SessionID, &ev)
	case proto.OpError:
		if len(txn.Body) > 0 {
			var e ErrorTxn
			if !t.decode(txn.Body, &e) {
				r.Err = proto.CodeMarshallingError
				break
			}
			r.Err = e.Err
		}
	default:
		r.Err = proto.CodeUnimplemented
	}
	if r.Err != proto.CodeOK {
		r.Resp = nil
	}
	r.Events = ev
	return r
}

// moved reports whether txn comes from a connection its session has left (ZooKeeper's
// SessionMovedException): the session is attached to another connection; or from its
// connection after a txn of it that never applied (Txn.Seq). Otherwise it records txn as the
// owner's last. Internal txns and those of connections that predate owners carry no owner
// and are never refused.
func (t *Tree) moved(txn *Txn) bool {
	if txn.Owner == 0 || txn.Type == proto.OpCreateSession {
		return false
	}
	s, ok := t.sessions[txn.SessionID]
	if !ok || s.owner == 0 {
		return false
	}
	if s.owner != txn.Owner {
		return true
	}
	if txn.Seq != 0 {
		if txn.Seq != s.ownerSeq+1 {
			return true
		}
		s.ownerSeq = txn.Seq
	}
	return false
}

// decode reads a request record leniently, as jute does: trailing bytes are ignored. The
// server enforced jute.maxbuffer before proposing, so apply imposes no length limit of its
// own (the decoder still never reads past the input).
func (t *Tree) decode(b []byte, rec proto.Record) bool {
	t.dec.Reset(b)
	t.dec.Max = math.MaxInt32
	rec.Decode(&t.dec)
	ok := t.dec.Err() == nil
	t.dec.Reset(nil)
	return ok
}

// writeOps reports whether every op may appear in a multi (reads may not: ZooKeeper fails
// such a request with a marshalling error).
func writeOps(ops []proto.MultiOp) bool {
	for i := range ops {
		switch ops[i].Type {
		case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL,
			proto.OpDelete, proto.OpSetData, proto.OpCheck:
		default:
			return false
		}
	}
	return true
}

func (t *Tree) applyCreate(zxid int64, txn *Txn, op proto.Op, path string, data []byte, list []proto.ACL, flags int32, ttl int64, ev *[]Event) (proto.Record, proto.Code) {
	p, st, code := t.create(zxid, txn, op, path, data, list, flags, ttl, ev)
	if code != proto.CodeOK {
		return nil, code
	}
	if op == proto.OpCreate {
		return &proto.PathRequest{Path: p}, code
	}
	return &proto.Create2Response{Path: p, Stat: st}, code
}

// create is pRequest2TxnCreate followed by DataTree.createNode. ttl is -1 for the ops
// without one.
func (t *Tree) create(zxid int64, txn *Txn, op proto.Op, path string, data []byte, list []proto.ACL, flags int32, ttl int64, ev *[]Event) (string, proto.Stat, proto.Code) {
	mode := proto.CreateMode(flags)
	switch {
	case !mode.Valid():
		return "", proto.Stat{}, proto.CodeBadArguments
	case mode.TTL() && !t.opts.ExtendedTypes:
		return "", proto.Stat{}, proto.CodeUnimplemented
	case mode.TTL() && (ttl <= 0 || ttl > proto.MaxTTL):
		return "", proto.Stat{}, proto.CodeBadArguments
	case !mode.TTL() && ttl >= 0:
		return "", proto.Stat{}, proto.CodeBadArguments
	case op == proto.OpCreateTTL && !mode.TTL():
		// ZooKeeper would build a TTL txn with a negative ttl and fail in apply.
		return "", proto.Stat{}, proto.CodeBadArguments
	case !t.live(txn.SessionID):
		return "", proto.Stat{}, proto.CodeSessionExpired
	}
	parentPath, _, ok := splitParent(path)
	if !ok || hasNul(path) {
		return "", proto.Stat{}, proto.CodeBadArguments
	}
	fixed, code := acl.Fixup(list, txn.Auth)
	if code != proto.CodeOK {
		return "", proto.Stat{}, code
	}
	parent, owned := t.walk(parentPath)
	if parent == nil {
		return "", proto.Stat{}, proto.CodeNoNode
	}
	if !t.allowed(parent, txn.Auth, proto.PermCreate) {
		return "", proto.Stat{}, proto.CodeNoAuth
	}
	if mode.Sequential() {
		path = appendSeq(path, parent.cversion)
	}
	if proto.ValidatePath(path, false) != nil {
		return "", proto.Stat{}, proto.CodeBadArguments
	}
	// "/" is valid and names the root, which exists.
	name := path[len(parentPath)+1:]
	if path == "/" || parent.child(name) != nil {
		return "", proto.Stat{}, proto.CodeNodeExists
	}
	if parent.kind == kindEphemeral {
		return "", proto.Stat{}, proto.CodeNoChildrenForEphemerals
	}

	k, owner := kindPersistent, int64(0)
	switch {
	case op == proto.OpCreateContainer:
		k = kindContainer
	case op == proto.OpCreateTTL:
		k, owner = kindTTL, ttl
	case mode.Ephemeral():
		k, owner = kindEphemeral, txn.SessionID
	}
	n := newNode(name, data)
	n.acl = t.internACL(fixed)
	n.czxid, n.mzxid, n.pzxid = zxid, zxid, zxid
	n.ctime, n.mtime = txn.Time, txn.Time
	n.owner, n.gen, n.kind = owner, t.gen, k
	pm := t.modifiable(parentPath, parent, owned)
	t.logUndo(undoRec{op: undoCreate, path: path, cversion: pm.cversion, pzxid: pm.pzxid})
	pm.insert(n)
	pm.cversion++
	pm.pzxid = zxid
	t.account(path, n, +1)
	*ev = append(*ev,
		Event{Type: proto.EventNodeCreated, Path: path, ACL: n.acl.list},
		Event{Type: proto.EventNodeChildrenChanged, Path: eventPath(parentPath), ACL: pm.acl.list})
	return path, n.getStat(), proto.CodeOK
}

// appendSeq appends ZooKeeper's String.format("%010d", cversion).
func appendSeq(path string, v int32) string {
	s := strconv.FormatInt(int64(v), 10)
	width := 10
	var b strings.Builder
	b.Grow(len(path) + 11)
	b.WriteString(path)
	if v < 0 {
		b.WriteByte('-')
		s = s[1:]
		width = 9
	}
	for i := len(s); i < width; i++ {
		b.WriteByte('0')
	}
	b.WriteString(s)
	return b.String()
}

// account adds (sign +1) or removes (-1) a node's share of the counters and side tables.
func (t *Tree) account(path string, n *node, sign int) {
	t.count(len(path), n, sign)
	switch n.kind {
	case kindEphemeral:
		s := t.sessions[n.owner]
		t.ephemerals += sign
		if sign > 0 {
			if s.eph == nil {
				s.eph = make(map[string]struct{})
			}
			s.eph[path] = struct{}{}
		} else if s != nil {
			delete(s.eph, path)
		}
	case kindContainer:
		if sign > 0 {
			t.containers[path] = struct{}{}
		} else {
			delete(t.containers, path)
		}
	case kindTTL:
		if sign > 0 {
			t.ttls[path] = struct{}{}
		} else {
			delete(t.ttls, path)
		}
	}
}

// count is account's part for the counters, for a node whose path is pathLen bytes long.
func (t *Tree) count(pathLen int, n *node, sign int) {
	t.nodeCount += sign
	t.dataSize += int64(sign) * int64(pathLen+n.dataLen())
}

// delete is the delete branch of pRequest2Txn followed by DataTree.deleteNode.
func (t *Tree) delete(zxid int64, txn *Txn, path string, version int32, ev *[]Event) proto.Code {
	if !t.live(txn.SessionID) {
		return proto.CodeSessionExpired
	}
	parentPath, _, ok := splitParent(path)
	if !ok || hasNul(path) || isReserved(path) {
		return proto.CodeBadArguments
	}
	parent := t.findWalk(parentPath)
	if parent == nil {
		return proto.CodeNoNode
	}
	if !t.allowed(parent, txn.Auth, proto.PermDelete) {
		return proto.CodeNoAuth
	}
	n := t.findWalk(path)
	if n == nil {
		return proto.CodeNoNode
	}
	if version != -1 && version != n.version {
		return proto.CodeBadVersion
	}
	if n.children.len() > 0 {
		return proto.CodeNotEmpty
	}
	t.removeNode(zxid, parentPath, path, ev)
	return proto.CodeOK
}

// deleteContainer is the reaper's delete. ZooKeeper checks only that the node has no
// children and is not an ephemeral; because paddock proposes it before it is applied, apply
// re-checks the whole reaping rule against txn.Time and answers CodeBadVersion when the node
// is no longer a candidate (a container that never had a child and is not old enough, a TTL
// node touched since, any other kind of node).
func (t *Tree) deleteContainer(zxid int64, txn *Txn, path string, ev *[]Event) proto.Code {
	parentPath, _, ok := splitParent(path)
	if !ok || hasNul(path) || isReserved(path) {
		return proto.CodeBadArguments
	}
	n := t.findWalk(path)
	if n == nil {
		return proto.CodeNoNode
	}
	if n.children.len() > 0 {
		return proto.CodeNotEmpty
	}
	if !t.reapable(n, txn.Time) {
		return proto.CodeBadVersion
	}
	t.removeNode(zxid, parentPath, path, ev)
	return proto.CodeOK
}

// removeNode deletes the existing childless node at path.
func (t *Tree) removeNode(zxid int64, parentPath, path string, ev *[]Event) {
	pm := t.mut(parentPath)
	n := t.unlink(pm, path)
	t.logUndo(undoRec{op: undoDelete, path: path, pzxid: pm.pzxid, node: n})
	if zxid > pm.pzxid {
		pm.pzxid = zxid
	}
	t.account(path, n, -1)
	t.releaseACL(n.acl)
	*ev = append(*ev,
		Event{Type: proto.EventNodeDeleted, Path: path, ACL: n.acl.list},
		Event{Type: proto.EventNodeChildrenChanged, Path: eventPath(parentPath), ACL: pm.acl.list})
}

func (t *Tree) setData(zxid int64, txn *Txn, path string, data []byte, version int32, ev *[]Event) (proto.Stat, proto.Code) {
	if !t.live(txn.SessionID) {
		return proto.Stat{}, proto.CodeSessionExpired
	}
	n, owned := t.walk(path)
	if !t.validExisting(path, n) {
		return proto.Stat{}, proto.CodeBadArguments
	}
	if n == nil {
		return proto.Stat{}, proto.CodeNoNode
	}
	if !t.allowed(n, txn.Auth, proto.PermWrite) {
		return proto.Stat{}, proto.CodeNoAuth
	}
	if version != -1 && version != n.version {
		return proto.Stat{}, proto.CodeBadVersion
	}
	m := t.modifiable(path, n, owned)
	t.logUndo(undoRec{op: undoSetData, path: path, data: m.data(), version: m.version, mzxid: m.mzxid, mtime: m.mtime})
	t.dataSize += int64(len(data) - m.dataLen())
	m.setData(data)
	m.version++
	m.mzxid = zxid
	m.mtime = txn.Time
	*ev = append(*ev, Event{Type: proto.EventNodeDataChanged, Path: path, ACL: m.acl.list})
	return m.getStat(), proto.CodeOK
}

// validExisting is PathUtils.validatePath(path) for a path that lookup resolved to n. Every
// node lives at a valid canonical path, so only a miss (or "", the root's alias) needs the
// full check; the answer is the same, without the cost on the common path.
func (t *Tree) validExisting(path string, n *node) bool {
	if n != nil && path != "" {
		return true
	}
	return proto.ValidatePath(path, false) == nil
}

// setACL never runs inside a multi, so it logs no undo record.
func (t *Tree) setACL(txn *Txn, path string, list []proto.ACL, version int32) (proto.Stat, proto.Code) {
	if !t.live(txn.SessionID) {
		return proto.Stat{}, proto.CodeSessionExpired
	}
	n, owned := t.walk(path)
	if !t.validExisting(path, n) {
		return proto.Stat{}, proto.CodeBadArguments
	}
	fixed, code := acl.Fixup(list, txn.Auth)
	if code != proto.CodeOK {
		return proto.Stat{}, code
	}
	if n == nil {
		return proto.Stat{}, proto.CodeNoNode
	}
	if !t.allowed(n, txn.Auth, proto.PermAdmin) {
		return proto.Stat{}, proto.CodeNoAuth
	}
	if version != -1 && version != n.aversion {
		return proto.Stat{}, proto.CodeBadVersion
	}
	m := t.modifiable(path, n, owned)
	old := m.acl
	m.acl = t.internACL(fixed)
	t.releaseACL(old)
	m.aversion++
	return m.getStat(), proto.CodeOK
}

// check is the version check of a multi; it needs READ on the node.
func (t *Tree) check(txn *Txn, path string, version int32) proto.Code {
	if !t.live(txn.SessionID) {
		return proto.CodeSessionExpired
	}
	n := t.findWalk(path)
	if !t.validExisting(path, n) {
		return proto.CodeBadArguments
	}
	if n == nil {
		return proto.CodeNoNode
	}
	if !t.allowed(n, txn.Auth, proto.PermRead) {
		return proto.CodeNoAuth
	}
	if version != -1 && version != n.version {
		return proto.CodeBadVersion
	}
	return proto.CodeOK
}

// createSession adds a session. A session id that is 0 or already live is refused with
// CodeBadArguments and changes nothing.
func (t *Tree) createSession(txn *Txn) proto.Code {
	var req CreateSessionTxn
	if !t.decode(txn.Body, &req) {
		return proto.CodeMarshallingError
	}
	if txn.SessionID == 0 || t.live(txn.SessionID) {
		return proto.CodeBadArguments
	}
	var pw []byte
	if req.Passwd != nil {
		pw = append([]byte{}, req.Passwd...)
	}
	t.sessions[txn.SessionID] = &session{timeout: req.Timeout, passwd: pw, owner: txn.Owner, ownerSeq: txn.Seq}
	return proto.CodeOK
}

// closeSession deletes the session's ephemerals in path order, firing their events, and
// removes the session. It reports whether the session was live.
func (t *Tree) closeSession(zxid, id int64, ev *[]Event) bool {
	s, ok := t.sessions[id]
	if !ok {
		return false
	}
	for _, p := range sortedKeys(s.eph) {
		parentPath, _, _ := splitParent(p)
		t.removeNode(zxid, parentPath, p, ev)
	}
	delete(t.sessions, id)
	return true
}
