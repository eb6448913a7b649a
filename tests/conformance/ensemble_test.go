package conformance

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/zktest"
	"github.com/paddock/paddock/tests/harness"
)

// The paddock-ensemble target runs the scenarios against a 3-member paddock ensemble and
// compares its transcripts with the same standalone ZooKeeper transcripts as the paddock
// target. A scenario's sessions are spread over the members in the order they are opened
// (a on member 1, b on 2, c on 3, d on 1 again), and a reconnect with id and password moves
// the session to the next member.
//
// ZooKeeper promises sequential consistency per session only: a member may answer a read
// before it has applied a txn that another member already acknowledged. Where a scenario
// has one session read what something else changed, the script makes that read
// well-defined as a real client would, with a sync on the reading session first, sent and
// answered off the transcript:
//   - after a write (and after anything that may have made a txn: opening or closing a
//     session, a connection the server closed, events a wait received) every other session
//     is stale; a stale session syncs before its next request that is not a write;
//   - the barrier after a write is such a sync on every other session instead of a ping:
//     a member delivers the events of the txns it has applied before it answers a sync, so
//     an event caused by a write on another member is recorded right after that write, as
//     on a single server;
//   - a handshake that carries the client's last zxid waits until its member has applied
//     that zxid (a real client would move on to another server and come back).
//
// Nothing else changes: every reply, every event and its position is compared as it is for
// the standalone target.

const ensembleSize = 3

// notInEnsemble lists the scenarios whose ZooKeeper transcript describes what only a
// standalone server is, with the reason; the ensemble target does not run them.
var notInEnsemble = map[string]string{
	"misc/4lw-srvr":            `srvr's "Mode: standalone" reads "Mode: leader" or "Mode: follower" on a member`,
	"misc/4lw-mntr":            `mntr's zk_server_state is standalone on one server, leader or follower on a member`,
	"misc/4lw-not-whitelisted": `its srvr answer has the Mode line (standalone vs leader or follower)`,
	"misc/fresh-tree":          `its srvr and mntr answers name the mode (standalone vs leader or follower)`,
	// An ensemble records its members in /zookeeper/config (data, mzxid, mtime, version -1,
	// as ZooKeeper's quorum peers do); a standalone server leaves it empty.
	"data/zookeeper-nodes":                  "it reads /zookeeper/config, which holds the members' server lines in an ensemble",
	"data/zookeeper-config-readonly":        "it reads /zookeeper/config, which holds the members' server lines in an ensemble",
	"data/getdata-zookeeper-quota-children": "it reads the Stat of /zookeeper/config, which an ensemble has written",
	// ZooKeeper closes a session's other connections on the server that takes its reconnect
	// only, and Reconnect moves the session to another member.
	"session/reconnect-closes-previous-connection": "the previous connection is on another member, which keeps it open (as a ZooKeeper ensemble does)",
	"session/close-session-twice":                  "the previous connection is on another member, which keeps it open (as a ZooKeeper ensemble does)",
}

// knownFailingEnsemble is knownFailing for the ensemble target: scenarios where the
// ensemble differs from ZooKeeper because of a paddock bug, with the reason. A listed
// scenario that passes fails the test.
var knownFailingEnsemble = map[string]string{}

// knownFailures returns the known-failing list of a compared target.
func knownFailures(tg string) map[string]string {
	switch tg {
	case targetPaddock:
		return knownFailing
	case targetEnsemble:
		return knownFailingEnsemble
	}
	return nil
}

func TestEnsembleTables(t *testing.T) {
	known := map[string]bool{}
	for _, sc := range allScenarios() {
		known[sc.name] = true
	}
	for name, reason := range notInEnsemble {
		if !known[name] {
			t.Errorf("notInEnsemble names unknown scenario %q", name)
		}
		if reason == "" || strings.Contains(reason, "\n") {
			t.Errorf("notInEnsemble[%q]: want a one-line reason", name)
		}
		if _, ok := knownFailingEnsemble[name]; ok {
			t.Errorf("scenario %q is both excluded from the ensemble and known failing there", name)
		}
	}
	for name := range knownFailingEnsemble {
		if !known[name] {
			t.Errorf("knownFailingEnsemble names unknown scenario %q", name)
		}
	}
}

// ensembleScenarios drops the scenarios that do not run on an ensemble, reporting each as
// a skipped subtest with its reason.
func ensembleScenarios(t *testing.T, scens []scenario) []scenario {
	var out []scenario
	for _, sc := range scens {
		if reason, ok := notInEnsemble[sc.name]; ok {
			t.Run(sc.name, func(t *testing.T) { t.Skip("not run on an ensemble: " + reason) })
			continue
		}
		out = append(out, sc)
	}
	return out
}

