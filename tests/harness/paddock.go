package harness

import (
	"bytes"
	"errors"
	"fmt"
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

// PaddockPackage is the package StartPaddock builds when PADDOCK_BIN is not set.
const (
	modulePath     = "github.com/paddock/paddock"
	PaddockPackage = modulePath + "/cmd/paddock"
)

// PaddockOptions configures StartPaddock. The fields shared with ZKOptions mean the same and
// produce the same zoo.cfg.
type PaddockOptions struct {
	// TickTime is zoo.cfg's tickTime; 0 means 2 s.
	TickTime time.Duration
	// Config holds extra zoo.cfg lines ("key=value"), after the generated ones.
	Config []string
	// Properties are what ZooKeeper takes as -D system properties; paddock gets them as
	// zoo.cfg keys, "zookeeper.x" written as "x" as ZooKeeper itself would read it.
	Properties map[string]string
	// AdminServer enables the admin HTTP server on an ephemeral port (Server.AdminAddr).
	AdminServer bool
	// Args are appended to "paddock server --config <zoo.cfg>".
	Args []string
	// Env holds extra environment variables ("KEY=value") for the server.
	Env []string
	// StartTimeout bounds the wait for readiness; 0 means 30 s.
	StartTimeout time.Duration
}

// StartPaddock starts `paddock server --config <generated zoo.cfg>` in a fresh t.TempDir on
// an ephemeral loopback port and returns once it answers ruok with imok and grants a
// session. A t.Cleanup kills it. The binary comes from PaddockBinary, which skips the test
// while cmd/paddock cannot be built for want of Go files.
func StartPaddock(t testing.TB, opts PaddockOptions) *Server {
	t.Helper()
	bin := PaddockBinary(t)
	s := newServer(t, "paddock", opts.TickTime, opts.StartTimeout, opts.Config, opts.Properties, opts.AdminServer)
	args := append([]string{"server", "--config", s.cfgPath}, opts.Args...)
	env := append(os.Environ(), opts.Env...)
	s.command = func() *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		return cmd
	}
	s.startOrFail()
	return s
}

// build is the once-per-process build of cmd/paddock.
var build struct {
	once sync.Once
	path string
	skip string // non-empty: cmd/paddock does not exist yet
	err  error
}

// PaddockBinary returns the paddock binary the harness runs: $PADDOCK_BIN, or cmd/paddock
// built once per test process into a temporary directory. It skips the test while
// cmd/paddock or a package of this module it imports has no Go files yet, and fails it on
// any other build error. Safe for concurrent use.
func PaddockBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PADDOCK_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("harness: PADDOCK_BIN: %v", err)
		}
		return p
	}
	build.once.Do(func() { build.path, build.skip, build.err = buildPaddock() })
	if build.skip != "" {
		t.Skip(build.skip)
	}
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// buildDirPrefix names the per-process directories that hold built binaries, so that a
// later process can remove those of processes that are gone.
const buildDirPrefix = "paddock-harness-"

func buildPaddock() (path, skip string, err error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", "", fmt.Errorf("harness: building paddock: %w", err)
	}
	sweepBuildDirs()
	dir := filepath.Join(os.TempDir(), buildDirPrefix+strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	path = filepath.Join(dir, "paddock")
	out, err := exec.Command(goBin, "build", "-o", path, PaddockPackage).CombinedOutput()
	if err == nil {
		return path, "", nil
	}
	os.RemoveAll(dir)
	if notYetWritten(out) {
		return "", "paddock binary not built yet: " + strings.TrimSpace(firstLine(out)), nil
	}
	return "", "", fmt.Errorf("harness: go build %s: %v\n%s", PaddockPackage, err, out)
}

// notYetWritten reports whether go build failed only because packages of this module do not
// exist yet (cmd/paddock itself, or a package it imports that has no Go files so far), as
// opposed to a compile error or a missing third-party module, which are real failures.
func notYetWritten(out []byte) bool {
	missing := false
	for _, l := range strings.Split(string(out), "\n") {
		if l == "" || l[0] == ' ' || l[0] == '\t' {
			continue // blank, or the "go get ..." advice under an error
		}
		switch {
		case strings.Contains(l, "no required module provides package "+modulePath+"/"),
			strings.Contains(l, "no Go files in "),
			strings.Contains(l, "build constraints exclude all Go files in "):
			missing = true
		default:
			return false
		}
	}
	return missing
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

// sweepBuildDirs removes the binary directories of earlier test processes that have
// exited, so building once per process does not fill the temporary directory.
func sweepBuildDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), buildDirPrefix+"*"))
	for _, m := range matches {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(m), buildDirPrefix))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(m)
		}
	}
}
