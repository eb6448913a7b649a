package tree

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/proto"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/*.txt")

// The scenario files in testdata/ are blocks of
//
//	command args...
//	input lines (multi, multiread)
//	----
//	expected output
//	<blank line>
//
// with comments (#) and blank lines between blocks. See (*scenario).run for the commands.
// go test ./internal/tree -rewrite regenerates the expected output.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScenarioFile(t, f) })
	}
}

type block struct {
	pre    string // comments and blank lines before the block
	cmd    string
	input  []string
	output string
	line   int
}

func parseScenario(t *testing.T, text string) ([]block, string) {
	lines := strings.Split(text, "\n")
	var blocks []block
	var pre strings.Builder
	for i := 0; i < len(lines); {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			pre.WriteString(l)
			pre.WriteString("\n")
			i++
			continue
		}
		b := block{pre: pre.String(), cmd: l, line: i + 1}
		pre.Reset()
		i++
		for i < len(lines) && lines[i] != "----" {
			b.input = append(b.input, lines[i])
			i++
		}
		if i == len(lines) {
			t.Fatalf("line %d: block without ----", b.line)
		}
		i++
		var out strings.Builder
		for i < len(lines) && lines[i] != "" {
			out.WriteString(lines[i])
			out.WriteString("\n")
			i++
		}
		b.output = out.String()
		blocks = append(blocks, b)
		if i < len(lines) {
			i++ // the blank line that ends the block
		}
	}
	return blocks, pre.String()
}

func runScenarioFile(t *testing.T, file string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blocks, tail := parseScenario(t, string(raw))
	sc := newScenario(Options{ExtendedTypes: true})
	var out strings.Builder
	for _, b := range blocks {
		got := sc.run(t, b)
		if *rewrite {
			out.WriteString(b.pre)
			out.WriteString(b.cmd + "\n")
			for _, in := range b.input {
				out.WriteString(in + "\n")
			}
			out.WriteString("----\n")
			out.WriteString(got)
			out.WriteString("\n")
			continue
		}
		if got != b.output {
			t.Errorf("%s:%d: %s\ngot:\n%swant:\n%s", file, b.line, b.cmd, got, b.output)
		}
		sc.checkInvariants(t, fmt.Sprintf("%s:%d", file, b.line))
	}
	if *rewrite {
		s := strings.TrimRight(out.String()+strings.TrimRight(tail, "\n"), "\n") + "\n"
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const superPassword = "super:secret"

type scenario struct {
	tree    *Tree
	zxid    int64
	now     int64
	current int64
	auth    map[int64][]proto.ID
}

func newScenario(opts Options) *scenario {
	return &scenario{tree: New(opts), now: 1000, auth: map[int64][]proto.ID{}}
}

func (sc *scenario) checkInvariants(t *testing.T, where string) {
	if err := checkInvariants(sc.tree); err != nil {
		t.Fatalf("%s: invariant broken: %v", where, err)
	}
}

type args struct {
	pos []string
	kv  map[string]string
}

func parseArgs(fields []string) args {
	a := args{kv: map[string]string{}}
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok && !strings.HasPrefix(f, "/") {
			a.kv[k] = v
		} else {
			a.pos = append(a.pos, f)
		}
	}
	return a
}

func (a args) has(k string) bool {
	_, ok := a.kv[k]
	return ok || slices.Contains(a.pos, k)
}

func (a args) int(t *testing.T, k string, def int64) int64 {
	v, ok := a.kv[k]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 0, 64)
	if err != nil {
		t.Fatalf("bad %s=%q", k, v)
	}
	return n
}

func (a args) arg(i int) string {
	if i < len(a.pos) {
		return a.pos[i]
	}
	return ""
}

// path returns the first positional argument, or the path=hex:... argument decoded.
func (a args) path(t *testing.T) string {
	if h, ok := a.kv["pathhex"]; ok {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("bad pathhex %q", h)
		}
		return string(b)
	}
	return a.arg(0)
}

// data returns the data= argument: absent = null, "data=" = empty, hex:.. for bytes.
func (a args) data() []byte {
	v, ok := a.kv["data"]
	if !ok {
		return nil
	}
	if h, ok := strings.CutPrefix(v, "hex:"); ok {
		b, _ := hex.DecodeString(h)
		return b
	}
	return []byte(v)
}

func (a args) acls(t *testing.T) []proto.ACL {
	v, ok := a.kv["acl"]
	switch {
	case !ok:
		return acl.OpenUnsafe
	case v == "null":
		return nil
	case v == "empty":
		return []proto.ACL{}
	}
	l, ok := acl.ParseList(v)
	if !ok {
		t.Fatalf("bad acl %q", v)
	}
	return l
}

