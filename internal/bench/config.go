package bench

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Workloads lists the workload names Config.Workload accepts, with what each operation is.
var Workloads = []struct{ Name, Op string }{
	{"create", "create a new persistent znode with a value"},
	{"set", "setData on a random key"},
	{"get", "getData of a random key"},
	{"exists", "exists on a random key"},
	{"children", "getChildren2 of a random key group (up to 100 children)"},
	{"mix", "getData or setData of a random key, reads in --read-ratio of the operations"},
	{"multi", "a multi of --multi-ops setData on distinct random keys"},
	{"watch", "one round: every watcher session sets a data watch, one setData fires them all; latency until the last is notified"},
	{"churn", "open a new session, wait until it is established, close it"},
	{"tree", "create one znode of the large tree (--znodes of them, 1000 per parent), then report the server's memory"},
}

// Config describes one benchmark run. The zero values of the optional fields take the
// defaults documented on each field; Defaults returns the reference load.
type Config struct {
	// Servers are the target's client addresses ("host:port"). Each session connects to
	// one of them, as go-zookeeper chooses.
	Servers []string
	// Workload is one of the names in Workloads.
	Workload string
	// Sessions is the number of client sessions (TCP connections) that carry the load.
	Sessions int
	// Inflight is the number of requests in flight at once, spread over the sessions
	// (go-zookeeper pipelines the requests of concurrent callers on one session). In the
	// open loop it bounds the requests in flight; when all are busy, the schedule slips
	// and the delay is charged to the latencies.
	Inflight int
	// ValueSize is the size in bytes of the values written.
	ValueSize int
	// Keys is the number of znodes the key workloads (set, get, exists, children, mix,
	// multi) choose from; they are created before the run.
	Keys int
	// ReadRatio is the fraction of reads in the mix workload, in [0, 1].
	ReadRatio float64
	// MultiOps is the number of operations in one multi (default 4).
	MultiOps int
	// Watchers is the number of watcher sessions of the watch workload.
	Watchers int
	// Znodes is the size of the tree workload's tree; it is also the operation count.
	Znodes int
	// Duration is how long the measured phase lasts, unless Ops is set.
	Duration time.Duration
	// Warmup runs the workload unmeasured before the measured phase.
	Warmup time.Duration
	// Ops, when positive, ends the measured phase after that many operations instead of
	// after Duration.
	Ops int64
	// Rate, when positive, runs an open loop at that many operations per second;
	// otherwise the loop is closed.
	Rate float64
	// SessionTimeout is the session timeout requested (default 10 s).
	SessionTimeout time.Duration
	// Pids, when not empty, are the process ids on this machine of the target's servers
	// (one, or an ensemble's members): Run samples their CPU time over the measured phase
	// and their resident memory, and reports the sums in Result.Server. Each must be
	// positive and appear once.
	Pids []int
	// Keep leaves the benchmark's znodes in place (for example to measure a restart with
	// the tree workload's tree loaded); Result.Root names them.
	Keep bool
	// Progress, if set, is called about once a second from another goroutine with the
	// state of the run. It must not block.
	Progress func(Progress)
	// Logf, if set, receives go-zookeeper's log lines (connection errors, reconnects).
	Logf func(format string, args ...any)
}

// Defaults returns the reference load: the mix workload (90% reads) with 12 sessions, 96
// requests in flight, 100-byte values and 10,000 keys, closed loop, 10 s measured after a
// 2 s warmup.
func Defaults() Config {
	return Config{
		Workload:       "mix",
		Sessions:       12,
		Inflight:       96,
		ValueSize:      100,
		Keys:           10000,
		ReadRatio:      0.9,
		MultiOps:       4,
		Watchers:       10000,
		Znodes:         1000000,
		Duration:       10 * time.Second,
		Warmup:         2 * time.Second,
		SessionTimeout: 10 * time.Second,
	}
}

// ErrConfig wraps every error that a bad Config causes.
var ErrConfig = errors.New("bench: bad configuration")

// validate fills the defaults of optional fields and checks the rest.
func (c *Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	if len(c.Servers) == 0 {
		return bad("no servers")
	}
	for _, s := range c.Servers {
		if strings.TrimSpace(s) == "" {
			return bad("empty server address")
		}
	}
	for i, p := range c.Pids {
		if p <= 0 {
			return bad("pid %d is not positive", p)
		}
		if slices.Contains(c.Pids[:i], p) {
			return bad("pid %d given twice", p)
		}
	}
	if !slices.ContainsFunc(Workloads, func(w struct{ Name, Op string }) bool { return w.Name == c.Workload }) {
		return bad("unknown workload %q", c.Workload)
	}
	if c.MultiOps == 0 {
		c.MultiOps = 4
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 10 * time.Second
	}
	switch {
	case c.Sessions < 1:
		return bad("sessions must be at least 1")
	case c.Inflight < c.Sessions:
		return bad("inflight (%d) must be at least sessions (%d)", c.Inflight, c.Sessions)
	case c.ValueSize < 0:
		return bad("negative value size")
	case c.ReadRatio < 0 || c.ReadRatio > 1:
		return bad("read ratio %v is not in [0, 1]", c.ReadRatio)
	case c.Duration < 0 || c.Warmup < 0 || c.Ops < 0 || c.Rate < 0:
		return bad("negative duration, warmup, ops or rate")
	case c.Ops == 0 && c.Duration == 0 && c.Workload != "tree":
		return bad("neither a duration nor an operation count")
	case c.MultiOps < 1:
		return bad("multi-ops must be at least 1")
	}
	switch c.Workload {
	case "set", "get", "exists", "children", "mix":
		if c.Keys < 1 {
			return bad("the %s workload needs at least one key", c.Workload)
		}
	case "multi":
		if c.Keys < c.MultiOps {
			return bad("the multi workload needs at least multi-ops (%d) keys", c.MultiOps)
		}
	case "watch":
		if c.Watchers < 1 {
			return bad("the watch workload needs at least one watcher")
		}
		if c.Rate > 0 {
			return bad("the watch workload runs its rounds back to back; it takes no rate")
		}
	case "tree":
		if c.Znodes < 1 {
			return bad("the tree workload needs at least one znode")
		}
	}
	return nil
}
