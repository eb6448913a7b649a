package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ProgressInterval is how often Config.Progress is called.
const ProgressInterval = time.Second

// Progress is the state of a run, as Config.Progress receives it.
type Progress struct {
	// Phase is "connect", "setup", "warmup", "run" or "teardown".
	Phase string
	// Elapsed is the time since the phase began.
	Elapsed time.Duration
	// Done counts the phase's steps: sessions, znodes created or deleted, operations.
	Done int64
	// Errors counts the measured operations that failed so far.
	Errors int64
	// Rate is operations per second over the last interval (warmup and run).
	Rate float64
	// P99 is the 99th percentile latency of the measured operations of the last interval.
	P99 time.Duration
}

// Run runs one benchmark as cfg describes and returns its result. It creates its znodes
// under a unique root and deletes them afterwards, also when ctx is cancelled (unless
// cfg.Keep is set). When ctx is cancelled during the measured phase Run stops early and
// returns what it measured. An error in teardown comes back with the result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	return run(ctx, cfg, realClock{})
}

func run(ctx context.Context, cfg Config, clk clock) (res *Result, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(cfg.Pids) > 0 {
		if _, err := procRoot.sampleProcs(cfg.Pids); err != nil { // fail before the load, not after
			return nil, err
		}
	}
	tr := &tracker{clk: clk}
	if cfg.Progress != nil {
		stop := tr.report(cfg.Progress)
		defer stop()
	}

	done := new(atomic.Int64)
	tr.phase("connect", done)
	conns, err := dialAll(ctx, &cfg, cfg.Sessions, cfg.Sessions, done)
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)

	spec := loopSpec{workers: cfg.Inflight, rate: cfg.Rate, warmup: cfg.Warmup, ops: cfg.Ops, duration: cfg.Duration}
	e := &env{ctx: ctx, cfg: &cfg, conns: conns, root: newRoot(), value: makeValue(cfg.ValueSize)}
	wl := newWorkload(e)
	wl.adjust(&spec)
	spec.op = wl.op
	e.rngs = make([]*mrand.Rand, spec.workers)
	seed := mrand.Uint64()
	for w := range e.rngs {
		e.rngs[w] = mrand.New(mrand.NewPCG(seed, uint64(w)))
	}

	done = new(atomic.Int64)
	tr.phase("setup", done)
	if err := e.create(0, e.root); err != nil {
		return nil, err
	}
	if !cfg.Keep {
		defer func() {
			// Clean up even after a cancel: the measured phase is over by now.
			done := new(atomic.Int64)
			tr.phase("teardown", done)
			if terr := deleteTree(context.WithoutCancel(ctx), conns, e.root, cfg.Inflight, done); terr != nil {
				err = errors.Join(err, fmt.Errorf("bench: teardown of %s: %w", e.root, terr))
			}
		}()
	}
	defer wl.close() // before the teardown: watcher sessions go first
	if err := wl.setup(done); err != nil {
		return nil, err
	}

	m := newMeter(spec.workers)
	spec.start = clk.Now()
	measureStart := spec.start.Add(spec.warmup)
	tr.run(m, measureStart)
	var startSample procSample
	var sampleErr error
	var sampled sync.WaitGroup
	if len(cfg.Pids) > 0 {
		sampled.Go(func() {
			clk.SleepUntil(ctx, measureStart)
			startSample, sampleErr = procRoot.sampleProcs(cfg.Pids)
		})
	}
	runLoop(ctx, spec, clk, m)
	sampled.Wait()

	res = newResult(&cfg, e.root, spec, m)
	res.Kept = cfg.Keep
	res.Interrupted = ctx.Err() != nil
	if ww, ok := wl.(*watchWorkload); ok {
		res.Notifications = ww.notified
		l := Summarize(ww.notify)
		res.Notify = &l
	}
	if len(cfg.Pids) > 0 {
		end, serr := procRoot.sampleProcs(cfg.Pids)
		if serr = errors.Join(sampleErr, serr); serr != nil {
			return res, serr // a server went away during the run
		}
		res.Server = serverUsage(cfg.Pids, startSample, end, res.Ops)
	}
	return res, nil
}

