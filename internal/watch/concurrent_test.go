package watch

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/paddock/paddock/internal/proto"
)

// TestConcurrentMixed runs every operation from many goroutines at once (run
// it with -race), then checks that the indexes still agree.
func TestConcurrentMixed(t *testing.T) {
	r := NewRegistry()
	paths := []string{"/", "/a", "/a/b", "/a/b/c", "/a/x", "/d", "/d/e"}
	types := []proto.WatcherType{proto.WatcherChildren, proto.WatcherData, proto.WatcherAny, proto.WatcherPersistent, proto.WatcherPersistentRecursive}
	const goroutines, ops = 8, 2000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			own := []*counter{new(counter), new(counter), new(counter)}
			for range ops {
				w := own[rng.IntN(len(own))]
				p := paths[rng.IntN(len(paths))]
				switch n := rng.IntN(100); {
				case n < 40:
					r.Add(p, allKinds[rng.IntN(len(allKinds))], w)
				case n < 70:
					r.Trigger(events[rng.IntN(len(events))], p, int64(n), func(Watcher) bool { return rng.IntN(4) != 0 })
				case n < 80:
					r.Remove(p, types[rng.IntN(len(types))], w)
				case n < 85:
					r.Has(p, types[rng.IntN(len(types))], w)
				case n < 88:
					r.RemoveAll(w)
				case n < 91:
					r.Summary()
				case n < 94:
					r.ByWatcher()
				case n < 97:
					r.ByPath()
				default:
					r.Count()
				}
			}
		}()
	}
	wg.Wait()
	checkInvariants(t, r)
}

// TestConcurrentOneShotFiresOnce: however many goroutines trigger the same
// path at once, each one-shot watch is delivered exactly once.
func TestConcurrentOneShotFiresOnce(t *testing.T) {
	const watchers, triggerers = 500, 8
	for round := range 5 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			r := NewRegistry()
			ws := make([]*counter, watchers)
			for i := range ws {
				ws[i] = new(counter)
				r.Add("/a/b", KindData, ws[i])
			}
			rec := new(counter)
			r.Add("/a", KindPersistentRecursive, rec)
			var start sync.WaitGroup
			start.Add(1)
			var wg sync.WaitGroup
			var fired atomic.Int64
			for range triggerers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start.Wait()
					r.Trigger(proto.EventNodeDataChanged, "/a/b", 1, func(Watcher) bool { fired.Add(1); return true })
				}()
			}
			// Adds racing with the triggers fire at most once each too.
			late := make([]*counter, watchers)
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				for i := range late {
					late[i] = new(counter)
					r.Add("/a/b", KindData, late[i])
				}
			}()
			start.Done()
			wg.Wait()
			for i, w := range ws {
				if n := w.count(); n != 1 {
					t.Fatalf("watcher %d notified %d times", i, n)
				}
			}
			for i, w := range late {
				n := w.count()
				if n > 1 || (n == 0) != r.Has("/a/b", proto.WatcherData, w) {
					t.Fatalf("late watcher %d notified %d times, still armed %v", i, n, r.Has("/a/b", proto.WatcherData, w))
				}
			}
			if n := rec.count(); n != triggerers {
				t.Fatalf("recursive watcher notified %d times, want %d", n, triggerers)
			}
			checkInvariants(t, r)
		})
	}
}
