package containers

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/paddock/paddock/internal/assemble"
	"github.com/paddock/paddock/tests/harness"
)

// TestKubernetesAssembleOnEngine runs the pods of deploy/k8s/assemble/statefulset.yaml on
// the Docker engine as the StatefulSet controller and the kubelet would run them, without
// Kubernetes: the container's env (with $(VAR) references and fieldRefs resolved), args,
// ports, security context and a volume per claim template, the hostname <sts>-<ordinal>,
// and DNS through network aliases: the headless Service's name resolves to every pod,
// ready or not (publishNotReadyAddresses), and <pod>.<service> to the pod. The founding
// pods start at once (podManagementPolicy Parallel) and must assemble by themselves: every
// pod passes the manifest's readiness probe, its id is ordinal - ordinals.start + 1 and the
// ensemble's /zookeeper/config names each member by its pod's stable name. Then the
// StatefulSet is scaled up by one under a client workload: the new pod joins as an
// observer and is promoted to participant, and no client operation fails.
func TestKubernetesAssembleOnEngine(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	img := image(t)
	objs := loadManifests(t, filepath.Join(repoRoot, "deploy", "k8s", "assemble"))
	base := loadManifests(t, filepath.Join(repoRoot, "deploy", "k8s"))
	if len(objs.statefulSets) != 1 {
		t.Fatalf("deploy/k8s/assemble: want one StatefulSet, have %d", len(objs.statefulSets))
	}
	sts := objs.statefulSets[0]
	var headless *corev1.Service
	for _, s := range base.services {
		if s.Name == sts.Spec.ServiceName && s.Spec.ClusterIP == corev1.ClusterIPNone {
			headless = s
		}
	}
	if headless == nil || !headless.Spec.PublishNotReadyAddresses || !selects(headless.Spec.Selector, sts.Spec.Template.Labels) {
		t.Fatalf("deploy/k8s has no headless Service %q that publishes the pods before they are ready", sts.Spec.ServiceName)
	}
	// What an operator creates first, as the manifest's comment says:
	// kubectl create secret generic paddock --from-literal=peer-secret=$(openssl rand -hex 32)
	secrets := map[string]map[string]string{"paddock": {"peer-secret": randomName(32)}}
	ps := newStatefulPods(t, img, sts, headless.Name, secrets)

	replicas, start := 1, 0
	if sts.Spec.Replicas != nil {
		replicas = int(*sts.Spec.Replicas)
	}
	if sts.Spec.Ordinals != nil {
		start = int(sts.Spec.Ordinals.Start)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Fatalf("podManagementPolicy %q: this test starts the founding pods together, as Parallel does", sts.Spec.PodManagementPolicy)
	}
	var founders []int
	for o := start; o < start+replicas; o++ {
		founders = append(founders, o)
	}
	env, err := ps.env(founders[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("StatefulSet %s, Service %s: pods %v, env of %s: %s", sts.Name, ps.svc, ps.podNames(founders...),
		ps.podName(founders[0]), strings.Join(redacted(env, ps.secretEnv()), " "))

	started := time.Now()
	ps.start(founders...)
	ps.waitReady(formTimeout, founders...)
	ps.waitMembers(readyTimeout, founders...)
	leader := ps.waitLeader(readyTimeout, founders...)
	t.Logf("%d pods formed an ensemble %v after they started; leader %s", replicas, time.Since(started).Round(100*time.Millisecond), leader)

	// A steady load through the founders' published client ports, across the scale-up.
	l := &load{}
	setup := connect(t, ps.clientAddr, ps.podNames(founders...)...)
	ensurePath(t, setup, "/k8s")
	setup.Close()
	var sessions []*session
	for range 3 {
		sessions = append(sessions, connect(t, ps.clientAddr, ps.podNames(founders...)...))
	}
	stopLoad := l.run(sessions, "/k8s")
	defer stopLoad()
	l.waitOps(t, writeTimeout, 0, 100)

	// kubectl scale statefulset/paddock --replicas=replicas+1
	scaled := time.Now()
	next := start + replicas
	all := append(slices.Clone(founders), next)
	ps.start(next)
	ps.waitReady(formTimeout, next)
	ps.waitMembers(readyTimeout, all...)
	harness.CheckFor(t, readyTimeout, func() error {
		m, err := ps.mode(ps.podName(next))
		if err == nil && m != "follower" && m != "leader" {
			err = fmt.Errorf("%s says Mode: %s", ps.podName(next), m)
		}
		return err
	})
	logs, _ := dockerCmd("logs", ps.container(ps.podName(next)))
	for _, want := range []string{"joining a ready ensemble", "added to the ensemble as an observer", "promoted to participant"} {
		if !strings.Contains(logs, "assemble: "+want) {
			t.Errorf("%s's log does not say %q", ps.podName(next), want)
		}
	}
	l.waitOps(t, writeTimeout, l.ops.Load(), 100)
	t.Logf("%s joined and was promoted %v after it started; %d operations so far", ps.podName(next), time.Since(scaled).Round(100*time.Millisecond), l.ops.Load())

	stopLoad()
	created := l.report(t, sessions)
	// Every pod, the new one included, has every write once it has synced.
	for _, o := range all {
		ps.checkChildren(ps.podName(o), "/k8s", created)
	}
	for _, o := range all {
		state := mustDocker(t, "inspect", "--format", "{{.State.Status}} {{.RestartCount}}", ps.container(ps.podName(o)))
		if state != "running 0" {
			t.Errorf("%s: container state %q, want running and never restarted", ps.podName(o), state)
		}
	}
	t.Logf("TestKubernetesAssembleOnEngine took %v", time.Since(begin).Round(time.Second))
}

// statefulPods runs a StatefulSet's pods as containers on a user-defined network of their
// own. Names are unique to the test (prefix); t.Cleanup removes the containers, the
// network and the volumes, after logging the pods' last log lines if the test failed.
// Its methods fail the test on errors unless they return one.
type statefulPods struct {
	t       *testing.T
	image   string
	sts     *appsv1.StatefulSet
	c       corev1.Container
	svc     string                       // the headless Service
	secrets map[string]map[string]string // Secret name -> key -> value
	prefix  string                       // of the network, container and volume names
	label   string                       // on everything created
	http    *http.Client

	mu       sync.Mutex
	ids      map[string]string   // pod -> container id; guarded by mu
	sessions map[string]*session // pod -> a session with it alone; guarded by mu
}

func newStatefulPods(t *testing.T, img string, sts *appsv1.StatefulSet, svc string, secrets map[string]map[string]string) *statefulPods {
	t.Helper()
	if n := len(sts.Spec.Template.Spec.Containers); n != 1 || len(sts.Spec.Template.Spec.InitContainers) != 0 {
		t.Fatalf("StatefulSet %s: want one container and no init containers, have %d", sts.Name, n)
	}
	ps := &statefulPods{
		t:        t,
		image:    img,
		sts:      sts,
		c:        sts.Spec.Template.Spec.Containers[0],
		svc:      svc,
		secrets:  secrets,
		prefix:   "paddocktest" + randomName(4),
		http:     &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}},
		ids:      map[string]string{},
		sessions: map[string]*session{},
	}
	ps.label = "paddocktest.statefulset=" + ps.prefix
	t.Cleanup(ps.remove)
	mustDocker(t, "network", "create", "--label", ps.label, ps.prefix)
	return ps
}

