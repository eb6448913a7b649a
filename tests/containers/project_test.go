package containers

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paddock/paddock/tests/harness"
)

// project is one Compose project: a compose file brought up under a unique project name
// with the test's image and ephemeral host ports, torn down (volumes included) by
// t.Cleanup. Its methods fail the test on errors unless they return one.
type project struct {
	t        *testing.T
	name     string
	file     string
	env      []string
	services []string // the ensemble's members, in id order

	mu  sync.Mutex
	ids map[string]string // service -> container id, once created
}

// newProject prepares the project; nothing runs until up.
func newProject(t *testing.T, file string, services ...string) *project {
	t.Helper()
	img := image(t)
	if _, err := composeCmd(); err != nil {
		t.Fatal(err)
	}
	p := &project{
		t:        t,
		name:     "paddocktest" + randomName(4),
		file:     file,
		services: services,
		ids:      map[string]string{},
		env:      []string{"PADDOCK_IMAGE=" + img},
	}
	for i := range 9 {
		p.env = append(p.env, fmt.Sprintf("ZOO%d_PORT=0", i+1)) // any free port
	}
	t.Cleanup(p.down)
	return p
}

// compose runs a Compose command on the project.
func (p *project) compose(timeout time.Duration, args ...string) (string, error) {
	cc, err := composeCmd()
	if err != nil {
		return "", err
	}
	argv := append(append(cc[1:len(cc):len(cc)], "--project-name", p.name, "--file", p.file), args...)
	return run(timeout, p.env, cc[0], argv...)
}

// up starts the given services (all when none is given) without their dependencies.
func (p *project) up(services ...string) {
	p.t.Helper()
	args := append([]string{"up", "--detach", "--no-deps"}, services...)
	if _, err := retryPortRace(p.t, func() (string, error) { return p.compose(3*time.Minute, args...) }); err != nil {
		p.t.Fatal(err)
	}
	if len(services) == 0 {
		services = p.services
	}
	for _, s := range services {
		p.container(s) // known from now on, for clientAddr
	}
}

// container returns a service's container id.
func (p *project) container(svc string) string {
	p.t.Helper()
	p.mu.Lock()
	id := p.ids[svc]
	p.mu.Unlock()
	if id != "" {
		return id
	}
	out, err := p.compose(time.Minute, "ps", "-q", svc)
	if err != nil {
		p.t.Fatal(err)
	}
	id = strings.TrimSpace(out)
	if id == "" || strings.Contains(id, "\n") {
		p.t.Fatalf("service %s has containers %q, want one", svc, id)
	}
	p.mu.Lock()
	p.ids[svc] = id
	p.mu.Unlock()
	return id
}

// clientAddr is where this machine reaches a service's client port right now.
func (p *project) clientAddr(svc string) (string, error) {
	p.mu.Lock()
	id := p.ids[svc]
	p.mu.Unlock()
	if id == "" {
		return "", fmt.Errorf("%s has no container yet", svc)
	}
	return hostPort(id, 2181)
}

// ready reports whether every given service passes the image's readiness probe.
func (p *project) ready(services ...string) error {
	for _, s := range services {
		if err := containerHealth(p.container(s)); err != nil {
			return fmt.Errorf("%s: %v", s, err)
		}
	}
	return nil
}

// waitReady waits until every given service is ready (all members when none is given).
func (p *project) waitReady(timeout time.Duration, services ...string) {
	p.t.Helper()
	if len(services) == 0 {
		services = p.services
	}
	harness.CheckFor(p.t, timeout, func() error { return p.ready(services...) })
}

// mode asks a service's srvr word for its Mode line.
func (p *project) mode(svc string) (string, error) {
	addr, err := p.clientAddr(svc)
	if err != nil {
		return "", err
	}
	return srvrMode(addr)
}

// leader returns the one member that says "Mode: leader", or an error while there is none
// or more than one.
func (p *project) leader() (string, error) {
	var leaders, modes []string
	for _, s := range p.services {
		m, err := p.mode(s)
		if err != nil {
			m = err.Error()
		}
		modes = append(modes, s+"="+m)
		if m == "leader" {
			leaders = append(leaders, s)
		}
	}
	if len(leaders) != 1 {
		return "", fmt.Errorf("want one leader: %s", strings.Join(modes, ", "))
	}
	return leaders[0], nil
}

// waitLeader waits until exactly one member leads, and returns it.
func (p *project) waitLeader(timeout time.Duration) string {
	p.t.Helper()
	var l string
	harness.CheckFor(p.t, timeout, func() (err error) {
		l, err = p.leader()
		return err
	})
	return l
}

// logs returns the tail of every service's log.
func (p *project) logs() string {
	out, err := p.compose(time.Minute, "logs", "--no-color", "--tail", "60")
	if err != nil {
		return err.Error()
	}
	return out
}

// down removes the project's containers, networks and volumes. On a failed test it logs
// the members' last log lines first.
func (p *project) down() {
	if p.t.Failed() {
		p.t.Logf("compose project %s, last log lines:\n%s", p.name, p.logs())
	}
	if _, err := p.compose(3*time.Minute, "down", "--volumes", "--remove-orphans", "--timeout", "5"); err != nil {
		p.t.Errorf("compose down: %v", err)
	}
	// Whatever down missed (a container started outside compose's view, say).
	for _, err := range removeLabeled("com.docker.compose.project=" + p.name) {
		p.t.Logf("cleanup: %v", err)
	}
}
