package containers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoRoot is the repository, two levels up from this package.
var repoRoot = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}()

// engine is what TestMain found out about the Docker engine.
var engine struct {
	err     error  // why there is no usable engine, nil when there is one
	version string // the engine's version
}

// built is the image built for this test process, removed by TestMain at the end.
var built struct {
	once sync.Once
	tag  string
	err  error
	log  string

	logged sync.Once
}

// logOnce logs msg in the first test that gets here.
func logOnce(t *testing.T, once *sync.Once, msg string) {
	once.Do(func() { t.Log(msg) })
}

func TestMain(m *testing.M) {
	engine.version, engine.err = probeEngine()
	code := m.Run()
	if built.tag != "" && built.err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		exec.CommandContext(ctx, "docker", "image", "rm", "--force", built.tag).Run()
		cancel()
	}
	os.Exit(code)
}

// probeEngine asks the engine for its version through the docker CLI.
func probeEngine() (string, error) {
	if _, err := exec.LookPath("docker"); err != nil {
		sock := "/var/run/docker.sock"
		if h := os.Getenv("DOCKER_HOST"); h != "" {
			sock = h
		}
		return "", fmt.Errorf("the docker CLI is not installed (engine socket %s)", sock)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker version: %v: %s", err, firstLine(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// needDocker skips the test when no Docker engine is reachable, and only then.
func needDocker(t *testing.T) {
	t.Helper()
	if engine.err != nil {
		t.Skipf("no Docker engine reachable, skipping: %v", engine.err)
	}
}

// image returns the tag of the paddock image, building it on first use with
// deploy/image/build.sh (the script `make image` runs): go build, then docker build.
func image(t *testing.T) string {
	t.Helper()
	needDocker(t)
	built.once.Do(func() {
		built.tag = "paddock:test-" + randomName(6)
		dir, err := os.MkdirTemp("", "paddock-image-")
		if err != nil {
			built.err = err
			return
		}
		defer os.RemoveAll(dir)
		env := []string{"IMAGE_CONTEXT=" + filepath.Join(dir, "context")}
		if gobin, err := exec.LookPath("go"); err == nil {
			env = append(env, "GO="+gobin)
		}
		start := time.Now()
		built.log, built.err = run(5*time.Minute, env, "sh", filepath.Join(repoRoot, "deploy", "image", "build.sh"), built.tag)
		if built.err == nil {
			built.log = fmt.Sprintf("built %s in %v", built.tag, time.Since(start).Round(time.Millisecond))
		}
	})
	if built.err != nil {
		t.Fatalf("building the image: %v", built.err)
	}
	logOnce(t, &built.logged, built.log)
	return built.tag
}

// run runs a command with a deadline and returns its combined output; the error carries
// the output's tail.
func run(timeout time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v", timeout)
	}
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(out.String(), 40))
	}
	return out.String(), nil
}

// dockerCmd runs the docker CLI with a one-minute deadline.
func dockerCmd(args ...string) (string, error) {
	return run(time.Minute, nil, "docker", args...)
}

// portRace reports whether err is Docker failing to publish a port because another
// process took the host port it picked: the daemon hands out host ports from the kernel's
// ephemeral range without holding them, so a port that a concurrent test's socket just got
// fails the container's start. The daemon picks another port when asked again.
func portRace(err error) bool {
	return err != nil && strings.Contains(err.Error(), "address already in use")
}

// retryPortRace runs f until it succeeds, fails for another reason, or lost the port race
// of portRace five times.
func retryPortRace(t *testing.T, f func() (string, error)) (string, error) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		out, err := f()
		if !portRace(err) || attempt == 5 {
			return out, err
		}
		t.Logf("a published port was taken by another process meanwhile; trying again: %v", firstLine(err.Error()))
	}
}

// startContainer starts a stopped container (published ports included: see portRace).
func startContainer(t *testing.T, id string) {
	t.Helper()
	if _, err := retryPortRace(t, func() (string, error) { return dockerCmd("start", id) }); err != nil {
		t.Fatal(err)
	}
}

// mustDocker runs the docker CLI and fails the test on an error.
func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := dockerCmd(args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// randomName returns n random bytes in hex: lowercase letters and digits, valid in Compose
// project, Swarm stack, network and image names.
func randomName(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// composeCmd is how this machine runs Compose: the docker CLI plugin or docker-compose.
var composeCmd = sync.OnceValues(func() ([]string, error) {
	if _, err := run(20*time.Second, nil, "docker", "compose", "version"); err == nil {
		return []string{"docker", "compose"}, nil
	}
	if _, err := run(20*time.Second, nil, "docker-compose", "version"); err == nil {
		return []string{"docker-compose"}, nil
	}
	return nil, errors.New("the Docker engine is reachable but neither `docker compose` nor docker-compose works")
})

// containerHealth runs the image's health probe inside a container (readiness, or
// liveness with --live) and returns nil when it passes, else the probe's one-line reason.
func containerHealth(id string, args ...string) error {
	out, err := run(20*time.Second, nil, "docker", append([]string{"exec", id, "/paddock", "health"}, args...)...)
	if err != nil {
		if out = strings.TrimSpace(out); out != "" {
			return errors.New(firstLine(out))
		}
		return err
	}
	return nil
}

// hostPort returns the address on this machine that a container's published port maps
// to, or an error while the container is not running.
func hostPort(id string, port int) (string, error) {
	out, err := dockerCmd("port", id, fmt.Sprintf("%d/tcp", port))
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		// "0.0.0.0:32768" or "[::]:32768"; the engine listens on every address.
		if i := strings.LastIndexByte(l, ':'); i > 0 && !strings.HasPrefix(l, "[") {
			return "127.0.0.1" + l[i:], nil
		}
	}
	return "", fmt.Errorf("container %.12s publishes no port %d: %q", id, port, out)
}

// restartCount is how many times the engine restarted a container after it exited.
func restartCount(t *testing.T, id string) string {
	t.Helper()
	return mustDocker(t, "inspect", "--format", "{{.RestartCount}}", id)
}

// removeLabeled removes the containers (with their anonymous volumes), networks and volumes
// that carry label (key=value), and returns what failed.
func removeLabeled(label string) []error {
	var errs []error
	for _, c := range [][2][]string{
		{{"container", "ls", "--all", "--quiet"}, {"container", "rm", "--force", "--volumes"}},
		{{"network", "ls", "--quiet"}, {"network", "rm"}},
		{{"volume", "ls", "--quiet"}, {"volume", "rm", "--force"}},
	} {
		out, err := dockerCmd(append(c[0], "--filter", "label="+label)...)
		if err != nil || strings.TrimSpace(out) == "" {
			continue
		}
		if _, err := dockerCmd(append(c[1], strings.Fields(out)...)...); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
