package server

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/tree"
	"github.com/paddock/paddock/internal/watch"
)

// stateMachine adapts the tree to raftnode. Raft entries carry an envelope around the txn:
// the proposing member's id and a sequence number, so the member that proposed a txn can find
// the request waiting for it.
type stateMachine struct {
	s *Server

	// eventACL is the ACL of the event being delivered; allowRead (made once, so that firing
	// an event allocates nothing) checks a watcher against it. Apply goroutine only.
	eventACL  []proto.ACL
	allowRead func(w watch.Watcher) bool

	dirty []*conn // connections with replies queued in this batch of entries (apply goroutine)

	// txn is decoded again for every entry (apply goroutine), keeping its auth ids.
	txn tree.Txn

	mu      sync.Mutex
	seq     uint64              // guarded by mu
	pending map[uint64]*request // guarded by mu
}

// Envelope kinds: the first byte of every raft entry this server proposes.
const (
	envTxn   = 1 // a tree txn
	envTouch = 2 // session liveness seen by a member: a list of session ids; no txn, no zxid
	envOwner = 3 // a reconnecting session attached to a connection; no txn, no zxid
)

// initSeq starts this process's proposal sequence numbers at a value no earlier run of the
// member used (the clock in ns), so that an entry proposed before a crash and committed after
// the restart can never be taken for the reply to a new request.
func (m *stateMachine) initSeq() {
	m.seq = uint64(time.Now().UnixNano())
}

// envelope encodes txn for a raft entry and registers r (if any) to receive its result.
func (m *stateMachine) envelope(txn *tree.Txn, r *request) []byte {
	m.mu.Lock()
	m.seq++
	seq := m.seq
	if r != nil {
		m.pending[seq] = r
	}
	m.mu.Unlock()
	b := make([]byte, 17, 17+128+len(txn.Body)) // the header, the txn's fields and ip id, the body
	b[0] = envTxn
	binary.BigEndian.PutUint64(b[1:], m.s.opts.ServerID)
	binary.BigEndian.PutUint64(b[9:], seq)
	return txn.Marshal(b)
}

// ownerEnvelope encodes the attachment of session sid to connection owner, checked against
// passwd (tree.Attach), and registers r to receive the outcome:
//
//	[u8 envOwner][u64 origin][u64 seq][i64 session][u64 owner][u64 owner's seq][passwd]
func (m *stateMachine) ownerEnvelope(sid int64, owner, ownerSeq uint64, passwd []byte, r *request) []byte {
	m.mu.Lock()
	m.seq++
	seq := m.seq
	m.pending[seq] = r
	m.mu.Unlock()
	b := make([]byte, 41, 41+len(passwd))
	b[0] = envOwner
	binary.BigEndian.PutUint64(b[1:], m.s.opts.ServerID)
	binary.BigEndian.PutUint64(b[9:], seq)
	binary.BigEndian.PutUint64(b[17:], uint64(sid))
	binary.BigEndian.PutUint64(b[25:], owner)
	binary.BigEndian.PutUint64(b[33:], ownerSeq)
	return append(b, passwd...)
}

// applyOwner applies an ownerEnvelope and answers the member's waiting handshake.
func (m *stateMachine) applyOwner(data []byte) {
	s := m.s
	if len(data) < 41 {
		s.log.Error("skipping malformed session owner entry", "len", len(data))
		return
	}
	origin, seq := binary.BigEndian.Uint64(data[1:]), binary.BigEndian.Uint64(data[9:])
	sid, owner := int64(binary.BigEndian.Uint64(data[17:])), binary.BigEndian.Uint64(data[25:])
	ownerSeq := binary.BigEndian.Uint64(data[33:])
	s.treeMu.Lock()
	ok := s.tree.Attach(sid, data[41:], owner, ownerSeq)
	s.treeMu.Unlock()
	if origin != s.opts.ServerID {
		return
	}
	m.mu.Lock()
	r := m.pending[seq]
	delete(m.pending, seq)
	m.mu.Unlock()
	if r != nil {
		res := tree.Result{Err: proto.CodeOK}
		if !ok {
			res.Err = proto.CodeSessionExpired
		}
		r.c.complete(r, &res)
	}
}

// cancel forgets r after a failed proposal.
func (m *stateMachine) cancel(r *request) {
	if r == nil {
		return
	}
	m.mu.Lock()
	for k, v := range m.pending {
		if v == r {
			delete(m.pending, k)
		}
	}
	m.mu.Unlock()
}

// expireRequests closes the connections of writes proposed before cutoff that have not
// applied: their proposals were lost (a leader change) and the clients must retry.
func (m *stateMachine) expireRequests(cutoff time.Time) {
	var late []*request
	m.mu.Lock()
	for seq, r := range m.pending {
		if r.start.Before(cutoff) {
			late = append(late, r)
			delete(m.pending, seq)
		}
	}
	m.mu.Unlock()
	for _, r := range late {
		m.s.log.Warn("write not applied in time; closing its connection", "remote", r.c.remote, "op", r.op.String())
		r.c.close("request timed out")
	}
}

// failPending closes the connections of every request still waiting (the server stopped).
func (m *stateMachine) failPending() {
	m.mu.Lock()
	reqs := m.pending
	m.pending = make(map[uint64]*request)
	m.mu.Unlock()
	for _, r := range reqs {
		r.c.close("server stopped")
	}
}

