package bench

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power-of-two range of values is split into
// 2^(subBits-1) equal buckets, so a bucket is at most 2/2^subBits (0.8%) of its values wide
// and reporting its upper edge errs by at most that much, upward. Values below 2^subBits
// (256 ns) are recorded exactly.
const (
	subBits   = 8
	subCount  = 1 << subBits
	halfCount = subCount / 2
	// maxShift bounds the range at 2^(subBits+maxShift) ns, about 9.8 hours; larger values
	// are recorded in the last bucket (Max stays exact).
	maxShift   = 37
	numBuckets = (maxShift+1)*halfCount + halfCount
)

// Histogram records durations in a log-linear histogram, in the manner of HdrHistogram:
// constant relative precision over a wide range in a fixed 40 KiB. The count, sum, minimum
// and maximum are exact; percentiles are the upper edge of the bucket that holds them.
//
// A Histogram is not safe for concurrent use; give each goroutine its own and Merge them.
// The zero value is not usable: call NewHistogram.
type Histogram struct {
	counts []uint64
	n      uint64
	sum    float64 // ns; float64 so that long runs cannot overflow
	min    int64
	max    int64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxInt64}
}

// bucketOf maps a value in ns to its bucket index. Values below subCount map to themselves;
// a value v >= subCount with shift k = bits.Len64(v)-subBits maps to k*halfCount + v>>k,
// where v>>k lies in [halfCount, subCount), so consecutive ranges tile the indexes.
func bucketOf(v int64) int {
	if v < subCount {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	k := bits.Len64(uint64(v)) - subBits
	if k > maxShift {
		return numBuckets - 1
	}
	return k*halfCount + int(uint64(v)>>uint(k))
}

// bucketHigh is the largest value that maps to bucket i.
func bucketHigh(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	k := i/halfCount - 1
	sub := i - k*halfCount
	return int64(sub+1)<<uint(k) - 1
}

// Record adds one duration. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Merge adds every sample of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Reset empties h.
func (h *Histogram) Reset() {
	clear(h.counts)
	h.n, h.sum, h.min, h.max = 0, 0, math.MaxInt64, 0
}

// Count is the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest sample, exactly; 0 when empty.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min is the smallest sample, exactly; 0 when empty.
func (h *Histogram) Min() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.min)
}

// Mean is the exact mean; 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Percentile returns the smallest recorded value (to the bucket's precision) such that at
// least p percent of the samples are less than or equal to it: the sample of rank
// ceil(p/100*count), as HdrHistogram defines it. p <= 0 gives Min, p >= 100 gives Max, and
// the result never exceeds Max. An empty histogram gives 0.
func (h *Histogram) Percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if p <= 0 {
		return h.Min()
	}
	if p >= 100 {
		return h.Max()
	}
	// The relative nudge keeps floating-point noise (99.9/100*1000 = 999.0000000000001)
	// from moving the rank up by one.
	rank := uint64(math.Ceil(p / 100 * float64(h.n) * (1 - 1e-12)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(max(bucketHigh(i), h.min), h.max))
		}
	}
	return h.Max()
}