var modes = map[string]int32{
	"persistent": 0, "ephemeral": 1, "persistent_sequential": 2, "ephemeral_sequential": 3,
	"container": 4, "ttl": 5, "ttl_sequential": 6,
	"p": 0, "e": 1, "ps": 2, "es": 3, "c": 4, "t": 5, "ts": 6,
}

func (a args) flags(t *testing.T, def int32) int32 {
	if v, ok := a.kv["mode"]; ok {
		f, ok := modes[v]
		if !ok {
			t.Fatalf("bad mode %q", v)
		}
		return f
	}
	return int32(a.int(t, "flags", int64(def)))
}

var createOps = map[string]proto.Op{
	"create": proto.OpCreate, "create2": proto.OpCreate2,
	"createcontainer": proto.OpCreateContainer, "createttl": proto.OpCreateTTL,
}

// multiOp parses one line of a multi or multiread block.
func multiOp(t *testing.T, line string) proto.MultiOp {
	f := strings.Fields(line)
	a := parseArgs(f[1:])
	p := a.path(t)
	switch f[0] {
	case "create", "create2", "createcontainer", "createttl":
		op := createOps[f[0]]
		def := int32(0)
		if op == proto.OpCreateContainer {
			def = 4
		} else if op == proto.OpCreateTTL {
			def = 5
		}
		return proto.MultiOp{Type: op, Path: p, Data: a.data(), ACL: a.acls(t), Flags: a.flags(t, def), TTL: a.int(t, "ttl", 0)}
	case "delete":
		return proto.MultiOp{Type: proto.OpDelete, Path: p, Version: int32(a.int(t, "v", -1))}
	case "set":
		return proto.MultiOp{Type: proto.OpSetData, Path: p, Data: a.data(), Version: int32(a.int(t, "v", -1))}
	case "check":
		return proto.MultiOp{Type: proto.OpCheck, Path: p, Version: int32(a.int(t, "v", -1))}
	case "get":
		return proto.MultiOp{Type: proto.OpGetData, Path: p}
	case "ls":
		return proto.MultiOp{Type: proto.OpGetChildren, Path: p}
	}
	t.Fatalf("unknown multi op %q", line)
	return proto.MultiOp{}
}

func (sc *scenario) write(t *testing.T, a args, op proto.Op, body proto.Record) string {
	sid := a.int(t, "s", sc.current)
	txn := &Txn{Type: op, SessionID: sid, Cxid: 1, Time: sc.now, Auth: sc.ids(sid)}
	if body != nil {
		txn.Body = proto.Marshal(nil, body)
	}
	return sc.apply(txn)
}

func (sc *scenario) apply(txn *Txn) string {
	// Every txn goes through the log encoding, as in production.
	var dec Txn
	if err := dec.Unmarshal(txn.Marshal(nil)); err != nil {
		panic(err)
	}
	sc.zxid++
	r := sc.tree.Apply(sc.zxid, &dec)
	var b strings.Builder
	fmt.Fprintf(&b, "zxid=%d %s", r.Zxid, r.Err.String())
	if r.ClosedSession {
		b.WriteString(" closed-session")
	}
	b.WriteString("\n")
	if r.Resp != nil {
		formatRecord(&b, r.Resp)
	}
	for _, e := range r.Events {
		fmt.Fprintf(&b, "event %s %s acl=%s\n", e.Type, e.Path, formatACLs(e.ACL))
	}
	return b.String()
}

func (sc *scenario) ids(sid int64) []proto.ID {
	return append([]proto.ID{{Scheme: "ip", ID: "127.0.0.1"}}, sc.auth[sid]...)
}

func (sc *scenario) read(t *testing.T, a args, op proto.Op, req proto.Record) string {
	sid := a.int(t, "s", sc.current)
	code, resp := sc.tree.Read(op, req, sid, sc.ids(sid))
	var b strings.Builder
	b.WriteString(code.String() + "\n")
	if resp != nil {
		formatRecord(&b, resp)
	}
	return b.String()
}

