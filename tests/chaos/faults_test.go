package chaos

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/tests/harness"
)

// A fault disturbs the ensemble and undoes the disturbance before it returns (restarts,
// SIGCONT, heals); the run then waits for the ensemble to recover. It returns a short
// description of what it did, for the log.
type fault struct {
	name string
	do   func(r *run) (string, error)
}

// The faults of a run. The short run injects each once, in this order; longer runs draw
// them at random. reconfig is appended when the server supports it.
var faults = []fault{
	{"kill-follower", killFollower},
	{"kill-leader", killLeader},
	{"pause-leader", pauseLeader},
	{"pause-follower", pauseFollower},
	{"isolate-leader", isolateLeader},
	{"isolate-follower", isolateFollower},
	{"wipe-member", wipeMember},
	{"no-quorum", noQuorum},
}

// The faults only long runs add: they overlap with the ones above.
var extraFaults = []fault{
	{"one-way", oneWay},
	{"kill-all", killAll},
}

var reconfigFault = fault{"reconfig", reconfigUnderLoad}

func killLeader(r *run) (string, error) {
	l, err := r.leader()
	if err != nil {
		return "", err
	}
	return r.killAndRestart(l, 2*time.Second)
}

func killFollower(r *run) (string, error) {
	l, err := r.leader()
	if err != nil {
		return "", err
	}
	return r.killAndRestart(r.pick(r.followers(l)), 2*time.Second)
}

func (r *run) killAndRestart(m *harness.Member, down time.Duration) (string, error) {
	m.Kill()
	r.sleep(down)
	if err := r.startMember(m); err != nil {
		return "", fmt.Errorf("restarting member %d: %w", m.ID, err)
	}
	return fmt.Sprintf("kill -9 member %d, restarted after %v", m.ID, down), nil
}

// pause freezes a member with SIGSTOP for longer than the session timeout: its clients must
// move their sessions elsewhere, and when it wakes up (a leader that no longer is one, with
// every session overdue in its tracker) it must not expire them.
func (r *run) pause(m *harness.Member) (string, error) {
	d := r.sessionTimeout + 2*time.Second
	if err := m.Signal(syscall.SIGSTOP); err != nil {
		return "", err
	}
	r.sleep(d)
	if err := m.Signal(syscall.SIGCONT); err != nil {
		return "", err
	}
	return fmt.Sprintf("SIGSTOP member %d for %v", m.ID, d), nil
}

func pauseLeader(r *run) (string, error) {
	l, err := r.leader()
	if err != nil {
		return "", err
	}
	return r.pause(l)
}

func pauseFollower(r *run) (string, error) {
	l, err := r.leader()
	if err != nil {
		return "", err
	}
	return r.pause(r.pick(r.followers(l)))
}

// isolate cuts a member from both others for longer than the session timeout.
func (r *run) isolate(m *harness.Member) (string, error) {
	d := r.sessionTimeout + time.Second
	r.nw.partition(m.ID)
	r.sleep(d)
	desc := fmt.Sprintf("isolated member %d for %v (%s)", m.ID, d, r.nw)
	r.nw.heal()
	return desc, nil
}

func isolateLeader(r *run) (string, error) {
	l, err := r.leader()
	if err != nil {
		return "", err
	}
	return r.isolate(l)
}

func isolateFollower(r *run) (string, error) {
	l, err := r.leader()
	if err != nil {
		return "", err
	}
	return r.isolate(r.pick(r.followers(l)))
}

// wipeMember kills a member, empties its data directory (myid kept) and starts it: it must
// catch up from the leader, by a snapshot stream or by log replay. Only done with the others
// healthy and in touch: a member that loses its log has forgotten its votes and entries,
// which raft tolerates only while the others hold every committed entry.
func wipeMember(r *run) (string, error) {
	l, err := r.leader()
	if err != nil {
		return "", err
	}
	m := l
	if r.short || r.rng.IntN(3) > 0 {
		m = r.pick(r.followers(l))
	}
	before := r.logSize(m)
	if err := m.Wipe(); err != nil {
		return "", err
	}
	r.sleep(time.Second)
	if err := r.startMember(m); err != nil {
		return "", fmt.Errorf("starting wiped member %d: %w", m.ID, err)
	}
	// Caught up: its last zxid reaches what the leader had once it was back.
	target, err := r.zxidOf(r.mustLeader())
	if err != nil {
		return "", err
	}
	if err := r.waitFor(30*time.Second, func() error {
		z, err := r.zxidOf(m)
		if err != nil {
			return err
		}
		if z < target {
			return fmt.Errorf("member %d at zxid 0x%x, leader was at 0x%x", m.ID, z, target)
		}
		return nil
	}); err != nil {
		return "", fmt.Errorf("wiped member did not catch up: %w", err)
	}
	how := "log replay"
	if strings.Contains(r.logSince(m, before), "received snapshot") {
		how = "snapshot stream"
		r.totals.snapshotCatchups++
	} else {
		r.totals.replayCatchups++
	}
	role := "follower"
	if m == l {
		role = "leader"
	}
	return fmt.Sprintf("wiped %s %d's data dir; caught up by %s", role, m.ID, how), nil
}

