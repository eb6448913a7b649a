package tree

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"unsafe"

	"github.com/paddock/paddock/internal/proto"
)

// Snapshot format, version 2. All integers big-endian; a string is a uint32 length and the
// bytes; a buffer is an int32 length (-1 = null) and the bytes.
//
//	magic        "PDCKSNAP"
//	version      uint32 (2; version 1, without the owner, is still read)
//	lastZxid     int64
//	nodeCount    uint64            real nodes, the root once
//	sessions     uint32 count, then per session in id order:
//	             int64 id, int32 timeout, buffer passwd, uint64 owner, uint64 ownerSeq
//	nodes        nodeCount records in depth-first preorder, children in name order:
//	             string name ("" for the root), uint8 kind, int64 owner,
//	             uint32 acl: an index into the ACL lists defined so far; the next
//	                  index defines a new list inline: uint32 n, n × (int32 perms,
//	                  string scheme, string id)
//	             int64 czxid, mzxid, pzxid, ctime, mtime
//	             int32 version, cversion (persisted), aversion
//	             buffer data
//	             uint32 number of children (their records follow, recursively)
//	crc          uint32 CRC-32C of every byte before it
//
// The encoding is canonical: two trees with the same content give the same bytes, however
// they got there (ACL lists are numbered by first use in preorder). Compression is the
// caller's business.
const (
	snapMagic     = "PDCKSNAP"
	snapVersion   = 2
	snapVersionV1 = 1
)

// ErrBadSnapshot is returned (wrapped) by Restore for input that is not a valid snapshot.
var ErrBadSnapshot = errors.New("tree: malformed snapshot")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type snapSession struct {
	id      int64
	timeout int32
	passwd  []byte
	owner   uint64
	seq     uint64
}

// Snapshot captures the current state in O(sessions) time and returns a function that
// writes it to w. The caller must hold the lock that serialises Apply while calling
// Snapshot; the returned function may run later, on any goroutine, concurrently with Apply
// and reads, and more than once. It captures the state as of the call.
//
// This works because the tree is copy-on-write across snapshots: Snapshot advances the
// tree's generation, and Apply clones any node (and its ancestors) of an older generation
// before changing it, so the nodes reachable from the captured root never change again.
func (t *Tree) Snapshot() func(w io.Writer) error {
	root := t.root
	lastZxid := t.lastZxid
	count := uint64(t.nodeCount)
	sessions := make([]snapSession, 0, len(t.sessions))
	for id, s := range t.sessions {
		sessions = append(sessions, snapSession{id: id, timeout: s.timeout, passwd: s.passwd, owner: s.owner, seq: s.ownerSeq})
	}
	slices.SortFunc(sessions, func(a, b snapSession) int { return cmpInt64(a.id, b.id) })
	t.gen++
	return func(w io.Writer) error {
		return writeSnapshot(w, root, lastZxid, count, sessions)
	}
}

type crcWriter struct {
	w   io.Writer
	crc uint32
}

func (c *crcWriter) Write(p []byte) (int, error) {
	c.crc = crc32.Update(c.crc, castagnoli, p)
	return c.w.Write(p)
}

type snapWriter struct {
	bw  *bufio.Writer
	tmp [8]byte
}

func (s *snapWriter) u8(v uint8) { s.bw.WriteByte(v) }
func (s *snapWriter) u32(v uint32) {
	binary.BigEndian.PutUint32(s.tmp[:4], v)
	s.bw.Write(s.tmp[:4])
}
func (s *snapWriter) u64(v uint64) {
	binary.BigEndian.PutUint64(s.tmp[:8], v)
	s.bw.Write(s.tmp[:8])
}
func (s *snapWriter) str(v string) { s.u32(uint32(len(v))); s.bw.WriteString(v) }
func (s *snapWriter) buf(v []byte) {
	if v == nil {
		s.u32(^uint32(0))
		return
	}
	s.u32(uint32(len(v)))
	s.bw.Write(v)
}