func (ps *statefulPods) podName(ordinal int) string {
	return fmt.Sprintf("%s-%d", ps.sts.Name, ordinal)
}

func (ps *statefulPods) podNames(ordinals ...int) []string {
	out := make([]string, len(ordinals))
	for i, o := range ordinals {
		out[i] = ps.podName(o)
	}
	return out
}

// stableName is the pod's DNS name through the headless Service (within its namespace).
func (ps *statefulPods) stableName(ordinal int) string { return ps.podName(ordinal) + "." + ps.svc }

// memberID is the id the pod's ordinal gives it.
func (ps *statefulPods) memberID(ordinal int) int64 {
	start := 0
	if ps.sts.Spec.Ordinals != nil {
		start = int(ps.sts.Spec.Ordinals.Start)
	}
	return int64(ordinal - start + 1)
}

// env returns the container's environment in the pod of the given ordinal, resolved as
// the kubelet resolves it: in order, $(VAR) naming a variable defined before it.
func (ps *statefulPods) env(ordinal int) ([]string, error) {
	if len(ps.c.EnvFrom) > 0 {
		return nil, fmt.Errorf("container %s: envFrom is not emulated", ps.c.Name)
	}
	pod := ps.podName(ordinal)
	labels := map[string]string{
		"statefulset.kubernetes.io/pod-name": pod,
		"apps.kubernetes.io/pod-index":       strconv.Itoa(ordinal),
	}
	for k, v := range ps.sts.Spec.Template.Labels {
		labels[k] = v
	}
	fields := map[string]string{"metadata.name": pod, "metadata.namespace": "default"}
	for k, v := range labels {
		fields["metadata.labels['"+k+"']"] = v
	}
	vars := map[string]string{}
	var out []string
	for _, e := range ps.c.Env {
		v := expandK8s(e.Value, vars)
		if f := e.ValueFrom; f != nil {
			switch {
			case f.FieldRef != nil:
				var ok bool
				if v, ok = fields[f.FieldRef.FieldPath]; !ok {
					return nil, fmt.Errorf("env %s: fieldRef %s is not emulated", e.Name, f.FieldRef.FieldPath)
				}
			case f.SecretKeyRef != nil:
				ref := f.SecretKeyRef
				var ok bool
				if v, ok = ps.secrets[ref.Name][ref.Key]; !ok {
					if ref.Optional != nil && *ref.Optional {
						continue // a missing optional key leaves the variable unset
					}
					return nil, fmt.Errorf("env %s: no key %s in Secret %s, and it is not optional", e.Name, ref.Key, ref.Name)
				}
			default:
				return nil, fmt.Errorf("env %s: valueFrom %+v is not emulated", e.Name, f)
			}
		}
		vars[e.Name] = v
		out = append(out, e.Name+"="+v)
	}
	return out, nil
}

