package harness

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnsembleOptions configures StartEnsemble.
type EnsembleOptions struct {
	// Size is the number of members; 0 means 3.
	Size int
	// TickTime is zoo.cfg's tickTime; 0 means 2 s.
	TickTime time.Duration
	// Config holds extra zoo.cfg lines for every member, after the generated ones.
	Config []string
	// PeerAddr, when set, returns the address that member from (1-based) names member to
	// (another member) in its server.N line, given to's real peer address: a test puts a
	// proxy on every directed link this way. Members then see different server lines, so
	// ClusterID must be set. A member's own line always has its real address, where it
	// listens.
	PeerAddr func(from, to int, real string) string
	// ClusterID is written as paddock.clusterID for every member when not empty.
	ClusterID string
	// Env holds extra environment variables ("KEY=value") for every member.
	Env []string
	// StartTimeout bounds the wait for each member's readiness; 0 means 30 s.
	StartTimeout time.Duration
}

// Ensemble is a replicated paddock ensemble of real processes on loopback, each member with
// its own temporary directory, dataDir/myid and zoo.cfg. Members[i] has id i+1.
type Ensemble struct {
	Members []*Member
}

// Member is one process of an Ensemble. Its client port, peer port and data directory stay
// the same across Kill, Wipe and Start.
type Member struct {
	*Server
	ID           int
	PeerPort     int // the port its peer transport listens on
	ElectionPort int // written in server.N lines; paddock does not listen on it
}

// StartEnsemble starts the members of a paddock ensemble at once and returns when every one
// answers ruok and grants a session (which needs a quorum). Every member gets a t.Cleanup
// that kills it. Ports are chosen up front, since every zoo.cfg names every member.
func StartEnsemble(t testing.TB, opts EnsembleOptions) *Ensemble {
	t.Helper()
	bin := PaddockBinary(t)
	if opts.Size == 0 {
		opts.Size = 3
	}
	if opts.PeerAddr == nil {
		opts.PeerAddr = func(_, _ int, real string) string { return real }
	}
	e := &Ensemble{}
	for i := 1; i <= opts.Size; i++ {
		e.Members = append(e.Members, &Member{ID: i, PeerPort: FreePort(t), ElectionPort: FreePort(t)})
	}
	env := append(os.Environ(), opts.Env...)
	for _, m := range e.Members {
		var extra []string
		extra = append(extra, "initLimit=10", "syncLimit=5")
		for _, o := range e.Members {
			addr := o.PeerAddr()
			if o != m {
				addr = opts.PeerAddr(m.ID, o.ID, addr)
			}
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				t.Fatalf("harness: peer address %q: %v", addr, err)
			}
			extra = append(extra, fmt.Sprintf("server.%d=%s:%s:%d", o.ID, host, port, o.ElectionPort))
		}
		if opts.ClusterID != "" {
			extra = append(extra, "paddock.clusterID="+opts.ClusterID)
		}
		extra = append(extra, opts.Config...)
		s := newServer(t, fmt.Sprintf("paddock-%d", m.ID), opts.TickTime, opts.StartTimeout, extra, nil, false)
		s.cfg.port = FreePort(t)
		s.portsSet = true
		args := []string{"server", "--config", s.cfgPath}
		s.command = func() *exec.Cmd {
			cmd := exec.Command(bin, args...)
			cmd.Env = env
			return cmd
		}
		m.Server = s
		if err := m.writeMyID(); err != nil {
			t.Fatalf("harness: %v", err)
		}
	}
	errs := make([]error, len(e.Members))
	var wg sync.WaitGroup
	for i, m := range e.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = m.start()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("harness: starting the ensemble: %v (the logs follow at cleanup)", err)
	}
	return e
}

// Addrs returns the members' client addresses, in id order.
func (e *Ensemble) Addrs() []string {
	out := make([]string, len(e.Members))
	for i, m := range e.Members {
		out[i] = m.Addr()
	}
	return out
}

// Leader returns the one running member that reports "Mode: leader" while every other
// running member reports "follower", or an error saying what was seen. Members that do not
// answer within timeout (a frozen process) count as not running.
func (e *Ensemble) Leader(timeout time.Duration) (*Member, error) {
	var leader *Member
	var seen []string
	for _, m := range e.Members {
		if !m.Running() {
			continue
		}
		mode, err := m.Mode(timeout)
		if err != nil {
			seen = append(seen, fmt.Sprintf("%d:%v", m.ID, err))
			continue
		}
		seen = append(seen, fmt.Sprintf("%d:%s", m.ID, mode))
		if mode == "leader" {
			if leader != nil {
				return nil, fmt.Errorf("two leaders (%s)", strings.Join(seen, " "))
			}
			leader = m
		}
	}
	if leader == nil {
		return nil, fmt.Errorf("no leader (%s)", strings.Join(seen, " "))
	}
	return leader, nil
}

// PeerAddr is the address the member's peer transport listens on.
func (m *Member) PeerAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.PeerPort))
}

// Mode returns the "Mode:" line of the member's srvr answer ("leader", "follower", ...).
func (m *Member) Mode(timeout time.Duration) (string, error) {
	out, err := fourLetter(m.Addr(), "srvr", timeout)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "Mode: "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("srvr has no Mode line: %q", out)
}

// Start starts a member that is not running (after Kill or Wipe) on its old ports and waits
// until it answers ruok and grants a session. A member that runs but does not get ready in
// time is sent SIGQUIT before it is killed, so that its log ends with its goroutines.
func (m *Member) Start() error {
	if m.Running() {
		return fmt.Errorf("harness: member %d is running", m.ID)
	}
	p, err := m.spawn()
	if err != nil {
		return err
	}
	if err := m.waitReady(p); err != nil {
		if !p.exited() {
			_ = p.cmd.Process.Signal(syscall.SIGQUIT)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
			}
			err = fmt.Errorf("%w (its goroutines are at the end of %s)", err, m.LogPath())
		}
		m.Kill()
		return err
	}
	return nil
}

// Wipe kills the member, as Kill, and empties its data directory but for myid, as if it came
// back on a new disk. Start brings it back; it must catch up from the others.
func (m *Member) Wipe() error {
	m.Kill()
	dir := m.DataDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, ent := range ents {
		if err := os.RemoveAll(filepath.Join(dir, ent.Name())); err != nil {
			return err
		}
	}
	return m.writeMyID()
}

func (m *Member) writeMyID() error {
	return os.WriteFile(filepath.Join(m.DataDir(), "myid"), []byte(strconv.Itoa(m.ID)+"\n"), 0o644)
}
