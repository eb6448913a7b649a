package conformance

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paddock/paddock/tests/harness"
)

const (
	targetZooKeeper = "zookeeper"
	targetPaddock   = "paddock"
	targetEnsemble  = "paddock-ensemble" // see ensemble_test.go
)

var (
	flagTarget = flag.String("target", "",
		"targets to run: all, or a comma-separated list of zookeeper, paddock and paddock-ensemble (default $CONFORMANCE_TARGET, else all); paddock targets are compared only when zookeeper runs too")
	flagScenario = flag.String("scenario", "",
		"run only the scenarios whose name matches this regexp (default $CONFORMANCE_SCENARIO); use it instead of -run so both targets run the same ones")
	flagShow = flag.Bool("show", false, "log every transcript")
	flagSelf = flag.Bool("selfcheck", false,
		"run ZooKeeper twice and compare the runs, to find scenarios whose transcripts are not deterministic")
	flagFailing = flag.String("failing-out", "",
		"write one line per scenario where paddock differs (name, then the first differing line) to this file")
)

// knownFailing lists scenarios where paddock is known to differ from ZooKeeper, with the
// reason; they are skipped with that reason (after running) so the suite stays green while
// the server is fixed. A listed scenario that passes fails the test: remove it from here.
var knownFailing = map[string]string{}

// superDigest is the super user's digest configured on the shared server.
var superDigest = harness.Digest("super", "s3cret")

// serverOpts is what a scenario needs from its server. Scenarios whose opts have the same
// name run one after another on one server; each name must always carry the same options.
type serverOpts struct {
	Name       string
	TickTime   time.Duration
	Properties map[string]string
	Config     []string
}

// shared is the server most scenarios use: extended types (TTL nodes) on and a super digest.
// Its container and TTL reaper runs once an hour: a reaped node is a txn, and a txn of no
// scenario's making would show up in whichever scenario is running (scenarios on it never
// leave a node that could be reaped sooner anyway).
var shared = serverOpts{
	Name: "shared",
	Properties: map[string]string{
		"zookeeper.extendedTypesEnabled":                     "true",
		"zookeeper.DigestAuthenticationProvider.superDigest": superDigest,
		"znode.container.checkIntervalMs":                    "3600000",
	},
}

// fresh returns the shared options under a name of their own, for a scenario that needs a
// server nobody else has touched (it reads the whole tree or the server's counters).
func fresh(name string) serverOpts {
	o := shared
	o.Name = "fresh:" + name
	o.Properties = maps.Clone(shared.Properties)
	return o
}

// scenario is one conformance scenario. Its steps run against each target; the root path
// "/<name with / replaced by _>" is created first unless noRoot is set.
type scenario struct {
	name   string
	opts   serverOpts // zero value: shared
	noRoot bool
	steps  func(s *Script)
}

// allScenarios is every scenario of the suite, in the order they run.
func allScenarios() []scenario {
	var all []scenario
	for _, g := range [][]scenario{
		createScenarios, deleteScenarios, dataScenarios, childrenScenarios, sequentialScenarios,
		multiScenarios, watchScenarios, sessionScenarios, aclScenarios, miscScenarios,
	} {
		all = append(all, g...)
	}
	return all
}

var validName = regexp.MustCompile(`^[a-z0-9]+(/[a-z0-9][a-z0-9.-]*)+$`)

func TestScenarioTable(t *testing.T) {
	seen := map[string]bool{}
	opts := map[string]serverOpts{}
	for _, sc := range allScenarios() {
		if !validName.MatchString(sc.name) {
			t.Errorf("scenario name %q: want lowercase words separated by /", sc.name)
		}
		if seen[sc.name] {
			t.Errorf("scenario %q defined twice", sc.name)
		}
		seen[sc.name] = true
		o := sc.server()
		if prev, ok := opts[o.Name]; ok && fmt.Sprint(prev) != fmt.Sprint(o) {
			t.Errorf("server %q has different options in scenario %q", o.Name, sc.name)
		}
		opts[o.Name] = o
	}
	for name := range knownFailing {
		if !seen[name] {
			t.Errorf("knownFailing names unknown scenario %q", name)
		}
	}
	if n := len(seen); n < 200 {
		t.Errorf("%d scenarios; the suite promises at least 200", n)
	}
}

func (sc scenario) server() serverOpts {
	if sc.opts.Name == "" {
		return shared
	}
	return sc.opts
}

// targetZooKeeperAgain is the second ZooKeeper run of -selfcheck, compared like paddock.
const targetZooKeeperAgain = "zookeeper-again"

