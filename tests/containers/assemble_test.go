package containers

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/paddock/paddock/internal/assemble"
	"github.com/paddock/paddock/tests/harness"
)

// The self-assembling Compose file: one service, zk, scaled; its members find each other
// through the name zk alone.
var assembleFile = filepath.Join(repoRoot, "deploy", "compose", "assemble.yaml")

// anonVolumes are the anonymous volumes (/data, /datalog) of the containers a test
// registered: Compose removes a scaled-down member without them, and `down --volumes`
// removes only those of the containers that are left.
type anonVolumes struct {
	mu    sync.Mutex
	names map[string]bool
}

var leftovers = &anonVolumes{names: map[string]bool{}}

// note records container id's anonymous volumes.
func (v *anonVolumes) note(id string) {
	out, err := dockerCmd("inspect", "--format", `{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}`, id)
	if err != nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, n := range strings.Fields(out) {
		if len(n) == 64 { // anonymous: a random hex name
			v.names[n] = true
		}
	}
}

// remove deletes the recorded volumes that no container uses any more.
func (v *anonVolumes) remove(t *testing.T) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for n := range v.names {
		if out, err := dockerCmd("volume", "ls", "--quiet", "--filter", "dangling=true", "--filter", "name="+n); err == nil && strings.TrimSpace(out) != "" {
			if _, err := dockerCmd("volume", "rm", n); err != nil {
				t.Logf("cleanup: %v", err)
				continue
			}
			delete(v.names, n)
		}
	}
}

// newScaledProject is newProject for assemble.yaml; the anonymous volumes of its members
// are removed after the project is down.
func newScaledProject(t *testing.T) *project {
	t.Helper()
	t.Cleanup(func() { leftovers.remove(t) }) // runs after the project's own cleanup
	return newProject(t, assembleFile)
}

// replica returns the container id of the service zk's container number n, and registers
// it as the service "zk-n" so that the project's helpers (connect, checkChildren, mode)
// reach it. It fails the test when there is no such container.
func (p *project) replica(n int) string {
	p.t.Helper()
	id, err := p.replicaID(n)
	if err != nil {
		p.t.Fatal(err)
	}
	return id
}

func (p *project) replicaID(n int) (string, error) {
	out, err := dockerCmd("ps", "--all", "--quiet",
		"--filter", "label=com.docker.compose.project="+p.name,
		"--filter", "label=com.docker.compose.service=zk",
		"--filter", "label=com.docker.compose.container-number="+strconv.Itoa(n))
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(out)
	if id == "" || strings.Contains(id, "\n") {
		return "", fmt.Errorf("zk container number %d: %q, want one", n, id)
	}
	p.mu.Lock()
	known := p.ids[replicaName(n)] == id
	p.ids[replicaName(n)] = id
	p.mu.Unlock()
	if !known {
		leftovers.note(id)
	}
	return id, nil
}

func replicaName(n int) string { return "zk-" + strconv.Itoa(n) }

func replicaNames(ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = replicaName(n)
	}
	return out
}

// scale sets PADDOCK_REPLICAS to n and runs `up`, as docs/containers.md tells operators.
func (p *project) scale(n int) {
	p.t.Helper()
	p.env = append(p.env, "PADDOCK_REPLICAS="+strconv.Itoa(n)) // the last one counts
	if _, err := retryPortRace(p.t, func() (string, error) {
		return p.compose(3*time.Minute, "up", "--detach", "--no-deps")
	}); err != nil {
		p.t.Fatal(err)
	}
}

// waitReplicasReady waits until the given container numbers are ready.
func (p *project) waitReplicasReady(timeout time.Duration, ns ...int) {
	p.t.Helper()
	harness.CheckFor(p.t, timeout, func() error {
		for _, n := range ns {
			id, err := p.replicaID(n)
			if err != nil {
				return err
			}
			if err := containerHealth(id); err != nil {
				return fmt.Errorf("%s: %v", replicaName(n), err)
			}
		}
		return nil
	})
}

