package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/zktest"
	"github.com/paddock/paddock/tests/harness"
)

// Settings of every run. The tick is short so that session expiry is quick; the session
// timeout is what the workers ask for (the server allows 2 to 20 ticks).
const (
	tickTime       = 200 * time.Millisecond
	sessionTimeout = 3 * time.Second
	members        = 3
	workers        = 5
	groups         = 4
	recoverWithin  = 30 * time.Second
)

// totals are the counts printed at the end.
type totals struct {
	runs, ops, writes, unknownOps, reads, logCreates int
	faults                                           map[string]int
	faultFailures                                    int // faults the ensemble did not come back from by itself
	protocolErrors                                   int // replies no ZooKeeper server gives
	violations                                       int // linearizability, durability, ephemerals, protocol
	lostWrites                                       int
	inconclusive                                     int // porcupine checks that timed out
	expired                                          int // worker sessions the ensemble expired
	disputed                                         int // of those, sessions another member still accepted
	ghosts                                           int // abandoned sessions checked
	snapshotCatchups, replayCatchups                 int
	reconfig                                         string // why reconfig was skipped, if it was
}

func (tt *totals) String() string {
	var fs []string
	nf := 0
	for name, n := range tt.faults {
		fs = append(fs, fmt.Sprintf("%s=%d", name, n))
		nf += n
	}
	sort.Strings(fs)
	s := fmt.Sprintf("runs=%d operations=%d (completed-writes=%d unknown-outcome=%d reads=%d log-creates=%d) faults=%d [%s] "+
		"failed-faults=%d protocol-errors=%d "+
		"violations=%d lost-writes=%d inconclusive-checks=%d expired-sessions=%d (still accepted elsewhere=%d) abandoned-sessions=%d "+
		"wiped-catchups(snapshot=%d replay=%d)",
		tt.runs, tt.ops, tt.writes, tt.unknownOps, tt.reads, tt.logCreates, nf, strings.Join(fs, " "),
		tt.faultFailures, tt.protocolErrors, tt.violations, tt.lostWrites, tt.inconclusive, tt.expired, tt.disputed, tt.ghosts, tt.snapshotCatchups, tt.replayCatchups)
	if tt.reconfig != "" {
		s += " reconfig-skipped=" + tt.reconfig
	}
	return s
}

// TestChaos runs the ensemble under faults (see the package documentation). By default one
// run injects every fault once; CHAOS_ITERATIONS=n makes n runs with random schedules.
// knownBroken lists faults paddock does not survive yet, with the reason. Such a fault still
// runs (and its repair, so that every check runs after it); its failure is logged, not
// reported, and a listed fault that succeeds fails the test so that the entry is removed.
var knownBroken = map[string]string{}

func TestChaos(t *testing.T) {
	iterations := 1
	if v := os.Getenv("CHAOS_ITERATIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CHAOS_ITERATIONS=%q: want a positive number", v)
		}
		iterations = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CHAOS_SEED=%q: %v", v, err)
		}
		seed = n
	}
	harness.PaddockBinary(t) // build (or skip) once, before any run
	tt := &totals{faults: map[string]int{}}
	t.Logf("seed %d (CHAOS_SEED), %d run(s)", seed, iterations)
	defer func() { t.Logf("chaos totals: %v", tt) }()
	// A failed run does not stop the others: each has its own ensemble, and the totals of
	// many runs say more than the first failure alone.
	for i := 1; i <= iterations; i++ {
		t.Run(fmt.Sprintf("run%d", i), func(t *testing.T) {
			r := &run{
				t: t, n: i, short: iterations == 1, totals: tt,
				rng:            rand.New(rand.NewPCG(seed, uint64(i))),
				seed:           seed,
				sessionTimeout: sessionTimeout,
			}
			r.execute()
		})
	}
}

