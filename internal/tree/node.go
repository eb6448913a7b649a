package tree

import (
	"strings"
	"unsafe"

	"github.com/paddock/paddock/internal/proto"
)

// kind is what a node is beyond its data: ZooKeeper encodes it in ephemeralOwner, we keep it
// apart so that no session id can be mistaken for a container or TTL marker.
type kind uint8

const (
	kindPersistent kind = iota
	kindEphemeral       // owner = session id
	kindContainer       // owner = 0 (ZooKeeper stores Long.MIN_VALUE)
	kindTTL             // owner = ttl in ms (ZooKeeper stores 0xFF00000000000000|ttl)
	numKinds
)

// node is one znode. See the package doc for the layout and the copy-on-write rule: a node
// whose gen differs from the tree's may be shared with a snapshot and is never modified; the
// tree clones it (and its ancestors) first.
type node struct {
	// nd is the node's name followed by its data, in one allocation: a short name costs
	// no allocation of its own (a 100-byte value under an 8-byte name fills the 112-byte
	// size class either way). It is never modified: setData makes a new one. The first
	// nameLen bytes are the name; null says the data is null rather than empty.
	nd       string
	children kids // sorted by name
	acl      *aclEntry
	czxid    int64
	mzxid    int64
	pzxid    int64
	ctime    int64
	mtime    int64
	owner    int64  // session id (ephemeral) or ttl (TTL node); 0 otherwise
	gen      uint32 // copy-on-write generation: a snapshot each; wraps after 2^32 of them
	nameLen  uint32
	version  int32
	cversion int32 // persisted form: the number of child creations
	aversion int32
	kind     kind
	null     bool
}

// emptyData is the data of a node created with an empty, non-null buffer. It is never
// written.
var emptyData = []byte{}

// newNode returns a node called name holding a copy of data (nil = null).
func newNode(name string, data []byte) *node {
	n := &node{}
	n.setNameData(name, data)
	return n
}

// setNameData points the node at a new buffer holding name then data.
func (n *node) setNameData(name string, data []byte) {
	var b strings.Builder
	b.Grow(len(name) + len(data))
	b.WriteString(name)
	b.Write(data)
	n.nd = b.String()
	n.nameLen = uint32(len(name))
	n.null = data == nil
}

func (n *node) name() string { return n.nd[:n.nameLen] }

// data returns the node's data: nil if null, emptyData if empty. The slice shares the node's
// immutable buffer: read it, never write it.
func (n *node) data() []byte {
	d := n.nd[n.nameLen:]
	switch {
	case n.null:
		return nil
	case d == "":
		return emptyData
	}
	return unsafe.Slice(unsafe.StringData(d), len(d))
}

func (n *node) dataLen() int { return len(n.nd) - int(n.nameLen) }

// setData replaces the data with a copy of data (nil = null).
func (n *node) setData(data []byte) { n.setNameData(n.name(), data) }

// stat fills s with the client's view of n (DataNode.copyStat).
func (n *node) stat(s *proto.Stat) {
	nc := int32(n.children.len())
	*s = proto.Stat{
		Czxid:       n.czxid,
		Mzxid:       n.mzxid,
		Ctime:       n.ctime,
		Mtime:       n.mtime,
		Version:     n.version,
		Cversion:    n.cversion*2 - nc,
		Aversion:    n.aversion,
		DataLength:  int32(n.dataLen()),
		NumChildren: nc,
		Pzxid:       n.pzxid,
	}
	if n.kind == kindEphemeral {
		s.EphemeralOwner = n.owner
	}
}

func (n *node) getStat() proto.Stat {
	var s proto.Stat
	n.stat(&s)
	return s
}

func (n *node) child(name string) *node { return n.children.get(name) }

// clone returns a private copy of n for generation gen. The children's index is copied so the
// original's stays untouched (and their chunks are copied when they change); everything else
// it points to is immutable or shared by design.
func (n *node) clone(gen uint32) *node {
	c := *n
	c.gen = gen
	c.children = n.children.clone()
	return &c
}

