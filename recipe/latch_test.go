package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/recipe"
	"github.com/paddock/paddock/tests/harness"
)

var latchNodeName = regexp.MustCompile(`^_c_[0-9a-f-]{36}-latch-[0-9]{10}$`)

// leaderOf returns the index of the one latch that has leadership, or an error.
func leaderOf(latches []*recipe.LeaderLatch) (int, error) {
	who := -1
	for i, l := range latches {
		if l != nil && l.HasLeadership() {
			if who >= 0 {
				return -1, fmt.Errorf("latches %d and %d both lead", who, i)
			}
			who = i
		}
	}
	if who < 0 {
		return -1, fmt.Errorf("no leader")
	}
	return who, nil
}

func testLeaderLatch(t *testing.T, e *env) {
	ss := []*recipe.Session{session(t, e.addr, recipe.SessionOptions{}), session(t, e.addr, recipe.SessionOptions{})}
	c := connect(t, e.addr)
	path := e.path("latch")
	var x exclusive
	var gained atomic.Int64
	latches := make([]*recipe.LeaderLatch, 4)
	for i := range latches {
		id := int64(i + 1)
		latches[i] = recipe.NewLeaderLatch(ss[i%2], path, recipe.LatchOptions{
			ID:            fmt.Sprintf("p%d", i),
			NotifyOnClose: true,
			OnChange: func(leader bool) {
				if leader {
					gained.Add(1)
					x.enter(id)
				} else {
					x.leave(id)
				}
			},
		})
		must(t, latches[i].Start())
	}
	if err := latches[0].Start(); !errors.Is(err, recipe.ErrNotStarted) {
		t.Errorf("second Start = %v", err)
	}
	var leader int
	harness.CheckFor(t, waitTime, func() error {
		var err error
		leader, err = leaderOf(latches)
		if err != nil {
			return err
		}
		ps, err := latches[0].Participants(ctx(t))
		if err != nil {
			return err
		}
		if len(ps) != 4 || !ps[0].IsLeader || ps[0].ID != latches[leader].ID() || ps[1].IsLeader {
			return fmt.Errorf("participants %+v, leader %s", ps, latches[leader].ID())
		}
		return nil
	})
	must(t, latches[leader].Await(ctx(t)))
	p, err := latches[3].Leader(ctx(t))
	if err != nil || p.ID != latches[leader].ID() || !p.IsLeader {
		t.Errorf("Leader() = %+v %v, want %s", p, err, latches[leader].ID())
	}
	for _, k := range children(t, c, path) {
		data, _, err := c.GetData(ctx(t), path+"/"+k)
		must(t, err)
		if !latchNodeName.MatchString(k) || len(data) != 2 || data[0] != 'p' {
			t.Errorf("latch node %q with data %q", k, data)
		}
	}
	short, cancel := context.WithTimeout(ctx(t), 100*time.Millisecond)
	if err := latches[(leader+1)%4].Await(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Await of a follower = %v", err)
	}
	cancel()

	// Closing the leader hands leadership on, one at a time, until none is left.
	for range latches {
		harness.CheckFor(t, waitTime, func() error {
			var err error
			leader, err = leaderOf(latches)
			return err
		})
		must(t, latches[leader].Close(ctx(t)))
		if err := latches[leader].Await(ctx(t)); !errors.Is(err, recipe.ErrClosed) {
			t.Errorf("Await after Close = %v", err)
		}
		latches[leader] = nil
	}
	if v, n := x.violations.Load(), gained.Load(); v != 0 || n != 4 {
		t.Errorf("%d leaderships, %d overlapping; want 4, none", n, v)
	}
	if kids := children(t, c, path); len(kids) != 0 {
		t.Errorf("latch nodes %q after every Close", kids)
	}
}

