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
	// Names of one style share long prefixes, so chunks skip them and keys discriminate;
	// mixed styles leave little to skip, and some names' keys tie.
	styles := []struct {
		name string
		gen  func(r *rand.Rand, x int) string
	}{
		{"mixed", func(r *rand.Rand, x int) string {
			// Short names, names that differ within their first bytes, and names that share
			// them (the keys tie; the full names decide), zero bytes included.
			switch r.IntN(4) {
			case 0:
				return fmt.Sprintf("n%05d", x)
			case 1:
				return fmt.Sprintf("instance-%010d", x)
			case 2:
				return fmt.Sprintf("inst\x00%d", x%50)
			default:
				return "ab"[:1+x%2] + strings.Repeat("\x00", x%3)
			}
		}},
		{"numbered", func(r *rand.Rand, x int) string { return fmt.Sprintf("n%05d", x) }},
		{"unpadded", func(r *rand.Rand, x int) string { return fmt.Sprintf("member-%d", x) }},
		{"sequential", func(r *rand.Rand, x int) string { return fmt.Sprintf("lock-%010d", x*7) }},
		{"long ties", func(r *rand.Rand, x int) string { return fmt.Sprintf("%s%c%d", strings.Repeat("p", 1+x%5), 'a'+x%3, x) }},
	}
	for _, st := range styles {
		t.Run(st.name, func(t *testing.T) { testKidsMatchSortedNames(t, st.gen) })
	}
}

func testKidsMatchSortedNames(t *testing.T, gen func(r *rand.Rand, x int) string) {
	r := rand.New(rand.NewPCG(1, 2))
	var k kids
	var want []string
	g := uint32(1)
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
		name := gen(r, r.IntN(3000))
		i, present := slices.BinarySearch(want, name)
		if r.IntN(3) > 0 {
			if !present {
				k.insert(newNode(name, nil), g)
				want = slices.Insert(want, i, name)
			}
		} else if got := k.remove(name, g); (got != nil) != present {
			t.Fatalf("step %d: remove(%s) = %v, present %v", step, name, got, present)
		} else if present {
			want = slices.Delete(want, i, i+1)
		}
		if got := k.get(name); (got != nil) != slices.Contains(want, name) {
			t.Fatalf("step %d: get(%s) = %v", step, name, got)
		}
		if step%97 == 0 {
			if err := checkChunks(&k); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		if step%997 == 0 {
			// A snapshot: the current index is frozen, the tree goes on in a new generation
			// through a clone (as node.clone does).
			copies = append(copies, frozen{k: k, names: slices.Clone(want)})
			g++
			k = k.clone()
		}
	}
	if got := names(&k); !slices.Equal(got, want) || k.len() != len(want) {
		t.Fatalf("%d children, want %d (len %d)", len(got), len(want), k.len())
	}
	if err := checkChunks(&k); err != nil {
		t.Fatal(err)
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
		if err := checkChunks(&f.k); err != nil {
			t.Fatalf("frozen copy %d: %v", i, err)
		}
		for _, name := range f.names {
			if f.k.get(name) == nil {
				t.Fatalf("frozen copy %d: %q not found", i, name)
			}
		}
	}
}

// Children created in name order (sequential znodes) fill their chunks: a full last chunk is
// followed by a new one, not split in halves.
func TestKidsInOrderFillChunks(t *testing.T) {
	var k kids
	for i := range 1000 {
		k.insert(newNode(fmt.Sprintf("job-%010d", i), nil), 1)
	}
	if err := checkChunks(&k); err != nil {
		t.Fatal(err)
	}
	for ci, ref := range k.chunks[:len(k.chunks)-1] {
		if n, c := len(ref.c.nodes), cap(ref.c.nodes); n != kidsChunk || c != kidsChunk {
			t.Fatalf("chunk %d: %d children, room for %d; want %d", ci, n, c, kidsChunk)
		}
	}
	if k.len() != 1000 || len(k.chunks) != (1000+kidsChunk-1)/kidsChunk {
		t.Fatalf("%d children in %d chunks", k.len(), len(k.chunks))
	}
}

// checkChunks checks every chunk's invariants: its size, the index's copy of its last name,
// the prefix its names share and their keys.
func checkChunks(k *kids) error {
	for ci, ref := range k.chunks {
		ch := ref.c
		if len(ch.nodes) == 0 || len(ch.nodes) > kidsChunk {
			return fmt.Errorf("chunk %d holds %d children", ci, len(ch.nodes))
		}
		if last := ch.nodes[len(ch.nodes)-1].name(); ref.last != last {
			return fmt.Errorf("chunk %d ends with %q, its index says %q", ci, last, ref.last)
		}
		if len(ch.keys) != len(ch.nodes) {
			return fmt.Errorf("chunk %d: %d keys for %d children", ci, len(ch.keys), len(ch.nodes))
		}
		prefix := ref.last[:ch.skip]
		for i, n := range ch.nodes {
			if !strings.HasPrefix(n.name(), prefix) {
				return fmt.Errorf("chunk %d: %q lacks the shared prefix %q", ci, n.name(), prefix)
			}
			if want := keyAt(n.name(), ch.skip); ch.keys[i] != want {
				return fmt.Errorf("chunk %d: %q has key %#x, want %#x", ci, n.name(), ch.keys[i], want)
			}
		}
	}
	return nil
}