func (sc *scenario) run(t *testing.T, bl block) string {
	f := strings.Fields(bl.cmd)
	a := parseArgs(f[1:])
	p := a.path(t)
	switch f[0] {
	case "reset":
		sc.tree = New(Options{
			SkipACL:       a.has("skipacl"),
			ExtendedTypes: !a.has("noext"),
			MaxNeverUsed:  a.int(t, "neverused", 0),
		})
		sc.zxid, sc.current = 0, 0
		sc.auth = map[int64][]proto.ID{}
		return "ok\n"
	case "tick":
		sc.now += a.int(t, "ms", 0)
		return fmt.Sprintf("time=%d\n", sc.now)
	case "session":
		id := a.int(t, "id", 0)
		sc.current = id
		sc.auth[id] = nil
		body := &CreateSessionTxn{Timeout: int32(a.int(t, "timeout", 30000)), Passwd: []byte("0123456789abcdef")}
		return sc.apply(&Txn{Type: proto.OpCreateSession, SessionID: id, Time: sc.now, Body: proto.Marshal(nil, body)})
	case "use":
		sc.current = a.int(t, "s", 0)
		return fmt.Sprintf("session=%d\n", sc.current)
	case "close":
		return sc.write(t, a, proto.OpCloseSession, nil)
	case "addauth":
		sid := a.int(t, "s", sc.current)
		ids, ok := acl.DigestAuth([]byte(a.kv["digest"]), acl.Digest(superPassword))
		if !ok {
			return "AUTHFAILED\n"
		}
		sc.auth[sid] = append(sc.auth[sid], ids...)
		var b strings.Builder
		for _, id := range sc.ids(sid) {
			fmt.Fprintf(&b, "%s:%s\n", id.Scheme, id.ID)
		}
		return b.String()
	case "create", "create2", "createcontainer", "createttl":
		op := createOps[f[0]]
		if op == proto.OpCreateTTL {
			return sc.write(t, a, op, &proto.CreateTTLRequest{Path: p, Data: a.data(), ACL: a.acls(t), Flags: a.flags(t, 5), TTL: a.int(t, "ttl", 0)})
		}
		def := int32(0)
		if op == proto.OpCreateContainer {
			def = 4
		}
		return sc.write(t, a, op, &proto.CreateRequest{Path: p, Data: a.data(), ACL: a.acls(t), Flags: a.flags(t, def)})
	case "delete":
		return sc.write(t, a, proto.OpDelete, &proto.DeleteRequest{Path: p, Version: int32(a.int(t, "v", -1))})
	case "deletecontainer":
		return sc.write(t, a, proto.OpDeleteContainer, &proto.PathRequest{Path: p})
	case "set":
		return sc.write(t, a, proto.OpSetData, &proto.SetDataRequest{Path: p, Data: a.data(), Version: int32(a.int(t, "v", -1))})
	case "setacl":
		return sc.write(t, a, proto.OpSetACL, &proto.SetACLRequest{Path: p, ACL: a.acls(t), Version: int32(a.int(t, "v", -1))})
	case "check":
		return sc.write(t, a, proto.OpCheck, &proto.DeleteRequest{Path: p, Version: int32(a.int(t, "v", -1))})
	case "multi":
		req := &proto.MultiRequest{}
		for _, l := range bl.input {
			req.Ops = append(req.Ops, multiOp(t, l))
		}
		return sc.write(t, a, proto.OpMulti, req)
	case "raw":
		body, err := hex.DecodeString(a.kv["body"])
		if err != nil {
			t.Fatalf("bad body: %v", err)
		}
		sid := a.int(t, "s", sc.current)
		return sc.apply(&Txn{Type: proto.Op(a.int(t, "type", 0)), SessionID: sid, Time: sc.now, Auth: sc.ids(sid), Body: body})
	case "get":
		return sc.read(t, a, proto.OpGetData, &proto.PathWatchRequest{Path: p})
	case "exists":
		return sc.read(t, a, proto.OpExists, &proto.PathWatchRequest{Path: p})
	case "ls":
		return sc.read(t, a, proto.OpGetChildren, &proto.PathWatchRequest{Path: p})
	case "ls2":
		return sc.read(t, a, proto.OpGetChildren2, &proto.PathWatchRequest{Path: p})
	case "getacl":
		return sc.read(t, a, proto.OpGetACL, &proto.PathRequest{Path: p})
	case "count":
		return sc.read(t, a, proto.OpGetAllChildrenNumber, &proto.PathRequest{Path: p})
	case "ephemerals":
		return sc.read(t, a, proto.OpGetEphemerals, &proto.PathRequest{Path: a.kv["prefix"]})
	case "multiread":
		req := &proto.MultiRequest{}
		for _, l := range bl.input {
			req.Ops = append(req.Ops, multiOp(t, l))
		}
		return sc.read(t, a, proto.OpMultiRead, req)
	case "readop":
		return sc.read(t, a, proto.Op(a.int(t, "type", 0)), &proto.PathRequest{Path: p})
	case "stat":
		st, l, ok := sc.tree.Lookup(p)
		if !ok {
			return "no node\n"
		}
		return formatStat(st) + "\nacl=" + formatACLs(l) + "\n"
	case "tree":
		return dumpTree(sc.tree)
	case "stats":
		s := sc.tree.Stats()
		return fmt.Sprintf("nodes=%d dataSize=%d ephemerals=%d lastZxid=%d\n", s.NodeCount, s.ApproximateDataSize, s.EphemeralCount, sc.tree.LastZxid())
	case "sessions":
		var b strings.Builder
		for _, s := range sc.tree.Sessions() {
			fmt.Fprintf(&b, "session %d timeout=%d ephemerals=%d %v\n", s.ID, s.Timeout, s.Ephemerals, sc.tree.SessionEphemerals(s.ID))
		}
		return b.String()
	case "reap":
		return fmt.Sprintf("%v\n", sc.tree.ReapCandidates(a.int(t, "now", sc.now), int(a.int(t, "max", 0))))
	case "snapcheck":
		var b1, b2 bytes.Buffer
		if err := sc.tree.Snapshot()(&b1); err != nil {
			t.Fatal(err)
		}
		r, err := Restore(bytes.NewReader(b1.Bytes()), sc.tree.Options())
		if err != nil {
			t.Fatalf("restore: %v", err)
		}
		if err := r.Snapshot()(&b2); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1.Bytes(), b2.Bytes()) || dumpTree(r) != dumpTree(sc.tree) || r.Stats() != sc.tree.Stats() {
			t.Fatalf("restored tree differs")
		}
		sc.tree = r
		return fmt.Sprintf("ok restored %d nodes\n", r.Stats().NodeCount)
	}
	t.Fatalf("line %d: unknown command %q", bl.line, f[0])
	return ""
}

