package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/paddock/paddock/tests/harness"
)

// tiny is a load small enough for a test: a few sessions, a few operations, no warmup.
func tiny(addr, workload string) Config {
	c := Defaults()
	c.Servers = []string{addr}
	c.Workload = workload
	c.Sessions, c.Inflight = 2, 4
	c.Keys, c.Watchers, c.Znodes = 30, 5, 250
	c.Warmup, c.Duration = 0, 0
	c.Ops = 40
	switch workload {
	case "churn":
		c.Ops = 8
	case "watch":
		c.Ops = 3
	}
	return c
}

func TestWorkloadsAgainstZooKeeper(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Apache ZooKeeper")
	}
	zks := harness.StartZooKeeper(t, harness.ZKOptions{Config: []string{"maxClientCnxns=0"}})
	check, _, err := zk.Connect([]string{zks.Addr()}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()

	for _, w := range Workloads {
		t.Run(w.Name, func(t *testing.T) {
			cfg := tiny(zks.Addr(), w.Name)
			cfg.Pids = []int{zks.Pid()}
			var mu sync.Mutex
			var phases []string
			cfg.Progress = func(p Progress) { mu.Lock(); phases = append(phases, p.Phase); mu.Unlock() }
			r, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, r, cfg)
			if w.Name == "watch" {
				if r.Notifications != int64(cfg.Ops)*int64(cfg.Watchers) || r.Notify == nil || r.Notify.P50 <= 0 || r.Notify.Max > r.Latency.Max*1.01 {
					t.Errorf("notifications %d, notify %+v, round max %v", r.Notifications, r.Notify, r.Latency.Max)
				}
			}
			if r.Server == nil || !slices.Equal(r.Server.Pids, []int{zks.Pid()}) || r.Server.RSSEnd <= 0 || r.Server.CPUSeconds < 0 {
				t.Errorf("server usage %+v", r.Server)
			}
			if ok, _, err := check.Exists(r.Root); err != nil || ok {
				t.Errorf("root %s left behind (exists %v, %v)", r.Root, ok, err)
			}
			var out bytes.Buffer
			if err := WriteTable(&out, r); err != nil || !strings.Contains(out.String(), "p99.9") {
				t.Errorf("table: %v\n%s", err, out.String())
			}
			t.Logf("\n%s", out.String())
		})
	}

	t.Run("two pids", func(t *testing.T) {
		// The test process stands in for a second member: it runs the load, so it has
		// CPU time over the measured phase too.
		cfg := tiny(zks.Addr(), "get")
		cfg.Pids = []int{zks.Pid(), os.Getpid()}
		zkBefore, err := procRoot.sampleProc(zks.Pid())
		if err != nil {
			t.Fatal(err)
		}
		selfBefore, err := procRoot.sampleProc(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		r, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, r, cfg)
		// The sum holds this process's memory, not only ZooKeeper's, which 40 gets change
		// by far less than half of this process's.
		if s := r.Server; s == nil || !slices.Equal(s.Pids, cfg.Pids) || s.RSSEnd < zkBefore.rss+selfBefore.rss/2 || s.RSSPeak < s.RSSEnd {
			t.Errorf("server usage %+v (before the run: ZooKeeper rss %d, this process %d)", s, zkBefore.rss, selfBefore.rss)
		}
		var out bytes.Buffer
		if err := WriteTable(&out, r); err != nil || !strings.Contains(out.String(), "2 servers, pids ") {
			t.Errorf("table: %v\n%s", err, out.String())
		}
	})

	t.Run("open loop", func(t *testing.T) {
		cfg := tiny(zks.Addr(), "mix")
		cfg.Rate, cfg.Ops = 400, 60
		r, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, r, cfg)
		if r.Mode != "open" || r.Rate != 400 {
			t.Errorf("mode %q rate %v", r.Mode, r.Rate)
		}
	})

	t.Run("duration and warmup", func(t *testing.T) {
		cfg := tiny(zks.Addr(), "get")
		cfg.Ops, cfg.Warmup, cfg.Duration = 0, 100*time.Millisecond, 300*time.Millisecond
		r, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, r, cfg)
		var out bytes.Buffer
		if err := WriteJSON(&out, r); err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(out.Bytes(), &back); err != nil || back["ops"] == nil || back["latency_us"] == nil {
			t.Errorf("JSON: %v\n%s", err, out.String())
		}
	})

	t.Run("keep", func(t *testing.T) {
		cfg := tiny(zks.Addr(), "tree")
		cfg.Znodes, cfg.Keep = 20, true
		r, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		kids, _, err := check.Children(r.Root + "/t/d0000")
		if err != nil || len(kids) != 20 {
			t.Errorf("kept tree: %d znodes, %v", len(kids), err)
		}
		var out bytes.Buffer
		if err := WriteTable(&out, r); err != nil || !strings.Contains(out.String(), "kept the znodes under "+r.Root) {
			t.Errorf("table: %v\n%s", err, out.String())
		}
		deleted, err := Cleanup(context.Background(), cfg)
		if err != nil || len(deleted) != 1 || deleted[0] != r.Root {
			t.Errorf("Cleanup = %v, %v; want [%s]", deleted, err, r.Root)
		}
		if ok, _, err := check.Exists(r.Root); err != nil || ok {
			t.Errorf("root %s still there (exists %v, %v)", r.Root, ok, err)
		}
	})

	t.Run("compare", func(t *testing.T) {
		a := tiny(zks.Addr(), "set")
		b := tiny(zks.Addr(), "set")
		b.Sessions = 1
		c, err := Compare(context.Background(), a, b, 2, Run, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.A.Runs) != 2 || len(c.B.Runs) != 2 || len(c.Metrics) == 0 {
			t.Errorf("comparison %+v", c)
		}
	})
}

