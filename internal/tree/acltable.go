package tree

import (
	"github.com/paddock/paddock/internal/proto"
)

// aclEntry is one interned ACL list (ZooKeeper's ReferenceCountedACLCache): every node with
// an equal list (same entries in the same order) points to the same entry. list and key are
// immutable once the entry exists, so a snapshot writer may read list while apply changes
// refs.
type aclEntry struct {
	list []proto.ACL
	key  string
	refs int
}

func (t *Tree) aclKey(list []proto.ACL) []byte {
	e := proto.Encoder{B: t.keyBuf[:0]}
	for i := range list {
		list[i].Encode(&e)
	}
	t.keyBuf = e.B
	return e.B
}

// internACL returns the entry for list with one more reference. list is copied when a new
// entry is made, so the caller may reuse it.
func (t *Tree) internACL(list []proto.ACL) *aclEntry {
	key := t.aclKey(list)
	if e, ok := t.acls[string(key)]; ok {
		e.refs++
		return e
	}
	l := make([]proto.ACL, len(list))
	copy(l, list)
	e := &aclEntry{list: l, key: string(key), refs: 1}
	t.acls[e.key] = e
	return e
}

// retainACL adds a reference to e (a node coming back, as when a failed multi restores a
// deleted node). If an equal list was interned meanwhile, that entry is returned instead.
func (t *Tree) retainACL(e *aclEntry) *aclEntry {
	if cur, ok := t.acls[e.key]; ok {
		cur.refs++
		return cur
	}
	e.refs = 1
	t.acls[e.key] = e
	return e
}

// releaseACL drops a reference; the entry leaves the table with its last node.
func (t *Tree) releaseACL(e *aclEntry) {
	e.refs--
	if e.refs <= 0 {
		if cur, ok := t.acls[e.key]; ok && cur == e {
			delete(t.acls, e.key)
		}
	}
}