var errEnvelope = errors.New("server: malformed log entry envelope")

func parseEnvelope(data []byte) (origin, seq uint64, txn []byte, err error) {
	if len(data) < 17 || data[0] != envTxn {
		return 0, 0, nil, errEnvelope
	}
	return binary.BigEndian.Uint64(data[1:]), binary.BigEndian.Uint64(data[9:]), data[17:], nil
}

// nextZxid gives the zxid of the next txn: epoch = raft term, the counter restarting at 1 in
// a new term. It depends only on the tree's last zxid and the entry's term, so every replica
// (and every replay) computes the same value.
func nextZxid(last int64, term uint64) int64 {
	epoch := int64(term)
	if last>>32 == epoch {
		return last + 1
	}
	return epoch<<32 | 1
}

// touchEnvelope encodes a batch of session ids that had client traffic on this member.
func touchEnvelope(origin uint64, ids []int64) []byte {
	b := make([]byte, 9, 9+8*len(ids))
	b[0] = envTouch
	binary.BigEndian.PutUint64(b[1:], origin)
	for _, id := range ids {
		b = binary.BigEndian.AppendUint64(b, uint64(id))
	}
	return b
}

// applyTouch refreshes the deadlines of the sessions in a touch entry. Every member keeps its
// tracker warm this way, so a new leader knows which sessions are alive.
func (m *stateMachine) applyTouch(data []byte) {
	if len(data) < 9 || (len(data)-9)%8 != 0 {
		m.s.log.Error("skipping malformed session touch entry", "len", len(data))
		return
	}
	now := time.Now()
	for b := data[9:]; len(b) >= 8; b = b[8:] {
		m.s.sessions.Touch(int64(binary.BigEndian.Uint64(b)), now)
	}
}

// Apply implements raftnode.StateMachine.
func (m *stateMachine) Apply(index, term uint64, data []byte) {
	s := m.s
	if len(data) > 0 && data[0] == envTouch {
		m.applyTouch(data)
		return
	}
	if len(data) > 0 && data[0] == envOwner {
		m.applyOwner(data)
		return
	}
	if len(data) > 0 && data[0] == envReconfig {
		s.applyReconfigCtl(term, data)
		return
	}
	origin, seq, body, err := parseEnvelope(data)
	txn := &m.txn
	if err == nil {
		err = txn.Unmarshal(body)
	}
	if err != nil {
		// Every replica rejects the same bytes the same way, so skipping keeps them identical.
		s.log.Error("skipping undecodable log entry", "index", index, "err", err)
		return
	}

	s.treeMu.Lock()
	zxid := nextZxid(s.tree.LastZxid(), term)
	res := s.tree.Apply(zxid, txn)
	for i := range res.Events {
		ev := &res.Events[i]
		var allow func(w watch.Watcher) bool
		if !s.opts.SkipACL && len(ev.ACL) > 0 {
			m.eventACL, allow = ev.ACL, m.allowRead
		}
		s.watches.Trigger(ev.Type, ev.Path, res.Zxid, allow)
	}
	m.eventACL = nil
	s.treeMu.Unlock()

	switch txn.Type {
	case proto.OpCreateSession:
		if res.Err == proto.CodeOK {
			var cs tree.CreateSessionTxn
			if proto.Unmarshal(txn.Body, &cs) == nil {
				s.sessions.Add(txn.SessionID, time.Duration(cs.Timeout)*time.Millisecond, time.Now())
			}
		}
	case proto.OpCloseSession:
		s.sessions.Remove(txn.SessionID)
	}

	var r *request
	if origin == s.opts.ServerID {
		m.mu.Lock()
		r = m.pending[seq]
		delete(m.pending, seq)
		m.mu.Unlock()
	}
	if r != nil {
		r.c.complete(r, &res)
	}
	if txn.Type == proto.OpCloseSession && (r == nil || r.op != proto.OpCloseSession) {
		// Expired (not closed by its client): drop the session's connection, if any.
		if c := s.connOf(txn.SessionID); c != nil {
			c.expired()
		}
	}
}

// ApplyDone implements raftnode.BatchApplier: the batch of entries has applied, so the
// writers of the connections it answered are woken, each once.
func (m *stateMachine) ApplyDone() {
	for i, c := range m.dirty {
		c.dirty = false
		c.wakeWriter()
		m.dirty[i] = nil
	}
	m.dirty = m.dirty[:0]
}

// Snapshot implements raftnode.StateMachine: the tree captures a consistent copy while no
// txn applies (this runs on the apply goroutine), and the returned function encodes it on
// the snapshot goroutine.
func (m *stateMachine) Snapshot(index uint64) (func(io.Writer) error, error) {
	// Snapshot advances the tree's generation: a write, so readers must be kept out.
	m.s.treeMu.Lock()
	defer m.s.treeMu.Unlock()
	return m.s.tree.Snapshot(), nil
}

// Restore implements raftnode.StateMachine.
func (m *stateMachine) Restore(r io.Reader) error {
	t, err := tree.Restore(r, treeOptions(m.s.opts))
	if err != nil {
		return err
	}
	m.s.treeMu.Lock()
	m.s.tree = t
	m.s.treeMu.Unlock()
	// The session table came with the snapshot: track exactly its sessions, each with a fresh
	// timeout (a member that caught up from a snapshot must not call live sessions expired).
	m.s.refreshSessions()
	return nil
}
