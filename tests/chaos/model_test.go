package chaos

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/paddock/paddock/internal/proto"
)

// The key space is groups of two znodes, /chaos/g<N>/a and /chaos/g<N>/b. Every operation,
// multi included, stays within one group, so porcupine checks each group on its own (the
// partition function) while a multi still spans two keys.
const keysPerGroup = 2

func keyPath(group, key int) string { return fmt.Sprintf("/chaos/g%d/%c", group, 'a'+key) }

// opKind is an operation of the model, or an op inside a multi.
type opKind uint8

const (
	opCreate opKind = iota + 1
	opSet           // setData with an expected version (-1: any)
	opDelete        // delete with an expected version (-1: any)
	opCheck         // check, only inside a multi
	opMulti
	opRead // sync, then getData in the same session
)

func (k opKind) String() string {
	switch k {
	case opCreate:
		return "create"
	case opSet:
		return "set"
	case opDelete:
		return "delete"
	case opCheck:
		return "check"
	case opMulti:
		return "multi"
	case opRead:
		return "read"
	}
	return fmt.Sprintf("op(%d)", k)
}

// subOp is one op on one key: a whole operation, or one op of a multi.
type subOp struct {
	kind    opKind
	key     int    // 0..keysPerGroup-1
	data    string // create, set
	version int32  // set, delete, check
}

func (o subOp) String() string {
	k := string(rune('a' + o.key))
	switch o.kind {
	case opCreate:
		return fmt.Sprintf("create(%s,%q)", k, o.data)
	case opSet:
		return fmt.Sprintf("set(%s,%q,v%d)", k, o.data, o.version)
	case opDelete:
		return fmt.Sprintf("delete(%s,v%d)", k, o.version)
	case opCheck:
		return fmt.Sprintf("check(%s,v%d)", k, o.version)
	case opRead:
		return fmt.Sprintf("read(%s)", k)
	}
	return o.kind.String()
}

// input is a porcupine operation's input: one op on a key of group, or a multi.
type input struct {
	group int
	op    subOp   // kind opMulti: see ops
	ops   []subOp // multi
}

func (in input) String() string {
	if in.op.kind != opMulti {
		return fmt.Sprintf("g%d.%v", in.group, in.op)
	}
	parts := make([]string, len(in.ops))
	for i, o := range in.ops {
		parts[i] = o.String()
	}
	return fmt.Sprintf("g%d.multi[%s]", in.group, strings.Join(parts, " "))
}

// output is what the client saw. unknown: a connection loss, the op may or may not have
// happened (its return time is the end of time).
type output struct {
	unknown bool
	code    proto.Code // the op's error; for a failed multi the failing op's
	failed  int        // failed multi: the index of the failing op
	version int32      // set: the new version; read: the node's version
	data    string     // read
	setVers []int32    // successful multi: the new version of each set op, in order
}

func (o output) String() string {
	switch {
	case o.unknown:
		return "?"
	case o.code != proto.CodeOK && o.failed >= 0:
		return fmt.Sprintf("%v@%d", o.code, o.failed)
	case o.code != proto.CodeOK:
		return o.code.String()
	}
	return fmt.Sprintf("ok v%d %q %v", o.version, o.data, o.setVers)
}

// znode is the model's view of one key.
type znode struct {
	exists  bool
	data    string
	version int32
}

// groupState is the model state of one group; it is compared with ==.
type groupState [keysPerGroup]znode

// apply runs one op against st; ok false means it failed with code (and st is unchanged).
func (st *groupState) apply(o subOp) (code proto.Code, newVersion int32) {
	n := &st[o.key]
	switch o.kind {
	case opCreate:
		if n.exists {
			return proto.CodeNodeExists, 0
		}
		*n = znode{exists: true, data: o.data}
		return proto.CodeOK, 0
	case opSet:
		if !n.exists {
			return proto.CodeNoNode, 0
		}
		if o.version != -1 && o.version != n.version {
			return proto.CodeBadVersion, 0
		}
		n.data, n.version = o.data, n.version+1
		return proto.CodeOK, n.version
	case opDelete:
		if !n.exists {
			return proto.CodeNoNode, 0
		}
		if o.version != -1 && o.version != n.version {
			return proto.CodeBadVersion, 0
		}
		*n = znode{}
		return proto.CodeOK, 0
	case opCheck:
		if !n.exists {
			return proto.CodeNoNode, 0
		}
		if o.version != -1 && o.version != n.version {
			return proto.CodeBadVersion, 0
		}
		return proto.CodeOK, 0
	}
	panic("chaos: bad op " + o.kind.String())
}