// run is one ensemble's life: setup, load under a schedule of faults, healing, checks.
type run struct {
	t              *testing.T
	n              int
	short          bool // the default single run: every fault once, in a fixed order
	seed           uint64
	rng            *rand.Rand // the orchestrating goroutine's only
	totals         *totals
	sessionTimeout time.Duration

	ens     *harness.Ensemble
	nw      *network
	rec     *recorder
	workers []*worker
	ghosts  []*sessionRecord
	silent  []*wire // ghost connections kept open and silent, as a frozen client's
	start   time.Time
}

func (r *run) logf(format string, args ...any) {
	r.t.Helper()
	r.t.Logf("[%6.1fs] %s", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// violation records a broken guarantee: the run fails.
func (r *run) violation(format string, args ...any) {
	r.t.Helper()
	r.totals.violations++
	r.t.Errorf("VIOLATION: "+format, args...)
}

func (r *run) sleep(d time.Duration) { time.Sleep(d) }

func (r *run) pick(ms []*harness.Member) *harness.Member { return ms[r.rng.IntN(len(ms))] }

func (r *run) addrs() []string { return r.ens.Addrs() }

func zkOptions(timeout time.Duration) zktest.Options { return zktest.Options{Timeout: timeout} }

func (r *run) waitFor(within time.Duration, f func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leader waits for the ensemble to agree on a leader.
func (r *run) leader() (*harness.Member, error) {
	var l *harness.Member
	err := r.waitFor(recoverWithin, func() error {
		var err error
		l, err = r.ens.Leader(time.Second)
		return err
	})
	return l, err
}

func (r *run) mustLeader() *harness.Member {
	r.t.Helper()
	l, err := r.leader()
	if err != nil {
		r.t.Fatalf("no leader: %v", err)
	}
	return l
}

func (r *run) followers(l *harness.Member) []*harness.Member {
	var fs []*harness.Member
	for _, m := range r.ens.Members {
		if m != l {
			fs = append(fs, m)
		}
	}
	return fs
}

// zxidOf reads a member's last zxid from srvr.
func (r *run) zxidOf(m *harness.Member) (int64, error) {
	out, err := m.FourLetter("srvr")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "Zxid: "); ok {
			return strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(v), "0x"), 16, 64)
		}
	}
	return 0, fmt.Errorf("srvr of member %d has no Zxid line", m.ID)
}

// dial opens a new session on one member.
func (r *run) dial(m *harness.Member) (*wire, error) {
	var w *wire
	err := r.waitFor(10*time.Second, func() error {
		var err error
		w, err = dialWire(m.Addr(), zkOptions(r.sessionTimeout), r.sessionTimeout)
		return err
	})
	return w, err
}

// repair brings back members that a failed fault left down. A member that does not start
// is retried after a leader change: a new leader knows nothing of the member's past log
// (see TestWipedMemberRejoins).
func (r *run) repair(after string) {
	r.t.Helper()
	r.nw.heal()
	var down []*harness.Member
	for _, m := range r.ens.Members {
		m.Signal(syscall.SIGCONT)
		if !m.Running() {
			if err := r.startMember(m); err != nil {
				down = append(down, m)
			}
		}
	}
	if len(down) == 0 {
		return
	}
	l, err := r.leader()
	if err != nil {
		r.t.Fatalf("repair after %s: members %v down and no leader: %v", after, down, err)
	}
	r.logf("repair after %s: member(s) still down; restarting leader %d to get a new one", after, l.ID)
	l.Kill()
	down = append(down, l)
	errs := make(chan error, len(down))
	for _, m := range down {
		go func() { errs <- r.startMember(m) }()
	}
	for range down {
		if err := <-errs; err != nil {
			r.t.Fatalf("repair after %s: %v", after, err)
		}
	}
}

