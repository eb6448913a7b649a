package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/recipe"
)

// The test binary doubles as a contender process for the multi-process tests: run with
// RECIPE_HELPER=mutex or latch (and RECIPE_SERVERS, RECIPE_PATH, RECIPE_MARKER, RECIPE_ID),
// it contends until its standard input closes, then prints "ROUNDS n" and one line per
// violation, and exits.
func TestMain(m *testing.M) {
	if kind := os.Getenv("RECIPE_HELPER"); kind != "" {
		os.Exit(helper(kind))
	}
	os.Exit(m.Run())
}

func helper(kind string) int {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	connectCtx, cancelConnect := context.WithTimeout(ctx, waitTime)
	s, err := recipe.NewSession(connectCtx, os.Getenv("RECIPE_SERVERS"), recipe.SessionOptions{Client: client.Options{SessionTimeout: 4 * time.Second}})
	cancelConnect()
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	defer s.Close()
	var rounds, violations atomic.Int64
	path, marker, id := os.Getenv("RECIPE_PATH"), os.Getenv("RECIPE_MARKER"), os.Getenv("RECIPE_ID")
	switch kind {
	case "mutex":
		err = contendMutex(ctx, recipe.NewMutex(s, path), marker, &rounds, &violations)
	case "latch":
		err = contendLatch(ctx, s, path, id, marker, &rounds, &violations)
	default:
		err = fmt.Errorf("unknown helper %q", kind)
	}
	fmt.Println("ROUNDS", rounds.Load())
	fmt.Println("VIOLATIONS", violations.Load())
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	return 0
}

// takeMarker creates the marker file that only the holder may have; it reports false (a
// violation) when the file exists already.
func takeMarker(marker string) bool {
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// holdFor returns a random short hold time.
func holdFor() time.Duration { return time.Duration(1+rand.IntN(10)) * time.Millisecond }

// contendMutex locks m, holds the marker for a moment (or until the hold is lost), and
// unlocks, until ctx ends.
func contendMutex(ctx context.Context, m *recipe.Mutex, marker string, rounds, violations *atomic.Int64) error {
	for ctx.Err() == nil {
		if err := m.Lock(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !takeMarker(marker) {
			violations.Add(1)
		}
		if err := holdAndRelease(m.Lost(), func() { os.Remove(marker) }, m.Unlock); err != nil {
			return err
		}
		rounds.Add(1)
	}
	return nil
}

// holdAndRelease holds what a contender just acquired for a moment, or until lost says it
// is gone, then calls leave (the contender's own bookkeeping) and releases it with release,
// for which ErrLockLost counts as done.
func holdAndRelease(lost <-chan struct{}, leave func(), release func(context.Context) error) error {
	t := time.NewTimer(holdFor())
	select {
	case <-t.C:
	case <-lost:
	}
	t.Stop()
	leave()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	if err := release(ctx); err != nil && !errors.Is(err, recipe.ErrLockLost) {
		return err
	}
	return nil
}

// contendLatch joins the election, leads for a moment and leaves, until ctx ends. The
// marker is taken when leadership is gained and dropped when it is lost.
func contendLatch(ctx context.Context, s *recipe.Session, path, id, marker string, rounds, violations *atomic.Int64) error {
	for ctx.Err() == nil {
		l := recipe.NewLeaderLatch(s, path, recipe.LatchOptions{
			ID:            id,
			NotifyOnClose: true,
			OnChange: func(leader bool) {
				if !leader {
					os.Remove(marker)
				} else if !takeMarker(marker) {
					violations.Add(1)
				}
			},
		})
		if err := l.Start(); err != nil {
			return err
		}
		err := l.Await(ctx)
		if err == nil {
			t := time.NewTimer(holdFor())
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
			rounds.Add(1)
		}
		cctx, cancel := context.WithTimeout(context.Background(), waitTime)
		cerr := l.Close(cctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			return err
		}
		if cerr != nil {
			return cerr
		}
	}
	return nil
}

// parseHelper reads a helper's report.
func parseHelper(out string) (rounds, violations int64, err error) {
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "ROUNDS "):
			_, err = fmt.Sscan(l[len("ROUNDS "):], &rounds)
		case strings.HasPrefix(l, "VIOLATIONS "):
			_, err = fmt.Sscan(l[len("VIOLATIONS "):], &violations)
		case strings.HasPrefix(l, "ERROR "):
			err = errors.New(l)
		}
		if err != nil {
			return
		}
	}
	return
}
