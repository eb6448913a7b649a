package containers

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paddock/paddock/tests/harness"
)

// Deadlines. Generous: the machine may be running other test packages at the same time.
const (
	formTimeout  = 2 * time.Minute // a fresh ensemble elects a leader, every member ready
	readyTimeout = 90 * time.Second
	writeTimeout = time.Minute
)

var members = []string{"zoo1", "zoo2", "zoo3"}

// TestComposeEnsemble brings up deploy/compose/compose.yaml and, on the one ensemble:
// runs a client workload, kills the leader with SIGKILL (writes resume, nothing
// acknowledged is lost), and restarts every member in turn under load (no client
// operation fails beyond a reconnect and a retry, no session expires).
func TestComposeEnsemble(t *testing.T) {
	t.Parallel()
	p := newProject(t, filepath.Join(repoRoot, "deploy", "compose", "compose.yaml"), members...)
	p.up()
	p.waitReady(formTimeout)
	leader := p.waitLeader(readyTimeout)
	t.Logf("project %s: leader %s", p.name, leader)

	t.Run("workload", func(t *testing.T) {
		s := p.connect()
		ensurePath(t, s, "/workload")
		for i := range 100 {
			path := fmt.Sprintf("/workload/k%03d", i)
			if _, err := s.Create(path, []byte(path), 0, openACL); err != nil {
				t.Fatalf("create %s: %v", path, err)
			}
		}
		if _, err := s.Set("/workload/k000", []byte("v2"), 0); err != nil {
			t.Fatalf("set: %v", err)
		}
		// Every member has every write once it has synced.
		for _, m := range members {
			checkChildren(t, p, m, "/workload", prefixed("/workload/k%03d", 100), nil)
		}
	})

	t.Run("kill leader", func(t *testing.T) {
		p.leaderFault(t, "/kill", "docker kill (the leader)", func(victim string) {
			mustDocker(t, "kill", "--signal", "KILL", p.container(victim))
		}, func(victim string) {
			startContainer(t, p.container(victim))
		})
	})

	// A network partition: the leader's container leaves the project network (its peers and
	// its clients lose it at once). The isolated member must stop serving (it can no longer
	// hear a quorum), the other two elect a leader and take the writes, and once the member is
	// back on the network it follows and catches up.
	t.Run("isolate leader", func(t *testing.T) {
		var network string
		p.leaderFault(t, "/isolate", "docker network disconnect (the leader)", func(victim string) {
			id := p.container(victim)
			network = strings.TrimSpace(mustDocker(t, "inspect", "--format",
				"{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", id))
			if network == "" || strings.Contains(network, " ") {
				t.Fatalf("%s is on networks %q, want one", victim, network)
			}
			mustDocker(t, "network", "disconnect", network, id)
			harness.CheckFor(t, readyTimeout, func() error {
				if err := containerHealth(id); err == nil {
					return fmt.Errorf("%s still says it is ready, cut off from its peers", victim)
				}
				return nil
			})
		}, func(victim string) {
			// The service name is the alias its peers resolve.
			id := p.container(victim)
			if _, err := retryPortRace(t, func() (string, error) {
				return dockerCmd("network", "connect", "--alias", victim, network, id)
			}); err != nil {
				t.Fatal(err)
			}
		})
	})

	t.Run("rolling restart", func(t *testing.T) {
		p.waitReady(readyTimeout)
		l := &load{}
		setup := p.connect()
		ensurePath(t, setup, "/roll")
		setup.Close()
		// Sessions of their own, spread over the members.
		var sessions []*session
		for range 3 {
			sessions = append(sessions, p.connect())
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i, s := range sessions {
			wg.Add(1)
			go l.worker(s, "/roll", i, stop, &wg)
		}
		stopped := false
		defer func() {
			if !stopped {
				close(stop)
				wg.Wait()
			}
		}()
		l.waitOps(t, writeTimeout, 0, 100)

		for _, m := range members {
			id := p.container(m)
			mode, _ := p.mode(m)
			t.Logf("restarting %s (%s) after %d operations", m, mode, l.ops.Load())
			mustDocker(t, "stop", "--time", "30", id)
			// The other two carry the load while it is down.
			l.waitOps(t, writeTimeout, l.ops.Load(), 50)
			startContainer(t, id)
			p.waitReady(readyTimeout)
			l.waitOps(t, writeTimeout, l.ops.Load(), 50)
		}
		close(stop)
		wg.Wait()
		stopped = true

		l.mu.Lock()
		defer l.mu.Unlock()
		t.Logf("%d operations, %d retries after reconnects, %d failures", l.ops.Load(), l.retries.Load(), len(l.failures))
		if len(l.failures) > 0 {
			t.Errorf("%d operations failed, e.g.:\n%s", len(l.failures), strings.Join(l.failures[:min(len(l.failures), 10)], "\n"))
		}
		for i, s := range sessions {
			if n := s.expired.Load(); n > 0 {
				t.Errorf("session %d expired %d times", i, n)
			}
			if s.SessionID() != s.id {
				t.Errorf("session %d changed id from %#x to %#x", i, s.id, s.SessionID())
			}
		}
		for _, m := range members {
			checkChildren(t, p, m, "/roll", l.created, nil)
		}
	})
}

func prefixed(format string, n int) []string {
	out := make([]string, n)
	for i := range n {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// TestComposeZooKeeperFile runs the official zookeeper image's compose.yaml with only the
// image changed (and its fixed host ports made ephemeral, so that runs cannot clash), and
// starts its members one by one in random order: the first one starts while its peers'
// names do not resolve yet, and must wait for them rather than crash.
func TestComposeZooKeeperFile(t *testing.T) {
	t.Parallel()
	img := image(t)
	text, err := os.ReadFile(filepath.Join("testdata", "zookeeper-compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(text), "image: zookeeper\n", "image: "+img+"\n")
	for _, hp := range []string{"2181", "2182", "2183"} {
		s = strings.ReplaceAll(s, "- "+hp+":2181\n", "- \"2181\"\n")
	}
	if strings.Count(s, img) != 3 || strings.Count(s, `- "2181"`) != 3 {
		t.Fatalf("testdata/zookeeper-compose.yaml is not the file this test expects:\n%s", s)
	}
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newProject(t, file, members...)

	seed := rand.Uint64()
	order := append([]string(nil), members...)
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	t.Logf("start order %v (seed %d)", order, seed)

	first := order[0]
	p.up(first)
	// Its peers do not exist yet: their names do not resolve. It keeps trying.
	harness.CheckFor(t, readyTimeout, func() error {
		out, err := dockerCmd("logs", p.container(first))
		if err != nil {
			return err
		}
		if !strings.Contains(out, "no such host") {
			return fmt.Errorf("%s has not failed to resolve a peer yet", first)
		}
		return nil
	})
	if err := containerHealth(p.container(first), "--live"); err != nil {
		t.Fatalf("%s alone: %v", first, err)
	}
	if err := p.ready(first); err == nil {
		t.Fatalf("%s alone says it is ready", first)
	}

	p.up(order[1])
	p.waitReady(formTimeout, order[:2]...) // two of three: a quorum
	p.up(order[2])
	p.waitReady(readyTimeout)
	p.waitLeader(readyTimeout)
	for _, m := range members {
		if n := restartCount(t, p.container(m)); n != "0" {
			t.Errorf("%s was restarted %s times: it crashed while its peers were missing", m, n)
		}
	}

	s1 := p.connect()
	ensurePath(t, s1, "/order")
	for i := range 20 {
		path := fmt.Sprintf("/order/k%02d", i)
		if _, err := s1.Create(path, nil, 0, openACL); err != nil {
			t.Fatalf("create %s: %v", path, err)
		}
	}
	for _, m := range members {
		checkChildren(t, p, m, "/order", prefixed("/order/k%02d", 20), nil)
	}
}

// TestComposeObserver brings up deploy/compose/compose.observer.yaml: three participants
// and an observer, which says "Mode: observer", serves clients and takes writes (forwarded
// to the leader).
func TestComposeObserver(t *testing.T) {
	t.Parallel()
	p := newProject(t, filepath.Join(repoRoot, "deploy", "compose", "compose.observer.yaml"), members...)
	p.up("zoo1", "zoo2", "zoo3", "zoo4")
	p.waitReady(formTimeout, "zoo1", "zoo2", "zoo3", "zoo4")
	p.waitLeader(readyTimeout)
	harness.CheckFor(t, readyTimeout, func() error {
		m, err := p.mode("zoo4")
		if err == nil && m != "observer" {
			err = fmt.Errorf("zoo4 says Mode: %s", m)
		}
		return err
	})

	obs := p.connect("zoo4")
	ensurePath(t, obs, "/via-observer")
	for i := range 20 {
		path := fmt.Sprintf("/via-observer/k%02d", i)
		if _, err := obs.Create(path, nil, 0, openACL); err != nil {
			t.Fatalf("create %s through the observer: %v", path, err)
		}
	}
	for _, m := range []string{"zoo1", "zoo2", "zoo3", "zoo4"} {
		checkChildren(t, p, m, "/via-observer", prefixed("/via-observer/k%02d", 20), nil)
	}

	// The file's health check is readiness: Docker reports every member healthy.
	harness.CheckFor(t, readyTimeout, func() error {
		for _, m := range []string{"zoo1", "zoo2", "zoo3", "zoo4"} {
			out, err := dockerCmd("inspect", "--format", "{{.State.Health.Status}}", p.container(m))
			if err != nil {
				return err
			}
			if s := strings.TrimSpace(out); s != "healthy" {
				return fmt.Errorf("%s: health status %s", m, s)
			}
		}
		return nil
	})
}

// leaderFault runs a writer on one session under root, injects fault on the leader, checks
// that writes resume under a new leader, heals the old leader, and checks that it catches up:
// every member ends with every acknowledged write (and nothing that was not tried), no write
// failed with anything but a reconnect, and the session never expired.
func (p *project) leaderFault(t *testing.T, root, what string, fault, heal func(victim string)) {
	t.Helper()
	p.waitReady(readyTimeout)
	s := p.connect()
	ensurePath(t, s, root)
	w := &writer{s: s, root: root}
	stop, done := make(chan struct{}), make(chan struct{})
	go w.run(stop, done)
	stopped := false
	defer func() {
		if !stopped {
			close(stop)
			<-done
		}
	}()
	w.waitWrites(t, writeTimeout, 0, 100)

	victim, err := p.leader()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s after %d acknowledged writes", what, victim, w.n.Load())
	fault(victim)

	// The survivors elect a leader, and writes resume through the same session.
	w.waitWrites(t, writeTimeout, w.n.Load(), 100)
	harness.CheckFor(t, readyTimeout, func() error {
		for _, m := range p.services {
			if m == victim {
				continue
			}
			if mode, err := p.mode(m); err == nil && mode == "leader" {
				return nil
			}
		}
		return fmt.Errorf("no member but %s leads", victim)
	})

	// The old leader comes back and catches up.
	heal(victim)
	p.waitReady(readyTimeout)
	w.waitWrites(t, writeTimeout, w.n.Load(), 50)
	close(stop)
	<-done
	stopped = true

	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) > 0 {
		t.Errorf("%d writes failed with something other than a reconnect, e.g. %v", len(w.errs), w.errs[0])
	}
	if n := s.expired.Load(); n > 0 {
		t.Errorf("the session expired %d times", n)
	}
	t.Logf("%d writes acknowledged, %d cut off by the fault (outcome unknown)", len(w.acked), len(w.unknown))
	for _, m := range p.services {
		checkChildren(t, p, m, root, w.acked, w.unknown)
	}
}
