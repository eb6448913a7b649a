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

	"github.com/paddock/paddock/recipe"
	"github.com/paddock/paddock/tests/harness"
)

var (
	readNodeName  = regexp.MustCompile(`^_c_[0-9a-f-]{36}-__READ__[0-9]{10}$`)
	writeNodeName = regexp.MustCompile(`^_c_[0-9a-f-]{36}-__WRIT__[0-9]{10}$`)
	leaseNodeName = regexp.MustCompile(`^_c_[0-9a-f-]{36}-lease-[0-9]{10}$`)
)

func testRWMutex(t *testing.T, e *env) {
	s1 := session(t, e.addr, recipe.SessionOptions{})
	s2 := session(t, e.addr, recipe.SessionOptions{})
	c := connect(t, e.addr)
	path := e.path("rw")
	r1, r2, w3 := recipe.NewRWMutex(s1, path), recipe.NewRWMutex(s2, path), recipe.NewRWMutex(s2, path)

	// Readers share the lock.
	must(t, r1.ReadLock().Lock(ctx(t)))
	must(t, r2.ReadLock().Lock(ctx(t)))
	// A writer waits for them, and keeps later readers out.
	wrote := make(chan error, 1)
	go func() { wrote <- w3.WriteLock().Lock(ctx(t)) }()
	harness.CheckFor(t, waitTime, func() error {
		if kids := children(t, c, path); len(kids) != 3 {
			return fmt.Errorf("nodes %q, want two readers and a writer", kids)
		}
		return nil
	})
	for _, k := range children(t, c, path) {
		if !readNodeName.MatchString(k) && !writeNodeName.MatchString(k) {
			t.Errorf("read-write lock node %q", k)
		}
	}
	late := recipe.NewRWMutex(s1, path)
	if ok, err := late.ReadLock().TryLock(ctx(t)); ok || err != nil {
		t.Errorf("a reader behind a waiting writer got the lock: %v %v", ok, err)
	}
	ps, err := w3.WriteLock().Participants(ctx(t))
	if err != nil || len(ps) != 1 {
		t.Errorf("write participants %q %v, want the writer only", ps, err)
	}
	must(t, r1.ReadLock().Unlock(ctx(t)))
	must(t, r2.ReadLock().Unlock(ctx(t)))
	must(t, recv(t, wrote, "the write lock"))
	if ok, err := late.ReadLock().TryLock(ctx(t)); ok || err != nil {
		t.Errorf("a reader got the lock from a writer: %v %v", ok, err)
	}
	if ok, err := late.WriteLock().TryLock(ctx(t)); ok || err != nil {
		t.Errorf("a second writer got the lock: %v %v", ok, err)
	}
	// The writer may read too.
	if ok, err := w3.ReadLock().TryLock(ctx(t)); !ok || err != nil {
		t.Errorf("the writer could not take the read lock: %v %v", ok, err)
	}
	must(t, w3.ReadLock().Unlock(ctx(t)))
	must(t, w3.WriteLock().Unlock(ctx(t)))
	harness.CheckFor(t, waitTime, func() error {
		if kids := children(t, c, path); len(kids) != 0 {
			return fmt.Errorf("nodes %q left", kids)
		}
		return nil
	})

	// Contention: readers overlap, writers never overlap anything.
	var readers, writers, bad atomic.Int64
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rw := recipe.NewRWMutex([]*recipe.Session{s1, s2}[g%2], path)
			for i := range 4 {
				write := (g+i)%3 == 0
				m := rw.ReadLock()
				if write {
					m = rw.WriteLock()
				}
				if err := m.Lock(ctx(t)); err != nil {
					t.Error(err)
					return
				}
				if write {
					if writers.Add(1) != 1 || readers.Load() != 0 {
						bad.Add(1)
					}
				} else if readers.Add(1); writers.Load() != 0 {
					bad.Add(1)
				}
				time.Sleep(time.Millisecond) // hold it a moment, for overlaps to show
				if write {
					writers.Add(-1)
				} else {
					readers.Add(-1)
				}
				must(t, m.Unlock(ctx(t)))
			}
		}()
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d times a writer overlapped another holder", bad.Load())
	}
}

func testSemaphore(t *testing.T, e *env) {
	s1 := session(t, e.addr, recipe.SessionOptions{})
	s2 := session(t, e.addr, recipe.SessionOptions{})
	c := connect(t, e.addr)
	path := e.path("sem")
	sem1 := recipe.NewSemaphore(s1, path, 2, []byte("one"))
	sem2 := recipe.NewSemaphore(s2, path, 2, nil)

	two, err := sem1.Acquire(ctx(t), 2)
	must(t, err)
	if len(two) != 2 {
		t.Fatalf("Acquire(2) = %d leases", len(two))
	}
	for _, k := range children(t, c, path+"/leases") {
		data, _, err := c.GetData(ctx(t), path+"/leases/"+k)
		must(t, err)
		if !leaseNodeName.MatchString(k) || string(data) != "one" {
			t.Errorf("lease node %q with %q", k, data)
		}
	}
	short, cancel := context.WithTimeout(ctx(t), 200*time.Millisecond)
	_, err = sem2.Acquire(short, 1)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire with no lease free = %v", err)
	}
	got := make(chan []*recipe.Lease, 1)
	go func() {
		l, err := sem2.Acquire(ctx(t), 1)
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	must(t, two[0].Release(ctx(t)))
	l := recv(t, got, "a lease after a release")
	must(t, l[0].Release(ctx(t)))
	must(t, two[1].Release(ctx(t)))

	// Contention: never more than two holders.
	var holders, over atomic.Int64
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem := recipe.NewSemaphore([]*recipe.Session{s1, s2}[g%2], path, 2, nil)
			for range 3 {
				ls, err := sem.Acquire(ctx(t), 1)
				if err != nil {
					t.Error(err)
					return
				}
				if holders.Add(1) > 2 {
					over.Add(1)
				}
				time.Sleep(time.Millisecond) // hold it a moment, for overlaps to show
				holders.Add(-1)
				must(t, ls[0].Release(ctx(t)))
			}
		}()
	}
	wg.Wait()
	if over.Load() != 0 {
		t.Errorf("%d times more than two leases were held", over.Load())
	}
}