// recovered waits until every member runs as leader or follower (a voter again after a
// reconfig), one leads, and each answers sync on a new session (which needs a quorum and
// the member caught up).
func (r *run) recovered(after string) {
	r.t.Helper()
	err := r.waitFor(recoverWithin, func() error {
		if _, err := r.ens.Leader(time.Second); err != nil {
			return err
		}
		for _, m := range r.ens.Members {
			if mode, err := m.Mode(time.Second); err != nil || (mode != "leader" && mode != "follower") {
				return fmt.Errorf("member %d: mode %q %v", m.ID, mode, err)
			}
			w, err := dialWire(m.Addr(), zkOptions(r.sessionTimeout), r.sessionTimeout)
			if err != nil {
				return fmt.Errorf("member %d: %v", m.ID, err)
			}
			h, err := w.call(proto.OpSync, &proto.PathRequest{Path: "/"}, &proto.PathRequest{}, r.sessionTimeout)
			w.call(proto.OpCloseSession, nil, nil, time.Second)
			w.close()
			if err != nil || h.Err != proto.CodeOK {
				return fmt.Errorf("member %d: sync: %v %v", m.ID, err, h.Err)
			}
		}
		return nil
	})
	if err != nil {
		r.t.Fatalf("the ensemble did not recover within %v after %s: %v", recoverWithin, after, err)
	}
}

func (r *run) execute() {
	t := r.t
	r.nw = newNetwork(t, members)
	t.Cleanup(func() {
		if f := r.nw.failures(); t.Failed() && f != "" {
			t.Logf("the proxies' last failed dials to the members:\n%s", f)
		}
	})
	snapCount := 300 // small: a wiped member catches up from a snapshot
	if !r.short && r.rng.IntN(2) == 0 {
		snapCount = 100000 // never within a run: it replays the whole log
	}
	r.ens = harness.StartEnsemble(t, harness.EnsembleOptions{
		Size:     members,
		TickTime: tickTime,
		PeerAddr: func(from, to int, real string) string {
			addr, err := r.nw.listen(from, to, real)
			if err != nil {
				t.Fatalf("proxy %d→%d: %v", from, to, err)
			}
			return addr
		},
		ClusterID: fmt.Sprintf("chaos-%d-%d", r.seed, r.n),
		Config:    []string{fmt.Sprintf("snapCount=%d", snapCount), "reconfigEnabled=true", "skipACL=yes"},
	})
	r.start = time.Now()
	r.rec = &recorder{base: r.start}
	r.logf("ensemble up: clients %v, snapCount %d", r.ens.Addrs(), snapCount)
	defer func() {
		// Nothing may stay frozen when the harness kills the members.
		for _, m := range r.ens.Members {
			m.Signal(syscall.SIGCONT)
		}
	}()
	r.setup()
	schedule := r.schedule()

	stopc := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{
			id: i, rng: rand.New(rand.NewPCG(r.seed^uint64(r.n), uint64(100+i))),
			known: map[[2]int]znode{}, counts: map[string]int{}, rec: r.rec, groups: groups,
			eph:   func(n int) string { return fmt.Sprintf("/chaos/eph/w%d-s%d", i, n) },
			think: func() time.Duration { return time.Duration(rand.IntN(4)) * time.Millisecond },
		}
		w.s = newSession(r.addrs, r.sessionTimeout, w.rng)
		r.workers = append(r.workers, w)
		wg.Add(1)
		go func() { defer wg.Done(); w.loop(stopc) }()
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			close(stopc)
			wg.Wait()
		}
	}
	defer stop()

	r.sleep(2 * time.Second)
	for _, f := range schedule {
		r.abandonSession(len(r.ghosts)%2 == 0)
		before := r.progress()
		desc, err := f.do(r)
		r.totals.faults[f.name]++
		why, known := knownBroken[f.name]
		if err != nil {
			// The ensemble failed the fault (a member that does not come back, say): that
			// fails the run, but the load and the checks carry on once it is repaired.
			r.totals.faultFailures++
			if known {
				r.logf("fault %s failed as known (%s): %v", f.name, why, err)
			} else {
				r.t.Errorf("fault %s: %v", f.name, err)
			}
			r.repair(f.name)
		} else {
			if known {
				r.t.Errorf("fault %s now works: remove it from knownBroken", f.name)
			}
			r.logf("fault %s: %s", f.name, desc)
		}
		r.recovered(f.name)
		r.logf("recovered; %d ops during the fault", r.progress()-before)
		r.sleep(time.Second)
	}

	r.nw.heal()
	r.recovered("the last fault")
	r.sleep(time.Second)
	stop()
	r.logf("workers stopped: %d ops recorded", r.progress())
	for _, w := range r.workers {
		for _, p := range w.problems {
			r.totals.protocolErrors++
			r.t.Errorf("worker %d: protocol error: %s", w.id, p)
		}
	}
	r.checkWorkerSessions()
	r.finalReads()
	r.checkDurability()
	r.checkEphemerals()
	r.checkLinearizable()
	r.count()
}

