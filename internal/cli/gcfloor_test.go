package cli

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCFloorPercent(t *testing.T) {
	const floor = 128 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 3100},       // no collection yet: taken as 4 MiB
		{27 << 20, 374}, // a small tree: the goal is the floor
		{64 << 20, 100}, // half the floor: GOGC=100's goal is the floor already
		{1 << 30, 100},  // a large tree: as without the floor
		{63 << 20, 103}, // just under half
	} {
		if got := gcFloorPercent(c.live, floor); got != c.want {
			t.Errorf("gcFloorPercent(%d MiB) = %d, want %d", c.live>>20, got, c.want)
		}
		if goal := max(c.live, 4<<20) * uint64(100+gcFloorPercent(c.live, floor)) / 100; goal < floor-(1<<20) {
			t.Errorf("live %d MiB: goal %d MiB is under the floor", c.live>>20, goal>>20)
		}
	}
}

// TestGCFloorFollowsTheLiveHeap checks that the floor is applied after each collection, from
// the live heap that collection found.
func TestGCFloorFollowsTheLiveHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	f := &gcFloor{floor: 256 << 20, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	defer f.done.Store(true)
	f.arm()
	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/heap/live:bytes"}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		runtime.GC() // the finalizer queued by the first runs meanwhile or after this one
		metrics.Read(gogc)
		got, live := int(gogc[0].Value.Uint64()), gogc[1].Value.Uint64()
		want := gcFloorPercent(live, f.floor)
		if got > 100 && got >= want*9/10 && got <= want*11/10 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOGC is %d with %d MiB live, want about %d", got, live>>20, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
