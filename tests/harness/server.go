package harness

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	defaultTickTime     = 2 * time.Second
	defaultStartTimeout = 30 * time.Second
	stopTimeout         = 10 * time.Second
	probeTimeout        = 2 * time.Second
	fourLetterTimeout   = 5 * time.Second
	bindAttempts        = 5
	logTailBytes        = 64 << 10
)

// Server is one server process started by StartZooKeeper or StartPaddock: its port, data
// directory and log stay the same across Stop, Kill and Restart. Its methods are meant to
// be called from the test's goroutine; Addr and the other accessors are safe anywhere.
type Server struct {
	t        testing.TB
	kind     string // "zookeeper" or "paddock"
	dir      string
	cfgPath  string
	logPath  string
	timeout  time.Duration
	cfg      zooCfg
	command  func() *exec.Cmd // a fresh, unstarted command for one run of the server
	portsSet bool             // after the first successful start the ports never change

	mu   sync.Mutex
	proc *process // guarded by mu; nil while the server is not running
}

// process is one run of the server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited; err is set before
	err  error
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// newServer prepares a Server in a fresh t.TempDir and registers the cleanup that kills it
// and, if the test failed, prints its log.
func newServer(t testing.TB, kind string, tick, timeout time.Duration, extra []string, props map[string]string, admin bool) *Server {
	t.Helper()
	dir := t.TempDir()
	if tick == 0 {
		tick = defaultTickTime
	}
	if timeout == 0 {
		timeout = defaultStartTimeout
	}
	s := &Server{
		t:       t,
		kind:    kind,
		dir:     dir,
		cfgPath: filepath.Join(dir, "zoo.cfg"),
		logPath: filepath.Join(dir, kind+".log"),
		timeout: timeout,
		cfg: zooCfg{
			dataDir:  filepath.Join(dir, "data"),
			tickTime: tick,
			extra:    slices.Clone(extra),
			props:    maps.Clone(props),
		},
	}
	if admin {
		s.cfg.adminPort = -1 // chosen by start
	}
	if err := os.MkdirAll(s.cfg.dataDir, 0o755); err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("%s log %s (tail):\n%s", s.kind, s.logPath, s.logTail())
			// PADDOCK_KEEP_LOGS=dir keeps every failed test's server logs whole.
			if dir := os.Getenv("PADDOCK_KEEP_LOGS"); dir != "" {
				keepLog(t, dir, s.logPath)
			}
		}
	})
	return s
}

// Kind is "zookeeper" or "paddock".
func (s *Server) Kind() string { return s.kind }

// Addr is the client address, "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.port)) }

// Port is the client port.
func (s *Server) Port() int { return s.cfg.port }

// AdminAddr is the admin HTTP server's address, or "" when the options did not enable it.
func (s *Server) AdminAddr() string {
	if s.cfg.adminPort <= 0 {
		return ""
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.adminPort))
}

// Dir is the server's temporary directory (zoo.cfg, log, data).
func (s *Server) Dir() string { return s.dir }

// DataDir is zoo.cfg's dataDir.
func (s *Server) DataDir() string { return s.cfg.dataDir }

// ConfigPath is the generated zoo.cfg.
func (s *Server) ConfigPath() string { return s.cfgPath }

// LogPath is the file the server's stdout and stderr go to, across restarts.
func (s *Server) LogPath() string { return s.logPath }

// Running reports whether the server process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && !s.proc.exited()
}

// Pid is the server process's id, or 0 when it is not running.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || s.proc.exited() {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Signal sends sig to the server process (for example SIGSTOP and SIGCONT to freeze it).
func (s *Server) Signal(sig os.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return errors.New("harness: server not running")
	}
	return s.proc.cmd.Process.Signal(sig)
}

// Stop shuts the server down with SIGTERM and waits for it to exit, killing it if it has
// not within 10 s. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	p := s.take()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGCONT) // a frozen server cannot handle SIGTERM
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Kill kills the server with SIGKILL, as a crash would, and waits for it to exit. Killing a
// stopped server does nothing.
func (s *Server) Kill() {
	p := s.take()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Restart stops the server if it runs (gracefully, as Stop) and starts it again on the same
// port with the same data directory, waiting until it is ready. It fails the test if the
// server does not come back.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("harness: restarting %s: %v (its log follows at cleanup)", s.kind, err)
	}
}

