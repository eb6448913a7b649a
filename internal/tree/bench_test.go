package tree

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/proto"
)

// treeBuilder is a tree holding session 1, and the zxid of its last txn.
type treeBuilder struct {
	b    *testing.B
	tr   *Tree
	zxid int64
}

func newTreeBuilder(b *testing.B) *treeBuilder {
	x := &treeBuilder{b: b, tr: New(Options{}), zxid: 1}
	x.tr.Apply(x.zxid, sessionTxn(1))
	return x
}

// create makes the persistent node path.
func (x *treeBuilder) create(path string) {
	x.zxid++
	if r := x.tr.Apply(x.zxid, createTxn(1, path, 0)); r.Err != proto.CodeOK {
		x.b.Fatalf("%s: %v", path, r.Err)
	}
}

// benchTree returns a tree with one session and n nodes spread over /bench/dK/nI.
func benchTree(b *testing.B, n int) (*Tree, int64) {
	x := newTreeBuilder(b)
	x.create("/bench")
	for i := 0; i < n; i++ {
		if i%100 == 0 {
			x.create(fmt.Sprintf("/bench/d%d", i/100))
		}
		x.create(fmt.Sprintf("/bench/d%d/n%d", i/100, i))
	}
	return x.tr, x.zxid
}

// BenchmarkApplyCreate creates sequential children of one parent in a tree of 10,000
// nodes: decode, validation, ACL check, interning and the insert.
func BenchmarkApplyCreate(b *testing.B) {
	tr, zxid := benchTree(b, 10000)
	txn := &Txn{Type: proto.OpCreate, SessionID: 1, Time: 1, Auth: []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}},
		Body: proto.Marshal(nil, &proto.CreateRequest{Path: "/bench/d7/s-", Data: []byte("0123456789abcdef"), ACL: acl.OpenUnsafe, Flags: int32(proto.ModePersistentSequential)})}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		zxid++
		if r := tr.Apply(zxid, txn); r.Err != proto.CodeOK {
			b.Fatal(r.Err)
		}
	}
}

func BenchmarkApplySetData(b *testing.B) {
	tr, zxid := benchTree(b, 10000)
	txn := &Txn{Type: proto.OpSetData, SessionID: 1, Time: 1, Auth: []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}},
		Body: proto.Marshal(nil, &proto.SetDataRequest{Path: "/bench/d42/n4242", Data: []byte("0123456789abcdef"), Version: -1})}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		zxid++
		if r := tr.Apply(zxid, txn); r.Err != proto.CodeOK {
			b.Fatal(r.Err)
		}
	}
}

// BenchmarkApplySetDataAfterSnapshot measures the copy-on-write cost: a snapshot before
// every write, so every write clones its path.
func BenchmarkApplySetDataAfterSnapshot(b *testing.B) {
	tr, zxid := benchTree(b, 10000)
	txn := &Txn{Type: proto.OpSetData, SessionID: 1, Time: 1,
		Body: proto.Marshal(nil, &proto.SetDataRequest{Path: "/bench/d42/n4242", Data: []byte("0123456789abcdef"), Version: -1})}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Snapshot()
		zxid++
		tr.Apply(zxid, txn)
	}
}

func BenchmarkReadGetData(b *testing.B) {
	tr, _ := benchTree(b, 10000)
	req := &proto.PathWatchRequest{Path: "/bench/d42/n4242"}
	auth := []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code, _ := tr.Read(proto.OpGetData, req, 1, auth); code != proto.CodeOK {
			b.Fatal(code)
		}
	}
}

func BenchmarkSnapshotWrite(b *testing.B) {
	tr, _ := benchTree(b, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := tr.Snapshot()(discard{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshotRestore reads back a snapshot of 100,000 nodes: what a restart costs per
// node before the log replay.
func BenchmarkSnapshotRestore(b *testing.B) {
	tr, _ := benchTree(b, 100000)
	var buf bytes.Buffer
	if err := tr.Snapshot()(&buf); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Restore(bytes.NewReader(buf.Bytes()), Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/node")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkApplyCreateInterleaved creates children of one directory in an order that is not
// the names' (96 writers each numbering its own, as paddock bench's create does), so most
// inserts land inside the directory, not at its end; the directory grows to b.N children.
func BenchmarkApplyCreateInterleaved(b *testing.B) {
	tr, zxid := benchTree(b, 100)
	bodies := make([][]byte, 0, b.N)
	for i := 0; i < b.N; i++ {
		path := fmt.Sprintf("/bench/w%d-%d", i%96, i/96)
		bodies = append(bodies, proto.Marshal(nil, &proto.CreateRequest{Path: path, Data: []byte("0123456789abcdef"), ACL: acl.OpenUnsafe}))
	}
	txn := &Txn{Type: proto.OpCreate, SessionID: 1, Time: 1, Auth: []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		zxid++
		txn.Body = bodies[i]
		if r := tr.Apply(zxid, txn); r.Err != proto.CodeOK {
			b.Fatal(r.Err)
		}
	}
}

// keysTree returns a tree shaped like paddock bench's key space, 10,000 keys in groups of
// 100 (/paddock-bench-7f3a/keys/g012/k0001234), and the keys' paths in a shuffled order, so
// that consecutive lookups touch unrelated nodes as a server's clients do.
func keysTree(b *testing.B) (*Tree, int64, []string) {
	x := newTreeBuilder(b)
	const root = "/paddock-bench-7f3a"
	x.create(root)
	x.create(root + "/keys")
	var keys []string
	for i := 0; i < 10000; i++ {
		if i%100 == 0 {
			x.create(fmt.Sprintf("%s/keys/g%03d", root, i/100))
		}
		p := fmt.Sprintf("%s/keys/g%03d/k%07d", root, i/100, i)
		x.create(p)
		keys = append(keys, p)
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return x.tr, x.zxid, keys
}

// BenchmarkKeysGetData and BenchmarkKeysSetData are the server's hot requests on a tree of
// 10,000 keys four components deep, each op on another key: the path lookup dominates.
func BenchmarkKeysGetData(b *testing.B) {
	tr, _, keys := keysTree(b)
	reqs := make([]proto.PathWatchRequest, len(keys))
	for i, k := range keys {
		reqs[i].Path = k
	}
	auth := []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code, _ := tr.Read(proto.OpGetData, &reqs[i%len(reqs)], 1, auth); code != proto.CodeOK {
			b.Fatal(code)
		}
	}
}

func BenchmarkKeysSetData(b *testing.B) {
	tr, zxid, keys := keysTree(b)
	bodies := make([][]byte, len(keys))
	for i, k := range keys {
		bodies[i] = proto.Marshal(nil, &proto.SetDataRequest{Path: k, Data: []byte("0123456789abcdef"), Version: -1})
	}
	txn := &Txn{Type: proto.OpSetData, SessionID: 1, Time: 1, Auth: []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		zxid++
		txn.Body = bodies[i%len(bodies)]
		if r := tr.Apply(zxid, txn); r.Err != proto.CodeOK {
			b.Fatal(r.Err)
		}
	}
}

// BenchmarkKeysFind is the lookup alone, as Read makes it (through the path cache).
func BenchmarkKeysFind(b *testing.B) {
	tr, _, keys := keysTree(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if tr.find(keys[i%len(keys)]) == nil {
			b.Fatal("missing")
		}
	}
}
