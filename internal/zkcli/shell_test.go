package zkcli

import (
	"bytes"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/internal/zktest"
	"github.com/paddock/paddock/tests/harness"
)

// The shell's output formats are checked against zkCli.sh itself in tests/thirdparty; these
// tests cover what the comparison cannot: printwatches off, exit codes of sessions, chroots,
// completion, a dead server, and the terminal (tty_linux_test.go).

func startServer(t *testing.T) *harness.Server {
	t.Helper()
	return harness.StartPaddock(t, harness.PaddockOptions{})
}

// runShell runs Run in-process with stdin and returns what it printed.
func runShell(t *testing.T, o Options, stdin string, cmd ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	o.Stdin, o.Stdout, o.Stderr = strings.NewReader(stdin), &out, &errb
	code = Run(o, cmd)
	return out.String(), errb.String(), code
}

func count(s, sub string) int { return strings.Count(s, sub) }

func TestShellPrintWatches(t *testing.T) {
	srv := startServer(t)
	out, _, code := runShell(t, Options{Server: srv.Addr()}, `create /pw x
get -w /pw
printwatches off
set /pw y
printwatches
printwatches on
get -w /pw
stat -w /pw
ls -w /pw
set /pw z
delete /pw
`)
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	if n := count(out, "WatchedEvent state:SyncConnected type:NodeDataChanged path:/pw"); n != 1 {
		t.Errorf("%d NodeDataChanged events, want 1 (the first came while printwatches was off); output:\n%s", n, out)
	}
	// The child watch of ls -w stays until the delete; the data watches fired together.
	if count(out, "type:NodeChildrenChanged") != 0 || count(out, "type:NodeDeleted path:/pw") != 1 {
		t.Errorf("want one NodeDeleted and no other event:\n%s", out)
	}
	if !strings.Contains(out, "printwatches is off\n") {
		t.Errorf("no printwatches is off:\n%s", out)
	}
}

func TestShellExitCodes(t *testing.T) {
	srv := startServer(t)
	o := Options{Server: srv.Addr()}
	for _, tc := range []struct {
		stdin string
		code  int
	}{
		{"ls /\n", 0},
		{"ls /missing\n", 1},
		{"ls /missing\nls /\n", 0},
		{"ls /missing\nquit\nls /\n", 1}, // quit exits with the previous command's status
		{"ls /\nquit\n", 0},
		{"nosuchcommand\n", 127},
		{"ls /missing\n   \n\n", 1}, // blank lines are not commands
	} {
		if _, _, code := runShell(t, o, tc.stdin); code != tc.code {
			t.Errorf("%q: exit %d, want %d", tc.stdin, code, tc.code)
		}
	}
}

func TestShellHistoryAndRedo(t *testing.T) {
	srv := startServer(t)
	// As in zkCli, a redo's line in the history becomes the command it ran.
	out, errs, _ := runShell(t, Options{Server: srv.Addr()}, "create /h a\n  \nhistory\nredo 0\nredo 2\nredo 9\nredo x\nhistory\ndelete /h\n")
	if !strings.Contains(out, "0 - create /h a\n1 - history\n") ||
		!strings.Contains(out, "2 - create /h a\n3 - create /h a\n4 - redo 9\n5 - redo x\n6 - history\n") {
		t.Errorf("history:\n%s", out)
	}
	if count(errs, "Node already exists: /h\n") != 2 || !strings.Contains(errs, "Command index out of range\n") ||
		!strings.Contains(errs, "redo: not a command number: x\n") {
		t.Errorf("redo errors:\n%s", errs)
	}
}

func TestShellChroot(t *testing.T) {
	srv := startServer(t)
	if _, errs, code := runShell(t, Options{Server: srv.Addr()}, "", "create", "/app"); code != 0 {
		t.Fatalf("create /app: %s", errs)
	}
	out, errs, code := runShell(t, Options{Server: srv.Addr() + "/app"}, "create /x\nget -w /x\nset /x 1\nls /\ngetEphemerals /\ndelete /x\n")
	if code != 0 || !strings.Contains(errs, "Created /x\n") || !strings.Contains(out, "type:NodeDataChanged path:/x\n") ||
		!strings.Contains(out, "\n[x]\n") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}

