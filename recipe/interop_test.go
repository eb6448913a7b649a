package recipe_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paddock/paddock/recipe"
)

// curatorJars are the Debian jars the Java peer is compiled against; their manifests' Class-Path
// brings in the rest (ZooKeeper's jute, Guava, SLF4J, Jackson).
var curatorJars = []string{
	"/usr/share/java/curator-recipes.jar",
	"/usr/share/java/curator-framework.jar",
	"/usr/share/java/curator-client.jar",
	"/usr/share/java/curator-x-discovery.jar",
	"/usr/share/java/zookeeper.jar",
}

// javaPeer compiles testdata/CuratorPeer.java and returns the classpath to run it with. It
// skips the test when javac, java or a jar is missing.
func javaPeer(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"javac", "java"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the Curator interop tests need a JDK (Debian: default-jdk-headless; make deps)", tool)
		}
	}
	for _, jar := range curatorJars {
		if _, err := os.Stat(jar); errors.Is(err, fs.ErrNotExist) {
			t.Skipf("%s missing: the Curator interop tests need Debian's libcurator-recipes-java and libcurator-discovery-java (make deps)", jar)
		}
	}
	dir := t.TempDir()
	cp := strings.Join(curatorJars, ":")
	out, err := exec.Command("javac", "-d", dir, "-cp", cp, filepath.Join("testdata", "CuratorPeer.java")).CombinedOutput()
	if err != nil {
		t.Fatalf("javac CuratorPeer.java: %v\n%s", err, out)
	}
	return dir + ":" + cp
}

// peer is a running Java peer.
type peer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // its standard output, closed at EOF
	exitc chan error
	errb  strings.Builder
	mu    sync.Mutex
	all   []string
}

func startPeer(t *testing.T, cp string, args ...string) *peer {
	t.Helper()
	cmd := exec.Command("java", append([]string{"-cp", cp, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "CuratorPeer"}, args...)...)
	p := &peer{cmd: cmd, lines: make(chan string, 1024), exitc: make(chan error, 1)}
	cmd.Stderr = &lockedWriter{w: &p.errb, mu: &p.mu}
	var err error
	p.stdin, err = cmd.StdinPipe()
	must(t, err)
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.all = append(p.all, sc.Text())
			p.mu.Unlock()
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.exitc <- cmd.Wait()
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		select {
		case <-p.exitc:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("java %s: stdout:\n%s\nstderr (tail):\n%s", args[0], strings.Join(p.all, "\n"), tail(p.errb.String(), 3000))
			p.mu.Unlock()
		}
	})
	return p
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// expect reads lines until one starts with prefix, and returns it.
func (p *peer) expect(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(waitTime)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("java peer ended without printing %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("java peer printed no %q within %v", prefix, waitTime)
		}
	}
}

// output returns every line printed so far.
func (p *peer) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.all)
}

// holdMarker owns the marker file for a moment, as the Java peer's hold does: creating it
// fails if the other side holds it at the same time.
func holdMarker(marker string) error {
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("VIOLATION: %v", err)
	}
	f.Close()
	time.Sleep(time.Duration(2+rand.IntN(13)) * time.Millisecond) // hold it a moment, for overlaps to show
	return os.Remove(marker)
}

// TestCuratorInterop runs Apache Curator 5.4 (Java) and the Go recipes on the same nodes, on
// ZooKeeper and on paddock: they exclude each other on one mutex and one leader latch, and
// each discovers the services the other registered, byte for byte in Curator's format.
func TestCuratorInterop(t *testing.T) {
	cp := javaPeer(t)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			srv := tg.start(t)
			addr := srv.Addr()
			t.Run("Mutex", func(t *testing.T) { interopMutex(t, cp, addr) })
			t.Run("LeaderLatch", func(t *testing.T) { interopLatch(t, cp, addr) })
			t.Run("Discovery", func(t *testing.T) { interopDiscovery(t, cp, addr) })
		})
	}
}

func interopMutex(t *testing.T, cp, addr string) {
	const path = "/interop/mutex"
	marker := filepath.Join(t.TempDir(), "marker")
	const javaRounds = 15
	j := startPeer(t, cp, "mutex", addr, path, fmt.Sprint(javaRounds), marker)
	j.expect(t, "READY")
	s := session(t, addr, recipe.SessionOptions{})
	watcher := connect(t, addr)

	var javaDone atomic.Bool
	var goRounds atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := recipe.NewMutex(s, path)
			for n := 0; n < 10 || !javaDone.Load(); n++ {
				if err := m.Lock(ctx(t)); err != nil {
					errc <- err
					return
				}
				err := holdMarker(marker)
				if uerr := m.Unlock(ctx(t)); err == nil {
					err = uerr
				}
				if err != nil {
					errc <- err
					return
				}
				goRounds.Add(1)
			}
		}()
	}
	// Meanwhile, every lock node, Java's and Go's alike, has Curator's name.
	seen := map[string]bool{}
	names := func() {
		for _, k := range children(t, watcher, path) {
			seen[k] = true
		}
	}
	javaLocked := 0
	for l := range j.lines {
		names()
		if strings.HasPrefix(l, "LOCKED") {
			javaLocked++
		}
		if l == "DONE" {
			break
		}
	}
	javaDone.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for _, l := range j.output() {
		if strings.HasPrefix(l, "VIOLATION") {
			t.Errorf("java: %s", l)
		}
	}
	if javaLocked != javaRounds || goRounds.Load() < 20 {
		t.Errorf("java locked %d times (want %d), go %d times", javaLocked, javaRounds, goRounds.Load())
	}
	for k := range seen {
		if !lockNodeName.MatchString(k) {
			t.Errorf("lock node %q is not named as Curator names it", k)
		}
	}
	if len(seen) == 0 {
		t.Error("never saw a lock node")
	}
}

