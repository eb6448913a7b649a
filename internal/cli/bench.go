package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/paddock/paddock/internal/bench"
)

func init() {
	register("bench", "load generator for any ZooKeeper-protocol server: workloads, rate, percentiles, A/B compare", runBench)
}

func runBench(args []string) error {
	d := bench.Defaults()
	fs := flag.NewFlagSet("paddock bench", flag.ContinueOnError)
	servers := fs.String("servers", "127.0.0.1:2181", "target `host:port[,host:port...]`; each session connects to one of them")
	fs.StringVar(&d.Workload, "workload", d.Workload, "workload: "+workloadNames())
	fs.IntVar(&d.Sessions, "sessions", d.Sessions, "client sessions (connections) carrying the load")
	fs.IntVar(&d.Inflight, "inflight", d.Inflight, "requests in flight at once, spread over the sessions (at least --sessions)")
	fs.IntVar(&d.ValueSize, "value-size", d.ValueSize, "size in `bytes` of the values written")
	fs.IntVar(&d.Keys, "keys", d.Keys, "znodes that set, get, exists, children, mix and multi choose from")
	fs.Float64Var(&d.ReadRatio, "read-ratio", d.ReadRatio, "fraction of reads in the mix workload")
	fs.IntVar(&d.MultiOps, "multi-ops", d.MultiOps, "setData operations per multi")
	fs.IntVar(&d.Watchers, "watchers", d.Watchers, "watch workload: watcher sessions on the one watched znode")
	fs.IntVar(&d.Znodes, "znodes", d.Znodes, "tree workload: znodes to create (1000 per parent); the run ends when all exist")
	fs.DurationVar(&d.Duration, "duration", d.Duration, "length of the measured phase (ignored with --ops)")
	fs.DurationVar(&d.Warmup, "warmup", d.Warmup, "unmeasured load before the measured phase")
	fs.Int64Var(&d.Ops, "ops", 0, "end the measured phase after this many operations instead of --duration (0 = use --duration)")
	fs.Float64Var(&d.Rate, "rate", 0, "open loop at this many `ops/s`, latency measured from each request's scheduled time (0 = closed loop)")
	fs.DurationVar(&d.SessionTimeout, "session-timeout", d.SessionTimeout, "session timeout requested")
	fs.Var((*pidList)(&d.Pids), "pid", "the servers' process `ids` on this machine, comma-separated (one, or every member of an ensemble): report their CPU time per operation and their memory, summed")
	fs.BoolVar(&d.Keep, "keep", false, "leave the benchmark's znodes in place (the result names the root)")
	compare := fs.String("compare", "", "B target `host:port[,...]`: alternate the workload between --servers (A) and these (B), print medians and B/A")
	var comparePids []int
	fs.Var((*pidList)(&comparePids), "compare-pid", "the B servers' process `ids`, as --pid is A's")
	rounds := fs.Int("rounds", 3, "with --compare: rounds of A then B")
	cleanup := fs.Bool("cleanup", false, "instead of a run, delete every /paddock-bench-* root on --servers (left by --keep or a killed run)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	quiet := fs.Bool("quiet", false, "no progress line on stderr")
	verbose := fs.Bool("verbose", false, "print the ZooKeeper client's log on stderr")
	fs.Usage = func() { benchUsage(fs) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{"paddock bench: unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	var err error
	if d.Servers, err = splitServers(*servers); err != nil {
		return &usageError{"paddock bench: --servers: " + err.Error()}
	}
	if *verbose {
		d.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, "zk: "+format+"\n", args...) }
	}
	if *cleanup {
		roots, err := bench.Cleanup(context.Background(), d)
		for _, r := range roots {
			fmt.Println("deleted", r)
		}
		return err
	}
	pl := newProgressLine(os.Stderr)
	defer pl.done()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := cancelOnSignal(cancel)
	defer stop()

	if *compare == "" {
		if !*quiet {
			d.Progress = func(p bench.Progress) { pl.show(p) }
		}
		r, err := bench.Run(ctx, d)
		pl.done()
		if errors.Is(err, bench.ErrConfig) {
			return &usageError{err.Error()}
		}
		if r != nil {
			if werr := writeResult(os.Stdout, r, *asJSON); werr != nil {
				return errors.Join(err, werr)
			}
		}
		return err
	}

	b := d
	if b.Servers, err = splitServers(*compare); err != nil {
		return &usageError{"paddock bench: --compare: " + err.Error()}
	}
	b.Pids = comparePids
	if !*quiet {
		d.Progress = func(p bench.Progress) { pl.show(p) }
		b.Progress = d.Progress
	}
	pl.setPrefix(fmt.Sprintf("A 1/%d ", *rounds))
	each := func(i int, s string, r *bench.Result) {
		pl.done()
		fmt.Fprintf(os.Stderr, "round %d/%d %s (%s): %.0f ops/s, p50 %s, p99 %s, %d errors\n",
			i+1, *rounds, s, r.Servers, r.Throughput, bench.FormatMicros(r.Latency.P50), bench.FormatMicros(r.Latency.P99), r.Errors)
		pl.setPrefix(nextRunPrefix(i, s, *rounds))
	}
	c, err := bench.Compare(ctx, d, b, *rounds, bench.Run, each)
	pl.done()
	if errors.Is(err, bench.ErrConfig) {
		return &usageError{err.Error()}
	}
	if c != nil && (len(c.A.Runs) > 0 || len(c.B.Runs) > 0) {
		var werr error
		if *asJSON {
			werr = bench.WriteJSON(os.Stdout, c)
		} else {
			werr = bench.WriteCompareTable(os.Stdout, c)
		}
		err = errors.Join(err, werr)
	}
	return err
}

func benchUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprint(w, `usage: paddock bench [flags]

Drives a ZooKeeper-protocol server (paddock, Apache ZooKeeper, ClickHouse Keeper) with one
workload through go-zookeeper, then prints throughput and latency percentiles (p50, p90,
p99, p99.9, max). The znodes it needs live under a unique root, /paddock-bench-..., deleted
afterwards. Closed loop by default (--inflight requests always outstanding); --rate runs an
open loop at a fixed rate, charging a slow reply to every request it delayed. With --pid it
reads /proc/<pid> to report the server's CPU time per operation and its memory; given every
member's pid, it reports an ensemble's, summed. Progress is printed on stderr once a second.
See docs/bench.md.

workloads (one operation is):
`)
	for _, wl := range bench.Workloads {
		fmt.Fprintf(w, "  %-9s %s\n", wl.Name, wl.Op)
	}
	fmt.Fprint(w, `
examples:
  paddock bench --servers 127.0.0.1:2181 --workload get --pid $(pgrep -d, -f 'paddock server')
  paddock bench --workload mix --read-ratio 0.8 --rate 20000 --duration 30s
  paddock bench --workload set --servers 127.0.0.1:2181 --pid 1234 \
                --compare 127.0.0.1:2182 --compare-pid 5678 --rounds 5
  paddock bench --servers 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183 --pid 1231,1232,1233

flags:
`)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s %s\n    \t%s", f.Name, name, usage)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

func workloadNames() string {
	names := make([]string, len(bench.Workloads))
	for i, w := range bench.Workloads {
		names[i] = w.Name
	}
	return strings.Join(names, "|")
}

// splitServers parses "host:port,host:port". A chroot suffix is refused: go-zookeeper
// has none, and the benchmark makes its own root anyway.
func splitServers(s string) ([]string, error) {
	var out []string
	for _, h := range strings.Split(s, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if strings.Contains(h, "/") {
			return nil, fmt.Errorf("%q: a chroot is not supported", h)
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, errors.New("no server given")
	}
	return out, nil
}

// pidList is the value of --pid and --compare-pid: "1234", "1231,1232,1233" (what
// pgrep -d, prints), or "" for none. Each Set replaces the list, as a repeated flag
// replaces an int's value.
type pidList []int

func (l *pidList) String() string {
	if l == nil {
		return ""
	}
	ps := make([]string, len(*l))
	for i, p := range *l {
		ps[i] = strconv.Itoa(p)
	}
	return strings.Join(ps, ",")
}

func (l *pidList) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		*l = nil
		return nil
	}
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		p, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("%q is not a process id", f)
		}
		if p <= 0 {
			return fmt.Errorf("process id %d is not positive", p)
		}
		if slices.Contains(out, p) {
			return fmt.Errorf("process id %d given twice", p)
		}
		out = append(out, p)
	}
	*l = out
	return nil
}