func selectedTargets(t *testing.T) []string {
	if *flagSelf {
		return []string{targetZooKeeper, targetZooKeeperAgain}
	}
	v := *flagTarget
	if v == "" {
		v = os.Getenv("CONFORMANCE_TARGET")
	}
	all := []string{targetZooKeeper, targetPaddock, targetEnsemble}
	if v == "" || v == "all" || v == "both" { // both: its old name, from before the ensemble
		return all
	}
	want := strings.Split(v, ",")
	for _, w := range want {
		if !slices.Contains(all, w) {
			t.Fatalf("target %q: want all, or a comma-separated list of zookeeper, paddock and paddock-ensemble", w)
		}
	}
	// In this order: zookeeper runs first, so the others are compared with it.
	return slices.DeleteFunc(all, func(tg string) bool { return !slices.Contains(want, tg) })
}

func selectedScenarios(t *testing.T) []scenario {
	all := allScenarios()
	pat := *flagScenario
	if pat == "" {
		pat = os.Getenv("CONFORMANCE_SCENARIO")
	}
	if pat == "" {
		return all
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		t.Fatalf("-scenario: %v", err)
	}
	var out []scenario
	for _, sc := range all {
		if re.MatchString(sc.name) {
			out = append(out, sc)
		}
	}
	return out
}

// group is the scenarios of one server, in table order.
type group struct {
	opts      serverOpts
	scenarios []scenario
}

func groupByServer(scens []scenario) []group {
	var gs []group
	idx := map[string]int{}
	for _, sc := range scens {
		o := sc.server()
		i, ok := idx[o.Name]
		if !ok {
			i = len(gs)
			idx[o.Name] = i
			gs = append(gs, group{opts: o})
		}
		gs[i].scenarios = append(gs[i].scenarios, sc)
	}
	return gs
}

// result is one scenario's transcript on one target.
type result struct {
	lines []string
	ok    bool // the run completed without a framework failure
}

type suite struct {
	compared    bool // the zookeeper target runs first, so other targets are compared with it
	comparedRun bool // the second target ran (it was not skipped)

	mu      sync.Mutex
	refs    map[string]result // zookeeper transcripts by scenario
	failing []string          // "name: first differing line" of paddock mismatches
}