var serverLine = regexp.MustCompile(`^server\.(\d+)=[^:]+:\d+:\d+:(participant|observer);`)

// membership reads /zookeeper/config through replica n (after a sync) and returns
// "id:role" for every member, sorted by id.
func (p *project) membership(n int) ([]string, error) {
	s := p.connect(replicaName(n))
	defer s.Close()
	if _, err := s.Sync("/zookeeper/config"); err != nil {
		return nil, err
	}
	data, _, err := s.Get("/zookeeper/config")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if m := serverLine.FindStringSubmatch(l); m != nil {
			out = append(out, m[1]+":"+m[2])
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		x, _ := strconv.Atoi(strings.Split(a, ":")[0])
		y, _ := strconv.Atoi(strings.Split(b, ":")[0])
		return x - y
	})
	return out, nil
}

// waitMembership waits until replica n reports exactly want ("id:role" sorted by id).
func (p *project) waitMembership(timeout time.Duration, n int, want ...string) {
	p.t.Helper()
	harness.CheckFor(p.t, timeout, func() error {
		got, err := p.membership(n)
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("/zookeeper/config at %s lists %v, want %v", replicaName(n), got, want)
		}
		return nil
	})
}

// leave runs `paddock leave` in replica n and returns its output and error.
func (p *project) leave(n int) (string, error) {
	return run(3*time.Minute, nil, "docker", "exec", p.replica(n), "/paddock", "leave")
}