func TestShellCloseAndConnect(t *testing.T) {
	srv := startServer(t)
	out, _, _ := runShell(t, Options{Server: srv.Addr()}, "ls /\nclose\nls /\nconnect "+srv.Addr()+"\nls /\nconnect 127.0.0.1:x\n")
	if count(out, "Not connected\n") != 1 || count(out, "[zookeeper]\n") != 2 ||
		count(out, "WatchedEvent state:Closed type:None path:null") != 1 ||
		count(out, "WatchedEvent state:SyncConnected type:None path:null") != 2 {
		t.Errorf("output:\n%s", out)
	}
}

func TestShellJSON(t *testing.T) {
	srv := startServer(t)
	out, _, code := runShell(t, Options{Server: srv.Addr(), JSON: true}, `create /js "a b"
getAcl /js
whoami
foo
close
ls /
`)
	var objs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %q", err, l)
		}
		objs = append(objs, m)
	}
	if code != 0 || len(objs) != 6 {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	acl, _ := objs[1]["acl"].([]any)
	ids, _ := objs[2]["identities"].([]any)
	if objs[0]["path"] != "/js" || len(acl) != 1 || len(ids) != 1 || objs[3]["ok"] != false ||
		objs[5]["error"] != "Not connected" {
		t.Errorf("objects: %v", objs)
	}
	// Clean up for the other tests of this server.
	runShell(t, Options{Server: srv.Addr()}, "", "delete", "/js")
}

func TestShellDeadServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	start := time.Now()
	_, errs, code := runShell(t, Options{Server: addr, Timeout: 20 * time.Second}, "", "get", "/a")
	// A refused connection fails the command at once, as in zkCli, not after the timeout.
	if code != 1 || errs != "KeeperErrorCode = ConnectionLoss for /a\n" || time.Since(start) > 10*time.Second {
		t.Errorf("exit %d after %v, stderr %q", code, time.Since(start), errs)
	}
	_, errs, code = runShell(t, Options{Server: addr, Timeout: time.Second, WaitForConnection: true}, "", "ls", "/")
	if code != 1 || errs != "KeeperErrorCode = ConnectionLoss\n" {
		t.Errorf("-waitforconnection: exit %d, stderr %q", code, errs)
	}
	_, errs, code = runShell(t, Options{Server: "a:1/b/"}, "", "ls", "/")
	if code != 1 || !strings.Contains(errs, "Path must not end with / character") {
		t.Errorf("bad chroot: exit %d, stderr %q", code, errs)
	}
}

func TestShellComplete(t *testing.T) {
	srv := startServer(t)
	sh := &shell{opts: Options{Timeout: 10 * time.Second}, con: &console{out: &bytes.Buffer{}, err: &bytes.Buffer{}}}
	sh.watches = newWatchTable(&sh.wg, func(client.WatchEvent) {})
	defer sh.shutdown()
	sh.connect(srv.Addr())
	if !sh.sess.waitReady(10 * time.Second) {
		t.Fatal("no session")
	}
	for _, tc := range []struct {
		before string
		want   []string
	}{
		{"cre", []string{"create "}},
		{"get", []string{"get", "getAcl", "getAllChildrenNumber", "getEphemerals"}},
		{"ls /zoo", []string{"/zookeeper/"}},
		{"ls /zookeeper/", []string{"/zookeeper/config", "/zookeeper/quota"}},
		{"ls /zookeeper/q", []string{"/zookeeper/quota "}},
		{"ls /nope/", nil},
		{"ls cre", nil}, // commands only come first
	} {
		if got := sh.complete(tc.before); !slices.Equal(got, tc.want) {
			t.Errorf("complete(%q) = %q, want %q", tc.before, got, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and polling readers.
type syncBuffer = zktest.Buffer
