package tree

import (
	"bytes"
	"slices"
	"strings"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/proto"
)

// Tree is the znode tree and the session table. It is not safe for concurrent use: the
// caller serialises Apply against everything else (the server applies under a write lock
// and reads under a read lock; the read methods do not modify the tree, and fill its path
// cache only through atomic slots).
type Tree struct {
	opts Options
	root *node
	// gen is the current copy-on-write generation; Snapshot advances it.
	gen      uint32
	lastZxid int64

	nodeCount  int   // real nodes, the root once
	dataSize   int64 // sum of len(path)+len(data) over real nodes
	ephemerals int

	sessions   map[int64]*session
	containers map[string]struct{}
	ttls       map[string]struct{}
	acls       map[string]*aclEntry

	keyBuf []byte
	dec    proto.Decoder
	// setReq is where Apply decodes a setData txn: the hottest write needs no new request
	// each time (Apply runs on one goroutine; nothing keeps the request after it).
	setReq proto.SetDataRequest
	// undo is the log of the multi being applied (nil outside a multi).
	undo    []undoRec
	inMulti bool

	// cache memoizes lookup; nil disables it (tests compare both).
	cache *pathCache
}

type session struct {
	timeout int32
	passwd  []byte
	eph     map[string]struct{}
	// owner is the connection the session is attached to (see Txn.Owner); 0 = any.
	// ownerSeq is the Seq of the owner's last txn applied.
	owner, ownerSeq uint64
}

// SessionInfo describes a live session. Passwd is shared with the tree and must not be
// modified.
type SessionInfo struct {
	ID         int64
	Timeout    int32
	Passwd     []byte
	Ephemerals int
	Owner      uint64 // the connection the session is attached to; 0 = any
}

// Stats are the tree's gauges, with ZooKeeper's conventions.
type Stats struct {
	// NodeCount counts the root twice, as ZooKeeper's map of paths does ("" and "/"), so
	// a fresh tree reports 5 (zk_znode_count).
	NodeCount int
	// ApproximateDataSize is the sum of len(path)+len(data) over the nodes
	// (zk_approximate_data_size); paths are counted in bytes where Java counts UTF-16 units.
	ApproximateDataSize int64
	// EphemeralCount is the number of ephemeral nodes (zk_ephemerals_count).
	EphemeralCount int
}

func newEmpty(opts Options) *Tree {
	return &Tree{
		opts:       opts,
		sessions:   make(map[int64]*session),
		containers: make(map[string]struct{}),
		ttls:       make(map[string]struct{}),
		acls:       make(map[string]*aclEntry),
		cache:      newPathCache(cacheSlots),
	}
}

// New returns a fresh tree as ZooKeeper 3.9's DataTree constructor builds it: "/",
// "/zookeeper" and "/zookeeper/quota" with world:anyone:cdrwa, and "/zookeeper/config" with
// world:anyone:r and aversion -1 (it is set with setACL(..., -1)); all data empty, all zxids
// and times 0. Their client cversions are therefore -1 for "/" and -2 for "/zookeeper".
func New(opts Options) *Tree {
	t := newEmpty(opts)
	open := t.internACL(acl.OpenUnsafe)
	mk := func(name string, a *aclEntry) *node {
		n := newNode(name, emptyData)
		n.acl = a
		return n
	}
	t.root = mk("", open)
	zk := mk("zookeeper", t.internACL(acl.OpenUnsafe))
	quota := mk("quota", t.internACL(acl.OpenUnsafe))
	config := mk("config", t.internACL(acl.ReadUnsafe))
	config.aversion = -1
	zk.children.insert(config, zk.gen)
	zk.children.insert(quota, zk.gen)
	t.root.children.insert(zk, t.root.gen)
	t.nodeCount = 4
	t.dataSize = int64(len("/") + len("/zookeeper") + len("/zookeeper/quota") + len("/zookeeper/config"))
	return t
}

// Options returns the options the tree was made with.
func (t *Tree) Options() Options { return t.opts }

// LastZxid returns the zxid of the last txn applied (failed ones included).
func (t *Tree) LastZxid() int64 { return t.lastZxid }

