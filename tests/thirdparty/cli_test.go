package thirdparty

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paddock/paddock/tests/harness"
)

// The tests of `paddock cli` run the same commands through it and through zkCli.sh against
// the same server (each target's), and compare what the two print, line by line, after the
// normalization the zkCli tests use (zxids, session ids, times). The command scripts are
// transcripts whose recorded output is zkCli's against ZooKeeper (regenerated with
// -rewrite); paddock cli is compared with zkCli run live, on the same server, just before.

// cliTimeout bounds one paddock cli process.
const cliTimeout = 30 * time.Second

// cliServerOpts turn on TTL nodes, which the scripts create.
var cliServerOpts = serverOpts{Properties: map[string]string{"zookeeper.extendedTypesEnabled": "true"}}

// TestCliSession feeds testdata/cli_session.txt to one zkCli.sh session and then to one
// paddock cli session on stdin, against the same server, and compares each command's
// output and the watch events printed along the way.
func TestCliSession(t *testing.T) {
	requireZkCli(t)
	tr := readTranscript(t, "testdata/cli_session.txt")
	forEachTarget(t, cliServerOpts, func(t *testing.T, tg string, srv *harness.Server) {
		cmds := withServer(tr.commands(), srv.Addr())
		zkOuts, zkEvents := runZkCliSession(t, srv.Addr(), cmds)
		if tg == reference {
			tr.check(t, tg, sessionSteps(t, tr, zkOuts, zkEvents))
		}
		out, _ := runPaddockCli(t, srv.Addr(), sessionInput(cmds))
		pdOuts, pdEvents := splitSession(t, srv.Addr(), out, len(cmds))
		i := 0
		for _, s := range tr.steps {
			if isPseudo(s.cmd) {
				continue
			}
			want, got := unorder(s.cmd, zkOuts[i]), unorder(s.cmd, pdOuts[i])
			if !slices.Equal(want, got) {
				t.Errorf("%s:%d: > %s\n--- zkCli.sh\n%s\n--- paddock cli\n%s", tr.path, s.line, s.cmd, indent(want), indent(got))
			}
			i++
		}
		if !slices.Equal(zkEvents, pdEvents) {
			t.Errorf("watch events differ\n--- zkCli.sh\n%s\n--- paddock cli\n%s", indent(zkEvents), indent(pdEvents))
		}
	})
}

// TestCliOneShot runs each command of testdata/cli_oneshot.txt as its own process of both
// clients, `... -server host:port cmd args...`, and compares their output and exit codes.
func TestCliOneShot(t *testing.T) {
	cliOneShot(t, "testdata/cli_oneshot.txt", cliServerOpts)
}

// TestCliReconfigStandalone runs testdata/cli_reconfig.txt as TestCliOneShot does, against
// standalone servers with reconfigEnabled=true and ACLs off: reconfig is enabled but there
// is no ensemble to change.
func TestCliReconfigStandalone(t *testing.T) {
	cliOneShot(t, "testdata/cli_reconfig.txt", serverOpts{
		Properties: map[string]string{"zookeeper.skipACL": "yes"},
		Config:     []string{"reconfigEnabled=true"},
	})
}

func cliOneShot(t *testing.T, path string, o serverOpts) {
	requireZkCli(t)
	tr := readTranscript(t, path)
	forEachTarget(t, o, func(t *testing.T, tg string, srv *harness.Server) {
		// All of zkCli's, then all of paddock cli's: the commands end where they started.
		run := func(do func(args []string) ([]byte, int)) [][]string {
			norm := newNormalizer(srv.Addr())
			var got [][]string
			for _, c := range tr.commands() {
				out, code := do(strings.Fields(c))
				lines, _ := zkCliLines(norm, out)
				got = append(got, append(unorder(c, lines), fmt.Sprintf("[exit %d]", code)))
			}
			return got
		}
		zkGot := run(func(args []string) ([]byte, int) {
			return runZkCli(t, "", append([]string{"-server", srv.Addr()}, args...)...)
		})
		if tg == reference {
			tr.check(t, tg, zkGot)
		}
		pdGot := run(func(args []string) ([]byte, int) { return runPaddockCli(t, srv.Addr(), "", args...) })
		for i, c := range tr.commands() {
			if !slices.Equal(zkGot[i], pdGot[i]) {
				t.Errorf("> %s\n--- zkCli.sh\n%s\n--- paddock cli\n%s", c, indent(zkGot[i]), indent(pdGot[i]))
			}
		}
	})
}

