package tree

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// kids against a sorted slice of names, through random inserts and removals that split and
// empty chunks, with a frozen copy taken now and then (a snapshot's): the copy must never
// change, as the copy-on-write rule promises.
func TestKidsMatchSortedNames(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var k kids
	var want []string
	gen := uint32(1)
	type frozen struct {
		k     kids
		names []string
	}
	var copies []frozen
	names := func(k *kids) []string {
		var out []string
		for c := range k.all() {
			out = append(out, c.name())
		}
		return out
	}
	for step := range 20000 {
		// Short names, names that differ within their first 8 bytes, and names that share
		// them (the keys tie; the full names decide), zero bytes included.
		var name string
		switch x := r.IntN(3000); r.IntN(4) {
		case 0:
			name = fmt.Sprintf("n%05d", x)
		case 1:
			name = fmt.Sprintf("instance-%010d", x)
		case 2:
			name = fmt.Sprintf("inst\x00%d", x%50)
		default:
			name = "ab"[:1+x%2] + strings.Repeat("\x00", x%3)
		}
		i, present := slices.BinarySearch(want, name)
		if r.IntN(3) > 0 {
			if !present {
				k.insert(newNode(name, nil), gen)
				want = slices.Insert(want, i, name)
			}
		} else if got := k.remove(name, gen); (got != nil) != present {
			t.Fatalf("step %d: remove(%s) = %v, present %v", step, name, got, present)
		} else if present {
			want = slices.Delete(want, i, i+1)
		}
		if got := k.get(name); (got != nil) != slices.Contains(want, name) {
			t.Fatalf("step %d: get(%s) = %v", step, name, got)
		}
		if step%997 == 0 {
			// A snapshot: the current index is frozen, the tree goes on in a new generation
			// through a clone (as node.clone does).
			copies = append(copies, frozen{k: k, names: slices.Clone(want)})
			gen++
			k = k.clone()
		}
	}
	if got := names(&k); !slices.Equal(got, want) || k.len() != len(want) {
		t.Fatalf("%d children, want %d (len %d)", len(got), len(want), k.len())
	}
	for _, ch := range k.chunks {
		if len(ch.c.nodes) == 0 || len(ch.c.nodes) > kidsChunk {
			t.Fatalf("a chunk of %d", len(ch.c.nodes))
		}
		if last := ch.c.nodes[len(ch.c.nodes)-1].name(); ch.last != last {
			t.Fatalf("the index says a chunk ends with %q; it ends with %q", ch.last, last)
		}
	}
	var back []string
	for c := range k.backward() {
		back = append(back, c.name())
	}
	slices.Reverse(back)
	if !slices.Equal(back, want) {
		t.Fatal("backward disagrees with all")
	}
	for i, f := range copies {
		if got := names(&f.k); !slices.Equal(got, f.names) || f.k.len() != len(f.names) {
			t.Fatalf("frozen copy %d changed: %d children, want %d", i, len(got), len(f.names))
		}
	}
}