// secretEnv names the variables that come from Secrets.
func (ps *statefulPods) secretEnv() []string {
	var out []string
	for _, e := range ps.c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			out = append(out, e.Name)
		}
	}
	return out
}

var unresolvedRef = regexp.MustCompile(`\$\([A-Za-z_][A-Za-z0-9_.-]*\)`)

// runArgs returns `docker run`'s arguments for the pod of the given ordinal.
func (ps *statefulPods) runArgs(ordinal int) ([]string, error) {
	pod := ps.podName(ordinal)
	spec := ps.sts.Spec.Template.Spec
	args := []string{"run", "--detach", "--name", ps.prefix + "-" + pod, "--label", ps.label,
		"--hostname", pod, "--network", ps.prefix,
		"--network-alias", ps.svc, "--network-alias", ps.stableName(ordinal),
		// The kubelet ignores the image's HEALTHCHECK and runs the manifest's probes.
		"--no-healthcheck"}
	if g := spec.TerminationGracePeriodSeconds; g != nil {
		args = append(args, "--stop-timeout", strconv.FormatInt(*g, 10))
	}

	// The security context: the container's settings over the pod's.
	uid, gid := int64(-1), int64(-1)
	if psc := spec.SecurityContext; psc != nil {
		if psc.RunAsUser != nil {
			uid = *psc.RunAsUser
		}
		if psc.RunAsGroup != nil {
			gid = *psc.RunAsGroup
		}
		if psc.FSGroup != nil {
			args = append(args, "--group-add", strconv.FormatInt(*psc.FSGroup, 10))
		}
	}
	if csc := ps.c.SecurityContext; csc != nil {
		if csc.RunAsUser != nil {
			uid = *csc.RunAsUser
		}
		if csc.RunAsGroup != nil {
			gid = *csc.RunAsGroup
		}
		if csc.ReadOnlyRootFilesystem != nil && *csc.ReadOnlyRootFilesystem {
			args = append(args, "--read-only")
		}
		if csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation {
			args = append(args, "--security-opt", "no-new-privileges")
		}
		if csc.Capabilities != nil {
			for _, c := range csc.Capabilities.Drop {
				args = append(args, "--cap-drop", string(c))
			}
			for _, c := range csc.Capabilities.Add {
				args = append(args, "--cap-add", string(c))
			}
		}
	}
	switch {
	case uid >= 0 && gid >= 0:
		args = append(args, "--user", fmt.Sprintf("%d:%d", uid, gid))
	case uid >= 0:
		args = append(args, "--user", strconv.FormatInt(uid, 10))
	}

	for _, p := range ps.c.Ports {
		proto := strings.ToLower(string(p.Protocol))
		if proto == "" {
			proto = "tcp"
		}
		args = append(args, "--publish", fmt.Sprintf("127.0.0.1::%d/%s", p.ContainerPort, proto))
	}

	// Each claim template is a volume of the pod's own, named as the controller names the
	// claim: <template>-<pod>.
	claims := map[string]bool{}
	for _, v := range ps.sts.Spec.VolumeClaimTemplates {
		claims[v.Name] = true
	}
	for _, m := range ps.c.VolumeMounts {
		if !claims[m.Name] {
			return nil, fmt.Errorf("volume mount %s: only volume claim templates are emulated", m.Name)
		}
		mount := fmt.Sprintf("type=volume,src=%s-%s-%s,dst=%s", ps.prefix, m.Name, pod, m.MountPath)
		if m.ReadOnly {
			mount += ",readonly"
		}
		args = append(args, "--mount", mount)
	}

	env, err := ps.env(ordinal)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
		if ref := unresolvedRef.FindString(v); ref != "" {
			return nil, fmt.Errorf("env %s=%q: %s does not name a variable defined before it; the kubelet would pass it on as it is", k, v, ref)
		}
		args = append(args, "--env", kv)
	}

	// command replaces the image's entrypoint, args its cmd; both expand $(VAR).
	var command, cargs []string
	for _, s := range ps.c.Command {
		command = append(command, expandK8s(s, vars))
	}
	for _, s := range ps.c.Args {
		cargs = append(cargs, expandK8s(s, vars))
	}
	if ps.c.WorkingDir != "" {
		args = append(args, "--workdir", ps.c.WorkingDir)
	}
	if len(command) > 0 {
		args = append(args, "--entrypoint", command[0])
	}
	args = append(args, ps.image)
	if len(command) > 1 {
		args = append(args, command[1:]...)
	}
	return append(args, cargs...), nil
}