// TestCliJSON checks --json: one object per command result on stdout, the error on stderr
// as well, zkCli's exit codes, and watch events as objects of their own.
func TestCliJSON(t *testing.T) {
	srv := harness.StartPaddock(t, harness.PaddockOptions{})
	addr := srv.Addr()
	oneShot := func(args ...string) (map[string]any, string, int) {
		t.Helper()
		stdout, stderr, code := runPaddockCliSplit(t, "", append([]string{"-server", addr, "--json"}, args...)...)
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 1 {
			t.Fatalf("%v: want one JSON line on stdout, got %q", args, stdout)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
			t.Fatalf("%v: %v: %q", args, err, lines[0])
		}
		return m, stderr, code
	}

	m, stderr, code := oneShot("create", "/j", "hello")
	if code != 0 || m["ok"] != true || m["path"] != "/j" || m["command"] != "create /j hello" || stderr != "" {
		t.Errorf("create: exit %d, %v, stderr %q", code, m, stderr)
	}
	m, _, code = oneShot("get", "-s", "/j")
	st, _ := m["stat"].(map[string]any)
	if code != 0 || m["data"] != "hello" || st == nil || st["dataLength"] != 5.0 || st["numChildren"] != 0.0 {
		t.Errorf("get -s: exit %d, %v", code, m)
	}
	m, _, code = oneShot("ls", "/")
	if ch, _ := m["children"].([]any); code != 0 || !slices.Contains(ch, any("j")) || !slices.Contains(ch, any("zookeeper")) {
		t.Errorf("ls /: exit %d, %v", code, m)
	}
	m, _, _ = oneShot("ls", "/j")
	if ch, ok := m["children"].([]any); !ok || len(ch) != 0 {
		t.Errorf("ls of a leaf: want children [], got %v", m)
	}
	m, stderr, code = oneShot("get", "/missing")
	if code != 1 || m["ok"] != false || m["error"] != "Node does not exist: /missing" || m["code"] != "NONODE" ||
		stderr != "Node does not exist: /missing\n" {
		t.Errorf("get /missing: exit %d, %v, stderr %q", code, m, stderr)
	}
	_, _, code = oneShot("nosuchcommand")
	if code != 127 {
		t.Errorf("unknown command: exit %d, want 127", code)
	}

	// A session on stdin: each result, and the watch event, on its own line.
	stdout, _, code := runPaddockCliSplit(t, "get -w /j\nset /j v2\nprintwatches\n", "-server", addr, "--json")
	var objs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("session: %v: %q", err, sc.Text())
		}
		objs = append(objs, m)
	}
	if code != 0 || len(objs) != 4 {
		t.Fatalf("session: exit %d, want 4 objects, got %q", code, stdout)
	}
	// The event came before the reply to set: it is printed before set's result.
	ev, _ := objs[1]["event"].(map[string]any)
	if objs[0]["data"] != "hello" || objs[2]["command"] != "set /j v2" || ev == nil ||
		ev["type"] != "NodeDataChanged" || ev["path"] != "/j" || objs[3]["printwatches"] != "on" {
		t.Errorf("session: %v", objs)
	}
}

