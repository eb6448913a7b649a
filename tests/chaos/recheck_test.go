package chaos

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/paddock/paddock/internal/proto"
)

// TestRecheckSavedHistory checks a history a failed run saved (CHAOS_RECHECK=<file>.txt)
// again, so that a violation can be studied, and the history cut down, without a cluster.
func TestRecheckSavedHistory(t *testing.T) {
	path := os.Getenv("CHAOS_RECHECK")
	if path == "" {
		t.Skip("CHAOS_RECHECK not set")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ops []porcupine.Operation
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		op, err := parseOp(sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d operations: %v", path, len(ops), porcupine.CheckOperationsTimeout(model, ops, 0))
}

// TestHistoryFormatRoundTrip: parseOp reads what formatOp writes.
func TestHistoryFormatRoundTrip(t *testing.T) {
	ops := []porcupine.Operation{
		{ClientId: 3, Input: input{group: 1, op: subOp{kind: opCreate, key: 1, data: "w3.7"}}, Call: 1500000001, Output: output{}, Return: 1600000000},
		{ClientId: 0, Input: input{group: 0, op: subOp{kind: opSet, key: 0, data: "w0.1", version: -1}}, Call: 2, Output: output{version: 4}, Return: 3},
		{ClientId: 1, Input: input{group: 2, op: subOp{kind: opDelete, key: 0, version: 2}}, Call: 4, Output: output{code: proto.CodeBadVersion}, Return: 5},
		{ClientId: 2, Input: input{group: 3, op: subOp{kind: opRead, key: 1}}, Call: 6, Output: output{data: "w1.2", version: 7}, Return: 8},
		{ClientId: 4, Input: input{group: 0, op: subOp{kind: opMulti}, ops: []subOp{{kind: opCheck, key: 0, version: 1}, {kind: opSet, key: 1, data: "w4.1", version: -1}}},
			Call: 9, Output: output{setVers: []int32{3}}, Return: 10},
		{ClientId: 4, Input: input{group: 0, op: subOp{kind: opMulti}, ops: []subOp{{kind: opDelete, key: 0, version: 1}, {kind: opCreate, key: 1, data: "w4.2"}}},
			Call: 11, Output: output{code: proto.CodeNodeExists, failed: 1}, Return: 12},
		{ClientId: 5, Input: input{group: 0, op: subOp{kind: opSet, key: 1, data: "w5.1", version: 0}}, Call: 13, Output: output{unknown: true}, Return: neverReturned},
	}
	for _, op := range ops {
		line := formatOp(op)
		back, err := parseOp(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if got := formatOp(back); got != line {
			t.Errorf("round trip:\n%s\n%s", line, got)
		}
	}
}

var (
	opLine  = regexp.MustCompile(`^client (\d+) \[([\d.]+), ([\d.]+|∞)\] g(\d+)\.(.*) → (.*)$`)
	subLine = regexp.MustCompile(`^(\w+)\(([a-z])(?:,("(?:[^"\\]|\\.)*"))?(?:,v(-?\d+))?\)$`)
	okLine  = regexp.MustCompile(`^ok v(-?\d+) ("(?:[^"\\]|\\.)*") \[([-\d ]*)\]$`)
)

// parseOp reads a line written by formatOp.
func parseOp(line string) (porcupine.Operation, error) {
	m := opLine.FindStringSubmatch(line)
	if m == nil {
		return porcupine.Operation{}, fmt.Errorf("not a history line: %q", line)
	}
	var op porcupine.Operation
	op.ClientId, _ = strconv.Atoi(m[1])
	op.Call = seconds(m[2])
	op.Return = neverReturned
	if m[3] != "∞" {
		op.Return = seconds(m[3])
	}
	in := input{}
	in.group, _ = strconv.Atoi(m[4])
	if body, ok := strings.CutPrefix(m[5], "multi["); ok {
		in.op.kind = opMulti
		for _, s := range strings.Fields(strings.TrimSuffix(body, "]")) {
			o, err := parseSubOp(s)
			if err != nil {
				return op, err
			}
			in.ops = append(in.ops, o)
		}
	} else {
		o, err := parseSubOp(m[5])
		if err != nil {
			return op, err
		}
		in.op = o
	}
	out, err := parseOutput(m[6])
	if err != nil {
		return op, fmt.Errorf("%q: %w", line, err)
	}
	op.Input, op.Output = in, out
	return op, nil
}

func seconds(s string) int64 {
	f, _ := strconv.ParseFloat(s, 64)
	return int64(math.Round(f * 1e9))
}

func parseSubOp(s string) (subOp, error) {
	m := subLine.FindStringSubmatch(s)
	if m == nil {
		return subOp{}, fmt.Errorf("not an op: %q", s)
	}
	kinds := map[string]opKind{"create": opCreate, "set": opSet, "delete": opDelete, "check": opCheck, "read": opRead}
	o := subOp{kind: kinds[m[1]], key: int(m[2][0] - 'a')}
	if o.kind == 0 {
		return o, fmt.Errorf("unknown op %q", m[1])
	}
	if m[3] != "" {
		o.data, _ = strconv.Unquote(m[3])
	}
	if m[4] != "" {
		v, _ := strconv.Atoi(m[4])
		o.version = int32(v)
	}
	return o, nil
}

func parseOutput(s string) (output, error) {
	if s == "?" {
		return output{unknown: true}, nil
	}
	if m := okLine.FindStringSubmatch(s); m != nil {
		v, _ := strconv.Atoi(m[1])
		out := output{version: int32(v)}
		out.data, _ = strconv.Unquote(m[2])
		for _, f := range strings.Fields(m[3]) {
			n, _ := strconv.Atoi(f)
			out.setVers = append(out.setVers, int32(n))
		}
		return out, nil
	}
	name, idx, multi := strings.Cut(strings.TrimPrefix(s, "zookeeper: "), "@")
	out := output{failed: -1}
	for c := proto.Code(-200); c <= 0; c++ {
		if c.String() == name {
			out.code = c
		}
	}
	if out.code == proto.CodeOK {
		return out, fmt.Errorf("unknown outcome %q", s)
	}
	if multi {
		out.failed, _ = strconv.Atoi(idx)
	}
	return out, nil
}
