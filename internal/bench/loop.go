package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// clock is the loops' time source; tests substitute a fake one to make latency accounting
// deterministic.
type clock interface {
	Now() time.Time
	// SleepUntil blocks until t or until ctx is done, and reports whether t was reached.
	SleepUntil(ctx context.Context, t time.Time) bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// loopSpec is one measured load loop.
type loopSpec struct {
	// workers is the number of goroutines, so the most requests in flight at once.
	workers int
	// rate is the open loop's schedule in operations per second; 0 runs a closed loop.
	rate float64
	// start is when the loop begins (the open loop's first scheduled start); zero means now.
	start time.Time
	// warmup is run but not measured: operations that start (closed loop) or are scheduled
	// (open loop) before start+warmup are not recorded.
	warmup time.Duration
	// ops, when positive, ends the loop after that many measured operations; otherwise
	// the loop ends when duration has passed after the warmup.
	ops      int64
	duration time.Duration
	// prepare, if set, runs before each operation, outside its latency (the watch
	// workload arms its watches there). An error fails the operation without running it.
	prepare func(w int) error
	// op performs one operation for worker w (0 <= w < workers); measured tells whether
	// the loop records it. Calls for different workers run concurrently; calls for one
	// worker never do.
	op func(w int, measured bool) error
}

// runLoop runs the loop and records every measured operation in m. It returns when the
// loop is over, or soon after ctx is done; operations in flight complete first.
//
// In the closed loop each worker issues its next operation as soon as the previous one
// returns, and latency runs from the actual issue time. In the open loop operation n is
// scheduled for start + n/rate; the worker that takes it sleeps until then, or issues at
// once if it is late, and latency runs from the scheduled time. A server that stalls
// therefore charges the stall to every operation it delayed, not only to the one it held,
// which is what a closed loop (and a naive "sleep, then send" open loop) hides: the
// coordinated omission of the samples that should have been taken during the stall.
func runLoop(ctx context.Context, s loopSpec, clk clock, m *meter) {
	if s.start.IsZero() {
		s.start = clk.Now()
	}
	measureStart := s.start.Add(s.warmup)
	measureEnd := measureStart.Add(s.duration)
	var issued atomic.Int64 // measured operations started
	var next atomic.Int64   // open loop: the next schedule slot
	var wg sync.WaitGroup
	for w := range s.workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				var t0 time.Time
				if s.rate > 0 {
					n := next.Add(1) - 1
					t0 = s.start.Add(time.Duration(float64(n) * float64(time.Second) / s.rate))
				} else {
					t0 = clk.Now()
				}
				measured := !t0.Before(measureStart)
				if measured {
					if s.ops > 0 {
						if issued.Add(1) > s.ops {
							return
						}
					} else if !t0.Before(measureEnd) {
						return
					}
				}
				var err error
				if s.prepare != nil {
					err = s.prepare(w)
				}
				if s.rate > 0 {
					if !clk.SleepUntil(ctx, t0) {
						return
					}
				} else {
					t0 = clk.Now() // after prepare
				}
				if err == nil {
					err = s.op(w, measured)
				}
				end := clk.Now()
				m.all.Add(1)
				if measured && (err == nil || ctx.Err() == nil) { // not a failure the cancel caused
					m.record(w, end.Sub(t0), end, err)
				}
			}
		})
	}
	wg.Wait()
	m.measureStart = measureStart
}

// meter collects a run's measured samples. Each worker records into its own slot, so the
// only contention is with the progress reader, once a second. Safe for concurrent use
// after newMeter, except measureStart, which runLoop sets after its workers are done.
type meter struct {
	slots        []slot
	all          atomic.Int64 // operations completed, warmup included
	ops          atomic.Int64 // successful measured operations
	errors       atomic.Int64 // failed measured operations
	measureStart time.Time
}

type slot struct {
	mu      sync.Mutex
	total   *Histogram       // guarded by mu
	window  *Histogram       // guarded by mu; since the last progress report
	errs    map[string]int64 // guarded by mu
	lastEnd time.Time        // guarded by mu
}

func newMeter(workers int) *meter {
	m := &meter{slots: make([]slot, workers)}
	for i := range m.slots {
		m.slots[i].total = NewHistogram()
		m.slots[i].window = NewHistogram()
		m.slots[i].errs = map[string]int64{}
	}
	return m
}

// record adds one measured operation of worker w that ended at end. Latencies are
// recorded for successful operations only; a failure is counted by its message.
func (m *meter) record(w int, lat time.Duration, end time.Time, err error) {
	s := &m.slots[w]
	s.mu.Lock()
	if err != nil {
		s.errs[err.Error()]++
	} else {
		s.total.Record(lat)
		s.window.Record(lat)
	}
	if end.After(s.lastEnd) {
		s.lastEnd = end
	}
	s.mu.Unlock()
	if err != nil {
		m.errors.Add(1)
	} else {
		m.ops.Add(1)
	}
}

// window merges and resets every slot's window histogram into h (which it resets first).
func (m *meter) window(h *Histogram) {
	h.Reset()
	for i := range m.slots {
		s := &m.slots[i]
		s.mu.Lock()
		h.Merge(s.window)
		s.window.Reset()
		s.mu.Unlock()
	}
}

// totals returns the merged histogram of all measured operations, the failures by
// message and the end of the last measured operation (zero if there was none).
func (m *meter) totals() (*Histogram, map[string]int64, time.Time) {
	h := NewHistogram()
	errs := map[string]int64{}
	var last time.Time
	for i := range m.slots {
		s := &m.slots[i]
		s.mu.Lock()
		h.Merge(s.total)
		for k, v := range s.errs {
			errs[k] += v
		}
		if s.lastEnd.After(last) {
			last = s.lastEnd
		}
		s.mu.Unlock()
	}
	return h, errs, last
}