// TestAssembleCompose brings up deploy/compose/assemble.yaml, whose members know nothing
// but the name of their service, and on the one ensemble: runs a client workload; scales
// from 3 to 5 members under load (the new members join and become participants); scales
// back to 3 under load (`paddock leave` in the two highest-numbered, then scale); and
// checks that a leave that would lose the quorum is refused and explained.
func TestAssembleCompose(t *testing.T) {
	t.Parallel()
	start := time.Now()
	p := newScaledProject(t)
	p.up()
	p.waitReplicasReady(formTimeout, 1, 2, 3)
	p.services = replicaNames(1, 2, 3)
	leader := p.waitLeader(readyTimeout)
	t.Logf("project %s: three members formed an ensemble in %v; leader %s", p.name, time.Since(start).Round(time.Second), leader)
	p.waitMembership(readyTimeout, 1, "1:participant", "2:participant", "3:participant")

	t.Run("workload", func(t *testing.T) {
		s := p.connect()
		ensurePath(t, s, "/workload")
		for i := range 50 {
			path := fmt.Sprintf("/workload/k%03d", i)
			if _, err := s.Create(path, []byte(path), 0, openACL); err != nil {
				t.Fatalf("create %s: %v", path, err)
			}
		}
		for _, m := range p.services {
			checkChildren(t, p, m, "/workload", prefixed("/workload/k%03d", 50), nil)
		}
	})

	// A steady load through members 1..3 for the scaling that follows.
	l := &load{}
	setup := p.connect()
	ensurePath(t, setup, "/scale")
	setup.Close()
	var sessions []*session
	for range 3 {
		sessions = append(sessions, p.connect())
	}
	stopLoad := l.run(sessions, "/scale")
	defer stopLoad()
	l.waitOps(t, writeTimeout, 0, 100)

	t.Run("scale to 5", func(t *testing.T) {
		begin := time.Now()
		p.scale(5)
		p.waitReplicasReady(formTimeout, 4, 5)
		all := []string{"1:participant", "2:participant", "3:participant", "4:participant", "5:participant"}
		p.waitMembership(readyTimeout, 1, all...)
		for _, n := range []int{4, 5} {
			harness.CheckFor(t, readyTimeout, func() error {
				m, err := p.mode(replicaName(n))
				if err == nil && m != "follower" && m != "leader" {
					err = fmt.Errorf("%s says Mode: %s", replicaName(n), m)
				}
				return err
			})
			p.waitMembership(readyTimeout, n, all...)
		}
		l.waitOps(t, writeTimeout, l.ops.Load(), 100)
		t.Logf("5 participants %v after scaling, %d operations so far", time.Since(begin).Round(time.Second), l.ops.Load())
	})

	t.Run("scale to 3", func(t *testing.T) {
		begin := time.Now()
		for _, n := range []int{5, 4} {
			out, err := p.leave(n)
			if err != nil || !strings.Contains(out, fmt.Sprintf("member %d left ensemble", n)) {
				t.Fatalf("paddock leave in %s: %v\n%s", replicaName(n), err, out)
			}
			t.Logf("%s: %s", replicaName(n), strings.TrimSpace(tail(out, 1)))
			l.waitOps(t, writeTimeout, l.ops.Load(), 20)
		}
		// A member that left says so, and is not ready.
		harness.CheckFor(t, readyTimeout, func() error {
			if err := containerHealth(p.replica(5)); err == nil || !strings.Contains(err.Error(), "left the ensemble") {
				return fmt.Errorf("zk-5 after leaving: %v", err)
			}
			return nil
		})
		p.scale(3)
		leftovers.remove(t)
		p.waitMembership(readyTimeout, 1, "1:participant", "2:participant", "3:participant")
		if _, err := p.replicaID(4); err == nil {
			t.Errorf("zk-4 still exists after scaling to 3")
		}
		l.waitOps(t, writeTimeout, l.ops.Load(), 100)
		t.Logf("back to 3 participants in %v", time.Since(begin).Round(time.Second))
	})

	stopLoad()
	created := l.report(t, sessions)
	for _, m := range p.services {
		checkChildren(t, p, m, "/scale", created, nil)
	}

	t.Run("refuse to lose quorum", func(t *testing.T) {
		// With zk-3 down, zk-2 leaving would leave 1 and 3, of which only 1 is up.
		mustDocker(t, "stop", "--time", "10", p.replica(3))
		out, err := p.leave(2)
		if err == nil {
			t.Fatalf("paddock leave in zk-2 with zk-3 down succeeded:\n%s", out)
		}
		t.Logf("refused: %s", strings.TrimSpace(out))
		for _, want := range []string{"would lose its quorum", "member 3", "a quorum of them is 2"} {
			if !strings.Contains(out, want) {
				t.Errorf("the refusal does not say %q:\n%s", want, out)
			}
		}
		startContainer(t, p.replica(3))
		p.waitReplicasReady(readyTimeout, 1, 2, 3)
		p.waitMembership(readyTimeout, 2, "1:participant", "2:participant", "3:participant")
	})
	t.Logf("TestAssembleCompose took %v", time.Since(start).Round(time.Second))
}

