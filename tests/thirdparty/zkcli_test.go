package thirdparty

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paddock/paddock/tests/harness"
)

// zkCliTimeout bounds one zkCli.sh process.
const zkCliTimeout = 30 * time.Second

// zkCliMarker is what zkCli prints for `printwatches` with watch printing on (the default).
// The session driver sends that command after every other one and splits the output on it:
// it is answered locally, in order with the commands' output.
const zkCliMarker = "printwatches is on"

// TestZkCliSession feeds one zkCli.sh session the commands of testdata/zkcli_session.txt on
// stdin and compares each command's output, and the watch events printed along the way.
func TestZkCliSession(t *testing.T) {
	requireZkCli(t)
	tr := readTranscript(t, "testdata/zkcli_session.txt")
	forEachTarget(t, serverOpts{}, func(t *testing.T, tg string, srv *harness.Server) {
		outs, events := runZkCliSession(t, srv.Addr(), tr.commands())
		var got [][]string
		for _, s := range tr.steps {
			switch s.cmd {
			case "(watch events)":
				got = append(got, events)
			default:
				if isPseudo(s.cmd) {
					t.Fatalf("unknown pseudo-command %q", s.cmd)
				}
				got = append(got, unorder(s.cmd, outs[0]))
				outs = outs[1:]
			}
		}
		tr.check(t, tg, got)
	})
}

// TestZkCliOneShot runs each command of testdata/zkcli_oneshot.txt as its own
// `zkCli.sh -server host:port cmd args...` process and compares its output and exit code.
func TestZkCliOneShot(t *testing.T) {
	requireZkCli(t)
	tr := readTranscript(t, "testdata/zkcli_oneshot.txt")
	forEachTarget(t, serverOpts{}, func(t *testing.T, tg string, srv *harness.Server) {
		norm := newNormalizer(srv.Addr())
		var got [][]string
		for _, c := range tr.commands() {
			args := append([]string{"-server", srv.Addr()}, strings.Fields(c)...)
			out, code := runZkCli(t, "", args...)
			lines, _ := zkCliLines(norm, out)
			got = append(got, append(unorder(c, lines), fmt.Sprintf("[exit %d]", code)))
		}
		tr.check(t, tg, got)
	})
}

func requireZkCli(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(harness.ZkCli); err != nil {
		t.Skipf("zkCli.sh not installed: run make deps (%v)", err)
	}
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("java not installed: run make deps")
	}
}

// runZkCliSession runs one interactive zkCli session with cmds on stdin and returns each
// command's normalized output and the node watch events the session printed, in order.
func runZkCliSession(t *testing.T, addr string, cmds []string) (outs [][]string, events []string) {
	t.Helper()
	var in strings.Builder
	in.WriteString("printwatches\n") // ends the banner
	for _, c := range cmds {
		in.WriteString(c + "\nprintwatches\n")
	}
	out, _ := runZkCli(t, in.String(), "-server", addr)
	lines, events := zkCliLines(newNormalizer(addr), out)

	var segs [][]string
	var cur []string
	for _, l := range lines {
		if l == zkCliMarker {
			segs = append(segs, cur)
			cur = nil
			continue
		}
		cur = append(cur, l)
	}
	if len(segs) != len(cmds)+1 {
		t.Fatalf("zkCli printed %d markers for %d commands; output:\n%s", len(segs), len(cmds)+1, out)
	}
	if len(cur) > 0 {
		t.Errorf("zkCli printed after the last command: %q", cur)
	}
	return segs[1:], events
}

// runZkCli runs zkCli.sh with args and stdin, and returns its merged stdout and stderr
// (one pipe, so their order is kept) and its exit code.
func runZkCli(t *testing.T, stdin string, args ...string) ([]byte, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), zkCliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.ZkCli, args...)
	cmd.Env = append(os.Environ(),
		"TZ=UTC",
		"CLIENT_JVMFLAGS=-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData",
		"JVMFLAGS=",
	)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("zkCli.sh %s: no exit within %v; output:\n%s", strings.Join(args, " "), zkCliTimeout, out.Bytes())
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.Bytes(), 0
	case errors.As(err, &exit):
		return out.Bytes(), exit.ExitCode()
	default:
		t.Fatalf("zkCli.sh: %v", err)
		return nil, 0
	}
}

// unorder sorts the parts of zkCli's output whose order comes from a Java hash set on the
// server, so that no server has to reproduce Java's hash order: the paths of ls -R (each
// level of its walk is in the server's order), whoami's ids and getEphemerals' paths.
func unorder(cmd string, lines []string) []string {
	lines = slices.Clone(lines)
	f := strings.Fields(cmd)
	switch {
	case f[0] == "ls" && slices.Contains(f, "-R"):
		sortRuns(lines, func(l string) bool { return strings.HasPrefix(l, "/") })
	case f[0] == "whoami":
		sortRuns(lines, func(l string) bool { return whoamiID.MatchString(l) })
	case f[0] == "getEphemerals":
		for i, l := range lines {
			if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
				items := strings.Split(l[1:len(l)-1], ", ")
				slices.Sort(items)
				lines[i] = "[" + strings.Join(items, ", ") + "]"
			}
		}
	}
	return lines
}

var whoamiID = regexp.MustCompile(`^[a-z][a-z0-9]*: `)

// javaFrame matches a line of a Java stack trace below the exception: "\tat ..." or "\t... 6 more".
var javaFrame = regexp.MustCompile(`^\t(at |\.\.\. \d+ more$)`)

// zkCliLines normalizes zkCli's output and splits off what its event thread prints
// asynchronously: the WATCHER blocks. Node events are returned in order; session state
// events (type:None) are dropped, as are SLF4J's complaints, the frames of Java stack traces
// (paddock cli prints an exception's message and cause only) and blank lines.
func zkCliLines(norm *normalizer, out []byte) (lines, events []string) {
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimRight(l, "\r")
		switch {
		case strings.TrimSpace(l) == "", l == "WATCHER::", strings.HasPrefix(l, "SLF4J:"), javaFrame.MatchString(l):
		case strings.HasPrefix(l, "WatchedEvent "):
			if !strings.Contains(l, " type:None ") {
				events = append(events, norm.line(l))
			}
		default:
			lines = append(lines, norm.line(l))
		}
	}
	return lines, events
}