// noQuorum cuts one follower off and kills the other: the leader has no quorum until the
// killed one is back. Writes proposed by the killed member before it died may commit only
// after it restarted.
func noQuorum(r *run) (string, error) {
	l, err := r.leader()
	if err != nil {
		return "", err
	}
	fs := r.followers(l)
	cut, killed := fs[0], fs[1]
	if r.rng.IntN(2) == 0 {
		cut, killed = killed, cut
	}
	r.nw.partition(cut.ID)
	r.sleep(500 * time.Millisecond)
	killed.Kill()
	r.sleep(2 * time.Second)
	if err := r.startMember(killed); err != nil {
		r.nw.heal()
		return "", fmt.Errorf("restarting member %d: %w", killed.ID, err)
	}
	r.sleep(time.Second)
	r.nw.heal()
	return fmt.Sprintf("cut member %d off, kill -9 member %d, restarted it, healed", cut.ID, killed.ID), nil
}

// oneWay cuts only the leader's link to one follower: the follower still reaches the leader
// but hears nothing back, so it campaigns (pre-vote keeps it from disrupting the others).
func oneWay(r *run) (string, error) {
	l, err := r.leader()
	if err != nil {
		return "", err
	}
	f := r.pick(r.followers(l))
	r.nw.cutOneWay(l.ID, f.ID)
	r.sleep(r.sessionTimeout)
	desc := fmt.Sprintf("cut %s for %v", r.nw, r.sessionTimeout)
	r.nw.heal()
	return desc, nil
}

// killAll crashes every member at once and starts them again.
func killAll(r *run) (string, error) {
	for _, m := range r.ens.Members {
		m.Kill()
	}
	r.sleep(time.Second)
	errs := make(chan error, len(r.ens.Members))
	for _, m := range r.ens.Members {
		go func() { errs <- r.startMember(m) }()
	}
	var all []error
	for range r.ens.Members {
		all = append(all, <-errs)
	}
	if err := errors.Join(all...); err != nil {
		return "", err
	}
	return "kill -9 every member, restarted", nil
}

// reconfigSupported asks the ensemble for a reconfig that changes nothing: a server that
// has no reconfig answers UNIMPLEMENTED or RECONFIGDISABLED.
func reconfigSupported(addr string) (bool, string, error) {
	w, err := dialWire(addr, zkOptions(5*time.Second), 5*time.Second)
	if err != nil {
		return false, "", err
	}
	defer w.close()
	h, err := w.call(proto.OpReconfig, &proto.ReconfigRequest{LeavingServers: "", JoiningNull: true, NewMembersNull: true, CurConfigID: -1}, nil, 10*time.Second)
	if err != nil {
		return false, "", err
	}
	switch h.Err {
	case proto.CodeUnimplemented, proto.CodeReconfigDisabled:
		return false, h.Err.String(), nil
	}
	return true, h.Err.String(), nil
}

// reconfigUnderLoad removes a follower from the ensemble with reconfig while the workers
// write, then adds it back. It runs last in a run: the member comes back at its real peer
// address, so the proxies no longer stand between it and the others.
func reconfigUnderLoad(r *run) (string, error) {
	l, err := r.leader()
	if err != nil {
		return "", err
	}
	f := r.pick(r.followers(l))
	w, err := dialWire(l.Addr(), zkOptions(r.sessionTimeout), 5*time.Second)
	if err != nil {
		return "", err
	}
	defer w.close()
	leave := &proto.ReconfigRequest{LeavingServers: fmt.Sprint(f.ID), JoiningNull: true, NewMembersNull: true, CurConfigID: -1}
	h, err := w.call(proto.OpReconfig, leave, nil, 30*time.Second)
	if err != nil || h.Err != proto.CodeOK {
		return "", fmt.Errorf("reconfig -remove %d: %v %v", f.ID, err, h.Err)
	}
	r.sleep(2 * time.Second)
	host, _ := splitHost(f.Addr())
	join := fmt.Sprintf("server.%d=%s:%d:%d:participant;%s", f.ID, host, f.PeerPort, f.ElectionPort, f.Addr())
	add := &proto.ReconfigRequest{JoiningServers: join, LeavingNull: true, NewMembersNull: true, CurConfigID: -1}
	h, err = w.call(proto.OpReconfig, add, nil, 30*time.Second)
	if err != nil || h.Err != proto.CodeOK {
		return "", fmt.Errorf("reconfig -add %s: %v %v", join, err, h.Err)
	}
	if !f.Running() { // a server may stop once it is no longer a member
		if err := r.startMember(f); err != nil {
			return "", fmt.Errorf("member %d after it was added back: %w", f.ID, err)
		}
	}
	return fmt.Sprintf("reconfig removed member %d and added it back", f.ID), nil
}

func splitHost(addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}

// startMember starts a member and, if it fails, adds the first error or panic line it logged.
func (r *run) startMember(m *harness.Member) error {
	off := r.logSize(m)
	err := m.Start()
	if err != nil {
		for _, l := range strings.Split(r.logSince(m, off), "\n") {
			if strings.HasPrefix(l, "panic: ") || strings.Contains(l, "level=ERROR") {
				return fmt.Errorf("%w; it logged: %s", err, strings.TrimSpace(l))
			}
		}
	}
	return err
}

// logSize and logSince read a member's log file, to tell how a wiped member caught up.
func (r *run) logSize(m *harness.Member) int64 {
	fi, err := os.Stat(m.LogPath())
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (r *run) logSince(m *harness.Member, off int64) string {
	b, err := os.ReadFile(m.LogPath())
	if err != nil || int64(len(b)) < off {
		return ""
	}
	return string(b[off:])
}
