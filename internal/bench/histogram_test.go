package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramExactSmallValues(t *testing.T) {
	h := NewHistogram()
	for v := 1; v <= 100; v++ { // 1..100 ns: below 256 every value has its own bucket
		h.Record(time.Duration(v))
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{
		{0, 1}, {1, 1}, {50, 50}, {90, 90}, {99, 99}, {99.9, 100}, {100, 100}, {50.5, 51},
	} {
		if got := h.Percentile(tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if h.Count() != 100 || h.Min() != 1 || h.Max() != 100 {
		t.Errorf("count %d min %v max %v", h.Count(), h.Min(), h.Max())
	}
	if h.Mean() != 50 { // 50.5 truncated to whole ns
		t.Errorf("mean = %v, want 50ns", h.Mean())
	}
}

func TestHistogramKnownDistribution(t *testing.T) {
	// 900 samples of 1 ms, 90 of 10 ms, 9 of 100 ms, 1 of 1 s.
	h := NewHistogram()
	for _, g := range []struct {
		n int
		d time.Duration
	}{{900, time.Millisecond}, {90, 10 * time.Millisecond}, {9, 100 * time.Millisecond}, {1, time.Second}} {
		for range g.n {
			h.Record(g.d)
		}
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{
		{50, time.Millisecond}, {90, time.Millisecond}, {90.1, 10 * time.Millisecond},
		{99, 10 * time.Millisecond}, {99.9, 100 * time.Millisecond}, {99.95, time.Second}, {100, time.Second},
	} {
		got := h.Percentile(tc.p)
		if !within(got, tc.want, 1.0/128) {
			t.Errorf("p%v = %v, want %v within 0.8%%", tc.p, got, tc.want)
		}
	}
	if h.Max() != time.Second || h.Min() != time.Millisecond {
		t.Errorf("min %v max %v: must be exact", h.Min(), h.Max())
	}
}

// TestHistogramAgainstSort checks every percentile of random data against the exact
// sample of the same rank: the histogram may only round up, by less than a bucket.
func TestHistogramAgainstSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := NewHistogram()
	var vs []time.Duration
	for range 20000 {
		// Log-uniform from 100 ns to 10 s.
		v := time.Duration(math.Exp(r.Float64()*math.Log(1e8)) * 100)
		vs = append(vs, v)
		h.Record(v)
	}
	slices.Sort(vs)
	for _, p := range []float64{1, 10, 25, 50, 75, 90, 99, 99.9, 99.99} {
		pp := int(math.Round(p * 100)) // percent in hundredths, to compute the rank exactly
		rank := (pp*len(vs) + 9999) / 10000
		exact := vs[rank-1]
		got := h.Percentile(p)
		if got < exact || !within(got, exact, 1.0/128) {
			t.Errorf("p%v = %v, exact %v", p, got, exact)
		}
	}
}

func TestHistogramBuckets(t *testing.T) {
	// Every bucket's range ends where the next begins, and bucketOf inverts bucketHigh.
	for i := 0; i < numBuckets-1; i++ {
		hi := bucketHigh(i)
		if bucketOf(hi) != i || bucketOf(hi+1) != i+1 {
			t.Fatalf("bucket %d: high %d maps to %d, high+1 to %d", i, hi, bucketOf(hi), bucketOf(hi+1))
		}
	}
	if bucketOf(math.MaxInt64) != numBuckets-1 || bucketOf(-5) != 0 {
		t.Error("out-of-range values must land in the edge buckets")
	}
}

func TestHistogramMergeReset(t *testing.T) {
	a, b := NewHistogram(), NewHistogram()
	for v := 1; v <= 50; v++ {
		a.Record(time.Duration(v) * time.Microsecond)
	}
	for v := 51; v <= 100; v++ {
		b.Record(time.Duration(v) * time.Microsecond)
	}
	a.Merge(b)
	a.Merge(NewHistogram())
	if a.Count() != 100 || a.Min() != time.Microsecond || a.Max() != 100*time.Microsecond {
		t.Fatalf("merged count %d min %v max %v", a.Count(), a.Min(), a.Max())
	}
	if got := a.Percentile(50); !within(got, 50*time.Microsecond, 1.0/128) {
		t.Errorf("merged p50 = %v", got)
	}
	a.Reset()
	if a.Count() != 0 || a.Percentile(50) != 0 || a.Max() != 0 || a.Min() != 0 || a.Mean() != 0 {
		t.Error("reset histogram not empty")
	}
}

func within(got, want time.Duration, rel float64) bool {
	return math.Abs(float64(got-want)) <= rel*float64(want)
}