// TestAssembleRandomOrder creates the three members of deploy/compose/assemble.yaml
// without starting them, then starts them one by one in random order: the first finds
// only itself (its peers' names do not resolve yet) and waits, saying so, and is never
// restarted. Then a member whose volume belongs to another ensemble is refused, with an
// explanation in its log and on /readyz, and the ensemble is left alone.
func TestAssembleRandomOrder(t *testing.T) {
	t.Parallel()
	start := time.Now()
	p := newScaledProject(t)
	if _, err := p.compose(3*time.Minute, "up", "--no-start"); err != nil {
		t.Fatal(err)
	}
	seed := rand.Uint64()
	order := []int{1, 2, 3}
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	t.Logf("start order %v (seed %d)", order, seed)
	for i, n := range order {
		startContainer(t, p.replica(n))
		// It waits for the others, says what for, and stays alive.
		harness.CheckFor(t, readyTimeout, func() error {
			err := containerHealth(p.replica(n))
			switch {
			case i == len(order)-1:
				return nil
			case err == nil:
				return fmt.Errorf("%s says it is ready with %d of 3 members up", replicaName(n), i+1)
			case !strings.Contains(err.Error(), fmt.Sprintf("%d found", i+1)):
				return fmt.Errorf("%s: %v", replicaName(n), err)
			}
			return containerHealth(p.replica(n), "--live")
		})
	}
	p.waitReplicasReady(formTimeout, 1, 2, 3)
	p.services = replicaNames(1, 2, 3)
	p.waitLeader(readyTimeout)
	p.waitMembership(readyTimeout, 1, "1:participant", "2:participant", "3:participant")
	for n := 1; n <= 3; n++ {
		if c := restartCount(t, p.replica(n)); c != "0" {
			t.Errorf("%s was restarted %s times", replicaName(n), c)
		}
	}
	t.Logf("formed in %v", time.Since(start).Round(time.Second))
	s := p.connect()
	ensurePath(t, s, "/order")
	for i := range 20 {
		if _, err := s.Create(fmt.Sprintf("/order/k%02d", i), nil, 0, openACL); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("stale volume", func(t *testing.T) {
		// Another ensemble, of one member, with named volumes; then its volumes are
		// attached to a new member of this project's ensemble.
		img := image(t)
		label := "com.docker.compose.project=" + p.name
		data, datalog := p.name+"-stale-data", p.name+"-stale-datalog"
		other := p.name + "-other"
		for _, v := range []string{data, datalog} {
			mustDocker(t, "volume", "create", "--label", label, v)
		}
		mustDocker(t, "network", "create", "--label", label, other)
		solo := mustDocker(t, "run", "--detach", "--label", label, "--network", other, "--network-alias", "solo",
			"-v", data+":/data", "-v", datalog+":/datalog", "-e", "PADDOCK_DISCOVER=dns:solo", "-e", "PADDOCK_EXPECT=1", img)
		harness.CheckFor(t, formTimeout, func() error { return containerHealth(solo) })
		mustDocker(t, "rm", "--force", solo)

		stale := mustDocker(t, "run", "--detach", "--label", label, "--network", p.name+"_default", "--network-alias", "zk",
			"-v", data+":/data", "-v", datalog+":/datalog", "-e", "PADDOCK_DISCOVER=dns:zk", img)
		// Gone before compose takes the project's network down (cleanups run last first).
		t.Cleanup(func() { dockerCmd("rm", "--force", "--volumes", stale) })
		harness.CheckFor(t, readyTimeout, func() error {
			err := containerHealth(stale)
			if err == nil || !strings.Contains(err.Error(), "refused: stale volume") {
				return fmt.Errorf("the stale member: %v", err)
			}
			return nil
		})
		readyz, _ := run(20*time.Second, nil, "docker", "exec", stale, "/paddock", "health", "--url", "http://127.0.0.1:8080/readyz")
		logs, _ := dockerCmd("logs", stale)
		t.Logf("/readyz of the stale member: %s", strings.TrimSpace(readyz))
		if i := strings.Index(logs, "refusing to start: stale volume"); i < 0 || !strings.Contains(logs[i:], "delete it") {
			t.Errorf("the stale member's log does not explain:\n%s", tail(logs, 20))
		} else {
			t.Logf("its log: %s", firstLine(logs[i:]))
		}
		if err := containerHealth(stale, "--live"); err != nil {
			t.Errorf("the stale member is not alive: %v", err)
		}
		if c := restartCount(t, stale); c != "0" {
			t.Errorf("the stale member restarted %s times", c)
		}
		// The ensemble carries on, without it.
		p.waitMembership(readyTimeout, 2, "1:participant", "2:participant", "3:participant")
		p.waitReplicasReady(readyTimeout, 1, 2, 3)
		checkChildren(t, p, "zk-3", "/order", prefixed("/order/k%02d", 20), nil)
	})
}

// TestKubernetesAssembleManifest decodes deploy/k8s/assemble/statefulset.yaml strictly,
// with the Services of deploy/k8s it is used with, and checks what self-assembly needs:
// discovery through the headless Service (which publishes members before they are ready),
// ids from the pod ordinals as the StatefulSet numbers them, a stable advertised name,
// all members started at once, and the probes on /readyz and /healthz.
func TestKubernetesAssembleManifest(t *testing.T) {
	objs := loadManifests(t, filepath.Join(repoRoot, "deploy", "k8s", "assemble"))
	base := loadManifests(t, filepath.Join(repoRoot, "deploy", "k8s"))
	if len(objs.statefulSets) != 1 || len(objs.services)+len(objs.pdbs) != 0 {
		t.Fatalf("want one StatefulSet alone (it uses deploy/k8s's Services and budget)")
	}
	sts, old := objs.statefulSets[0], base.statefulSets[0]
	spec := sts.Spec
	if sts.Name != old.Name || spec.ServiceName != old.Spec.ServiceName {
		t.Errorf("StatefulSet %s/%s: want the name and serviceName of deploy/k8s (%s/%s), whose Services select it", sts.Name, spec.ServiceName, old.Name, old.Spec.ServiceName)
	}
	var headless *corev1.Service
	for _, s := range base.services {
		if s.Spec.ClusterIP == corev1.ClusterIPNone {
			headless = s
		}
	}
	if headless == nil || headless.Name != spec.ServiceName || !headless.Spec.PublishNotReadyAddresses {
		t.Fatalf("the headless Service %s must publish members before they are ready", spec.ServiceName)
	}
	if !selects(headless.Spec.Selector, spec.Template.Labels) {
		t.Errorf("Service %s does not select the pods", headless.Name)
	}
	if spec.PodManagementPolicy != "Parallel" {
		t.Errorf("podManagementPolicy %q: the founding members must start together", spec.PodManagementPolicy)
	}
	c := spec.Template.Spec.Containers[0]
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	for _, k := range []string{"ZOO_SERVERS", "ZOO_MY_ID", "PADDOCK_ID"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s is set: an assembled member's id and peers come from the StatefulSet and the Service", k)
		}
	}
	if got, want := env["PADDOCK_DISCOVER"].Value, "dns:"+headless.Name; got != want {
		t.Errorf("PADDOCK_DISCOVER %q, want %q", got, want)
	}
	start := int32(0)
	if spec.Ordinals != nil {
		start = spec.Ordinals.Start
	}
	if got := env["PADDOCK_ORDINAL_START"].Value; got != strconv.Itoa(int(start)) {
		t.Errorf("PADDOCK_ORDINAL_START %q, want the StatefulSet's ordinals.start %d", got, start)
	}
	// The first pod's hostname gives id 1, as in deploy/k8s (the pod index is the id).
	if id, ok := assemble.OrdinalID(fmt.Sprintf("%s-%d", sts.Name, start), int(start)); !ok || id != 1 {
		t.Errorf("pod %s-%d would be member %d, want 1", sts.Name, start, id)
	}
	if n, err := strconv.Atoi(env["PADDOCK_EXPECT"].Value); err != nil || spec.Replicas == nil || int32(n) != *spec.Replicas {
		t.Errorf("PADDOCK_EXPECT %q, want the initial replicas", env["PADDOCK_EXPECT"].Value)
	}
	if f := env["POD_NAME"].ValueFrom; f == nil || f.FieldRef == nil || f.FieldRef.FieldPath != "metadata.name" ||
		env["PADDOCK_ADVERTISE"].Value != "$(POD_NAME)."+headless.Name {
		t.Errorf("PADDOCK_ADVERTISE %q: want the pod's stable name through the headless Service", env["PADDOCK_ADVERTISE"].Value)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %+v, want /readyz", p)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v, want /healthz: a member waiting for its peers is alive", p)
	}
	if sc := spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || len(spec.VolumeClaimTemplates) != 2 {
		t.Errorf("want the security context and the data and datalog claims of deploy/k8s")
	}
}