// start creates the volumes of the pods of the given ordinals, then runs them all at once.
func (ps *statefulPods) start(ordinals ...int) {
	ps.t.Helper()
	runs := make([][]string, len(ordinals))
	for i, o := range ordinals {
		args, err := ps.runArgs(o)
		if err != nil {
			ps.t.Fatalf("%s: %v", ps.podName(o), err)
		}
		runs[i] = args
		for _, v := range ps.sts.Spec.VolumeClaimTemplates {
			mustDocker(ps.t, "volume", "create", "--label", ps.label, fmt.Sprintf("%s-%s-%s", ps.prefix, v.Name, ps.podName(o)))
		}
	}
	errs := make([]error, len(ordinals))
	var wg sync.WaitGroup
	for i, o := range ordinals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := dockerCmd(runs[i]...)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %v", ps.podName(o), err)
				return
			}
			ps.mu.Lock()
			ps.ids[ps.podName(o)] = strings.TrimSpace(out)
			ps.mu.Unlock()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			ps.t.Fatal(err)
		}
	}
}

// container returns the container id of a pod that was started.
func (ps *statefulPods) container(pod string) string {
	ps.t.Helper()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	id := ps.ids[pod]
	if id == "" {
		ps.t.Fatalf("pod %s was not started", pod)
	}
	return id
}

