package tree

import (
	"math/rand/v2"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/proto"
)

// source is where the txn generator gets its choices: a seeded PRNG for the determinism
// test, the fuzzer's bytes for FuzzApply.
type source interface {
	intn(n int) int
}

type randSource struct{ r *rand.Rand }

func (s randSource) intn(n int) int { return s.r.IntN(n) }

// byteSource reads choices from fuzz input; done reports that it ran dry.
type byteSource struct {
	b    []byte
	done bool
}

func (s *byteSource) intn(n int) int {
	if len(s.b) == 0 {
		s.done = true
		return 0
	}
	v := int(s.b[0])
	s.b = s.b[1:]
	if n > 256 && len(s.b) > 0 {
		v = v<<8 | int(s.b[0])
		s.b = s.b[1:]
	}
	return v % n
}

// txnGen produces plausible and implausible txns over a small path space, so that ops
// collide often: every error path, sequential names, ephemerals, containers, TTLs, multi.
type txnGen struct {
	src  source
	now  int64
	next int64 // next session id to create
}

var genPaths = []string{
	"/a", "/a/b", "/a/b/c", "/a/c", "/c", "/c/x", "/e", "/e/x", "/t", "/t/x", "/q", "/q/",
	"/q/n-", "/a/", "a", "", "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config",
	"/zookeeper/x", "/a//b", "/a/.", "/\x00", "/q/n-0000000001",
}

var genACLs = [][]proto.ACL{
	acl.OpenUnsafe,
	acl.ReadUnsafe,
	acl.CreatorAll,
	{{Perms: proto.PermAll, ID: proto.ID{Scheme: "digest", ID: acl.Digest("alice:pw")}}},
	{{Perms: proto.PermCreate | proto.PermRead, ID: proto.ID{Scheme: "ip", ID: "127.0.0.0/8"}}, acl.ReadUnsafe[0]},
	{},
	nil,
	{{Perms: 31, ID: proto.ID{Scheme: "bogus", ID: "x"}}},
}

var genAuth = [][]proto.ID{
	{{Scheme: "ip", ID: "127.0.0.1"}},
	{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "digest", ID: acl.Digest("alice:pw")}},
	{{Scheme: "ip", ID: "10.0.0.1"}, acl.SuperID},
	{{Scheme: "ip", ID: "::1"}},
}

func (g *txnGen) pick(list []string) string { return list[g.src.intn(len(list))] }

func (g *txnGen) data() []byte {
	switch g.src.intn(4) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	b := make([]byte, g.src.intn(8))
	for i := range b {
		b[i] = byte('a' + g.src.intn(26))
	}
	return b
}

func (g *txnGen) version() int32 { return int32(g.src.intn(4)) - 1 }

func (g *txnGen) session() int64 {
	if g.next <= 1 {
		return int64(g.src.intn(3))
	}
	return int64(g.src.intn(int(g.next) + 1))
}

func (g *txnGen) multiOp() proto.MultiOp {
	p := g.pick(genPaths)
	switch g.src.intn(8) {
	case 0, 1:
		return proto.MultiOp{Type: proto.OpCreate, Path: p, Data: g.data(), ACL: genACLs[g.src.intn(3)], Flags: int32(g.src.intn(5))}
	case 2:
		return proto.MultiOp{Type: proto.OpCreate2, Path: p, ACL: acl.OpenUnsafe, Flags: int32(g.src.intn(4))}
	case 3:
		return proto.MultiOp{Type: proto.OpCreateTTL, Path: p, ACL: acl.OpenUnsafe, Flags: int32(5 + g.src.intn(2)), TTL: int64(g.src.intn(200))}
	case 4:
		return proto.MultiOp{Type: proto.OpDelete, Path: p, Version: g.version()}
	case 5:
		return proto.MultiOp{Type: proto.OpSetData, Path: p, Data: g.data(), Version: g.version()}
	case 6:
		return proto.MultiOp{Type: proto.OpCheck, Path: p, Version: g.version()}
	}
	return proto.MultiOp{Type: proto.OpCreateContainer, Path: p, ACL: acl.OpenUnsafe, Flags: 4}
}