func TestConformance(t *testing.T) {
	targets := selectedTargets(t)
	scens := selectedScenarios(t)
	if len(scens) == 0 {
		t.Skip("no scenario matches -scenario")
	}
	su := &suite{refs: map[string]result{}, compared: len(targets) > 1 && targets[0] == targetZooKeeper}
	for _, tg := range targets {
		t.Run(tg, func(t *testing.T) {
			if tg == targetPaddock || tg == targetEnsemble {
				usePaddockBinary(t)
			}
			if tg != targetZooKeeper {
				su.comparedRun = true
			}
			scens := scens
			if tg == targetEnsemble {
				scens = ensembleScenarios(t, scens)
			}
			start := time.Now()
			for _, g := range groupByServer(scens) {
				t.Run(strings.TrimPrefix(g.opts.Name, "fresh:"), func(t *testing.T) { su.runGroup(t, tg, g) })
			}
			t.Logf("%s: %d scenarios in %v", tg, len(scens), time.Since(start).Round(time.Millisecond))
		})
	}
	if *flagFailing != "" && su.compared && su.comparedRun {
		slices.Sort(su.failing)
		out := strings.Join(su.failing, "\n")
		if out != "" {
			out += "\n"
		}
		if err := os.WriteFile(*flagFailing, []byte(out), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func startServer(t *testing.T, tg string, o serverOpts) deployment {
	switch tg {
	case targetEnsemble:
		return startEnsemble(t, o)
	case targetPaddock:
		return deployment{t: t, srv: harness.StartPaddock(t, harness.PaddockOptions{TickTime: o.TickTime, Config: o.Config, Properties: maps.Clone(o.Properties)})}
	}
	return deployment{t: t, srv: harness.StartZooKeeper(t, harness.ZKOptions{TickTime: o.TickTime, Config: o.Config, Properties: maps.Clone(o.Properties)})}
}

// runGroup starts the group's server and runs its scenarios on it. A group of one
// scenario (a fresh server) runs it in the group's own test, so its steps may restart the
// server.
func (su *suite) runGroup(t *testing.T, tg string, g group) {
	srv := startServer(t, tg, g.opts)
	if strings.HasPrefix(g.opts.Name, "fresh:") && len(g.scenarios) == 1 {
		su.runScenario(t, tg, srv, g.scenarios[0])
		return
	}
	for _, sc := range g.scenarios {
		t.Run(sc.name, func(t *testing.T) { su.runScenario(t, tg, srv, sc) })
	}
}

func (su *suite) runScenario(t *testing.T, tg string, srv deployment, sc scenario) {
	if err := srv.running(); err != nil {
		t.Fatalf("the %s %v (it exited earlier; see its log)", tg, err)
	}
	res := runSteps(t, tg, srv, sc)
	if *flagShow || (!res.ok && tg == targetZooKeeper) {
		t.Logf("%s transcript:\n%s", tg, strings.Join(res.lines, "\n"))
	}
	switch tg {
	case targetZooKeeper:
		su.mu.Lock()
		su.refs[sc.name] = res
		su.mu.Unlock()
	default:
		su.mu.Lock()
		ref, ok := su.refs[sc.name]
		su.mu.Unlock()
		if !ok {
			if su.compared {
				t.Skip("no zookeeper transcript for this scenario (the zookeeper run was skipped or failed)")
			}
			return // -target=paddock: nothing to compare with
		}
		if !ref.ok {
			t.Skip("no usable zookeeper transcript for this scenario")
		}
		su.compare(t, tg, sc.name, ref.lines, res.lines)
	}
}

func (su *suite) compare(t *testing.T, tg, name string, ref, got []string) {
	i := firstDiff(ref, got)
	reason, known := knownFailures(tg)[name]
	if i < 0 {
		if known {
			t.Errorf("scenario %s is listed as known failing on %s (%s) but passes now: remove it from the map", name, tg, reason)
		}
		return
	}
	first := fmt.Sprintf("line %d: zookeeper %q, %s %q", i+1, lineAt(ref, i), tg, lineAt(got, i))
	su.mu.Lock()
	entry := name
	if tg != targetPaddock {
		entry += " [" + tg + "]"
	}
	su.failing = append(su.failing, entry+": "+first)
	su.mu.Unlock()
	if known {
		t.Skipf("known failing (%s): %s", reason, first)
	}
	t.Errorf("scenario %s: %s differs from zookeeper\n%s", name, tg, renderDiff(ref, got, targetZooKeeper, tg))
}

// runSteps runs one scenario and returns its normalized transcript. A panic in the steps
// is recorded, reported and the scenario's sessions are still closed.
func runSteps(t *testing.T, tg string, srv deployment, sc scenario) (res result) {
	root := ""
	if !sc.noRoot {
		root = "/" + strings.ReplaceAll(sc.name, "/", "_")
	}
	s := newScript(t, tg, srv, root)
	res.ok = true
	func() {
		defer func() {
			if r := recover(); r != nil {
				res.ok = false
				s.record("panic: %v", r)
				t.Errorf("scenario %s panicked: %v\n%s", sc.name, r, debug.Stack())
			}
		}()
		s.start()
		if s.c == nil {
			res.ok = false
			t.Errorf("scenario %s: could not open session a", sc.name)
			return
		}
		sc.steps(s)
	}()
	s.finish()
	res.lines = finalize(s.lines)
	return res
}

// paddockBuild is the once-per-process build of the paddock binary.
var paddockBuild struct {
	once sync.Once
	path string
	err  string
}

// usePaddockBinary points the harness at a paddock binary: $PADDOCK_BIN, or one built from
// cmd/paddock. The paddock target is skipped, saying why, when the binary cannot be built.
func usePaddockBinary(t *testing.T) {
	if p := os.Getenv("PADDOCK_BIN"); p != "" {
		return
	}
	paddockBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "paddock-conformance-")
		if err != nil {
			paddockBuild.err = err.Error()
			return
		}
		p := filepath.Join(dir, "paddock")
		out, err := exec.Command("go", "build", "-o", p, harness.PaddockPackage).CombinedOutput()
		if err != nil {
			os.RemoveAll(dir)
			paddockBuild.err = fmt.Sprintf("%v: %s", err, firstLines(out, 5))
			return
		}
		paddockBuild.path = p
	})
	if paddockBuild.err != "" {
		t.Skipf("paddock target skipped: the paddock binary cannot be built (go build %s): %s", harness.PaddockPackage, paddockBuild.err)
	}
	t.Setenv("PADDOCK_BIN", paddockBuild.path)
}

func firstLines(b []byte, n int) string {
	lines := bytes.SplitN(bytes.TrimSpace(b), []byte("\n"), n+1)
	if len(lines) > n {
		lines = append(lines[:n], []byte("..."))
	}
	return string(bytes.Join(lines, []byte("\n")))
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if paddockBuild.path != "" {
		os.RemoveAll(filepath.Dir(paddockBuild.path))
	}
	os.Exit(code)
}
