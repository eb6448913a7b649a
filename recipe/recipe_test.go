package recipe_test

import (
	"strings"
	"testing"
)

// body is one test body of TestRecipes. It gets a server shared with the other bodies of its
// target and works under its own root path.
type body struct {
	name string
	fn   func(t *testing.T, e *env)
}

var bodies = []body{
	{"Session", testSession},
	{"Mutex", testMutex},
	{"MutexLost", testMutexLost},
	{"LeaderLatch", testLeaderLatch},
	{"LeaderLatchLost", testLeaderLatchLost},
	{"LeaderSelector", testLeaderSelector},
	{"Discovery", testDiscovery},
	{"RWMutex", testRWMutex},
	{"Semaphore", testSemaphore},
	{"Barrier", testBarrier},
	{"DoubleBarrier", testDoubleBarrier},
	{"SharedCount", testSharedCount},
	{"AtomicLong", testAtomicLong},
	{"Queue", testQueue},
	{"TreeCache", testTreeCache},
	{"PersistentNode", testPersistentNode},
	{"GroupMember", testGroupMember},
	{"RWMutexLost", testRWMutexLost},
	{"SemaphoreLost", testSemaphoreLost},
	{"BarrierLost", testBarrierLost},
	{"DoubleBarrierLost", testDoubleBarrierLost},
	{"SharedCountLost", testSharedCountLost},
	{"AtomicLongLost", testAtomicLongLost},
	{"QueueLost", testQueueLost},
	{"GroupMemberLost", testGroupMemberLost},
}

// TestRecipes runs every body against Apache ZooKeeper 3.8 and against paddock, one server of
// each kind for all the bodies, the two kinds in parallel and the bodies of a kind too.
func TestRecipes(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			srv := tg.start(t)
			for _, b := range bodies {
				t.Run(b.name, func(t *testing.T) {
					t.Parallel()
					e := &env{kind: tg.name, addr: srv.Addr(), root: "/" + strings.ToLower(b.name)}
					b.fn(t, e)
				})
			}
		})
	}
}