// FourLetter sends a four-letter word ("ruok", "srvr", "mntr", ...) and returns the reply.
func (s *Server) FourLetter(cmd string) (string, error) {
	return fourLetter(s.Addr(), cmd, fourLetterTimeout)
}

// take detaches the running process, if any, so that exactly one caller ends it.
func (s *Server) take() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	s.proc = nil
	return p
}

// startOrFail is the first start; the cleanup prints the log if it fails.
func (s *Server) startOrFail() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("harness: starting %s: %v (its log follows at cleanup)", s.kind, err)
	}
}

// start runs the server until it is ready. Before the first successful start a bind failure
// moves the server to new ports; afterwards the ports are kept (clients know the address)
// and a bind failure is retried on the same port.
func (s *Server) start() error {
	var err error
	for attempt := 1; attempt <= bindAttempts; attempt++ {
		if !s.portsSet {
			if err := s.pickPorts(); err != nil {
				return err
			}
		}
		if err := os.WriteFile(s.cfgPath, s.cfg.render(s.kind), 0o644); err != nil {
			return err
		}
		var logStart int64
		if fi, statErr := os.Stat(s.logPath); statErr == nil {
			logStart = fi.Size()
		}
		var p *process
		p, err = s.spawn()
		if err != nil {
			return err
		}
		err = s.waitReady(p)
		if err == nil {
			s.portsSet = true
			return nil
		}
		s.Kill()
		if !s.bindFailed(logStart) {
			return err
		}
		if s.portsSet {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond) // let the holder go
		}
	}
	return fmt.Errorf("giving up after %d bind failures: %w", bindAttempts, err)
}

func (s *Server) pickPorts() error {
	p, err := freePort()
	if err != nil {
		return err
	}
	s.cfg.port = p
	if s.cfg.adminPort != 0 {
		if s.cfg.adminPort, err = freePort(); err != nil {
			return err
		}
	}
	return nil
}

// spawn starts one run of the server with its output appended to the log.
func (s *Server) spawn() (*process, error) {
	logf, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own copy
	cmd := s.command()
	cmd.Dir = s.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	fmt.Fprintf(logf, "=== harness %s: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return p, nil
}

// waitReady polls until the server answers ruok with imok and grants a session, the
// process exits, or the start timeout passes.
func (s *Server) waitReady(p *process) error {
	deadline := time.Now().Add(s.timeout)
	pause := minPoll
	for {
		if p.exited() {
			return fmt.Errorf("%s exited during startup: %v", s.kind, p.err)
		}
		err := s.probe()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %v: %v", s.kind, s.timeout, err)
		}
		select {
		case <-p.done:
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPoll)
	}
}

func (s *Server) probe() error {
	out, err := fourLetter(s.Addr(), "ruok", probeTimeout)
	if err != nil {
		return fmt.Errorf("ruok: %w", err)
	}
	if out != "imok" {
		return fmt.Errorf("ruok answered %q", out)
	}
	if err := probeSession(s.Addr(), probeTimeout); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return nil
}

// bindFailed reports whether the log written since offset says a port was taken.
func (s *Server) bindFailed(offset int64) bool {
	b, err := os.ReadFile(s.logPath)
	if err != nil || int64(len(b)) < offset {
		return false
	}
	return bytes.Contains(bytes.ToLower(b[offset:]), []byte("address already in use"))
}

// logTail returns the end of the log file.
func (s *Server) logTail() string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(log: %v)", err)
	}
	off := max(fi.Size()-logTailBytes, 0)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Sprintf("(log: %v)", err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(log: %v)", err)
	}
	if off > 0 {
		return "...\n" + string(b)
	}
	return string(b)
}

// keepLog copies the log at path into dir, under a name made of the test's and the file's.
func keepLog(t testing.TB, dir, path string) {
	b, err := os.ReadFile(path)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + "-" + filepath.Base(filepath.Dir(path)) + "-" + filepath.Base(path)
		err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	if err != nil {
		t.Logf("PADDOCK_KEEP_LOGS: %v", err)
	}
}