// port returns the container port a probe or Service names, by name or by number.
func (ps *statefulPods) port(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	for _, p := range ps.c.Ports {
		if p.Name == name {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("container %s has no port named %q", ps.c.Name, name)
}

// addr is where this machine reaches a pod's named port.
func (ps *statefulPods) addr(pod, port string) (string, error) {
	ps.mu.Lock()
	id := ps.ids[pod]
	ps.mu.Unlock()
	if id == "" {
		return "", fmt.Errorf("pod %s has no container", pod)
	}
	n, err := ps.port(port)
	if err != nil {
		return "", err
	}
	return hostPort(id, n)
}

// clientAddr is addr for the client port, a lookup function for connect.
func (ps *statefulPods) clientAddr(pod string) (string, error) { return ps.addr(pod, "client") }

// probe runs one of the container's HTTP probes against a pod, as the kubelet does:
// a status from 200 to 399 within timeoutSeconds passes.
func (ps *statefulPods) probe(pod string, p *corev1.Probe) error {
	if p == nil || p.HTTPGet == nil || (p.HTTPGet.Scheme != "" && p.HTTPGet.Scheme != corev1.URISchemeHTTP) {
		return fmt.Errorf("probe %+v: only HTTP GET probes are emulated", p)
	}
	addr, err := ps.addr(pod, p.HTTPGet.Port.String())
	if err != nil {
		return err
	}
	c := *ps.http
	if p.TimeoutSeconds > 0 {
		c.Timeout = time.Duration(p.TimeoutSeconds) * time.Second
	}
	resp, err := c.Get("http://" + addr + p.HTTPGet.Path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s: %s: %s", p.HTTPGet.Path, resp.Status, firstLine(string(body)))
	}
	return nil
}

// waitReady waits until the pods of the given ordinals pass the startup probe (if any),
// then the readiness probe, and are alive.
func (ps *statefulPods) waitReady(timeout time.Duration, ordinals ...int) {
	ps.t.Helper()
	harness.CheckFor(ps.t, timeout, func() error {
		for _, o := range ordinals {
			pod := ps.podName(o)
			for _, p := range []struct {
				what  string
				probe *corev1.Probe
			}{{"startup", ps.c.StartupProbe}, {"readiness", ps.c.ReadinessProbe}, {"liveness", ps.c.LivenessProbe}} {
				if p.probe == nil {
					continue
				}
				if err := ps.probe(pod, p.probe); err != nil {
					return fmt.Errorf("%s: %s probe: %v", pod, p.what, err)
				}
			}
		}
		return nil
	})
}

// info asks a pod's admin port for its GET /assemble answer.
func (ps *statefulPods) info(pod string) (assemble.Info, error) {
	var in assemble.Info
	addr, err := ps.addr(pod, "admin")
	if err != nil {
		return in, err
	}
	resp, err := ps.http.Get("http://" + addr + "/assemble")
	if err != nil {
		return in, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return in, fmt.Errorf("GET /assemble: %s", resp.Status)
	}
	return in, json.NewDecoder(resp.Body).Decode(&in)
}

// session returns a session with the pod alone, opened on first use.
func (ps *statefulPods) session(pod string) *session {
	ps.t.Helper()
	ps.mu.Lock()
	s := ps.sessions[pod]
	ps.mu.Unlock()
	if s == nil {
		s = connect(ps.t, ps.clientAddr, pod)
		ps.mu.Lock()
		ps.sessions[pod] = s
		ps.mu.Unlock()
	}
	return s
}

var configLine = regexp.MustCompile(`^server\.(\d+)=([^:;]+):(\d+):(\d+):(participant|observer);`)

// config reads /zookeeper/config through a pod, after a sync, and returns its server lines
// as id -> "host:peerPort:electionPort:role".
func (ps *statefulPods) config(pod string) (map[int64]string, error) {
	s := ps.session(pod)
	if _, err := s.Sync("/zookeeper/config"); err != nil {
		return nil, err
	}
	data, _, err := s.Get("/zookeeper/config")
	if err != nil {
		return nil, err
	}
	out := map[int64]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if m := configLine.FindStringSubmatch(l); m != nil {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			out[id] = strings.Join(m[2:], ":")
		}
	}
	return out, nil
}

// waitMembers waits until every pod of the given ordinals is the member its ordinal
// makes it (its id, taken from its hostname, and its stable name), and /zookeeper/config
// read through it lists exactly these pods, as participants at their stable names.
func (ps *statefulPods) waitMembers(timeout time.Duration, ordinals ...int) {
	ps.t.Helper()
	peer, election := "2888", "3888" // the defaults; the manifest sets no PADDOCK_*_PORT
	if n, err := ps.port("quorum"); err == nil {
		peer = strconv.Itoa(n)
	}
	if n, err := ps.port("election"); err == nil {
		election = strconv.Itoa(n)
	}
	want := map[int64]string{}
	for _, o := range ordinals {
		want[ps.memberID(o)] = strings.Join([]string{ps.stableName(o), peer, election, "participant"}, ":")
	}
	harness.CheckFor(ps.t, timeout, func() error {
		for _, o := range ordinals {
			pod := ps.podName(o)
			in, err := ps.info(pod)
			if err != nil {
				return fmt.Errorf("%s: %v", pod, err)
			}
			if in.ID != ps.memberID(o) || in.IDFrom != assemble.FromHostname || in.Host != ps.stableName(o) || in.Phase != assemble.PhaseMember {
				return fmt.Errorf("%s: /assemble says id %d (from %q), host %q, phase %s; want id %d from its hostname, host %s, a member",
					pod, in.ID, in.IDFrom, in.Host, in.Phase, ps.memberID(o), ps.stableName(o))
			}
			got, err := ps.config(pod)
			if err != nil {
				return fmt.Errorf("%s: /zookeeper/config: %v", pod, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("/zookeeper/config through %s lists %v, want %v", pod, got, want)
			}
		}
		return nil
	})
}

// mode asks a pod's srvr word for its Mode line.
func (ps *statefulPods) mode(pod string) (string, error) {
	addr, err := ps.clientAddr(pod)
	if err != nil {
		return "", err
	}
	return srvrMode(addr)
}

// waitLeader waits until exactly one of the pods leads and the others follow, and
// returns the leader.
func (ps *statefulPods) waitLeader(timeout time.Duration, ordinals ...int) string {
	ps.t.Helper()
	var leader string
	harness.CheckFor(ps.t, timeout, func() error {
		var leaders, modes []string
		for _, pod := range ps.podNames(ordinals...) {
			m, err := ps.mode(pod)
			if err != nil {
				m = err.Error()
			}
			modes = append(modes, pod+"="+m)
			switch m {
			case "leader":
				leaders = append(leaders, pod)
			case "follower":
			default:
				return fmt.Errorf("%s", strings.Join(modes, ", "))
			}
		}
		if len(leaders) != 1 {
			return fmt.Errorf("want one leader: %s", strings.Join(modes, ", "))
		}
		leader = leaders[0]
		return nil
	})
	return leader
}

// checkChildren verifies, through the pod after a sync, that the children of root are
// exactly want.
func (ps *statefulPods) checkChildren(pod, root string, want []string) {
	ps.t.Helper()
	compareChildren(ps.t, pod, ps.session(pod), root, want, nil)
}

// remove deletes the pods' containers, the network and the volumes. On a failed test it
// logs each pod's last log lines first.
func (ps *statefulPods) remove() {
	ps.mu.Lock()
	ids := maps.Clone(ps.ids)
	ps.mu.Unlock()
	if ps.t.Failed() {
		for _, pod := range slices.Sorted(maps.Keys(ids)) {
			out, _ := dockerCmd("logs", "--tail", "60", ids[pod])
			ps.t.Logf("pod %s, last log lines:\n%s", pod, out)
		}
	}
	for _, err := range removeLabeled(ps.label) {
		ps.t.Errorf("cleanup: %v", err)
	}
}

// expandK8s expands $(VAR) in s as Kubernetes expands env values, command and args:
// $(VAR) is VAR's value if vars has it and stays as it is otherwise, and $$ is $.
func expandK8s(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			ref := s[i : i+3+end]
			if v, ok := vars[s[i+2:i+2+end]]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(ref)
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// redacted returns env with the values of the named variables hidden.
func redacted(env, secret []string) []string {
	out := make([]string, len(env))
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(secret, k) {
			kv = k + "=(secret)"
		}
		out[i] = kv
	}
	return out
}