func interopLatch(t *testing.T, cp, addr string) {
	const path = "/interop/latch"
	marker := filepath.Join(t.TempDir(), "marker")
	const javaRounds = 5
	j := startPeer(t, cp, "latch", addr, path, "java", fmt.Sprint(javaRounds), marker)
	j.expect(t, "READY")
	s := session(t, addr, recipe.SessionOptions{})

	var javaDone atomic.Bool
	var sawJava atomic.Bool
	var goRounds atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("go-", i)
			for n := 0; n < 3 || !javaDone.Load(); n++ {
				l := recipe.NewLeaderLatch(s, path, recipe.LatchOptions{ID: id})
				if err := l.Start(); err != nil {
					errc <- err
					return
				}
				if ps, err := l.Participants(ctx(t)); err == nil {
					for _, p := range ps {
						if p.ID == "java" {
							sawJava.Store(true)
						}
					}
				}
				err := l.Await(ctx(t))
				if err == nil {
					var p recipe.Participant
					p, err = l.Leader(ctx(t))
					if err == nil && p.ID != id {
						err = fmt.Errorf("leader %q while %s leads", p.ID, id)
					}
				}
				if err == nil {
					err = holdMarker(marker)
				}
				if cerr := l.Close(ctx(t)); err == nil {
					err = cerr
				}
				if err != nil {
					errc <- err
					return
				}
				goRounds.Add(1)
			}
		}()
	}
	led := 0
	for l := range j.lines {
		if strings.HasPrefix(l, "LEADER") {
			led++
			if !strings.HasSuffix(l, " java") {
				t.Errorf("java led and read the leader's id as: %s", l)
			}
		}
		if l == "DONE" {
			break
		}
	}
	javaDone.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for _, l := range j.output() {
		if strings.HasPrefix(l, "VIOLATION") {
			t.Errorf("java: %s", l)
		}
	}
	if led != javaRounds || goRounds.Load() < 6 || !sawJava.Load() {
		t.Errorf("java led %d times (want %d), go %d times; go saw java participate: %v", led, javaRounds, goRounds.Load(), sawJava.Load())
	}
}

func interopDiscovery(t *testing.T, cp, addr string) {
	const base = "/interop/services"
	j := startPeer(t, cp, "register", addr, base, "svc", "java-1", "9001", "from-java")
	j.expect(t, "REGISTERED")
	s := session(t, addr, recipe.SessionOptions{})
	c := connect(t, addr)
	d := recipe.NewServiceDiscovery(s, base, recipe.DiscoveryOptions{})
	must(t, d.Start(ctx(t)))

	// Go reads Java's instance, and writes it back byte for byte.
	inst, ok, err := d.QueryForInstance(ctx(t), "svc", "java-1")
	if err != nil || !ok {
		t.Fatalf("QueryForInstance(java-1) = %v %v", ok, err)
	}
	if inst.Address != "127.0.0.1" || inst.Port == nil || *inst.Port != 9001 || string(inst.Payload) != `"from-java"` ||
		inst.ServiceType != recipe.ServiceDynamic || !inst.Enabled || inst.URISpec == nil ||
		inst.URISpec.Build(&inst, nil) != "http://127.0.0.1:9001/java" {
		t.Errorf("java's instance read as %+v", inst)
	}
	raw, _, err := c.GetData(ctx(t), base+"/svc/java-1")
	must(t, err)
	if got := inst.MarshalCurator(false); string(got) != string(raw) {
		t.Errorf("java wrote\n%s\ngo writes the same instance as\n%s", raw, got)
	}

	// Java reads Go's instance, and writes it back byte for byte.
	mine := recipe.NewServiceInstance("svc", "127.0.0.1", 9002)
	mine.ID = "go-1"
	mine.Payload = json.RawMessage(`"from-go"`)
	mine.URISpec, err = recipe.ParseURISpec("{scheme}://{address}:{port}/go")
	must(t, err)
	must(t, d.RegisterService(ctx(t), mine))
	q := startPeer(t, cp, "query", addr, base, "svc")
	var rawLine, jsonLine string
	for l := range q.lines {
		if strings.HasPrefix(l, "INSTANCE go-1 ") {
			if want := "INSTANCE go-1 127.0.0.1 9002 from-go DYNAMIC true http://127.0.0.1:9002/go"; l != want {
				t.Errorf("java read go's instance as\n%s\nwant\n%s", l, want)
			}
			rawLine = recv(t, q.lines, "RAW line")
			jsonLine = recv(t, q.lines, "JSON line")
		}
		if l == "DONE" {
			break
		}
	}
	if rawLine == "" {
		t.Fatalf("java did not find go's instance: %q", q.output())
	}
	if rawLine[len("RAW "):] != string(mine.MarshalCurator(false)) || jsonLine[len("JSON "):] != rawLine[len("RAW "):] {
		t.Errorf("go wrote\n%s\njava re-serializes it as\n%s", rawLine, jsonLine)
	}
	if !slices.ContainsFunc(q.output(), func(l string) bool { return strings.HasPrefix(l, "INSTANCE java-1 ") }) {
		t.Errorf("java's query lacks java-1: %q", q.output())
	}

	// Java unregisters when it ends.
	j.stdin.Close()
	j.expect(t, "DONE")
	insts, err := d.QueryForInstances(ctx(t), "svc")
	if err != nil || len(insts) != 1 || insts[0].ID != "go-1" {
		t.Errorf("after java unregistered: %+v %v", insts, err)
	}
	must(t, d.Close(context.Background()))
}