func testLeaderLatchLost(t *testing.T, e *env) {
	ps, through := proxies(t, e.addr)
	sA := session(t, through, recipe.SessionOptions{Client: client.Options{SessionTimeout: shortSession}})
	sB := session(t, e.addr, recipe.SessionOptions{})
	logA := watchStates(sA)
	path := e.path("latch")
	var x exclusive
	changes := make(chan string, 16)
	latch := func(s *recipe.Session, id int64) *recipe.LeaderLatch {
		l := recipe.NewLeaderLatch(s, path, recipe.LatchOptions{
			ID: fmt.Sprint(id),
			OnChange: func(leader bool) {
				if leader {
					x.enter(id)
				} else {
					x.leave(id)
				}
				changes <- fmt.Sprint(id, leader)
			},
		})
		must(t, l.Start())
		t.Cleanup(func() { l.Close(context.Background()) })
		return l
	}
	a := latch(sA, 1)
	must(t, a.Await(ctx(t)))
	b := latch(sB, 2)
	if got := recv(t, changes, "A's leadership"); got != "1 true" {
		t.Fatalf("first change %q", got)
	}
	blockAll(ps)
	if got := recv(t, changes, "A's loss of leadership"); got != "1 false" {
		t.Fatalf("change %q after A's connection was cut", got)
	}
	must(t, b.Await(ctx(t)))
	if got := recv(t, changes, "B's leadership"); got != "2 true" {
		t.Fatalf("change %q after A's session expired", got)
	}
	unblockAll(ps)
	logA.waitFor(t, recipe.StateReconnected, 1)
	// A joins again behind B.
	harness.CheckFor(t, waitTime, func() error {
		parts, err := b.Participants(ctx(t))
		if err != nil {
			return err
		}
		if len(parts) != 2 || parts[0].ID != "2" || parts[1].ID != "1" {
			return fmt.Errorf("participants %+v, want B then A", parts)
		}
		return nil
	})
	if a.HasLeadership() {
		t.Error("A leads after rejoining behind B")
	}
	if v := x.violations.Load(); v != 0 {
		t.Error("two leaders at once")
	}
}

func testLeaderSelector(t *testing.T, e *env) {
	ss := []*recipe.Session{session(t, e.addr, recipe.SessionOptions{}), session(t, e.addr, recipe.SessionOptions{})}
	path := e.path("selector")
	var x exclusive
	var mu sync.Mutex
	led := map[int64]int{}
	sels := make([]*recipe.LeaderSelector, 3)
	for i := range sels {
		id := int64(i + 1)
		sels[i] = recipe.NewLeaderSelector(ss[i%2], path, func(ctx context.Context) error {
			x.enter(id)
			mu.Lock()
			led[id]++
			mu.Unlock()
			tm := time.NewTimer(5 * time.Millisecond)
			select {
			case <-tm.C:
			case <-ctx.Done():
			}
			x.leave(id)
			return nil
		}, recipe.SelectorOptions{ID: fmt.Sprint("s", id), AutoRequeue: true})
		must(t, sels[i].Start())
	}
	harness.CheckFor(t, waitTime, func() error {
		mu.Lock()
		defer mu.Unlock()
		for id := int64(1); id <= 3; id++ {
			if led[id] < 3 {
				return fmt.Errorf("leaderships so far %v", led)
			}
		}
		return nil
	})
	parts, err := sels[0].Participants(ctx(t))
	must(t, err)
	if len(parts) == 0 || len(parts) > 3 || parts[0].ID[0] != 's' {
		t.Errorf("participants %+v", parts)
	}
	for _, s := range sels {
		must(t, s.Close())
	}
	if v := x.violations.Load(); v != 0 {
		t.Errorf("%d overlapping leaderships", v)
	}

	// Leadership is cancelled when the connection is lost.
	ps, through := proxies(t, e.addr)
	sA := session(t, through, recipe.SessionOptions{Client: client.Options{SessionTimeout: shortSession}})
	leading := make(chan struct{})
	ended := make(chan error, 1)
	sel := recipe.NewLeaderSelector(sA, path, func(ctx context.Context) error {
		close(leading)
		<-ctx.Done()
		ended <- ctx.Err()
		return nil
	}, recipe.SelectorOptions{})
	must(t, sel.Start())
	closed(t, leading, "leadership")
	if !sel.HasLeadership() {
		t.Error("HasLeadership() = false while leading")
	}
	blockAll(ps)
	if err := recv(t, ended, "the end of leadership"); !errors.Is(err, context.Canceled) {
		t.Errorf("lead's context ended with %v", err)
	}
	unblockAll(ps)
	must(t, sel.Close())
}
