package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is the outcome of one run. Latencies are in microseconds.
type Result struct {
	Workload  string  `json:"workload"`
	Servers   string  `json:"servers"`
	Root      string  `json:"root"`
	Mode      string  `json:"mode"` // "closed" or "open"
	Rate      float64 `json:"rate,omitempty"`
	Sessions  int     `json:"sessions"`
	Inflight  int     `json:"inflight"`
	ValueSize int     `json:"value_size"`
	Keys      int     `json:"keys,omitempty"`
	ReadRatio float64 `json:"read_ratio,omitempty"`
	MultiOps  int     `json:"multi_ops,omitempty"`
	Watchers  int     `json:"watchers,omitempty"`
	Znodes    int     `json:"znodes,omitempty"`

	// Ops counts the measured operations that succeeded, Errors those that failed, by
	// message in ErrorKinds.
	Ops        int64            `json:"ops"`
	Errors     int64            `json:"errors"`
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	// Seconds runs from the end of the warmup to the end of the last measured operation.
	Seconds    float64 `json:"seconds"`
	Throughput float64 `json:"ops_per_sec"`
	// Latency is over the successful measured operations.
	Latency Latency `json:"latency_us"`

	// Watch workload: Ops counts rounds and Latency is from the setData to the last
	// watcher's event; Notify is per watcher, from the setData to its event.
	Notifications int64    `json:"notifications,omitempty"`
	Notify        *Latency `json:"notify_latency_us,omitempty"`

	// Server is set when Config.Pids is.
	Server *ServerUsage `json:"server,omitempty"`

	// Kept tells that Config.Keep left Root and its znodes in place.
	Kept bool `json:"kept,omitempty"`
	// Interrupted tells that the run was cancelled before its measured phase was over.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Latency summarizes a histogram, in microseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99.9"`
	Max  float64 `json:"max"`
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// Summarize returns h's mean, minimum, p50, p90, p99, p99.9 and maximum in microseconds.
func Summarize(h *Histogram) Latency {
	return Latency{
		Mean: micros(h.Mean()),
		Min:  micros(h.Min()),
		P50:  micros(h.Percentile(50)),
		P90:  micros(h.Percentile(90)),
		P99:  micros(h.Percentile(99)),
		P999: micros(h.Percentile(99.9)),
		Max:  micros(h.Max()),
	}
}

// ServerUsage is what /proc says about the server processes over the measured phase,
// summed over the processes when there are several (an ensemble's members).
type ServerUsage struct {
	Pids []int `json:"pids"`
	// CPUSeconds is user+system time over the measured phase (10 ms resolution per
	// process), and CPUPerOp that divided by Ops, in microseconds.
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUPerOp   float64 `json:"cpu_us_per_op"`
	// RSS at the start and the end of the measured phase, and the peak since each server
	// started (VmHWM), in bytes. Over several processes the peak is the sum of their
	// peaks, which need not have come at once: an upper bound.
	RSSStart int64 `json:"rss_start_bytes"`
	RSSEnd   int64 `json:"rss_end_bytes"`
	RSSPeak  int64 `json:"rss_peak_bytes"`
}

// WriteJSON writes v (a *Result or a *Comparison) as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteTable writes r for people: a line on the load, the table of throughput and
// latencies, then the server's usage and the errors when there are any.
func WriteTable(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", r.describe())
	if r.Interrupted {
		b.WriteString("interrupted: the measured phase was cut short\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tops\terrors\tseconds\tops/s\tmean\tp50\tp90\tp99\tp99.9\tmax\t")
	name := r.Workload
	if r.Workload == "watch" {
		name = "watch (all notified)"
	}
	latencyRow(tw, name, r.Ops, r.Errors, r.Seconds, r.Throughput, r.Latency)
	if r.Notify != nil {
		latencyRow(tw, "watch (each watcher)", r.Notifications, 0, r.Seconds, float64(r.Notifications)/max(r.Seconds, 1e-9), *r.Notify)
	}
	tw.Flush()
	if s := r.Server; s != nil {
		fmt.Fprintf(&b, "%s: cpu %.2f s, %.1f µs/op; rss %s at start, %s at end, peak %s\n",
			s.describe(), s.CPUSeconds, s.CPUPerOp, formatBytes(s.RSSStart), formatBytes(s.RSSEnd), formatBytes(s.RSSPeak))
		if s.CPUSeconds < 1 {
			b.WriteString("  (the kernel counts CPU time in 10 ms ticks: run longer for a precise cpu/op)\n")
		}
	}
	if r.Kept {
		fmt.Fprintf(&b, "kept the znodes under %s (paddock bench --cleanup deletes them)\n", r.Root)
	}
	for _, k := range slices.Sorted(maps.Keys(r.ErrorKinds)) {
		fmt.Fprintf(&b, "error ×%d: %s\n", r.ErrorKinds[k], k)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// describe names the processes of s for WriteTable.
func (s *ServerUsage) describe() string {
	if len(s.Pids) == 1 {
		return fmt.Sprintf("server pid %d", s.Pids[0])
	}
	ps := make([]string, len(s.Pids))
	for i, p := range s.Pids {
		ps[i] = strconv.Itoa(p)
	}
	return fmt.Sprintf("%d servers, pids %s, summed", len(s.Pids), strings.Join(ps, ","))
}

func latencyRow(w io.Writer, name string, ops, errs int64, secs, tput float64, l Latency) {
	fmt.Fprintf(w, "%s\t%d\t%d\t%.2f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, ops, errs, secs, tput,
		FormatMicros(l.Mean), FormatMicros(l.P50), FormatMicros(l.P90), FormatMicros(l.P99), FormatMicros(l.P999), FormatMicros(l.Max))
}

// describe is the one-line account of the load that produced r.
func (r *Result) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s: ", r.Workload, r.Servers)
	if r.Mode == "open" {
		fmt.Fprintf(&b, "open loop at %g ops/s, ", r.Rate)
	} else {
		b.WriteString("closed loop, ")
	}
	switch r.Workload {
	case "watch":
		fmt.Fprintf(&b, "one round at a time, %d watcher sessions, %d-byte values", r.Watchers, r.ValueSize)
		return b.String()
	case "churn":
		fmt.Fprintf(&b, "%d sessions opened and closed at a time", r.Inflight)
		return b.String()
	}
	fmt.Fprintf(&b, "%d sessions, %d in flight, %d-byte values", r.Sessions, r.Inflight, r.ValueSize)
	switch r.Workload {
	case "set", "get", "exists", "children":
		fmt.Fprintf(&b, ", %d keys", r.Keys)
	case "mix":
		fmt.Fprintf(&b, ", %d keys, %g reads", r.Keys, r.ReadRatio)
	case "multi":
		fmt.Fprintf(&b, ", %d keys, %d ops per multi", r.Keys, r.MultiOps)
	case "tree":
		fmt.Fprintf(&b, ", %d znodes", r.Znodes)
	}
	return b.String()
}

// FormatMicros prints a latency given in µs with about three significant digits and a
// fitting unit.
func FormatMicros(us float64) string {
	switch {
	case us < 999.5:
		return sig3(us) + "µs"
	case us < 999.5e3:
		return sig3(us/1e3) + "ms"
	default:
		return sig3(us/1e6) + "s"
	}
}

func sig3(x float64) string {
	switch {
	case x >= 99.95:
		return fmt.Sprintf("%.0f", x)
	case x >= 9.995:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", n>>10)
	}
}
