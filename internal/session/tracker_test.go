package session

import (
	"testing"
	"time"
)

func TestTrackerExpiry(t *testing.T) {
	tick := 100 * time.Millisecond
	tr := NewTracker(tick)
	t0 := time.Unix(1000, 0)
	tr.Add(1, time.Second, t0)
	tr.Add(2, 2*time.Second, t0)
	if got := tr.Expired(t0.Add(999 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("expired early: %v", got)
	}
	if got := tr.Expired(t0.Add(time.Second)); len(got) != 1 || got[0] != 1 {
		t.Fatalf("at 1s: %v", got)
	}
	// Reported once only, and an expiring session cannot be touched back to life.
	if got := tr.Expired(t0.Add(time.Second)); len(got) != 0 {
		t.Fatalf("reported twice: %v", got)
	}
	if tr.Touch(1, t0.Add(time.Second)) {
		t.Fatal("touch revived an expiring session")
	}
	// Touch extends.
	if !tr.Touch(2, t0.Add(1500*time.Millisecond)) {
		t.Fatal("touch failed")
	}
	if got := tr.Expired(t0.Add(2 * time.Second)); len(got) != 0 {
		t.Fatalf("touched session expired: %v", got)
	}
	if got := tr.Expired(t0.Add(3500 * time.Millisecond)); len(got) != 1 || got[0] != 2 {
		t.Fatalf("at 3.5s: %v", got)
	}
}

func TestTrackerRoundsUpToTick(t *testing.T) {
	tr := NewTracker(time.Second)
	t0 := time.Unix(1000, 300*int64(time.Millisecond))
	tr.Add(7, 1500*time.Millisecond, t0)
	d, ok := tr.Deadline(7)
	if !ok || !d.Equal(time.Unix(1002, 0)) {
		t.Fatalf("deadline %v", d)
	}
}

func TestTrackerReset(t *testing.T) {
	tr := NewTracker(time.Second)
	t0 := time.Unix(1000, 0)
	tr.Add(1, time.Second, t0)
	tr.Add(2, time.Second, t0)
	tr.Expired(t0.Add(time.Second)) // both expiring
	tr.Reset(map[int64]time.Duration{2: 3 * time.Second, 3: time.Second}, t0.Add(time.Second))
	if _, ok := tr.Deadline(1); ok {
		t.Fatal("a session absent from the reset set is still tracked")
	}
	if !tr.Touch(2, t0.Add(time.Second)) {
		t.Fatal("reset did not revive an expiring session that is live")
	}
	if d, _ := tr.Deadline(2); !d.Equal(time.Unix(1004, 0)) {
		t.Fatalf("deadline %v", d)
	}
	if tr.Len() != 2 {
		t.Fatalf("len %d", tr.Len())
	}
}