func newResult(cfg *Config, root string, spec loopSpec, m *meter) *Result {
	h, errs, last := m.totals()
	r := &Result{
		Workload:  cfg.Workload,
		Servers:   strings.Join(cfg.Servers, ","),
		Root:      root,
		Mode:      "closed",
		Sessions:  cfg.Sessions,
		Inflight:  spec.workers,
		ValueSize: cfg.ValueSize,
		Ops:       int64(h.Count()),
		Errors:    m.errors.Load(),
		Latency:   Summarize(h),
	}
	if spec.rate > 0 {
		r.Mode, r.Rate = "open", spec.rate
	}
	switch cfg.Workload {
	case "set", "get", "exists", "children", "mix", "multi":
		r.Keys = cfg.Keys
	}
	switch cfg.Workload {
	case "mix":
		r.ReadRatio = cfg.ReadRatio
	case "multi":
		r.MultiOps = cfg.MultiOps
	case "watch":
		r.Watchers = cfg.Watchers
	case "tree":
		r.Znodes = cfg.Znodes
	}
	if len(errs) > 0 {
		r.ErrorKinds = errs
	}
	if !last.IsZero() {
		r.Seconds = last.Sub(m.measureStart).Seconds()
	}
	if r.Seconds > 0 {
		r.Throughput = float64(r.Ops) / r.Seconds
	}
	return r
}

// newRoot names the run's root znode: unique across runs, machines and concurrent
// benchmarks against one server.
func newRoot() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "/" + RootPrefix + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + hex.EncodeToString(b[:])
}

// makeValue returns n printable bytes: servers that compress snapshots see ordinary data,
// not a run of one byte.
func makeValue(n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	v := make([]byte, n)
	for i := range v {
		v[i] = alphabet[(i*7+i/len(alphabet))%len(alphabet)]
	}
	return v
}

// tracker follows a run's phases for the progress reports.
type tracker struct {
	clk clock

	mu           sync.Mutex
	name         string        // guarded by mu
	since        time.Time     // guarded by mu
	done         *atomic.Int64 // guarded by mu; the phase's step counter, or nil
	m            *meter        // guarded by mu; set in the warmup and run phases
	measureStart time.Time     // guarded by mu
}

func (t *tracker) phase(name string, done *atomic.Int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.name, t.since, t.done, t.m = name, t.clk.Now(), done, nil
}

func (t *tracker) run(m *meter, measureStart time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.name, t.since, t.done, t.m, t.measureStart = "run", t.clk.Now(), nil, m, measureStart
}

// report calls f every ProgressInterval until the returned stop function is called.
func (t *tracker) report(f func(Progress)) (stop func()) {
	stopc := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(ProgressInterval)
		defer tick.Stop()
		window := NewHistogram()
		var lastAll int64
		last := time.Now()
		for {
			select {
			case <-stopc:
				return
			case now := <-tick.C:
				f(t.snapshot(window, &lastAll, now.Sub(last)))
				last = now
			}
		}
	})
	return func() { close(stopc); wg.Wait() }
}

func (t *tracker) snapshot(window *Histogram, lastAll *int64, dt time.Duration) Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clk.Now()
	p := Progress{Phase: t.name, Elapsed: now.Sub(t.since)}
	if t.done != nil {
		p.Done = t.done.Load()
	}
	if t.m == nil {
		*lastAll = 0
		return p
	}
	all := t.m.all.Load()
	p.Rate = float64(all-*lastAll) / dt.Seconds()
	*lastAll = all
	p.Done = t.m.ops.Load()
	p.Errors = t.m.errors.Load()
	t.m.window(window)
	p.P99 = window.Percentile(99)
	if now.Before(t.measureStart) {
		p.Phase = "warmup"
	} else if t.since.Before(t.measureStart) {
		p.Elapsed = now.Sub(t.measureStart)
	}
	return p
}

// RootPrefix starts the name of every benchmark root znode (a child of "/").
const RootPrefix = "paddock-bench-"

// Cleanup deletes every benchmark root under "/" on cfg.Servers, the leftovers of runs with
// Keep set or of runs that were killed, and returns the roots it deleted. It uses
// cfg.Sessions sessions and cfg.Inflight requests in flight; the other fields are unused.
func Cleanup(ctx context.Context, cfg Config) ([]string, error) {
	if len(cfg.Servers) == 0 || cfg.Sessions < 1 || cfg.Inflight < 1 {
		return nil, fmt.Errorf("%w: cleanup needs servers, sessions and inflight", ErrConfig)
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = 10 * time.Second
	}
	conns, err := dialAll(ctx, &cfg, cfg.Sessions, cfg.Sessions, nil)
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)
	names, _, err := conns[0].Children("/")
	if err != nil {
		return nil, err
	}
	var deleted []string
	for _, n := range names {
		if !strings.HasPrefix(n, RootPrefix) {
			continue
		}
		if err := deleteTree(ctx, conns, "/"+n, cfg.Inflight, nil); err != nil {
			return deleted, err
		}
		deleted = append(deleted, "/"+n)
	}
	return deleted, nil
}