// deployment is what the scenarios of one group run against: one server, or the members
// of an ensemble (srv is then member 1).
type deployment struct {
	t   testing.TB // the test that started it: the one a failed restart fails
	srv *harness.Server
	ens *harness.Ensemble // nil for a standalone server
}

func startEnsemble(t *testing.T, o serverOpts) deployment {
	// The options the standalone targets get as system properties are zoo.cfg keys to
	// paddock, written as the harness writes them for a standalone paddock.
	cfg := slices.Clone(o.Config)
	for _, k := range slices.Sorted(maps.Keys(o.Properties)) {
		cfg = append(cfg, strings.TrimPrefix(k, "zookeeper.")+"="+o.Properties[k])
	}
	ens := harness.StartEnsemble(t, harness.EnsembleOptions{Size: ensembleSize, TickTime: o.TickTime, Config: cfg})
	for _, m := range ens.Members {
		if err := awaitConfigSeed(m.Addr()); err != nil {
			t.Fatalf("ensemble member %d: %v", m.ID, err)
		}
	}
	return deployment{t: t, srv: ens.Members[0].Server, ens: ens}
}

// seedTimeout bounds the wait for a new ensemble to record its members.
const seedTimeout = 15 * time.Second

// awaitConfigSeed waits until the member at addr has /zookeeper/config filled in. A new
// ensemble's leader writes it on its first tick; that write lands in no scenario this way.
func awaitConfigSeed(addr string) error {
	c, err := zktest.Dial(addr, zktest.Options{})
	if err != nil {
		return err
	}
	defer func() {
		c.Call(proto.OpCloseSession, nil, nil)
		c.Close()
	}()
	deadline := time.Now().Add(seedTimeout)
	for {
		var resp proto.GetDataResponse
		h, err := c.Call(proto.OpGetData, &proto.PathWatchRequest{Path: "/zookeeper/config"}, &resp)
		switch {
		case err != nil:
			return err
		case h.Err == proto.CodeOK && len(resp.Data) > 0:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("/zookeeper/config still empty after %v (%s)", seedTimeout, h.Err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// size is the number of servers sessions are spread over.
func (d deployment) size() int {
	if d.ens == nil {
		return 1
	}
	return len(d.ens.Members)
}

// addr is the client address of server m (0-based).
func (d deployment) addr(m int) string {
	if d.ens == nil {
		return d.srv.Addr()
	}
	return d.ens.Members[m%len(d.ens.Members)].Addr()
}

// next is the server a session on server m moves to when it reconnects: another member of
// an ensemble.
func (d deployment) next(m int) int { return (m + 1) % d.size() }

// running names a server that is not running.
func (d deployment) running() error {
	if d.ens == nil {
		if !d.srv.Running() {
			return errors.New("server is not running")
		}
		return nil
	}
	for _, m := range d.ens.Members {
		if !m.Running() {
			return fmt.Errorf("ensemble member %d is not running", m.ID)
		}
	}
	return nil
}

// Restart stops the server, or every member of the ensemble, and starts it again with its
// data, waiting until it serves sessions. The members start together: none is ready
// before a quorum is.
func (d deployment) Restart() {
	if d.ens == nil {
		d.srv.Restart()
		return
	}
	d.t.Helper()
	for _, m := range d.ens.Members {
		m.Stop()
	}
	errs := make([]error, len(d.ens.Members))
	var wg sync.WaitGroup
	for i, m := range d.ens.Members {
		wg.Go(func() { errs[i] = m.Start() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		d.t.Fatalf("restarting the ensemble: %v", err)
	}
}

// ensembleState is what a Script keeps for the ensemble target.
type ensembleState struct {
	maxZxid    int64 // the highest zxid of any reply header so far
	handshakes int   // hand-made handshakes so far, to spread them over the members
}

// onZooKeeper reports whether the script runs against ZooKeeper (which Since39 and the
// create2-in-multi rewrite correct), as opposed to either paddock target.
func (s *Script) onZooKeeper() bool {
	return s.target == targetZooKeeper || s.target == targetZooKeeperAgain
}

// ensemble reports whether the script runs against an ensemble.
func (s *Script) ensemble() bool { return s.srv.ens != nil }

// changed records that the state may have changed in a way other members' sessions have
// not seen yet: every session but by (nil: every session) syncs before its next read.
func (s *Script) changed(by *Session) {
	for _, o := range s.sessions {
		if o != by {
			o.stale = true
		}
	}
}

// moved records that a reconnect took the session to member m: it syncs before its next
// read, since m may not have applied what the session saw on its old member.
func (x *Session) moved(m int) {
	if m != x.member {
		x.stale = true
	}
	x.member = m
}

// handshakeMember picks the member for a hand-made handshake. One that names a session of
// the scenario goes to the member that session is connected to: the scenarios send them to
// be refused (a wrong password, a zxid from the future) and check what the server does to
// the session's connection meanwhile, which ZooKeeper does only on the server that holds it.
// Moving a session is Reconnect's job. Any other handshake goes to the next member in turn,
// starting with member 2.
func (s *Script) handshakeMember(sid int64) int {
	for _, x := range s.sessions {
		if sid != 0 && x.id == sid {
			return x.member
		}
	}
	s.handshakes++
	return s.handshakes % s.srv.size()
}

// readOps are the requests that change nothing; any other may make a txn.
var readOps = map[proto.Op]bool{
	proto.OpExists: true, proto.OpGetData: true, proto.OpGetACL: true, proto.OpGetChildren: true,
	proto.OpGetChildren2: true, proto.OpGetAllChildrenNumber: true, proto.OpGetEphemerals: true,
	proto.OpMultiRead: true, proto.OpSync: true, proto.OpCheckWatches: true, proto.OpRemoveWatches: true,
	proto.OpSetWatches: true, proto.OpSetWatches2: true, proto.OpAddWatch: true, proto.OpWhoAmI: true,
	proto.OpAuth: true, proto.OpPing: true, proto.OpSASL: true,
}

// beforeOp makes a stale session sync before a request whose answer depends on what its
// member has applied (anything but a write; a write is ordered by the quorum).
func (x *Session) beforeOp(op proto.Op, write bool) {
	if !x.s.ensemble() || !x.stale || write || x.Idle {
		return
	}
	switch op {
	case proto.OpSync, proto.OpPing, proto.OpAuth, proto.OpCloseSession:
		return
	}
	x.quietSync() // a failure shows in the op itself
}

// afterOp marks the other sessions stale after a request that may have made a txn.
func (x *Session) afterOp(op proto.Op, write bool) {
	if write || !readOps[op] {
		x.s.changed(x)
	}
	if op == proto.OpSync && !write {
		x.stale = false
	}
}

// quietSync sends a sync that is not recorded; events that arrive before its reply are.
// Once it is answered the member has applied every txn committed when it was sent.
func (x *Session) quietSync() error {
	if x.c == nil {
		return errors.New("not connected")
	}
	_, err := x.call(proto.OpSync, &proto.PathRequest{Path: "/"}, &proto.PathRequest{})
	x.drainEvents()
	if err == nil {
		x.stale = false
	}
	return err
}

// settle is the ensemble's barrier step for one session: a sync where a single server
// needs only a ping, and like the ping it records a connection the server closed.
func (x *Session) settle() {
	if err := x.quietSync(); err != nil {
		x.s.record("%s: connection closed", x.name)
		x.disconnect()
	}
}

// catchUpTimeout bounds the wait for a member to apply what a client has seen.
const catchUpTimeout = 5 * time.Second

// catchUp waits until member m has applied zxid z, the last zxid a client is about to
// present in a handshake, so that a member that is merely behind does not refuse it (a
// real client would try another server). It waits only for zxids the scenario has seen:
// a handshake that presents a zxid from the future must still be refused. It reads the
// member's zxid from srvr, so it sends no request that could change a transcript.
func (s *Script) catchUp(m int, z int64) {
	if !s.ensemble() || z <= 0 || z > s.maxZxid {
		return
	}
	deadline := time.Now().Add(catchUpTimeout)
	var last string
	for time.Now().Before(deadline) {
		out, err := zktest.FourLetter(s.srv.addr(m), "srvr")
		if err != nil {
			last = err.Error()
		} else if applied, ok := srvrZxid(out); ok && applied >= z {
			return
		} else {
			last = fmt.Sprintf("srvr %q", out)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.t.Logf("member %d has not applied zxid %#x within %v (last: %s)", m+1, z, catchUpTimeout, last)
}

// srvrZxid reads the "Zxid: 0x..." line of a srvr answer.
func srvrZxid(out string) (int64, bool) {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "Zxid: 0x"); ok {
			z, err := strconv.ParseInt(strings.TrimSpace(v), 16, 64)
			return z, err == nil
		}
	}
	return 0, false
}