func writeSnapshot(w io.Writer, root *node, lastZxid int64, count uint64, sessions []snapSession) error {
	cw := &crcWriter{w: w}
	s := &snapWriter{bw: bufio.NewWriterSize(cw, 64<<10)}
	s.bw.WriteString(snapMagic)
	s.u32(snapVersion)
	s.u64(uint64(lastZxid))
	s.u64(count)
	s.u32(uint32(len(sessions)))
	for _, ss := range sessions {
		s.u64(uint64(ss.id))
		s.u32(uint32(ss.timeout))
		s.buf(ss.passwd)
		s.u64(ss.owner)
		s.u64(ss.seq)
	}
	aclIndex := make(map[*aclEntry]uint32)
	stack := []*node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		s.str(n.name())
		s.u8(uint8(n.kind))
		s.u64(uint64(n.owner))
		if idx, ok := aclIndex[n.acl]; ok {
			s.u32(idx)
		} else {
			idx = uint32(len(aclIndex))
			aclIndex[n.acl] = idx
			s.u32(idx)
			s.u32(uint32(len(n.acl.list)))
			for _, a := range n.acl.list {
				s.u32(uint32(a.Perms))
				s.str(a.ID.Scheme)
				s.str(a.ID.ID)
			}
		}
		s.u64(uint64(n.czxid))
		s.u64(uint64(n.mzxid))
		s.u64(uint64(n.pzxid))
		s.u64(uint64(n.ctime))
		s.u64(uint64(n.mtime))
		s.u32(uint32(n.version))
		s.u32(uint32(n.cversion))
		s.u32(uint32(n.aversion))
		s.buf(n.data())
		s.u32(uint32(n.children.len()))
		for c := range n.children.backward() {
			stack = append(stack, c)
		}
	}
	if err := s.bw.Flush(); err != nil {
		return err
	}
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], cw.crc)
	_, err := w.Write(crc[:])
	return err
}

type snapReader struct {
	r   *bufio.Reader
	crc uint32
	off int64
	err error
	tmp [8]byte
}

func (s *snapReader) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("%w: %s (offset %d)", ErrBadSnapshot, fmt.Sprintf(format, args...), s.off)
	}
}

func (s *snapReader) read(p []byte) bool {
	if s.err != nil {
		return false
	}
	if _, err := io.ReadFull(s.r, p); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			s.fail("truncated")
		} else {
			s.err = err
		}
		return false
	}
	s.crc = crc32.Update(s.crc, castagnoli, p)
	s.off += int64(len(p))
	return true
}

func (s *snapReader) u8() uint8 {
	if !s.read(s.tmp[:1]) {
		return 0
	}
	return s.tmp[0]
}

func (s *snapReader) u32() uint32 {
	if !s.read(s.tmp[:4]) {
		return 0
	}
	return binary.BigEndian.Uint32(s.tmp[:4])
}

func (s *snapReader) u64() uint64 {
	if !s.read(s.tmp[:8]) {
		return 0
	}
	return binary.BigEndian.Uint64(s.tmp[:8])
}

// bytes reads n bytes, growing the buffer as data arrives so that a corrupt length cannot
// make it allocate more than the input holds (plus one chunk).
func (s *snapReader) bytes(n int) []byte {
	const chunk = 64 << 10
	out := make([]byte, 0, min(n, chunk))
	for len(out) < n && s.err == nil {
		k := min(n-len(out), chunk)
		out = slices.Grow(out, k)
		if !s.read(out[len(out) : len(out)+k]) {
			return nil
		}
		out = out[:len(out)+k]
	}
	return out
}

const maxSnapString = 1 << 30

// appendBytes reads a string's bytes into buf, as str does without allocating a string.
func (s *snapReader) appendBytes(buf []byte, what string) []byte {
	n := s.u32()
	if n > maxSnapString {
		s.fail("%s length %d out of range", what, n)
		return buf
	}
	if int(n) <= cap(buf) {
		buf = buf[:n]
		if !s.read(buf) {
			return buf[:0]
		}
		return buf
	}
	return append(buf, s.bytes(int(n))...)
}

// nameData reads a data record (as buf) into n together with name: one allocation for both
// unless the data is large (it is then read in chunks, see bytes, and copied once more).
func (s *snapReader) nameData(n *node, name []byte) {
	const direct = 64 << 10
	l := s.u32()
	switch {
	case l == ^uint32(0):
		n.setNameData(string(name), nil)
	case l > maxSnapString:
		s.fail("data length %d out of range", l)
	case l > direct:
		n.setNameData(string(name), s.bytes(int(l)))
	default:
		b := make([]byte, len(name)+int(l))
		copy(b, name)
		if s.read(b[len(name):]) {
			n.nd, n.nameLen = unsafe.String(unsafe.SliceData(b), len(b)), uint32(len(name))
		}
	}
}

