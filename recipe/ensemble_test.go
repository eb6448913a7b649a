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
// marker file, created exclusively: no two holders ever overlap.
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
	errc := make(chan error, 16)
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errc <- err
			}
		}()
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

	// progress waits until both the mutex and the latch have changed hands n more times.
	progress := func(what string, n int64) {
		t.Helper()
		m0, l0 := mutexRounds.Load(), latchRounds.Load()
		harness.CheckFor(t, waitTime, func() error {
			if m, l := mutexRounds.Load()-m0, latchRounds.Load()-l0; m < n || l < n {
				return fmt.Errorf("%s: only %d mutex and %d latch rounds in this process", what, m, l)
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

	stop()
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
	t.Logf("%d mutex rounds and %d leaderships in this process", mutexRounds.Load(), latchRounds.Load())
}
