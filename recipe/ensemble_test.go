package recipe_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/recipe"
	"github.com/paddock/paddock/tests/harness"
)

// TestEnsembleContention has goroutines of this process, two other processes (this test
// binary re-executed) and a session that is made to expire contend for one mutex and one
// leader latch on a 3-member paddock ensemble, while a member is killed and restarted and
// the expiring session is cut off until it is lost. Whoever holds the mutex (or leads) owns a
// marker file, created exclusively: no two holders ever overlap. Goroutines of the same
// sessions contend as well for a read-write lock (no writer overlaps any holder), a
// semaphore of two leases (never more than two holders) and a leader selector (at most one
// leader at a time, and every contender leads), each holder recording its entry and exit in
// shared atomic counters, leaving when its recipe says the hold is lost.
func TestEnsembleContention(t *testing.T) {
	ens := harness.StartEnsemble(t, harness.EnsembleOptions{TickTime: 500 * time.Millisecond})
	servers := strings.Join(ens.Addrs(), ",")
	dir := t.TempDir()
	const lockPath, latchPath = "/contention/lock", "/contention/latch"
	lockMarker, latchMarker := filepath.Join(dir, "lock"), filepath.Join(dir, "latch")
	bg, stop := context.WithCancel(context.Background())
	defer stop()

	var mutexRounds, latchRounds, violations atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errc <- err
			}
		}()
	}
	const rwPath, semPath, selectorPath, maxLeases = "/contention/rw", "/contention/sem", "/contention/selector", 2
	var rwRounds, semRounds, selectorRounds atomic.Int64
	var readers, writers, rwViolations, leases, semViolations atomic.Int64
	var selectors exclusive
	var ledMu sync.Mutex
	led := map[string]int{} // guarded by ledMu: terms led by each selector contender
	var sels []*recipe.LeaderSelector
	contendOthers := func(s *recipe.Session, id string, g int) {
		for i := range 2 {
			run(func() error {
				return contendRW(bg, recipe.NewRWMutex(s, rwPath), g+i, &readers, &writers, &rwRounds, &rwViolations)
			})
			run(func() error {
				return contendSemaphore(bg, recipe.NewSemaphore(s, semPath, maxLeases, nil), maxLeases, &leases, &semRounds, &semViolations)
			})
		}
		ledMu.Lock()
		led[id] = 0
		ledMu.Unlock()
		sel := recipe.NewLeaderSelector(s, selectorPath, func(ctx context.Context) error {
			selectors.enter(int64(g + 1))
			ledMu.Lock()
			led[id]++
			ledMu.Unlock()
			tm := time.NewTimer(holdFor())
			select {
			case <-tm.C:
			case <-ctx.Done():
			}
			tm.Stop()
			selectors.leave(int64(g + 1))
			selectorRounds.Add(1)
			return nil
		}, recipe.SelectorOptions{ID: id, AutoRequeue: true})
		must(t, sel.Start())
		t.Cleanup(func() { sel.Close() })
		sels = append(sels, sel)
	}
	opts := recipe.SessionOptions{Client: client.Options{SessionTimeout: 4 * time.Second}}
	for i := range 2 {
		s := session(t, servers, opts)
		for range 2 {
			run(func() error {
				return contendMutex(bg, recipe.NewMutex(s, lockPath), lockMarker, &mutexRounds, &violations)
			})
		}
		run(func() error {
			return contendLatch(bg, s, latchPath, fmt.Sprint("go-", i), latchMarker, &latchRounds, &violations)
		})
		contendOthers(s, fmt.Sprint("go-", i), 2*i)
	}
	// The session that expires, through proxies that the test cuts.
	ps, through := proxies(t, servers)
	sx := session(t, through, recipe.SessionOptions{Client: client.Options{SessionTimeout: shortSession}})
	logX := watchStates(sx)
	run(func() error {
		return contendMutex(bg, recipe.NewMutex(sx, lockPath), lockMarker, &mutexRounds, &violations)
	})
	run(func() error {
		return contendLatch(bg, sx, latchPath, "expiring", latchMarker, &latchRounds, &violations)
	})
	contendOthers(sx, "expiring", 4)

	// Two more processes.
	exe, err := os.Executable()
	must(t, err)
	type proc struct {
		cmd  *exec.Cmd
		out  bytes.Buffer
		done chan struct{} // closed when the process has exited, with its error in err
		err  error
		stop func()
	}
	var procs []*proc
	for i, kind := range []string{"mutex", "latch"} {
		p := &proc{done: make(chan struct{})}
		p.cmd = exec.Command(exe, "-test.run=^$")
		marker := lockMarker
		path := lockPath
		if kind == "latch" {
			marker, path = latchMarker, latchPath
		}
		p.cmd.Env = append(os.Environ(), "RECIPE_HELPER="+kind, "RECIPE_SERVERS="+servers, "RECIPE_PATH="+path,
			"RECIPE_MARKER="+marker, fmt.Sprint("RECIPE_ID=proc-", i))
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
		stdin, err := p.cmd.StdinPipe()
		must(t, err)
		p.stop = func() { stdin.Close() }
		must(t, p.cmd.Start())
		go func() {
			p.err = p.cmd.Wait()
			close(p.done)
		}()
		t.Cleanup(func() {
			p.stop()
			select {
			case <-p.done:
			case <-time.After(waitTime):
				_ = p.cmd.Process.Kill()
			}
		})
		procs = append(procs, p)
	}

	// progress waits until every recipe has changed hands n more times.
	progress := func(what string, n int64) {
		t.Helper()
		counters := []*atomic.Int64{&mutexRounds, &latchRounds, &rwRounds, &semRounds, &selectorRounds}
		start := make([]int64, len(counters))
		for i, c := range counters {
			start[i] = c.Load()
		}
		harness.CheckFor(t, waitTime, func() error {
			d := make([]int64, len(counters))
			for i, c := range counters {
				if d[i] = c.Load() - start[i]; d[i] < n {
					return fmt.Errorf("%s: only %d mutex, %d latch, %d read-write, %d semaphore and %d selector rounds in this process",
						what, d[0], d[1], d[2], d[3], d[4])
				}
			}
			return nil
		})
	}
	progress("start", 10)
	victim := ens.Members[0]
	victim.Kill()
	progress("with a member down", 10)
	must(t, victim.Start())
	progress("after the member's restart", 10)
	blockAll(ps)
	logX.waitFor(t, recipe.StateLost, 1)
	progress("while a session is lost", 5)
	unblockAll(ps)
	logX.waitFor(t, recipe.StateReconnected, 1)
	progress("after the lost session came back", 10)
	harness.CheckFor(t, waitTime, func() error {
		ledMu.Lock()
		defer ledMu.Unlock()
		for id, n := range led {
			if n == 0 {
				return fmt.Errorf("selector contender %s never led: terms %v", id, led)
			}
		}
		return nil
	})

	stop()
	for _, sel := range sels {
		must(t, sel.Close())
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for _, p := range procs {
		p.stop()
		select {
		case <-p.done:
			err := p.err
			rounds, v, perr := parseHelper(p.out.String())
			if err != nil || perr != nil || rounds == 0 {
				t.Errorf("helper %v: exit %v, report %v, %d rounds:\n%s", p.cmd.Env[len(p.cmd.Env)-5], err, perr, rounds, p.out.String())
			}
			violations.Add(v)
		case <-time.After(waitTime):
			t.Errorf("helper did not stop:\n%s", p.out.String())
		}
	}
	if v := violations.Load(); v != 0 {
		t.Errorf("%d times two holders (or leaders) overlapped", v)
	}
	if v := rwViolations.Load(); v != 0 {
		t.Errorf("%d times a writer overlapped another holder of the read-write lock", v)
	}
	if v := semViolations.Load(); v != 0 {
		t.Errorf("%d times more than %d semaphore leases were held", v, maxLeases)
	}
	if v := selectors.violations.Load(); v != 0 {
		t.Errorf("%d times two selector leaders overlapped", v)
	}
	t.Logf("%d mutex rounds, %d leaderships, %d read-write, %d semaphore and %d selector rounds in this process",
		mutexRounds.Load(), latchRounds.Load(), rwRounds.Load(), semRounds.Load(), selectorRounds.Load())
}