// step is the sequential specification: whether the op could have produced out in state st,
// and the state after it. An unknown outcome is accepted in every state: the op applies if
// it would succeed; "it did not happen" is the op linearized after everything else, which its
// infinite return time allows.
func step(st groupState, in input, out output) (bool, groupState) {
	switch in.op.kind {
	case opRead:
		if out.unknown {
			return true, st
		}
		n := st[in.op.key]
		if !n.exists {
			return out.code == proto.CodeNoNode, st
		}
		return out.code == proto.CodeOK && out.data == n.data && out.version == n.version, st
	case opMulti:
		if sessionRefused(out) {
			return true, st
		}
		next := st
		var setVers []int32
		for i, o := range in.ops {
			code, v := next.apply(o)
			if code != proto.CodeOK {
				if out.unknown {
					return true, st
				}
				return out.code == code && out.failed == i, st
			}
			if o.kind == opSet {
				setVers = append(setVers, v)
			}
		}
		if out.unknown {
			return true, next
		}
		if out.code != proto.CodeOK || len(out.setVers) != len(setVers) {
			return false, st
		}
		for i := range setVers {
			if out.setVers[i] != setVers[i] {
				return false, st
			}
		}
		return true, next
	default:
		next := st
		code, v := next.apply(in.op)
		if out.unknown {
			return true, next
		}
		if code != out.code {
			return false, st
		}
		if in.op.kind == opSet && code == proto.CodeOK && out.version != v {
			return false, st
		}
		return true, next
	}
}

// sessionRefused reports a multi that the ensemble refused for its session (it expired, or
// moved), which the model does not track: the multi was rolled back whole, so it changed
// nothing. (A single op refused so is a connection loss to the client: unknown outcome.)
func sessionRefused(out output) bool {
	return !out.unknown && (out.code == proto.CodeSessionExpired || out.code == proto.CodeSessionMoved)
}

// model is the porcupine model of the key space, partitioned by group.
var model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byGroup := map[int][]porcupine.Operation{}
		var groups []int
		for _, op := range history {
			g := op.Input.(input).group
			if _, ok := byGroup[g]; !ok {
				groups = append(groups, g)
			}
			byGroup[g] = append(byGroup[g], op)
		}
		out := make([][]porcupine.Operation, 0, len(groups))
		for _, g := range groups {
			out = append(out, byGroup[g])
		}
		return out
	},
	Init: func() any { return groupState{} },
	Step: func(state, in, out any) (bool, any) {
		return step(state.(groupState), in.(input), out.(output))
	},
	Equal: func(a, b any) bool { return a.(groupState) == b.(groupState) },
	DescribeOperation: func(in, out any) string {
		return fmt.Sprintf("%v → %v", in, out)
	},
	DescribeState: func(state any) string {
		st := state.(groupState)
		var parts []string
		for k, n := range st {
			if n.exists {
				parts = append(parts, fmt.Sprintf("%c=%q v%d", 'a'+k, n.data, n.version))
			} else {
				parts = append(parts, fmt.Sprintf("%c=∅", 'a'+k))
			}
		}
		return strings.Join(parts, ", ")
	},
}

// neverReturned is the return time of an operation whose outcome is unknown.
const neverReturned = math.MaxInt64

