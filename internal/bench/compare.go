package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Runner runs one benchmark; Run is the real one, tests substitute fakes.
type Runner func(ctx context.Context, cfg Config) (*Result, error)

// Comparison is the outcome of Compare: every run of both targets, and per metric the
// median over the rounds of each target and their ratio.
type Comparison struct {
	Workload string      `json:"workload"`
	Rounds   int         `json:"rounds"`
	A        Side        `json:"a"`
	B        Side        `json:"b"`
	Metrics  []MetricRow `json:"metrics"`
}

// Side is one target of a comparison.
type Side struct {
	Servers string    `json:"servers"`
	Runs    []*Result `json:"runs"`
}

// MetricRow compares one metric: the medians of A and B and B/A.
type MetricRow struct {
	Name string  `json:"name"`
	A    float64 `json:"a"`
	B    float64 `json:"b"`
	// Ratio is B/A; nil when A is 0.
	Ratio *float64 `json:"ratio,omitempty"`
	// Higher tells whether a higher value is better (throughput) or worse (latency, CPU).
	Higher bool `json:"higher_is_better"`
	unit   string
}

// metric is a number taken from a Result, when the result has it.
type metric struct {
	name   string
	unit   string // "us", "bytes" or "" (a count or rate)
	higher bool
	get    func(*Result) (float64, bool)
}

func always(f func(*Result) float64) func(*Result) (float64, bool) {
	return func(r *Result) (float64, bool) { return f(r), true }
}

var metrics = []metric{
	{"ops/s", "", true, always(func(r *Result) float64 { return r.Throughput })},
	{"errors", "", false, always(func(r *Result) float64 { return float64(r.Errors) })},
	{"mean", "us", false, always(func(r *Result) float64 { return r.Latency.Mean })},
	{"p50", "us", false, always(func(r *Result) float64 { return r.Latency.P50 })},
	{"p90", "us", false, always(func(r *Result) float64 { return r.Latency.P90 })},
	{"p99", "us", false, always(func(r *Result) float64 { return r.Latency.P99 })},
	{"p99.9", "us", false, always(func(r *Result) float64 { return r.Latency.P999 })},
	{"max", "us", false, always(func(r *Result) float64 { return r.Latency.Max })},
	{"notify p50", "us", false, func(r *Result) (float64, bool) {
		if r.Notify == nil {
			return 0, false
		}
		return r.Notify.P50, true
	}},
	{"notify p99", "us", false, func(r *Result) (float64, bool) {
		if r.Notify == nil {
			return 0, false
		}
		return r.Notify.P99, true
	}},
	{"cpu µs/op", "", false, func(r *Result) (float64, bool) {
		if r.Server == nil {
			return 0, false
		}
		return r.Server.CPUPerOp, true
	}},
	{"rss end", "bytes", false, func(r *Result) (float64, bool) {
		if r.Server == nil {
			return 0, false
		}
		return float64(r.Server.RSSEnd), true
	}},
	{"rss peak", "bytes", false, func(r *Result) (float64, bool) {
		if r.Server == nil {
			return 0, false
		}
		return float64(r.Server.RSSPeak), true
	}},
}

// Compare runs the same workload against two targets, alternating A B, B A, A B ... for
// rounds rounds so that drift (page cache, CPU frequency, other load) and the order within
// a round (the first run meets a cooler machine) fall on both alike, and
// reports the median of each metric per target and the ratio B/A. a and b differ in their
// servers and pids. each, if set, is called after every run with the round (from 0) and
// "A" or "B". On an error Compare stops and returns the comparison of the rounds so far
// with the error.
func Compare(ctx context.Context, a, b Config, rounds int, run Runner, each func(round int, side string, r *Result)) (*Comparison, error) {
	if rounds < 1 {
		return nil, fmt.Errorf("%w: rounds must be at least 1", ErrConfig)
	}
	c := &Comparison{
		Workload: a.Workload,
		Rounds:   rounds,
		A:        Side{Servers: strings.Join(a.Servers, ",")},
		B:        Side{Servers: strings.Join(b.Servers, ",")},
	}
	type target struct {
		name string
		cfg  Config
		side *Side
	}
	for i := range rounds {
		order := []target{{"A", a, &c.A}, {"B", b, &c.B}}
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, s := range order {
			r, err := run(ctx, s.cfg)
			if r != nil {
				s.side.Runs = append(s.side.Runs, r)
				if each != nil {
					each(i, s.name, r)
				}
			}
			if err == nil {
				err = ctx.Err()
			}
			if err != nil {
				c.summarize()
				return c, fmt.Errorf("round %d, %s (%s): %w", i+1, s.name, s.side.Servers, err)
			}
		}
	}
	c.summarize()
	return c, nil
}

// summarize fills Metrics from the runs: the metrics every run of both sides has.
func (c *Comparison) summarize() {
	c.Metrics = nil
	if len(c.A.Runs) == 0 || len(c.B.Runs) == 0 {
		return
	}
	for _, m := range metrics {
		av, aok := values(c.A.Runs, m)
		bv, bok := values(c.B.Runs, m)
		if !aok || !bok {
			continue
		}
		row := MetricRow{Name: m.name, A: median(av), B: median(bv), Higher: m.higher, unit: m.unit}
		if row.A != 0 {
			q := row.B / row.A
			row.Ratio = &q
		}
		c.Metrics = append(c.Metrics, row)
	}
}

func values(runs []*Result, m metric) ([]float64, bool) {
	vs := make([]float64, 0, len(runs))
	for _, r := range runs {
		v, ok := m.get(r)
		if !ok {
			return nil, false
		}
		vs = append(vs, v)
	}
	return vs, true
}

// median of a non-empty slice: the middle value, or the mean of the two middle values.
func median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// WriteCompareTable writes c for people: the medians and ratios, then each run's
// throughput and p99 so that the spread is visible.
func WriteCompareTable(w io.Writer, c *Comparison) error {
	var b strings.Builder
	fmt.Fprintf(&b, "compare %s: A = %s, B = %s; %d rounds (A B, B A, ...), medians\n", c.Workload, c.A.Servers, c.B.Servers, c.Rounds)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tA\tB\tB/A\t\t")
	for _, m := range c.Metrics {
		ratio, verdict := "-", ""
		if m.Ratio != nil {
			ratio = fmt.Sprintf("%.3f", *m.Ratio)
			switch {
			case *m.Ratio == 1:
			case (*m.Ratio > 1) == m.Higher:
				verdict = "B better"
			default:
				verdict = "A better"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", m.Name, formatMetric(m.A, m.unit), formatMetric(m.B, m.unit), ratio, verdict)
	}
	tw.Flush()
	fmt.Fprintln(&b, "runs (ops/s, p99):")
	for i := range max(len(c.A.Runs), len(c.B.Runs)) {
		fmt.Fprintf(&b, "  round %d:", i+1)
		for _, s := range []struct {
			name string
			runs []*Result
		}{{"A", c.A.Runs}, {"B", c.B.Runs}} {
			if i < len(s.runs) {
				r := s.runs[i]
				fmt.Fprintf(&b, "  %s %.0f ops/s %s", s.name, r.Throughput, FormatMicros(r.Latency.P99))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatMetric(v float64, unit string) string {
	switch unit {
	case "us":
		return FormatMicros(v)
	case "bytes":
		return formatBytes(int64(v))
	}
	if v >= 100 || v == float64(int64(v)) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
