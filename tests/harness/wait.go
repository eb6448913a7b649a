package harness

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// The pause between two checks of a condition grows from minPoll to maxPoll: short enough
// that a test waits little past the moment the condition holds, long enough not to spin.
const (
	minPoll = 5 * time.Millisecond
	maxPoll = 100 * time.Millisecond
)

// WaitFor polls cond until it returns true, failing the test (t.Fatal) if it has not by
// timeout. cond runs on the calling goroutine, at least once, and should be quick.
func WaitFor(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	if err := poll(timeout, func() error {
		if cond() {
			return nil
		}
		return errors.New("condition not met")
	}); err != nil {
		t.Fatalf("WaitFor: condition not met within %v", timeout)
	}
}

// CheckFor polls f until it returns nil, failing the test with f's last error if it has
// not by timeout. It is WaitFor for conditions that can say why they do not hold yet.
func CheckFor(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	if err := poll(timeout, f); err != nil {
		t.Fatalf("CheckFor: not within %v: %v", timeout, err)
	}
}

// poll calls f until it returns nil or timeout has passed, backing off from minPoll to
// maxPoll between calls, and returns f's last error.
func poll(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	pause := minPoll
	for {
		err := f()
		if err == nil {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return err
		}
		time.Sleep(min(pause, left))
		pause = min(2*pause, maxPoll)
	}
}

// handedOut remembers every port FreePort returned in this process, so that two servers of
// one test never get the same port even when the kernel offers it twice.
var handedOut struct {
	mu    sync.Mutex
	ports map[int]bool
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago: it listens on port
// 0, notes the port the kernel chose and closes the listener. Another process may take the
// port before the caller binds it, so servers started on it must retry on a bind failure
// (StartZooKeeper and StartPaddock do). It never returns the same port twice in one
// process. Safe for concurrent use.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatalf("FreePort: %v", err)
	}
	return p
}

func freePort() (int, error) {
	handedOut.mu.Lock()
	defer handedOut.mu.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = make(map[int]bool)
	}
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut.ports[p] {
			handedOut.ports[p] = true
			return p, nil
		}
	}
	return 0, fmt.Errorf("no unused port after 100 tries")
}
