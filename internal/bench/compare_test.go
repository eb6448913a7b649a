package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// fakeRunner returns, for target "a" or "b", the next of its canned results, and records
// the order of the calls.
type fakeRunner struct {
	calls  []string
	canned map[string][]*Result
}

func (f *fakeRunner) run(_ context.Context, cfg Config) (*Result, error) {
	s := cfg.Servers[0]
	f.calls = append(f.calls, s)
	r := f.canned[s][0]
	f.canned[s] = f.canned[s][1:]
	return r, nil
}

func res(tput, p99 float64, cpu float64) *Result {
	return &Result{Workload: "get", Throughput: tput, Latency: Latency{P99: p99}, Server: &ServerUsage{CPUPerOp: cpu}}
}

func TestCompareAlternatesAndTakesMedians(t *testing.T) {
	f := &fakeRunner{canned: map[string][]*Result{
		"a": {res(100, 10, 4), res(300, 30, 2), res(200, 20, 3)}, // medians 200, 20, 3
		"b": {res(500, 5, 1), res(400, 4, 2), res(900, 100, 9)},  // medians 500, 5, 2
	}}
	var each []string
	c, err := Compare(context.Background(), Config{Workload: "get", Servers: []string{"a"}}, Config{Workload: "get", Servers: []string{"b"}}, 3,
		f.run, func(round int, side string, _ *Result) { each = append(each, side+string(rune('0'+round))) })
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, " "); got != "a b b a a b" {
		t.Errorf("order = %q, want a b b a a b", got)
	}
	if got := strings.Join(each, " "); got != "A0 B0 B1 A1 A2 B2" {
		t.Errorf("callbacks = %q", got)
	}
	want := map[string][3]float64{ // A, B, B/A
		"ops/s":     {200, 500, 2.5},
		"p99":       {20, 5, 0.25},
		"cpu µs/op": {3, 2, 2.0 / 3},
	}
	got := map[string]MetricRow{}
	for _, m := range c.Metrics {
		got[m.Name] = m
	}
	for name, w := range want {
		m, ok := got[name]
		if !ok {
			t.Errorf("no %s row", name)
			continue
		}
		if m.A != w[0] || m.B != w[1] || m.Ratio == nil || math.Abs(*m.Ratio-w[2]) > 1e-12 {
			t.Errorf("%s: A %v B %v ratio %v, want %v", name, m.A, m.B, m.Ratio, w)
		}
	}
	if m := got["errors"]; m.Ratio != nil {
		t.Errorf("errors 0 vs 0: ratio %v, want none", *m.Ratio)
	}
	if _, ok := got["notify p99"]; ok {
		t.Error("notify row without watch results")
	}

	var out bytes.Buffer
	if err := WriteCompareTable(&out, c); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"A = a, B = b", "2.500", "B better", "round 3:"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, out.String())
		}
	}
	out.Reset()
	if err := WriteJSON(&out, c); err != nil {
		t.Fatal(err)
	}
	var back Comparison
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || len(back.A.Runs) != 3 || len(back.Metrics) != len(c.Metrics) {
		t.Errorf("JSON round trip: %v, %+v", err, back)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{[]float64{5}, 5}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{9, 9}, 9}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestCompareStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	run := func(context.Context, Config) (*Result, error) {
		n++
		if n == 4 {
			return nil, boom
		}
		return res(100, 1, 1), nil
	}
	c, err := Compare(context.Background(), Config{Servers: []string{"a"}}, Config{Servers: []string{"b"}}, 5, run, nil)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "round 2, A") { // round 2 runs B first
		t.Fatalf("err = %v", err)
	}
	if len(c.A.Runs) != 1 || len(c.B.Runs) != 2 || len(c.Metrics) == 0 {
		t.Errorf("partial comparison: %d A runs, %d B runs, %d metrics", len(c.A.Runs), len(c.B.Runs), len(c.Metrics))
	}
	if _, err := Compare(context.Background(), Config{}, Config{}, 0, run, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("0 rounds: %v", err)
	}
}