// assembleStack deploys deploy/swarm/assemble.yml (one replicated service, zk, whose tasks
// find each other through tasks.zk and take their ids from their slots) on the swarm
// TestSwarm set up: three tasks form an ensemble, a fourth joins and is promoted, and a
// workload runs through tasks.zk.
func assembleStack(t *testing.T, img string) {
	stack := "paddocktest" + randomName(4)
	service := stack + "_zk"
	env := []string{"PADDOCK_IMAGE=" + img, "ZK_PORT=0"}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := dockerCmd("service", "logs", "--no-task-ids", "--tail", "40", service)
			t.Logf("%s, last log lines:\n%s", service, out)
		}
		removeStack(t, stack)
	})
	start := time.Now()
	if _, err := run(3*time.Minute, env, "docker", "stack", "deploy", "--compose-file",
		filepath.Join(repoRoot, "deploy", "swarm", "assemble.yml"), stack); err != nil {
		t.Fatal(err)
	}
	// slots returns the running tasks by slot once each of them is ready.
	slots := func(n int) (map[int]string, error) {
		out, err := dockerCmd("container", "ls", "--quiet", "--filter", "label=com.docker.swarm.service.name="+service, "--filter", "status=running")
		if err != nil {
			return nil, err
		}
		tasks := map[int]string{}
		for _, id := range strings.Fields(out) {
			name, err := dockerCmd("inspect", "--format", `{{index .Config.Labels "com.docker.swarm.task.name"}}`, id)
			if err != nil {
				return nil, err
			}
			parts := strings.Split(strings.TrimSpace(name), ".")
			slot, err := strconv.Atoi(parts[min(1, len(parts)-1)])
			if err != nil {
				return nil, fmt.Errorf("task name %q", name)
			}
			tasks[slot] = id
		}
		if len(tasks) != n {
			return nil, fmt.Errorf("%d running tasks, want %d", len(tasks), n)
		}
		for slot, id := range tasks {
			if err := containerHealth(id); err != nil {
				return nil, fmt.Errorf("slot %d: %v", slot, err)
			}
		}
		return tasks, nil
	}
	var tasks map[int]string
	harness.CheckFor(t, formTimeout, func() (err error) {
		tasks, err = slots(3)
		return err
	})
	t.Logf("stack %s: three tasks formed an ensemble in %v", stack, time.Since(start).Round(time.Second))
	for slot, id := range tasks {
		logs, _ := dockerCmd("logs", id)
		if want := fmt.Sprintf("id=%d from=PADDOCK_ID", slot); !strings.Contains(logs, want) {
			t.Errorf("slot %d's log lacks %q", slot, want)
		}
	}

	begin := time.Now()
	if _, err := dockerCmd("service", "scale", "--detach", service+"=4"); err != nil {
		t.Fatal(err)
	}
	harness.CheckFor(t, formTimeout, func() (err error) {
		tasks, err = slots(4)
		if err == nil {
			logs, _ := dockerCmd("logs", tasks[4])
			if !strings.Contains(logs, "promoted to participant") {
				err = errors.New("slot 4 is not a participant yet")
			}
		}
		return err
	})
	t.Logf("slot 4 joined and was promoted in %v", time.Since(begin).Round(time.Second))

	// tasks.zk: every member's address (a ZooKeeper client tries each), rather than the
	// service's virtual IP.
	out, err := run(3*time.Minute, nil, "docker", "run", "--rm", "--network", stack+"_paddock", img,
		"bench", "--servers", "tasks.zk:2181", "--workload", "mix", "--read-ratio", "0.5", "--keys", "30",
		"--sessions", "3", "--inflight", "3", "--ops", "300", "--warmup", "0s", "--json", "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Ops    int64 `json:"ops"`
		Errors int64 `json:"errors"`
	}
	if i := strings.IndexByte(out, '{'); i < 0 || json.Unmarshal([]byte(out[i:]), &res) != nil || res.Ops < 300 || res.Errors != 0 {
		t.Fatalf("bench through tasks.zk:2181: %+v\n%s", res, out)
	}
}