// Lookup returns the client's Stat and the ACL of the node at path. The lookup is exact
// ("" is the root, like "/"). acl is shared with the tree and must not be modified.
func (t *Tree) Lookup(path string) (stat proto.Stat, acl []proto.ACL, ok bool) {
	n := t.find(path)
	if n == nil {
		return proto.Stat{}, nil, false
	}
	n.stat(&stat)
	return stat, n.acl.list, true
}

// Stats returns the tree's gauges.
func (t *Tree) Stats() Stats {
	return Stats{
		NodeCount:           t.nodeCount + 1,
		ApproximateDataSize: t.dataSize,
		EphemeralCount:      t.ephemerals,
	}
}

// Session returns the live session id.
func (t *Tree) Session(id int64) (SessionInfo, bool) {
	s, ok := t.sessions[id]
	if !ok {
		return SessionInfo{}, false
	}
	return SessionInfo{ID: id, Timeout: s.timeout, Passwd: s.passwd, Ephemerals: len(s.eph), Owner: s.owner}, true
}

// Attach attaches a live session to the connection owner, through which its client
// reconnected with passwd: writes from the session's other connections then fail with
// SESSIONMOVED. It reports whether the session is live and the password right (else it
// changes nothing). It changes replicated state like Apply, but consumes no zxid, as
// ZooKeeper's revalidation of a moving session is no txn.
//
// seq is the attachment's number among the new connection's proposals (see Txn.Seq).
func (t *Tree) Attach(id int64, passwd []byte, owner, seq uint64) bool {
	s, ok := t.sessions[id]
	if !ok || !bytes.Equal(s.passwd, passwd) {
		return false
	}
	s.owner, s.ownerSeq = owner, seq
	return true
}

// Sessions returns every live session, sorted by id.
func (t *Tree) Sessions() []SessionInfo {
	out := make([]SessionInfo, 0, len(t.sessions))
	for id, s := range t.sessions {
		out = append(out, SessionInfo{ID: id, Timeout: s.timeout, Passwd: s.passwd, Ephemerals: len(s.eph), Owner: s.owner})
	}
	slices.SortFunc(out, func(a, b SessionInfo) int { return cmpInt64(a.ID, b.ID) })
	return out
}

// SessionEphemerals returns the paths of the session's ephemeral nodes, sorted.
func (t *Tree) SessionEphemerals(id int64) []string {
	s, ok := t.sessions[id]
	if !ok {
		return nil
	}
	return sortedKeys(s.eph)
}

// ReapCandidates returns up to max (all when max <= 0) paths the container reaper should
// delete at time now (ms), sorted: empty containers that have had a child (persisted
// cversion > 0); empty containers that never had one and whose mtime is more than
// MaxNeverUsed ago (when MaxNeverUsed > 0); empty TTL nodes whose mtime is more than their
// ttl ago (ContainerManager.getCandidates). Apply re-checks each one when the
// deleteContainer txn arrives.
func (t *Tree) ReapCandidates(now int64, max int) []string {
	var out []string
	for p := range t.containers {
		if n := t.find(p); n != nil && t.reapable(n, now) {
			out = append(out, p)
		}
	}
	for p := range t.ttls {
		if n := t.find(p); n != nil && t.reapable(n, now) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	if max > 0 && len(out) > max {
		out = out[:max:max]
	}
	return out
}

func (t *Tree) reapable(n *node, now int64) bool {
	if n.children.len() != 0 {
		return false
	}
	switch n.kind {
	case kindContainer:
		return n.cversion > 0 || (t.opts.MaxNeverUsed != 0 && now-n.mtime > t.opts.MaxNeverUsed)
	case kindTTL:
		return n.owner != 0 && now-n.mtime > n.owner
	}
	return false
}

func (t *Tree) live(id int64) bool {
	_, ok := t.sessions[id]
	return ok
}

func (t *Tree) allowed(n *node, auth []proto.ID, perm int32) bool {
	return t.opts.SkipACL || acl.Check(n.acl.list, auth, perm)
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// hasNul reports whether s contains '\0', which ZooKeeper rejects before any lookup.
func hasNul(s string) bool { return strings.IndexByte(s, 0) >= 0 }
