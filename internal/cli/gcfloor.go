package cli

import (
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// The garbage collector's heap goal gets a floor. With Go's default (GOGC=100) the heap is
// collected each time it has grown by as much as is live, and a server with a small tree,
// whose writes allocate a couple of kilobytes each (the raft entry, raft's copy of it, the
// node's new data), would collect several times a second. Below the floor the goal is raised
// to it; once the live heap is half the floor or more, GOGC=100 holds, so a large tree's
// memory is what it was. Under setData load on 10,000 znodes (about 27 MiB live) a goal of
// about 110 MiB instead of 54 took 10% off the server's CPU per operation and 16% off p99.
//
// The goal is set again after every collection, from the live heap that collection found. An
// operator's GOGC turns the floor off; under a soft memory limit it is at most half the limit
// (the limit still bounds the heap whatever the goal).
const gcFloorBytes = 128 << 20

var startGCFloorOnce sync.Once

// startGCFloor keeps the heap goal at least gcFloorBytes from now on, or half the soft memory
// limit if that is less (set the limit first).
func startGCFloor(getenv func(string) string, log *slog.Logger) {
	if v := getenv("GOGC"); v != "" {
		log.Info("garbage collector", "GOGC", v)
		return
	}
	floor := uint64(gcFloorBytes)
	if limit := debug.SetMemoryLimit(-1); limit < math.MaxInt64 { // -1 only reads it
		floor = min(floor, uint64(limit)/2)
	}
	startGCFloorOnce.Do(func() {
		f := &gcFloor{floor: floor, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
		f.adjust()
		f.arm()
	})
	log.Info("garbage collector", "heap_floor_MiB", floor>>20)
}

type gcFloor struct {
	floor  uint64
	sample []metrics.Sample // touched by adjust only: once at start, then on the finalizer goroutine
	done   atomic.Bool      // no more adjusting (tests)
}

// gcFloorPercent is the GOGC that puts the heap goal, live bytes plus that percentage of them,
// at floor: never under 100.
func gcFloorPercent(live, floor uint64) int {
	const minLive = 4 << 20 // before the first collection the live heap reads 0
	live = max(live, minLive)
	if 2*live >= floor {
		return 100
	}
	return int(floor*100/live) - 100
}

func (f *gcFloor) adjust() {
	metrics.Read(f.sample)
	var live uint64
	if f.sample[0].Value.Kind() == metrics.KindUint64 {
		live = f.sample[0].Value.Uint64()
	}
	debug.SetGCPercent(gcFloorPercent(live, f.floor))
}

// gcSentinel is garbage as soon as it is made: its finalizer runs after the next collection.
type gcSentinel struct {
	f *gcFloor
	_ [16]byte // not a tiny allocation, which could share a block and outlive a cycle
}

// arm has adjust run after the next collection, and arm itself again then.
func (f *gcFloor) arm() {
	runtime.SetFinalizer(&gcSentinel{f: f}, func(s *gcSentinel) {
		if s.f.done.Load() {
			return
		}
		s.f.adjust()
		s.f.arm()
	})
}