func (s *snapReader) str(what string) string {
	n := s.u32()
	if n > maxSnapString {
		s.fail("%s length %d out of range", what, n)
		return ""
	}
	return string(s.bytes(int(n)))
}

func (s *snapReader) buf(what string) []byte {
	n := s.u32()
	if n == ^uint32(0) {
		return nil
	}
	if n > maxSnapString {
		s.fail("%s length %d out of range", what, n)
		return nil
	}
	if n == 0 {
		return emptyData
	}
	return s.bytes(int(n))
}

// Restore reads a snapshot written by a Snapshot function and returns the tree it holds,
// with opts (which are not part of the snapshot). Any malformed input (bad magic or
// version, truncation, a CRC mismatch, trailing bytes, or content no sequence of txns could
// produce: unsorted or invalid names, an ephemeral without a live session or with children,
// a missing /zookeeper node, ...) gives an error wrapping ErrBadSnapshot; read errors are
// returned as they are.
func Restore(r io.Reader, opts Options) (*Tree, error) {
	s := &snapReader{r: bufio.NewReaderSize(r, 64<<10)}
	var magic [8]byte
	if !s.read(magic[:]) || string(magic[:]) != snapMagic {
		s.fail("bad magic")
		return nil, s.err
	}
	version := s.u32()
	if s.err == nil && version != snapVersion && version != snapVersionV1 {
		s.fail("unsupported version %d", version)
	}
	t := newEmpty(opts)
	t.lastZxid = int64(s.u64())
	count := s.u64()
	nsess := s.u32()
	var prev int64
	for i := uint32(0); i < nsess && s.err == nil; i++ {
		id := int64(s.u64())
		timeout := int32(s.u32())
		pw := s.buf("passwd")
		var owner, seq uint64
		if version == snapVersion {
			owner, seq = s.u64(), s.u64()
		}
		if s.err != nil {
			break
		}
		if id == 0 || (i > 0 && id <= prev) {
			s.fail("session ids not ascending")
			break
		}
		prev = id
		t.sessions[id] = &session{timeout: timeout, passwd: pw, owner: owner, ownerSeq: seq}
	}
	if s.err != nil {
		return nil, s.err
	}
	if err := t.readNodes(s, count); err != nil {
		return nil, err
	}
	want := s.crc
	var crc [4]byte
	if _, err := io.ReadFull(s.r, crc[:]); err != nil {
		return nil, fmt.Errorf("%w: truncated before the checksum", ErrBadSnapshot)
	}
	if got := binary.BigEndian.Uint32(crc[:]); got != want {
		return nil, fmt.Errorf("%w: checksum mismatch (stored %08x, computed %08x)", ErrBadSnapshot, got, want)
	}
	if _, err := s.r.ReadByte(); err != io.EOF {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: trailing bytes after the checksum", ErrBadSnapshot)
	}
	for _, p := range []string{"/zookeeper", "/zookeeper/quota", "/zookeeper/config"} {
		if t.find(p) == nil {
			return nil, fmt.Errorf("%w: %s is missing", ErrBadSnapshot, p)
		}
	}
	return t, nil
}

// validName checks "/name" by ZooKeeper's path rules: under a valid parent, that checks the
// whole path. The string given to ValidatePath aliases slashName (which a string conversion
// would copy, as the error escapes); the error is dropped at once.
func validName(slashName []byte) bool {
	return proto.ValidatePath(unsafe.String(unsafe.SliceData(slashName), len(slashName)), false) == nil
}

type restoreFrame struct {
	n         *node
	path      string // "" for the root, so that children are path+"/"+name
	remaining uint32
}