// TestCliExitCodes checks the exit codes and messages of failures in one-shot mode.
func TestCliExitCodes(t *testing.T) {
	srv := harness.StartPaddock(t, harness.PaddockOptions{})
	addr := srv.Addr()
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string // a line stderr must hold
	}{
		{[]string{"-server", addr, "ls", "/"}, 0, ""},
		{[]string{"-server", addr, "ls", "/missing"}, 1, "Node does not exist: /missing"},
		{[]string{"-server", addr, "ls"}, 1, "ls [-s] [-w] [-R] path"},
		{[]string{"-server", addr, "create", "/x", "d", "bad"}, 1, "Acl is not valid : null"},
		{[]string{"-server", addr, "bogus"}, 127, "Command not found: Command not found bogus"},
		{[]string{"-server", addr, "-bogus", "ls", "/"}, 2, "paddock: paddock cli: bad arguments: unknown flag -bogus (paddock cli -h for help)"},
		{[]string{"-server", addr, "-timeout", "x", "ls", "/"}, 2, `paddock: paddock cli: bad arguments: -timeout "x": want a positive number of milliseconds (paddock cli -h for help)`},
		{[]string{"-server", "h:p:q/", "ls", "/"}, 1, `bad server "h:p:q" in connect string: bad port`},
		{[]string{"-server", closedAddr(t), "-timeout", "2000", "ls", "/"}, 1, "KeeperErrorCode = ConnectionLoss for /"},
		{[]string{"-server", closedAddr(t), "-timeout", "1000", "-waitforconnection", "ls", "/"}, 1, "KeeperErrorCode = ConnectionLoss"},
	} {
		_, stderr, code := runPaddockCliSplit(t, "", tc.args...)
		if code != tc.code || tc.stderr != "" && !slices.Contains(strings.Split(stderr, "\n"), tc.stderr) {
			t.Errorf("paddock cli %s: exit %d, stderr:\n%s\nwant exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.stderr)
		}
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// withServer replaces "<server>" in commands by the server's address.
func withServer(cmds []string, addr string) []string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = strings.ReplaceAll(c, "<server>", addr)
	}
	return out
}

// sessionSteps arranges a session's outputs by the transcript's steps.
func sessionSteps(t *testing.T, tr *transcript, outs [][]string, events []string) [][]string {
	t.Helper()
	var got [][]string
	for _, s := range tr.steps {
		switch {
		case s.cmd == "(watch events)":
			got = append(got, events)
		case isPseudo(s.cmd):
			t.Fatalf("unknown pseudo-command %q", s.cmd)
		default:
			got = append(got, unorder(s.cmd, outs[0]))
			outs = outs[1:]
		}
	}
	return got
}

// sessionInput is what runZkCliSession writes to zkCli: each command followed by the
// printwatches marker, after one marker that ends the banner.
func sessionInput(cmds []string) string {
	var in strings.Builder
	in.WriteString("printwatches\n")
	for _, c := range cmds {
		in.WriteString(c + "\nprintwatches\n")
	}
	return in.String()
}

// splitSession cuts a session's output into each command's normalized lines at the markers,
// as runZkCliSession does, and returns the watch events apart.
func splitSession(t *testing.T, addr string, out []byte, n int) (outs [][]string, events []string) {
	t.Helper()
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
	if len(segs) != n+1 {
		t.Fatalf("paddock cli printed %d markers for %d commands; output:\n%s", len(segs), n+1, out)
	}
	if len(cur) > 0 {
		t.Errorf("paddock cli printed after the last command: %q", cur)
	}
	return segs[1:], events
}

// runPaddockCli runs `paddock cli -server addr args...` with stdin and returns its merged
// stdout and stderr and its exit code.
func runPaddockCli(t *testing.T, addr, stdin string, args ...string) ([]byte, int) {
	t.Helper()
	var out bytes.Buffer
	code := execPaddockCli(t, stdin, &out, &out, append([]string{"-server", addr}, args...)...)
	return out.Bytes(), code
}

// runPaddockCliSplit runs `paddock cli args...` and returns stdout and stderr apart.
func runPaddockCliSplit(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = execPaddockCli(t, stdin, &o, &e, args...)
	return o.String(), e.String(), code
}

func execPaddockCli(t *testing.T, stdin string, stdout, stderr *bytes.Buffer, args ...string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.PaddockBinary(t), append([]string{"cli"}, args...)...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "HOME="+t.TempDir())
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("paddock cli %s: no exit within %v; output:\n%s%s", strings.Join(args, " "), cliTimeout, stdout, stderr)
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		t.Fatalf("paddock cli: %v", err)
		return 0
	}
}