// nextComponent splits "a/b/c" into "a" and "b/c" (rest is "" after the last component,
// and last reports that there was no '/').
func nextComponent(p string) (comp, rest string, last bool) {
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:], false
	}
	return p, "", true
}

// find returns the node at path, or nil. The lookup is exact like ZooKeeper's map of paths:
// "" and "/" are the root, every other path must be canonical ("/a/b"; "/a/", "//a" and
// "a" name nothing).
func (t *Tree) find(path string) *node {
	n, _ := t.lookup(path)
	return n
}

// findWalk is find without the path cache. Apply looks nodes up this way: under writes a
// lookup costs a hash more than it saves (measured), and the cache is for reads.
func (t *Tree) findWalk(path string) *node {
	n, _ := t.walk(path)
	return n
}

// walk is lookup without the cache: one component at a time from the root.
func (t *Tree) walk(path string) (n *node, owned bool) {
	n = t.root
	owned = n.gen == t.gen
	if path == "" || path == "/" {
		return n, owned
	}
	if path[0] != '/' {
		return nil, false
	}
	rest := path[1:]
	for {
		comp, r, last := nextComponent(rest)
		if n = n.child(comp); n == nil {
			return nil, false
		}
		owned = owned && n.gen == t.gen
		if last {
			return n, owned
		}
		rest = r
	}
}

// modifiable returns n, found by lookup(path) with the given ownership, ready to modify.
func (t *Tree) modifiable(path string, n *node, owned bool) *node {
	if owned {
		return n
	}
	return t.mut(path)
}

// mut returns a modifiable node at path (which must exist), cloning it and every ancestor
// that is shared with a snapshot. It returns nil when the path names nothing.
func (t *Tree) mut(path string) *node {
	if t.root.gen != t.gen {
		t.root = t.root.clone(t.gen)
	}
	n := t.root
	if path == "" || path == "/" {
		return n
	}
	if path[0] != '/' {
		return nil
	}
	rest := path[1:]
	for {
		comp, r, last := nextComponent(rest)
		ci, i, ok := n.children.search(comp)
		if !ok {
			return nil
		}
		c := n.children.chunks[ci].c.nodes[i]
		if c.gen != t.gen {
			c = c.clone(t.gen)
			n.children.set(ci, i, c, t.gen)
			// This prefix of path now names the clone, not the node the cache may hold.
			t.cache.forget(path[:len(path)-len(rest)+len(comp)])
		}
		if last {
			return c
		}
		n, rest = c, r
	}
}

// insert adds c to the modifiable node p; the caller has checked that the name is free.
func (p *node) insert(c *node) { p.children.insert(c, p.gen) }

// unlink takes the node at path, a child of the modifiable node p, out of the tree and
// returns it. It is the only way a node leaves the tree, and the path cache forgets it here.
// Every caller removes a leaf (delete and the reaper refuse others, ephemerals have no
// children, a rollback undoes a multi's creates newest first); were one to remove a
// subtree, the cache would forget everything, as it cannot find the descendants' paths.
func (t *Tree) unlink(p *node, path string) *node {
	n := p.children.remove(path[strings.LastIndexByte(path, '/')+1:], p.gen)
	if n.children.len() > 0 {
		t.cache.reset()
	} else {
		t.cache.forget(path)
	}
	return n
}

// isReserved reports whether path is one of the nodes ZooKeeper never lets a client delete.
func isReserved(path string) bool {
	switch path {
	case "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config":
		return true
	}
	return false
}

// splitParent is ZooKeeper's path.substring(0, lastSlash) / substring(lastSlash+1); ok is
// false when the path has no '/'.
func splitParent(path string) (parent, name string, ok bool) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return "", "", false
	}
	return path[:i], path[i+1:], true
}

// eventPath is the path a NodeChildrenChanged event names for a parent: "/" for the root's
// "" alias.
func eventPath(parent string) string {
	if parent == "" {
		return "/"
	}
	return parent
}
