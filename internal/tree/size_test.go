package tree

import (
	"testing"
	"unsafe"
)

// TestNodeSize keeps the per-znode cost that the package documentation (Memory layout) and
// docs/architecture.md state: a change to node's fields must update both.
func TestNodeSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the documented layout is for 64-bit platforms")
	}
	const documented = 152
	if got := unsafe.Sizeof(node{}); got != documented {
		t.Fatalf("a node is %d bytes; the documentation says %d", got, documented)
	}
}
