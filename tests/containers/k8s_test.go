package containers

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// k8sObjects are the manifests of deploy/k8s, decoded strictly: a field the API types do
// not have (a typo, a wrong level of indentation) is an error, as it is for
// `kubectl apply --validate=strict`.
type k8sObjects struct {
	statefulSets []*appsv1.StatefulSet
	services     []*corev1.Service
	pdbs         []*policyv1.PodDisruptionBudget
}

func loadManifests(t *testing.T, dir string) k8sObjects {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	var objs k8sObjects
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitYAML(data) {
			where := fmt.Sprintf("%s, document %d", filepath.Base(f), i+1)
			var meta struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			var obj any
			switch meta.APIVersion + " " + meta.Kind {
			case "apps/v1 StatefulSet":
				s := &appsv1.StatefulSet{}
				objs.statefulSets, obj = append(objs.statefulSets, s), s
			case "v1 Service":
				s := &corev1.Service{}
				objs.services, obj = append(objs.services, s), s
			case "policy/v1 PodDisruptionBudget":
				p := &policyv1.PodDisruptionBudget{}
				objs.pdbs, obj = append(objs.pdbs, p), p
			default:
				t.Fatalf("%s: unexpected object %s %s", where, meta.APIVersion, meta.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
		}
	}
	return objs
}

// splitYAML splits a multi-document YAML file at its "---" lines, dropping documents
// that hold only comments.
func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if hasContent(cur.Bytes()) {
			docs = append(docs, slices.Clone(cur.Bytes()))
		}
		cur.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if strings.TrimRight(sc.Text(), " ") == "---" {
			flush()
			continue
		}
		cur.Write(sc.Bytes())
		cur.WriteByte('\n')
	}
	flush()
	return docs
}

func hasContent(doc []byte) bool {
	for _, l := range strings.Split(string(doc), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return true
		}
	}
	return false
}

