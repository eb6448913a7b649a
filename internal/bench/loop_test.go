package bench

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock whose time moves only when a sleeper or a fake operation moves it.
// With one worker the loop is then deterministic.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
	return ctx.Err() == nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// slowServer answers in 100 µs, except that operation stallAt takes stall.
func slowServer(clk *fakeClock, stallAt int, stall time.Duration) func(int, bool) error {
	n := 0
	return func(int, bool) error {
		if n == stallAt {
			clk.Advance(stall)
		} else {
			clk.Advance(100 * time.Microsecond)
		}
		n++
		return nil
	}
}

func latencies(t *testing.T, m *meter) *Histogram {
	t.Helper()
	h, errs, _ := m.totals()
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	return h
}

// TestOpenLoopChargesStall: at 1000 ops/s a 10 ms stall of operation 2 delays operations
// 3 to 9, which were due every millisecond during the stall. The open loop measures each
// from when it was due; the closed loop, like any load generator that waits for a reply
// before it sends, records one slow operation and nine fast ones.
func TestOpenLoopChargesStall(t *testing.T) {
	const us = time.Microsecond
	clk := newFakeClock()
	m := newMeter(1)
	runLoop(context.Background(), loopSpec{workers: 1, rate: 1000, ops: 10, op: slowServer(clk, 2, 10*time.Millisecond)}, clk, m)
	h := latencies(t, m)
	if h.Count() != 10 {
		t.Fatalf("ops = %d, want 10", h.Count())
	}
	// Due at 0,1,...,9 ms. Op 2 ends at 12 ms; op k > 2 then ends at 12 + 0.1(k-2) ms.
	want := []time.Duration{100 * us, 100 * us, 10000 * us, 9100 * us, 8200 * us, 7300 * us, 6400 * us, 5500 * us, 4600 * us, 3700 * us}
	wantH := NewHistogram()
	for _, d := range want {
		wantH.Record(d)
	}
	for _, p := range []float64{10, 20, 30, 50, 70, 90, 100} {
		if got, w := h.Percentile(p), wantH.Percentile(p); got != w {
			t.Errorf("open loop p%v = %v, want %v", p, got, w)
		}
	}
	if got := h.Percentile(50); got < 5*time.Millisecond {
		t.Errorf("open loop p50 = %v: the stall was not charged to the operations it delayed", got)
	}

	clk = newFakeClock()
	m = newMeter(1)
	runLoop(context.Background(), loopSpec{workers: 1, ops: 10, op: slowServer(clk, 2, 10*time.Millisecond)}, clk, m)
	h = latencies(t, m)
	if h.Count() != 10 || !within(h.Percentile(90), 100*us, 1.0/128) || h.Max() != 10*time.Millisecond {
		t.Errorf("closed loop: count %d p90 %v max %v; want 10, 100µs, 10ms", h.Count(), h.Percentile(90), h.Max())
	}
}

// TestOpenLoopKeepsSchedule: a fast server is not hurried; operations start when due, so
// the run lasts ops/rate and every latency is the service time.
func TestOpenLoopKeepsSchedule(t *testing.T) {
	clk := newFakeClock()
	start := clk.Now()
	m := newMeter(1)
	runLoop(context.Background(), loopSpec{workers: 1, rate: 100, ops: 50, op: slowServer(clk, -1, 0)}, clk, m)
	h, _, last := m.totals()
	if h.Count() != 50 || h.Max() != 100*time.Microsecond {
		t.Errorf("count %d max %v", h.Count(), h.Max())
	}
	if got, want := last.Sub(start), 490*time.Millisecond+100*time.Microsecond; got != want {
		t.Errorf("last operation ended after %v, want %v", got, want)
	}
}

func TestLoopWarmupAndDuration(t *testing.T) {
	clk := newFakeClock()
	m := newMeter(1)
	// 1 ms per op; 5 ms warmup, then 10 ms measured: ops starting at 5..14 ms.
	op := func(int, bool) error { clk.Advance(time.Millisecond); return nil }
	runLoop(context.Background(), loopSpec{workers: 1, warmup: 5 * time.Millisecond, duration: 10 * time.Millisecond, op: op}, clk, m)
	if got := m.ops.Load(); got != 10 {
		t.Errorf("measured ops = %d, want 10", got)
	}
	if got := m.all.Load(); got != 15 {
		t.Errorf("all ops = %d, want 15", got)
	}
	_, _, last := m.totals()
	if got := last.Sub(m.measureStart); got != 10*time.Millisecond {
		t.Errorf("measured span = %v, want 10ms", got)
	}
}

func TestLoopCountsErrors(t *testing.T) {
	clk := newFakeClock()
	m := newMeter(4)
	boom := errors.New("boom")
	var mu sync.Mutex
	n := 0
	op := func(int, bool) error {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n%4 == 0 {
			return boom
		}
		return nil
	}
	runLoop(context.Background(), loopSpec{workers: 4, ops: 100, op: op}, clk, m)
	h, errs, _ := m.totals()
	if h.Count()+uint64(errs["boom"]) != 100 || errs["boom"] != 25 || m.errors.Load() != 25 {
		t.Errorf("ok %d, errors %v", h.Count(), errs)
	}
}

func TestLoopPrepareOutsideLatency(t *testing.T) {
	clk := newFakeClock()
	m := newMeter(1)
	prep := func(int) error { clk.Advance(time.Second); return nil }
	op := func(int, bool) error { clk.Advance(time.Millisecond); return nil }
	runLoop(context.Background(), loopSpec{workers: 1, ops: 3, prepare: prep, op: op}, clk, m)
	h := latencies(t, m)
	if h.Count() != 3 || h.Max() != time.Millisecond {
		t.Errorf("count %d max %v: prepare must not count", h.Count(), h.Max())
	}
}

func TestLoopStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := newMeter(2)
	var mu sync.Mutex
	n := 0
	op := func(int, bool) error {
		mu.Lock()
		defer mu.Unlock()
		if n++; n == 20 {
			cancel()
		}
		return nil
	}
	runLoop(ctx, loopSpec{workers: 2, duration: time.Hour, op: op}, realClock{}, m)
	if got := m.all.Load(); got < 20 || got > 22 {
		t.Errorf("ran %d ops after cancel at 20", got)
	}
}
