package tree

import (
	"bytes"
	"testing"
	"unsafe"
)

// TestNodeSize keeps the per-znode cost that the package documentation (Memory layout) and
// docs/architecture.md state: a change to node's fields must update both.
func TestNodeSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the documented layout is for 64-bit platforms")
	}
	const documented = 128
	if got := unsafe.Sizeof(node{}); got != documented {
		t.Fatalf("a node is %d bytes; the documentation says %d", got, documented)
	}
	// The name and the data share one allocation: a node is two objects.
	data := bytes.Repeat([]byte{'v'}, 100)
	if allocs := testing.AllocsPerRun(100, func() { sinkNode = newNode("n0000001234", data) }); allocs != 2 {
		t.Fatalf("a node with a name and data takes %v allocations, want 2", allocs)
	}
}

var sinkNode *node

// TestNodeNameData checks the views of a node's shared buffer: null and empty data stay
// apart, and setData keeps the name.
func TestNodeNameData(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"", nil}, {"", []byte{}}, {"", []byte("x")},
		{"a", nil}, {"a", []byte{}}, {"name", []byte("data\x00")},
	} {
		n := newNode(tc.name, tc.data)
		if n.name() != tc.name {
			t.Errorf("newNode(%q, %q).name() = %q", tc.name, tc.data, n.name())
		}
		if got := n.data(); (got == nil) != (tc.data == nil) || !bytes.Equal(got, tc.data) || n.dataLen() != len(tc.data) {
			t.Errorf("newNode(%q, %q).data() = %q (nil %v), length %d", tc.name, tc.data, got, got == nil, n.dataLen())
		}
		for _, d := range [][]byte{nil, {}, []byte("longer data than before")} {
			n.setData(d)
			if got := n.data(); n.name() != tc.name || (got == nil) != (d == nil) || !bytes.Equal(got, d) {
				t.Errorf("%q after setData(%q): name %q, data %q (nil %v)", tc.name, d, n.name(), got, got == nil)
			}
		}
	}
	// The node keeps its own copy.
	src := []byte("abc")
	n := newNode("x", src)
	src[0] = 'z'
	if string(n.data()) != "abc" {
		t.Fatalf("data changed with the caller's buffer: %q", n.data())
	}
}
