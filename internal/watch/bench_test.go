package watch

import (
	"fmt"
	"testing"

	"github.com/paddock/paddock/internal/proto"
)

// populated returns a registry with n connections each watching a few paths,
// none of them under /unwatched.
func populated(n int) *Registry {
	r := NewRegistry()
	for i := range n {
		w := new(counter)
		r.Add(fmt.Sprintf("/app/svc%d/config", i%100), KindData, w)
		r.Add(fmt.Sprintf("/app/svc%d", i%100), KindChild, w)
		r.Add(fmt.Sprintf("/app/lock%d", i), KindPersistent, w)
	}
	return r
}

// BenchmarkTriggerNoWatchers is the cost a write pays when nobody watches
// what it changes: the common case.
func BenchmarkTriggerNoWatchers(b *testing.B) {
	const path = "/unwatched/service/instance-0000000042"
	b.Run("empty", func(b *testing.B) {
		r := NewRegistry()
		b.ReportAllocs()
		for b.Loop() {
			r.Trigger(proto.EventNodeDataChanged, path, 1, nil)
		}
	})
	b.Run("10k-watches-elsewhere", func(b *testing.B) {
		r := populated(10_000)
		b.ReportAllocs()
		for b.Loop() {
			r.Trigger(proto.EventNodeDataChanged, path, 1, nil)
		}
	})
	// Some recursive watch exists, so every event walks its ancestors.
	b.Run("recursive-elsewhere", func(b *testing.B) {
		r := populated(10_000)
		r.Add("/app", KindPersistentRecursive, new(counter))
		b.ReportAllocs()
		for b.Loop() {
			r.Trigger(proto.EventNodeDataChanged, path, 1, nil)
		}
	})
	b.Run("children-changed", func(b *testing.B) {
		r := populated(10_000)
		r.Add("/app", KindPersistentRecursive, new(counter))
		b.ReportAllocs()
		for b.Loop() {
			r.Trigger(proto.EventNodeChildrenChanged, path, 1, nil)
		}
	})
}

// BenchmarkTriggerFanout10k notifies 10,000 watchers of one node.
func BenchmarkTriggerFanout10k(b *testing.B) {
	const n = 10_000
	ws := make([]*counter, n)
	for i := range ws {
		ws[i] = new(counter)
	}
	allow := func(Watcher) bool { return true }
	b.Run("oneshot", func(b *testing.B) {
		// Every iteration consumes the watches; re-arming is not timed.
		r := NewRegistry()
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			for _, w := range ws {
				r.Add("/hot", KindData, w)
			}
			b.StartTimer()
			r.Trigger(proto.EventNodeDataChanged, "/hot", 1, allow)
		}
	})
	b.Run("persistent", func(b *testing.B) {
		r := NewRegistry()
		for _, w := range ws {
			r.Add("/hot", KindPersistent, w)
		}
		b.ReportAllocs()
		for b.Loop() {
			r.Trigger(proto.EventNodeDataChanged, "/hot", 1, allow)
		}
	})
	b.Run("recursive-ancestor", func(b *testing.B) {
		r := NewRegistry()
		for _, w := range ws {
			r.Add("/hot", KindPersistentRecursive, w)
		}
		b.ReportAllocs()
		for b.Loop() {
			r.Trigger(proto.EventNodeDataChanged, "/hot/a/b", 1, allow)
		}
	})
}

// BenchmarkAddOneShot is the registry's share of a getData with watch=true
// whose watch then fires.
func BenchmarkAddOneShot(b *testing.B) {
	r := populated(10_000)
	w := new(counter)
	b.ReportAllocs()
	for b.Loop() {
		r.Add("/app/svc7/config", KindData, w)
		r.Trigger(proto.EventNodeDataChanged, "/app/svc7/config", 1, nil)
	}
}