// readNodes reads the preorder node records and builds the tree, accounting each node.
func (t *Tree) readNodes(s *snapReader, count uint64) error {
	var table []*aclEntry
	var name []byte    // the record's name, read before the data it shares an allocation with
	var pathBuf []byte // the record's path; a string of it is made only where one is kept
	// readNode reads one record whose parent's path is parent ("" for the root's
	// children); root is true for the first record. It returns the node, its path and
	// its number of children, or nil with s.err set.
	readNode := func(parent string, root bool) (*node, string, uint32) {
		n := &node{}
		name = s.appendBytes(name[:0], "name")
		pathBuf = append(append(append(pathBuf[:0], parent...), '/'), name...)
		switch {
		case s.err != nil:
			return nil, "", 0
		case root:
			pathBuf = append(pathBuf[:0], '/')
			if len(name) != 0 {
				s.fail("root record has name %q", name)
			}
		case len(name) == 0 || bytes.IndexByte(name, '/') >= 0 || !validName(pathBuf[len(parent):]):
			s.fail("invalid node name %q under %q", name, eventPath(parent))
		}
		n.kind = kind(s.u8())
		n.owner = int64(s.u64())
		idx := s.u32()
		switch {
		case s.err != nil:
		case int(idx) < len(table):
			n.acl = table[idx]
		case int(idx) == len(table):
			k := s.u32()
			list := make([]proto.ACL, 0, min(k, 64))
			for j := uint32(0); j < k && s.err == nil; j++ {
				perms := int32(s.u32())
				scheme := s.str("acl scheme")
				id := s.str("acl id")
				list = append(list, proto.ACL{Perms: perms, ID: proto.ID{Scheme: scheme, ID: id}})
			}
			if s.err != nil {
				break
			}
			key := string(t.aclKey(list))
			if _, dup := t.acls[key]; dup {
				s.fail("ACL list defined twice")
				break
			}
			e := &aclEntry{list: list, key: key}
			t.acls[key] = e
			table = append(table, e)
			n.acl = e
		default:
			s.fail("ACL index %d out of range", idx)
		}
		n.czxid = int64(s.u64())
		n.mzxid = int64(s.u64())
		n.pzxid = int64(s.u64())
		n.ctime = int64(s.u64())
		n.mtime = int64(s.u64())
		n.version = int32(s.u32())
		n.cversion = int32(s.u32())
		n.aversion = int32(s.u32())
		s.nameData(n, name)
		nc := s.u32()
		if s.err != nil {
			return nil, "", 0
		}
		// Most nodes are persistent leaves, which keep no path: no string for them.
		var path string
		if nc > 0 || n.kind != kindPersistent {
			path = string(pathBuf)
		}
		switch n.kind {
		case kindPersistent, kindContainer:
			if n.owner != 0 {
				s.fail("node %q: unexpected owner %#x", pathBuf, n.owner)
			}
			if root && n.kind != kindPersistent {
				s.fail("root is a container")
			}
		case kindEphemeral:
			if !t.live(n.owner) {
				s.fail("ephemeral %q: session %#x is not live", path, n.owner)
			} else if nc != 0 {
				s.fail("ephemeral %q has children", path)
			}
		case kindTTL:
			if n.owner <= 0 || n.owner > proto.MaxTTL {
				s.fail("TTL node %q: ttl %d out of range", path, n.owner)
			}
		default:
			s.fail("node %q: unknown kind %d", path, n.kind)
		}
		if s.err != nil {
			return nil, "", 0
		}
		n.acl.refs++
		if path != "" {
			t.account(path, n, +1)
		} else {
			t.count(len(pathBuf), n, +1)
		}
		return n, path, nc
	}

	root, _, nc := readNode("", true)
	if s.err != nil {
		return s.err
	}
	t.root = root
	stack := []restoreFrame{{n: root, path: "", remaining: nc}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.remaining == 0 {
			top.n.children.seal()
			stack = stack[:len(stack)-1]
			continue
		}
		top.remaining--
		if uint64(t.nodeCount) >= count {
			return fmt.Errorf("%w: more nodes than the header's %d", ErrBadSnapshot, count)
		}
		n, path, nc := readNode(top.path, false)
		if s.err != nil {
			return s.err
		}
		if l := top.n.children.last(); l != nil && l.name() >= n.name() {
			return fmt.Errorf("%w: children of %q not in order", ErrBadSnapshot, eventPath(top.path))
		}
		top.n.children.appendLast(n, top.n.gen)
		if nc > 0 {
			stack = append(stack, restoreFrame{n: n, path: path, remaining: nc})
		}
	}
	if uint64(t.nodeCount) != count {
		return fmt.Errorf("%w: %d nodes, header says %d", ErrBadSnapshot, t.nodeCount, count)
	}
	return nil
}