// TestModel checks the model on small hand-written histories, both ways.
func TestModel(t *testing.T) {
	type op struct {
		client    int
		in        subOp
		ops       []subOp
		out       output
		call, ret int64
	}
	set := func(data string, v int32) subOp { return subOp{kind: opSet, data: data, version: v} }
	read := subOp{kind: opRead}
	ok := output{failed: -1}
	okV := func(v int32) output { return output{version: v} }
	saw := func(data string, v int32) output { return output{data: data, version: v} }
	code := func(c proto.Code) output { return output{code: c} }
	lost := output{unknown: true}
	tests := []struct {
		name string
		ops  []op
		want bool
	}{
		{"sequential", []op{
			{0, subOp{kind: opCreate, data: "x"}, nil, ok, 0, 1},
			{0, set("y", 0), nil, okV(1), 2, 3},
			{1, read, nil, saw("y", 1), 4, 5},
			{1, subOp{kind: opDelete, version: 0}, nil, code(proto.CodeBadVersion), 6, 7},
			{1, subOp{kind: opDelete, version: 1}, nil, ok, 8, 9},
			{0, read, nil, code(proto.CodeNoNode), 10, 11},
		}, true},
		{"stale read after a write returned", []op{
			{0, subOp{kind: opCreate, data: "x"}, nil, ok, 0, 1},
			{0, set("y", 0), nil, okV(1), 2, 3},
			{1, read, nil, saw("x", 0), 4, 5},
		}, false},
		{"concurrent read may see either", []op{
			{0, subOp{kind: opCreate, data: "x"}, nil, ok, 0, 1},
			{0, set("y", 0), nil, okV(1), 2, 6},
			{1, read, nil, saw("x", 0), 3, 4},
			{2, read, nil, saw("y", 1), 3, 5},
		}, true},
		{"lost write may have happened", []op{
			{0, subOp{kind: opCreate, data: "x"}, nil, ok, 0, 1},
			{0, set("y", 0), nil, lost, 2, neverReturned},
			{1, read, nil, saw("y", 1), 4, 5},
		}, true},
		{"lost write may not have happened", []op{
			{0, subOp{kind: opCreate, data: "x"}, nil, ok, 0, 1},
			{0, set("y", 0), nil, lost, 2, neverReturned},
			{1, read, nil, saw("x", 0), 4, 5},
			{1, set("z", 0), nil, okV(1), 6, 7},
		}, true},
		{"lost acknowledged write", []op{
			{0, subOp{kind: opCreate, data: "x"}, nil, ok, 0, 1},
			{0, subOp{kind: opDelete, version: -1}, nil, ok, 2, 3},
			{1, read, nil, saw("x", 0), 4, 5},
		}, false},
		{"multi is atomic", []op{
			{0, subOp{kind: opCreate, data: "x"}, nil, ok, 0, 1},
			{0, subOp{kind: opMulti}, []subOp{{kind: opDelete, key: 0, version: 0}, {kind: opCreate, key: 1, data: "m"}}, ok, 2, 3},
			{1, read, nil, code(proto.CodeNoNode), 4, 5},
			{1, subOp{kind: opRead, key: 1}, nil, saw("m", 0), 6, 7},
		}, true},
		{"failed multi changes nothing", []op{
			{0, subOp{kind: opCreate, data: "x"}, nil, ok, 0, 1},
			{0, subOp{kind: opMulti}, []subOp{{kind: opDelete, key: 0, version: 0}, {kind: opCreate, key: 0, data: "m"}, {kind: opSet, key: 1, data: "n", version: -1}},
				output{code: proto.CodeNoNode, failed: 2}, 2, 3},
			{1, read, nil, code(proto.CodeNoNode), 4, 5},
		}, false},
		{"a multi refused for its session changed nothing", []op{
			{0, subOp{kind: opCreate, data: "x"}, nil, ok, 0, 1},
			{1, subOp{kind: opMulti}, []subOp{{kind: opDelete, key: 0, version: 0}, {kind: opCreate, key: 1, data: "m"}},
				output{code: proto.CodeSessionExpired, failed: 0}, 2, 3},
			{0, read, nil, saw("x", 0), 4, 5},
		}, true},
		{"a multi refused for its session must not have happened", []op{
			{0, subOp{kind: opCreate, data: "x"}, nil, ok, 0, 1},
			{1, subOp{kind: opMulti}, []subOp{{kind: opDelete, key: 0, version: 0}, {kind: opCreate, key: 1, data: "m"}},
				output{code: proto.CodeSessionExpired, failed: 0}, 2, 3},
			{0, read, nil, code(proto.CodeNoNode), 4, 5},
		}, false},
		{"multi reports the failing op", []op{
			{0, subOp{kind: opMulti}, []subOp{{kind: opCreate, key: 0, data: "x"}, {kind: opSet, key: 0, data: "y", version: 1}},
				output{code: proto.CodeBadVersion, failed: 1}, 0, 1},
			{1, read, nil, code(proto.CodeNoNode), 2, 3},
		}, true},
	}
	for _, tc := range tests {
		var hist []porcupine.Operation
		for _, o := range tc.ops {
			in := input{op: o.in, ops: o.ops}
			hist = append(hist, porcupine.Operation{ClientId: o.client, Input: in, Output: o.out, Call: o.call, Return: o.ret})
		}
		if got := porcupine.CheckOperations(model, hist); got != tc.want {
			t.Errorf("%s: linearizable = %v, want %v", tc.name, got, tc.want)
		}
	}
}
