package recipe

import "sync"

// serial runs functions one at a time, in the order they were queued, on a goroutine that
// exists only while there is work: callbacks from several sources (a recipe's loop, the
// session's state listener) reach user code in one order and never concurrently, and never
// while a recipe's lock is held. The queue has no bound, so queuing never blocks.
type serial struct {
	mu      sync.Mutex
	queue   []func() // guarded by mu
	running bool     // guarded by mu: a goroutine is draining queue
	idle    sync.Cond
}

// do queues f.
func (q *serial) do(f func()) {
	q.mu.Lock()
	q.queue = append(q.queue, f)
	if q.running {
		q.mu.Unlock()
		return
	}
	q.running = true
	q.mu.Unlock()
	go q.drain()
}

func (q *serial) drain() {
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.running = false
			if q.idle.L != nil {
				q.idle.Broadcast()
			}
			q.mu.Unlock()
			return
		}
		f := q.queue[0]
		q.queue[0] = nil
		q.queue = q.queue[1:]
		q.mu.Unlock()
		f()
	}
}

// wait returns once everything queued so far has run. It must not be called from a queued
// function.
func (q *serial) wait() {
	q.mu.Lock()
	if q.idle.L == nil {
		q.idle.L = &q.mu
	}
	for q.running {
		q.idle.Wait()
	}
	q.mu.Unlock()
}