// TestKubernetesManifests decodes deploy/k8s strictly against the k8s.io/api types and
// checks what an ensemble needs from them: stable peer names that resolve before members
// are ready, ids from the pod index, all members started at once, probes on /readyz and
// /healthz, one voluntary disruption at a time, one member per node, a non-root security
// context matching the image, and time for a clean shutdown.
func TestKubernetesManifests(t *testing.T) {
	objs := loadManifests(t, filepath.Join(repoRoot, "deploy", "k8s"))
	if len(objs.statefulSets) != 1 || len(objs.pdbs) != 1 || len(objs.services) != 2 {
		t.Fatalf("want 1 StatefulSet, 2 Services, 1 PodDisruptionBudget; have %d, %d, %d",
			len(objs.statefulSets), len(objs.services), len(objs.pdbs))
	}
	sts := objs.statefulSets[0]
	spec := sts.Spec
	pod := spec.Template.Spec
	podLabels := spec.Template.Labels
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("StatefulSet %s: "+format, append([]any{sts.Name}, args...)...)
	}
	if spec.Selector == nil || !selects(spec.Selector.MatchLabels, podLabels) {
		errorf("selector %v does not select the pod labels %v", spec.Selector, podLabels)
	}

	// The headless Service names the members and publishes them before they are ready.
	var headless, client *corev1.Service
	for _, s := range objs.services {
		if s.Spec.ClusterIP == corev1.ClusterIPNone {
			headless = s
		} else {
			client = s
		}
	}
	switch {
	case headless == nil || client == nil:
		t.Fatalf("want a headless and a client Service")
	case spec.ServiceName != headless.Name:
		errorf("serviceName %q is not the headless Service %q", spec.ServiceName, headless.Name)
	case !headless.Spec.PublishNotReadyAddresses:
		t.Errorf("headless Service %s: publishNotReadyAddresses must be true: members find their quorum through it before they are ready", headless.Name)
	}
	for _, s := range []*corev1.Service{headless, client} {
		if !selects(s.Spec.Selector, podLabels) {
			t.Errorf("Service %s selects %v, not the pods (%v)", s.Name, s.Spec.Selector, podLabels)
		}
		if !servesPort(s, 2181) {
			t.Errorf("Service %s has no port 2181", s.Name)
		}
	}

	// Members and their ids.
	replicas := int32(1)
	if spec.Replicas != nil {
		replicas = *spec.Replicas
	}
	if replicas < 3 || replicas%2 == 0 {
		errorf("replicas %d: want an odd number, at least 3", replicas)
	}
	start := int32(0)
	if spec.Ordinals != nil {
		start = spec.Ordinals.Start
	}
	if start < 1 {
		errorf("ordinals.start %d: a member's id (myid) is its pod index, and ids start at 1", start)
	}
	if spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		errorf("podManagementPolicy %q: want Parallel, or the first member waits forever to be ready without a quorum", spec.PodManagementPolicy)
	}
	if spec.UpdateStrategy.Type != "" && spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		errorf("updateStrategy %q: want RollingUpdate", spec.UpdateStrategy.Type)
	}

	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, have %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if f := env["ZOO_MY_ID"].ValueFrom; f == nil || f.FieldRef == nil || f.FieldRef.FieldPath != "metadata.labels['apps.kubernetes.io/pod-index']" {
		errorf("ZOO_MY_ID must come from the pod-index label, is %+v", env["ZOO_MY_ID"])
	}
	var want []string
	for i := start; i < start+replicas; i++ {
		want = append(want, fmt.Sprintf("server.%d=%s-%d.%s:2888:3888;2181", i, sts.Name, i, headless.Name))
	}
	if got := strings.Fields(env["ZOO_SERVERS"].Value); !slices.Equal(got, want) {
		errorf("ZOO_SERVERS %q, want one line per pod through the headless Service: %q", got, want)
	}
	if !slices.Contains(strings.Fields(env["ZOO_CFG_EXTRA"].Value), "quorumListenOnAllIPs=true") {
		errorf("ZOO_CFG_EXTRA %q lacks quorumListenOnAllIPs=true: a pod's own name resolves only some time after it starts", env["ZOO_CFG_EXTRA"].Value)
	}

	// Ports: the image's, by name, which the probes and Services use.
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	exposed := dockerfileExposed(t)
	for name, p := range map[string]int32{"client": 2181, "quorum": 2888, "election": 3888, "admin": 8080} {
		if ports[name] != p {
			errorf("container port %q = %d, want %d", name, ports[name], p)
		}
		if !slices.Contains(exposed, int(p)) {
			t.Errorf("the Dockerfile does not EXPOSE %d", p)
		}
	}

	// Probes.
	probe := func(what string, p *corev1.Probe, path string) {
		t.Helper()
		switch {
		case p == nil:
			errorf("no %s probe", what)
		case p.HTTPGet == nil:
			errorf("%s probe is not an HTTP GET", what)
		case p.HTTPGet.Path != path:
			errorf("%s probe path %q, want %q", what, p.HTTPGet.Path, path)
		case p.HTTPGet.Port.String() != "admin" && p.HTTPGet.Port.IntValue() != 8080:
			errorf("%s probe port %s, want the admin port", what, p.HTTPGet.Port.String())
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	if c.StartupProbe != nil {
		probe("startup", c.StartupProbe, "/healthz")
	}

	// Security: non-root, the image's uid, volumes writable by it.
	psc, csc := pod.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		errorf("pod securityContext must set runAsNonRoot: true")
	}
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != 1000 || psc.FSGroup == nil || *psc.FSGroup != 1000 {
		errorf("pod securityContext must run as the image's uid 1000 with fsGroup 1000 (the volumes' group)")
	}
	if user := dockerfileUser(t); user != "1000:1000" {
		t.Errorf("the Dockerfile's USER is %q, the manifests assume 1000:1000", user)
	}
	if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
		csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
		csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") {
		errorf("container securityContext must forbid privilege escalation, drop ALL capabilities and make the root file system read-only")
	}

	// Storage: /data and /datalog on claims of their own.
	claims := map[string]bool{}
	for _, v := range spec.VolumeClaimTemplates {
		claims[v.Name] = true
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	for _, dir := range []string{"/data", "/datalog"} {
		if !claims[mounts[dir]] {
			errorf("%s is not on a volume claim template (mounts %v)", dir, mounts)
		}
	}

	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		errorf("enableServiceLinks must be false: the Services would inject PADDOCK_* variables")
	}

	// Shutdown and placement.
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < 20 {
		errorf("terminationGracePeriodSeconds %v: want at least 20 for a leader to hand over", g)
	}
	aa := pod.Affinity
	if aa == nil || aa.PodAntiAffinity == nil {
		errorf("no pod anti-affinity")
	} else {
		terms := aa.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		for _, w := range aa.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
		ok := false
		for _, term := range terms {
			if term.TopologyKey == "kubernetes.io/hostname" && term.LabelSelector != nil && selects(term.LabelSelector.MatchLabels, podLabels) {
				ok = true
			}
		}
		if !ok {
			errorf("pod anti-affinity does not keep members on different nodes: %+v", aa.PodAntiAffinity)
		}
	}

	// Disruptions: one member at a time.
	pdb := objs.pdbs[0]
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.String() != "1" {
		t.Errorf("PodDisruptionBudget %s: maxUnavailable %v, want 1", pdb.Name, pdb.Spec.MaxUnavailable)
	}
	if pdb.Spec.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget %s: sets minAvailable too", pdb.Name)
	}
	if pdb.Spec.Selector == nil || !selects(pdb.Spec.Selector.MatchLabels, podLabels) {
		t.Errorf("PodDisruptionBudget %s selects %v, not the pods (%v)", pdb.Name, pdb.Spec.Selector, podLabels)
	}
}

// TestStrictDecodingRejects makes sure the decoding above would catch a mistake.
func TestStrictDecodingRejects(t *testing.T) {
	bad := []byte("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: x\nspec:\n  maxUnavailble: 1\n")
	if err := yaml.UnmarshalStrict(bad, &policyv1.PodDisruptionBudget{}); err == nil {
		t.Fatal("a misspelt field decoded without an error")
	}
}

// selects reports whether a label selector's matchLabels (non-empty) all hold in labels.
func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func servesPort(s *corev1.Service, port int32) bool {
	for _, p := range s.Spec.Ports {
		if p.Port == port {
			return true
		}
	}
	return false
}

// dockerfile returns the image's Dockerfile with continuation lines joined.
func dockerfile(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "image", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return lines
}

func dockerfileUser(t *testing.T) string {
	for _, l := range dockerfile(t) {
		if u, ok := strings.CutPrefix(l, "USER "); ok {
			return strings.TrimSpace(u)
		}
	}
	return ""
}

var portRE = regexp.MustCompile(`\d+`)

func dockerfileExposed(t *testing.T) []int {
	var ports []int
	for _, l := range dockerfile(t) {
		if e, ok := strings.CutPrefix(l, "EXPOSE "); ok {
			for _, p := range portRE.FindAllString(e, -1) {
				n, _ := strconv.Atoi(p)
				ports = append(ports, n)
			}
		}
	}
	return ports
}
