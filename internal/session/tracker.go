// Package session tracks the liveness of client sessions: when each one expires if its client
// stays silent. It holds no durable state (the session table itself lives in the replicated
// tree); the member that decides expiry (the leader, or a standalone server) proposes a
// closeSession txn for each session the tracker reports expired.
//
// Deadlines are rounded up to the next tick, as ZooKeeper's expiry buckets are, so a sweep
// every tick finds every session due. A Tracker is safe for concurrent use.
package session

import (
	"sort"
	"sync"
	"time"
)

// Tracker maps session ids to deadlines.
type Tracker struct {
	tick time.Duration

	mu       sync.Mutex
	sessions map[int64]*entry // guarded by mu
}

type entry struct {
	timeout  time.Duration
	deadline time.Time
	expiring bool // reported by Expired, waiting for its closeSession to apply
}

// NewTracker returns a tracker whose deadlines are rounded up to multiples of tick.
func NewTracker(tick time.Duration) *Tracker {
	if tick <= 0 {
		tick = time.Millisecond
	}
	return &Tracker{tick: tick, sessions: make(map[int64]*entry)}
}

func (t *Tracker) roundUp(at time.Time) time.Time {
	n := at.UnixNano()
	tick := t.tick.Nanoseconds()
	if r := n % tick; r != 0 {
		n += tick - r
	}
	return time.Unix(0, n)
}

// Add starts tracking id (or resets it) with a fresh full timeout from now.
func (t *Tracker) Add(id int64, timeout time.Duration, now time.Time) {
	t.mu.Lock()
	t.sessions[id] = &entry{timeout: timeout, deadline: t.roundUp(now.Add(timeout))}
	t.mu.Unlock()
}

// Touch extends id's deadline by its timeout from now. It reports false if id is unknown or
// already reported expired: the session must not be used any more.
func (t *Tracker) Touch(id int64, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.sessions[id]
	if !ok || e.expiring {
		return false
	}
	if d := t.roundUp(now.Add(e.timeout)); d.After(e.deadline) {
		e.deadline = d
	}
	return true
}

// SetTimeout changes id's timeout (a reconnect negotiated a new one) and touches it.
func (t *Tracker) SetTimeout(id int64, timeout time.Duration, now time.Time) bool {
	t.mu.Lock()
	e, ok := t.sessions[id]
	if ok && !e.expiring {
		e.timeout = timeout
		e.deadline = t.roundUp(now.Add(timeout))
	}
	t.mu.Unlock()
	return ok && !e.expiring
}

// Reset makes the tracked sessions exactly those of live, each with a fresh full timeout from
// now (after a restart, a leader change, or a snapshot restore).
func (t *Tracker) Reset(live map[int64]time.Duration, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range t.sessions {
		if _, ok := live[id]; !ok {
			delete(t.sessions, id)
		}
	}
	for id, timeout := range live {
		t.sessions[id] = &entry{timeout: timeout, deadline: t.roundUp(now.Add(timeout))}
	}
}

// Remove stops tracking id.
func (t *Tracker) Remove(id int64) {
	t.mu.Lock()
	delete(t.sessions, id)
	t.mu.Unlock()
}

// Expired returns the sessions whose deadline is not after now, in id order, and marks them
// expiring so that each is reported once (until Add or Remove).
func (t *Tracker) Expired(now time.Time) []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ids []int64
	for id, e := range t.sessions {
		if !e.expiring && !e.deadline.After(now) {
			e.expiring = true
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Deadline returns id's current deadline.
func (t *Tracker) Deadline(id int64) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.sessions[id]
	if !ok {
		return time.Time{}, false
	}
	return e.deadline, true
}

// Len returns the number of tracked sessions.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sessions)
}

// ByDeadline groups session ids by deadline, for the dump command.
func (t *Tracker) ByDeadline() map[time.Time][]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := make(map[time.Time][]int64)
	for id, e := range t.sessions {
		m[e.deadline] = append(m[e.deadline], id)
	}
	for _, ids := range m {
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	}
	return m
}