// txn returns the next txn. t is consulted only for reaper candidates, as the leader does.
func (g *txnGen) txn(t *Tree) *Txn {
	g.now += int64(g.src.intn(100))
	txn := &Txn{SessionID: g.session(), Cxid: int32(g.src.intn(1000)), Time: g.now, Auth: genAuth[g.src.intn(len(genAuth))]}
	p := g.pick(genPaths)
	var body proto.Record
	switch g.src.intn(16) {
	case 0, 1, 2:
		txn.Type = []proto.Op{proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer}[g.src.intn(3)]
		body = &proto.CreateRequest{Path: p, Data: g.data(), ACL: genACLs[g.src.intn(len(genACLs))], Flags: int32(g.src.intn(8))}
	case 3:
		txn.Type = proto.OpCreateTTL
		body = &proto.CreateTTLRequest{Path: p, Data: g.data(), ACL: acl.OpenUnsafe, Flags: int32(g.src.intn(7)), TTL: int64(g.src.intn(300)) - 1}
	case 4, 5:
		txn.Type = proto.OpDelete
		body = &proto.DeleteRequest{Path: p, Version: g.version()}
	case 6, 7:
		txn.Type = proto.OpSetData
		body = &proto.SetDataRequest{Path: p, Data: g.data(), Version: g.version()}
	case 8:
		txn.Type = proto.OpSetACL
		body = &proto.SetACLRequest{Path: p, ACL: genACLs[g.src.intn(len(genACLs))], Version: g.version()}
	case 9, 10:
		txn.Type = proto.OpMulti
		m := &proto.MultiRequest{}
		for i := g.src.intn(5); i > 0; i-- {
			m.Ops = append(m.Ops, g.multiOp())
		}
		body = m
	case 11:
		txn.Type = proto.OpCreateSession
		g.next++
		txn.SessionID = g.next
		if g.src.intn(8) == 0 {
			txn.SessionID = int64(g.src.intn(int(g.next) + 1)) // maybe a duplicate
		}
		body = &CreateSessionTxn{Timeout: 30000, Passwd: []byte{byte(g.next)}}
	case 12:
		txn.Type = proto.OpCloseSession
	case 13:
		txn.Type = proto.OpDeleteContainer
		if c := t.ReapCandidates(g.now, 4); len(c) > 0 && g.src.intn(4) != 0 {
			p = c[g.src.intn(len(c))]
		}
		body = &proto.PathRequest{Path: p}
	case 14:
		txn.Type = []proto.Op{proto.OpCheck, proto.OpError, proto.OpGetData, 12345}[g.src.intn(4)]
		if txn.Type == proto.OpError && g.src.intn(2) == 0 {
			body = &ErrorTxn{Err: proto.CodeNotReadOnly}
		}
	default:
		// Garbage bodies.
		txn.Type = []proto.Op{proto.OpCreate, proto.OpMulti, proto.OpSetACL, proto.OpCreateSession}[g.src.intn(4)]
		txn.Body = []byte{byte(g.src.intn(256)), byte(g.src.intn(256))}
	}
	if body != nil {
		txn.Body = proto.Marshal(nil, body)
	}
	return txn
}

// genRead returns a random read request.
func (g *txnGen) read() (proto.Op, proto.Record, int64, []proto.ID) {
	p := g.pick(genPaths)
	auth := genAuth[g.src.intn(len(genAuth))]
	sid := g.session()
	switch g.src.intn(8) {
	case 0:
		return proto.OpExists, &proto.PathWatchRequest{Path: p}, sid, auth
	case 1:
		return proto.OpGetData, &proto.PathWatchRequest{Path: p}, sid, auth
	case 2:
		return proto.OpGetChildren, &proto.PathWatchRequest{Path: p}, sid, auth
	case 3:
		return proto.OpGetChildren2, &proto.PathWatchRequest{Path: p}, sid, auth
	case 4:
		return proto.OpGetACL, &proto.PathRequest{Path: p}, sid, auth
	case 5:
		return proto.OpGetAllChildrenNumber, &proto.PathRequest{Path: p}, sid, auth
	case 6:
		return proto.OpGetEphemerals, &proto.PathRequest{Path: p}, sid, auth
	}
	m := &proto.MultiRequest{}
	for i := g.src.intn(4); i > 0; i-- {
		m.Ops = append(m.Ops, proto.MultiOp{Type: []proto.Op{proto.OpGetData, proto.OpGetChildren, proto.OpCreate}[g.src.intn(3)], Path: g.pick(genPaths)})
	}
	return proto.OpMultiRead, m, sid, auth
}