func (r *run) progress() int {
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	return len(r.rec.ops)
}

// schedule is every fault once in the short run; otherwise a random draw of every kind
// at least once plus extras. Reconfig comes last when the server supports it.
func (r *run) schedule() []fault {
	var s []fault
	if r.short {
		s = append(s, faults...)
	} else {
		all := append(append([]fault(nil), faults...), extraFaults...)
		for _, i := range r.rng.Perm(len(all)) {
			s = append(s, all[i])
		}
		for range 2 + r.rng.IntN(3) {
			s = append(s, all[r.rng.IntN(len(all))])
		}
	}
	ok, answer, err := reconfigSupported(r.ens.Members[0].Addr())
	switch {
	case err != nil:
		r.t.Fatalf("probing reconfig: %v", err)
	case ok:
		r.logf("reconfig is supported (a reconfig that changes nothing answers %s)", answer)
		s = append(s, reconfigFault)
	default:
		r.totals.reconfig = answer
		r.logf("SKIP reconfig under load: the server answers reconfig with %s even with reconfigEnabled=true", answer)
	}
	return s
}

// setup creates the key space's parents.
func (r *run) setup() {
	w, err := r.dial(r.ens.Members[0])
	if err != nil {
		r.t.Fatal(err)
	}
	defer w.close()
	paths := []string{"/chaos", "/chaos/log", "/chaos/eph"}
	for g := range groups {
		paths = append(paths, fmt.Sprintf("/chaos/g%d", g))
	}
	for _, p := range paths {
		h, err := w.call(proto.OpCreate, &proto.CreateRequest{Path: p, ACL: openACL}, &proto.PathRequest{}, 10*time.Second)
		if err != nil || h.Err != proto.CodeOK {
			r.t.Fatalf("create %s: %v %v", p, err, h.Err)
		}
	}
	w.call(proto.OpCloseSession, nil, nil, 5*time.Second)
}

// abandonSession makes a session with an ephemeral and abandons it: its connection closed
// without closeSession, or (silent) kept open without a byte more, as a client frozen by
// SIGSTOP. Either way the session must expire and its ephemeral go.
func (r *run) abandonSession(silent bool) {
	rec := &sessionRecord{ephemeral: fmt.Sprintf("/chaos/eph/ghost-%d", len(r.ghosts))}
	err := r.waitFor(5*time.Second, func() error {
		m := r.pick(r.ens.Members)
		w, err := dialWire(m.Addr(), zkOptions(r.sessionTimeout), r.sessionTimeout)
		if err != nil {
			return err
		}
		h, err := w.call(proto.OpCreate, &proto.CreateRequest{Path: rec.ephemeral, ACL: openACL, Flags: int32(proto.ModeEphemeral)}, &proto.PathRequest{}, 5*time.Second)
		if err != nil || h.Err != proto.CodeOK {
			w.close()
			if h.Err == proto.CodeNodeExists {
				rec.ephemeral += "x" // an earlier attempt's session holds it; it is abandoned too
			}
			return fmt.Errorf("create %s: %v %v", rec.ephemeral, err, h.Err)
		}
		rec.id, rec.passwd = w.zc.SessionID, w.zc.Passwd
		if silent {
			w.stopPings()
			r.silent = append(r.silent, w)
		} else {
			w.close()
		}
		return nil
	})
	if err != nil {
		r.logf("no abandoned session this time: %v", err)
		return
	}
	rec.expiredAt = time.Now()
	r.ghosts = append(r.ghosts, rec)
}