func checkResult(t *testing.T, r *Result, cfg Config) {
	t.Helper()
	want := cfg.Ops
	if cfg.Workload == "tree" {
		want = int64(cfg.Znodes)
	}
	if cfg.Ops == 0 {
		want = 0
	}
	if r.Ops <= 0 || (want > 0 && r.Ops != want) || r.Errors != 0 || len(r.ErrorKinds) != 0 {
		t.Errorf("ops %d (want %d), errors %d %v", r.Ops, want, r.Errors, r.ErrorKinds)
	}
	if r.Seconds <= 0 || r.Throughput <= 0 {
		t.Errorf("seconds %v throughput %v", r.Seconds, r.Throughput)
	}
	l := r.Latency
	if !(0 < l.Min && l.Min <= l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max && l.Mean <= l.Max) {
		t.Errorf("latencies out of order: %+v", l)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"no servers", func(c *Config) { c.Servers = nil }},
		{"workload", func(c *Config) { c.Workload = "frobnicate" }},
		{"inflight", func(c *Config) { c.Inflight = c.Sessions - 1 }},
		{"ratio", func(c *Config) { c.ReadRatio = 1.5 }},
		{"no end", func(c *Config) { c.Duration, c.Ops = 0, 0 }},
		{"no keys", func(c *Config) { c.Keys = 0 }},
		{"watch rate", func(c *Config) { c.Workload, c.Rate = "watch", 10 }},
		{"multi keys", func(c *Config) { c.Workload, c.Keys, c.MultiOps = "multi", 3, 4 }},
		{"pid zero", func(c *Config) { c.Pids = []int{12, 0} }},
		{"pid twice", func(c *Config) { c.Pids = []int{12, 13, 12} }},
	} {
		c := Defaults()
		c.Servers = []string{"127.0.0.1:2181"}
		tc.edit(&c)
		if err := c.validate(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	c := Defaults()
	c.Servers = []string{"127.0.0.1:2181"}
	if err := c.validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	c.Pids = []int{12, 13, 14}
	if err := c.validate(); err != nil {
		t.Errorf("three pids: %v", err)
	}
	c.Workload, c.Duration = "tree", 0 // the tree's size ends it
	if err := c.validate(); err != nil {
		t.Errorf("tree without duration: %v", err)
	}
}
