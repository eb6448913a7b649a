package tree

import (
	"errors"
	"fmt"
	"math"

	"github.com/paddock/paddock/internal/proto"
)

// Txn is one entry of the replicated log: a client's write request plus what the proposer
// knows and apply must not compute for itself (the time, the connection's identities).
//
// Type selects how Body is read:
//
//	create, create2, createContainer   proto.CreateRequest
//	createTTL                          proto.CreateTTLRequest
//	delete                             proto.DeleteRequest
//	deleteContainer                    proto.PathRequest (internal, proposed by the reaper)
//	setData                            proto.SetDataRequest
//	setACL                             proto.SetACLRequest
//	multi                              proto.MultiRequest
//	createSession                      CreateSessionTxn
//	closeSession                       empty
//	reconfig                           ReconfigTxn (server-built, never the client's record)
//	error                              empty, or an ErrorTxn (one int32 code): a write that
//	                                   failed before it reached the tree but must consume a zxid
//
// Any other type (check outside multi, reads) is answered with CodeUnimplemented.
type Txn struct {
	Type      proto.Op
	SessionID int64
	Cxid      int32
	// Owner identifies the client connection that proposed the txn (0 for internal txns):
	// createSession attaches the session to it, and a txn from a connection the session has
	// left fails with SESSIONMOVED.
	Owner uint64
	// Seq numbers the txns of the Owner connection, from 1 (0: not numbered). A txn whose
	// predecessor from the same connection never applied (raft dropped it) fails with
	// SESSIONMOVED, as do all after it, so a connection's writes apply as a prefix of what
	// it sent, never with a hole.
	Seq uint64
	// Time is the proposer's wall clock in ms: ctime/mtime of the nodes it touches and
	// "now" for the deleteContainer recheck.
	Time int64
	// Auth is the proposing connection's identities (ip, digest, super, ...).
	Auth []proto.ID
	// Body is the jute request record exactly as the client sent it.
	Body []byte
}

// txnVersion is the first byte of every marshalled Txn. Version 1 (no owner) is still read.
const (
	txnVersion   = 2
	txnVersionV1 = 1
)

// ErrBadTxn is returned (wrapped) by Txn.Unmarshal for input that is not a marshalled Txn.
var ErrBadTxn = errors.New("tree: malformed txn")

// Marshal appends t's log encoding to b and returns the extended slice. The layout is a
// version byte (2) followed by jute fields: int type, long sessionID, int cxid, long owner,
// long seq, long time, vector<Id> auth, buffer body. (Version 1 had no owner and seq.)
func (t *Txn) Marshal(b []byte) []byte {
	e := proto.Encoder{B: append(b, txnVersion)}
	e.Int(int32(t.Type))
	e.Long(t.SessionID)
	e.Int(t.Cxid)
	e.Long(int64(t.Owner))
	e.Long(int64(t.Seq))
	e.Long(t.Time)
	e.Int(int32(len(t.Auth)))
	for i := range t.Auth {
		t.Auth[i].Encode(&e)
	}
	e.Buffer(t.Body)
	return e.B
}

// Unmarshal decodes a Txn produced by Marshal. Body aliases b; the strings are copies. A Txn
// decoded again reuses its Auth slice, so a caller must not keep it across calls.
// Malformed input (unknown version, truncation, trailing bytes) returns an error wrapping
// ErrBadTxn and leaves t unspecified.
func (t *Txn) Unmarshal(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", ErrBadTxn)
	}
	if b[0] != txnVersion && b[0] != txnVersionV1 {
		return fmt.Errorf("%w: unknown version %d", ErrBadTxn, b[0])
	}
	d := proto.NewDecoder(b[1:])
	d.Max = math.MaxInt32
	t.Type = proto.Op(d.Int())
	t.SessionID = d.Long()
	t.Cxid = d.Int()
	t.Owner, t.Seq = 0, 0
	if b[0] == txnVersion {
		t.Owner = uint64(d.Long())
		t.Seq = uint64(d.Long())
	}
	t.Time = d.Long()
	n := d.Count(8)
	if n < 0 {
		t.Auth = nil
		return fmt.Errorf("%w: null auth vector", ErrBadTxn)
	}
	// A Txn decoded again keeps its Auth slice and the strings of ids that have not changed
	// (a connection's txns all carry the same ids): no allocation for them.
	auth := t.Auth[:0]
	for i := 0; i < n && d.Err() == nil; i++ {
		scheme, id := d.StringView(), d.StringView()
		if i < len(t.Auth) && t.Auth[i].Scheme == string(scheme) && t.Auth[i].ID == string(id) {
			auth = append(auth, t.Auth[i])
		} else {
			auth = append(auth, proto.ID{Scheme: string(scheme), ID: string(id)})
		}
	}
	t.Auth = auth
	t.Body = d.Buffer()
	if err := d.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadTxn, err)
	}
	if d.Len() != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadTxn, d.Len())
	}
	return nil
}

// CreateSessionTxn is the body of a createSession txn: the negotiated timeout and the
// session's password, both chosen by the proposer.
type CreateSessionTxn struct {
	Timeout int32
	Passwd  []byte
}

// Encode implements proto.Record.
func (r *CreateSessionTxn) Encode(e *proto.Encoder) { e.Int(r.Timeout); e.Buffer(r.Passwd) }

// Decode implements proto.Record.
func (r *CreateSessionTxn) Decode(d *proto.Decoder) { r.Timeout = d.Int(); r.Passwd = d.Buffer() }

// ErrorTxn is the optional body of an error txn.
type ErrorTxn struct {
	Err proto.Code
}

// Encode implements proto.Record.
func (r *ErrorTxn) Encode(e *proto.Encoder) { e.Int(int32(r.Err)) }

// Decode implements proto.Record.
func (r *ErrorTxn) Decode(d *proto.Decoder) { r.Err = proto.Code(d.Int()) }

// Event is a watch event fired by a txn. ACL is what delivery re-checks READ against: the
// deleted node's ACL for NodeDeleted, the parent's for NodeChildrenChanged, the node's
// otherwise. ACL is shared with the tree and must not be modified.
type Event struct {
	Type proto.EventType
	Path string
	ACL  []proto.ACL
}

// Result is the outcome of applying one txn.
//
// Resp is nil when Err != 0 or the op has no reply body; otherwise:
//
//	create                              *proto.PathRequest (CreateResponse's shape)
//	create2, createContainer, createTTL *proto.Create2Response
//	delete, deleteContainer             nil
//	setData, setACL                     *proto.StatResponse
//	multi                               *proto.MultiResponse (also when an op failed: Err is
//	                                    then 0 and the results carry the codes, as in ZooKeeper)
//	createSession, closeSession, error  nil
//	reconfig                            *proto.GetDataResponse (the new data, the node's Stat)
//
// Events lists the watch events in the order they fired; none for a failed txn or a failed
// multi. ClosedSession is true when a closeSession txn removed a live session.
type Result struct {
	Zxid          int64
	Err           proto.Code
	Resp          proto.Record
	Events        []Event
	ClosedSession bool
}

// Options are the replicated settings that change what apply does. Every member of an
// ensemble must use the same Options.
type Options struct {
	// SkipACL disables every ACL check (zookeeper.skipACL).
	SkipACL bool
	// ExtendedTypes allows TTL nodes (zookeeper.extendedTypesEnabled).
	ExtendedTypes bool
	// MaxNeverUsed is the age in ms after which a container that never had a child is
	// reaped (znode.container.maxNeverUsedIntervalMs); 0 = never.
	MaxNeverUsed int64
}