func formatStat(s proto.Stat) string {
	return fmt.Sprintf("czxid=%d mzxid=%d pzxid=%d ctime=%d mtime=%d version=%d cversion=%d aversion=%d owner=%d dataLength=%d numChildren=%d",
		s.Czxid, s.Mzxid, s.Pzxid, s.Ctime, s.Mtime, s.Version, s.Cversion, s.Aversion, s.EphemeralOwner, s.DataLength, s.NumChildren)
}

func formatACLs(l []proto.ACL) string {
	if l == nil {
		return "null"
	}
	parts := make([]string, len(l))
	for i, a := range l {
		parts[i] = acl.Format(a)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func formatData(d []byte) string {
	if d == nil {
		return "null"
	}
	return strconv.Quote(string(d))
}

func formatRecord(b *strings.Builder, r proto.Record) {
	switch r := r.(type) {
	case *proto.PathRequest:
		fmt.Fprintf(b, "path=%s\n", r.Path)
	case *proto.Create2Response:
		fmt.Fprintf(b, "path=%s\nstat: %s\n", r.Path, formatStat(r.Stat))
	case *proto.StatResponse:
		fmt.Fprintf(b, "stat: %s\n", formatStat(r.Stat))
	case *proto.GetDataResponse:
		fmt.Fprintf(b, "data=%s\nstat: %s\n", formatData(r.Data), formatStat(r.Stat))
	case *proto.ChildrenResponse:
		fmt.Fprintf(b, "children=%v\n", r.Children)
		if r.HasStat {
			fmt.Fprintf(b, "stat: %s\n", formatStat(r.Stat))
		}
	case *proto.GetACLResponse:
		fmt.Fprintf(b, "acl=%s\nstat: %s\n", formatACLs(r.ACL), formatStat(r.Stat))
	case *proto.IntResponse:
		fmt.Fprintf(b, "number=%d\n", r.N)
	case *proto.StringsResponse:
		fmt.Fprintf(b, "paths=%v\n", r.Strings)
	case *proto.MultiResponse:
		// Round-trip through the wire encoding so the test sees what a client would.
		var dec proto.MultiResponse
		if err := proto.Unmarshal(proto.Marshal(nil, r), &dec); err != nil {
			panic(err)
		}
		for _, res := range dec.Results {
			switch res.Type {
			case proto.OpError:
				fmt.Fprintf(b, "  error %s\n", res.Err.String())
			case proto.OpCreate:
				fmt.Fprintf(b, "  create path=%s\n", res.Path)
			case proto.OpCreate2:
				fmt.Fprintf(b, "  create2 path=%s stat: %s\n", res.Path, formatStat(res.Stat))
			case proto.OpSetData:
				fmt.Fprintf(b, "  setData stat: %s\n", formatStat(res.Stat))
			case proto.OpGetData:
				fmt.Fprintf(b, "  getData data=%s stat: %s\n", formatData(res.Data), formatStat(res.Stat))
			case proto.OpGetChildren:
				fmt.Fprintf(b, "  getChildren children=%v\n", res.Children)
			default:
				fmt.Fprintf(b, "  %s\n", res.Type)
			}
		}
	default:
		fmt.Fprintf(b, "%#v\n", r)
	}
}

// dumpTree prints every node in preorder with its stat, data and ACL.
func dumpTree(t *Tree) string {
	var b strings.Builder
	var walk func(n *node, path string)
	walk = func(n *node, path string) {
		p := path
		if p == "" {
			p = "/"
		}
		k := [...]string{"", " ephemeral", " container", " ttl"}[n.kind]
		fmt.Fprintf(&b, "%s%s data=%s acl=%s\n  %s\n", p, k, formatData(n.data()), formatACLs(n.acl.list), formatStat(n.getStat()))
		for c := range n.children.all() {
			walk(c, path+"/"+c.name())
		}
	}
	walk(t.root, "")
	return b.String()
}

// checkInvariants verifies the tree's internal consistency: sorted children, counters and
// side tables that match the nodes, ACL reference counts, ephemerals owned by live sessions.
func checkInvariants(t *Tree) error {
	nodes, data, eph := 0, int64(0), 0
	containers, ttls := map[string]bool{}, map[string]bool{}
	ephBySession := map[int64][]string{}
	refs := map[*aclEntry]int{}
	var err error
	var walk func(n *node, path string)
	walk = func(n *node, path string) {
		p := path
		if p == "" {
			p = "/"
		}
		nodes++
		data += int64(len(p) + n.dataLen())
		refs[n.acl]++
		var prev *node
		count := 0
		if e := checkChunks(&n.children); e != nil {
			err = fmt.Errorf("%s: %w", p, e)
		}
		for ci, ref := range n.children.chunks {
			ch := ref.c
			if ch.gen > t.gen {
				err = fmt.Errorf("%s: chunk %d from the future", p, ci)
			}
		}
		for c := range n.children.all() {
			if prev != nil && prev.name() >= c.name() {
				err = fmt.Errorf("%s: children not sorted", p)
			}
			if c.gen > t.gen {
				err = fmt.Errorf("%s/%s: generation from the future", path, c.name())
			}
			// The path cache's owned answer rests on this (see lookup).
			if c.gen == t.gen && n.gen != t.gen {
				err = fmt.Errorf("%s/%s: of the current generation under an older parent", path, c.name())
			}
			prev = c
			count++
		}
		if count != n.children.len() {
			err = fmt.Errorf("%s: %d children counted as %d", p, count, n.children.len())
		}
		switch n.kind {
		case kindEphemeral:
			eph++
			ephBySession[n.owner] = append(ephBySession[n.owner], p)
			if n.children.len() > 0 {
				err = fmt.Errorf("%s: ephemeral with children", p)
			}
			if !t.live(n.owner) {
				err = fmt.Errorf("%s: ephemeral of dead session %d", p, n.owner)
			}
		case kindContainer:
			containers[p] = true
		case kindTTL:
			ttls[p] = true
		}
		for c := range n.children.all() {
			walk(c, path+"/"+c.name())
		}
	}
	walk(t.root, "")
	switch {
	case err != nil:
		return err
	case nodes != t.nodeCount:
		return fmt.Errorf("nodeCount %d, walked %d", t.nodeCount, nodes)
	case data != t.dataSize:
		return fmt.Errorf("dataSize %d, walked %d", t.dataSize, data)
	case eph != t.ephemerals:
		return fmt.Errorf("ephemerals %d, walked %d", t.ephemerals, eph)
	case len(containers) != len(t.containers) || len(ttls) != len(t.ttls):
		return fmt.Errorf("container/ttl sets out of date")
	case len(refs) != len(t.acls):
		return fmt.Errorf("acl table has %d entries, nodes use %d", len(t.acls), len(refs))
	case t.inMulti || len(t.undo) != 0:
		return fmt.Errorf("multi state left behind")
	}
	for p := range containers {
		if _, ok := t.containers[p]; !ok {
			return fmt.Errorf("container %s not tracked", p)
		}
	}
	for p := range ttls {
		if _, ok := t.ttls[p]; !ok {
			return fmt.Errorf("ttl node %s not tracked", p)
		}
	}
	for e, n := range refs {
		if e.refs != n || t.acls[e.key] != e {
			return fmt.Errorf("acl %v: refs %d, used %d", e.list, e.refs, n)
		}
	}
	for id, s := range t.sessions {
		got := sortedKeys(s.eph)
		want := ephBySession[id]
		slices.Sort(want)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			return fmt.Errorf("session %d ephemerals %v, nodes say %v", id, got, want)
		}
	}
	return nil
}