func writeResult(w io.Writer, r *bench.Result, asJSON bool) error {
	if asJSON {
		return bench.WriteJSON(w, r)
	}
	return bench.WriteTable(w, r)
}

// cancelOnSignal calls cancel on the first SIGINT or SIGTERM, so that the run stops and
// cleans up, and exits on the second.
func cancelOnSignal(cancel func()) (stop func()) {
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	donec := make(chan struct{})
	go func() {
		select {
		case <-sigc:
			fmt.Fprintln(os.Stderr, "\npaddock bench: stopping, deleting the benchmark's znodes (again to quit at once)")
			cancel()
		case <-donec:
			return
		}
		select {
		case <-sigc:
			os.Exit(130)
		case <-donec:
		}
	}()
	return func() { signal.Stop(sigc); close(donec) }
}

// progressLine prints the progress reports: rewritten in place on a terminal, one line per
// report otherwise. Safe for concurrent use.
type progressLine struct {
	w   io.Writer
	tty bool

	mu     sync.Mutex
	prefix string // guarded by mu; names the run in compare mode
	open   bool   // guarded by mu; a line without its newline is on the terminal
}

func newProgressLine(f *os.File) *progressLine {
	tty := false
	if fi, err := f.Stat(); err == nil {
		tty = fi.Mode()&os.ModeCharDevice != 0
	}
	return &progressLine{w: f, tty: tty}
}

func (p *progressLine) setPrefix(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prefix = s
}

func (p *progressLine) show(pr bench.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	secs := pr.Elapsed.Round(time.Second)
	var line string
	switch pr.Phase {
	case "warmup", "run":
		p99 := "-"
		if pr.P99 > 0 {
			p99 = bench.FormatMicros(float64(pr.P99) / 1e3)
		}
		line = fmt.Sprintf("%s%-6s %4s  %8.0f ops/s  p99 %-7s  ops %d  errors %d",
			p.prefix, pr.Phase, secs, pr.Rate, p99, pr.Done, pr.Errors)
	default:
		line = fmt.Sprintf("%s%-8s %4s  %d done", p.prefix, pr.Phase, secs, pr.Done)
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.open = true
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// done ends a line left open on the terminal.
func (p *progressLine) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}

// nextRunPrefix labels the progress of the run after side s of round i (0-based): rounds
// alternate A B, B A, ..., as bench.Compare runs them.
func nextRunPrefix(i int, s string, rounds int) string {
	first := func(round int) string { return [2]string{"A", "B"}[round%2] }
	if s == first(i) { // the other side of the same round is next
		return fmt.Sprintf("%s %d/%d ", first(i+1), i+1, rounds)
	}
	return fmt.Sprintf("%s %d/%d ", first(i+1), i+2, rounds)
}
