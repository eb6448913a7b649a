package thirdparty

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/paddock/paddock/tests/harness"
)

// cliMTTimeout bounds the wait for one command's output.
const cliMTTimeout = 10 * time.Second

// cli_mt runs every command asynchronously and prints results from its completion thread, so
// the driver follows each command with a sync of this path and takes everything printed
// before the sync's completion as the command's output. The server answers a session's
// requests in order, and the C client runs completions and watch events in the order it
// received them, so the cut is exact.
const (
	cliMTMarker     = "sync /zookeeper"
	cliMTMarkerDone = "[/zookeeper]: rc = "
	cliMTMarkerName = "\tname = /zookeeper"
)

// TestCliMT drives the C client's shell through testdata/climt.txt, one command at a time.
func TestCliMT(t *testing.T) {
	if _, err := os.Stat(harness.CliMT); err != nil {
		t.Skipf("cli_mt not installed: run make deps (%v)", err)
	}
	tr := readTranscript(t, "testdata/climt.txt")
	forEachTarget(t, serverOpts{}, func(t *testing.T, tg string, srv *harness.Server) {
		c := startCliMT(t, srv.Addr())
		var got [][]string
		for _, s := range tr.steps {
			if s.cmd == "quit" {
				got = append(got, c.quit())
				continue
			}
			got = append(got, c.do(s.cmd))
		}
		tr.check(t, tg, got)
	})
}

// cliMT is one running cli_mt process.
type cliMT struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // stdout and stderr, line by line; closed when both are closed
	norm  *normalizer
}

// startCliMT starts `cli_mt host:port` and waits for its session.
func startCliMT(t *testing.T, addr string) *cliMT {
	t.Helper()
	cmd := exec.Command(harness.CliMT, addr)
	cmd.Env = append(os.Environ(), "TZ=UTC") // dumpStat prints local times
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	c := &cliMT{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 1024), norm: newNormalizer(addr)}
	go func() {
		defer close(c.lines)
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c.readUntil(func(l string) bool { return strings.HasPrefix(l, "Got a new session id: ") })
	return c
}

// do sends one command and returns its normalized output.
func (c *cliMT) do(cmd string) []string {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, cmd+"\n"+cliMTMarker+"\n"); err != nil {
		c.t.Fatalf("cli_mt: writing %q: %v", cmd, err)
	}
	out := c.readUntil(func(l string) bool { return strings.HasPrefix(l, cliMTMarkerDone) })
	done := out[len(out)-1]
	out = out[:len(out)-1]
	if done != cliMTMarkerDone+"0" {
		c.t.Fatalf("cli_mt: marker sync after %q failed: %q; output: %q", cmd, done, out)
	}
	if name := c.readUntil(func(string) bool { return true }); name[0] != cliMTMarkerName {
		c.t.Fatalf("cli_mt: marker sync printed %q", name[0])
	}
	out = c.normalize(out)
	if f := strings.Fields(cmd); f[0] == "ls" || f[0] == "ls2" {
		// Children come in the server's order, which for ZooKeeper is a Java hash set's.
		sortRuns(out, func(l string) bool { return strings.HasPrefix(l, "\t") && !strings.Contains(l, "=") })
	}
	return out
}

// quit sends quit, closes stdin and returns what cli_mt prints until it exits.
func (c *cliMT) quit() []string {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, "quit\n"); err != nil {
		c.t.Fatalf("cli_mt: writing quit: %v", err)
	}
	c.stdin.Close()
	var out []string
	deadline := time.After(cliMTTimeout)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				if err := c.cmd.Wait(); err != nil {
					out = append(out, "[exit: "+err.Error()+"]")
				}
				return c.normalize(out)
			}
			out = append(out, l)
		case <-deadline:
			c.t.Fatalf("cli_mt: no exit within %v after quit; output: %q", cliMTTimeout, out)
		}
	}
}

// readUntil returns the lines read up to and including the first one stop accepts.
func (c *cliMT) readUntil(stop func(string) bool) []string {
	c.t.Helper()
	var out []string
	deadline := time.After(cliMTTimeout)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("cli_mt exited; output: %q", out)
			}
			out = append(out, l)
			if stop(l) {
				return out
			}
		case <-deadline:
			c.t.Fatalf("cli_mt: nothing conclusive within %v; output: %q", cliMTTimeout, out)
		}
	}
}

func (c *cliMT) normalize(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			out = append(out, c.norm.line(l))
		}
	}
	return out
}