// contendRW takes the read-write lock until ctx ends, the write lock every third round, holds
// it a moment (or until the hold is lost) and releases it. readers and writers count the
// holders: a writer that finds another holder, or a reader that finds a writer, is a
// violation.
func contendRW(ctx context.Context, rw *recipe.RWMutex, g int, readers, writers, rounds, violations *atomic.Int64) error {
	for i := 0; ctx.Err() == nil; i++ {
		write := (g+i)%3 == 0
		m, count := rw.ReadLock(), readers
		if write {
			m, count = rw.WriteLock(), writers
		}
		if err := m.Lock(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if n := count.Add(1); write && (n != 1 || readers.Load() != 0) || !write && writers.Load() != 0 {
			violations.Add(1)
		}
		if err := holdAndRelease(m.Lost(), func() { count.Add(-1) }, m.Unlock); err != nil {
			return err
		}
		rounds.Add(1)
	}
	return nil
}

// contendSemaphore takes a lease until ctx ends, holds it a moment (or until it is lost) and
// releases it. holders counts the holders: more than maxLeases is a violation.
func contendSemaphore(ctx context.Context, sem *recipe.Semaphore, maxLeases int64, holders, rounds, violations *atomic.Int64) error {
	for ctx.Err() == nil {
		ls, err := sem.Acquire(ctx, 1)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if holders.Add(1) > maxLeases {
			violations.Add(1)
		}
		if err := holdAndRelease(ls[0].Lost(), func() { holders.Add(-1) }, ls[0].Release); err != nil {
			return err
		}
		rounds.Add(1)
	}
	return nil
}
