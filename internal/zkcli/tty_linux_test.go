package zkcli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/paddock/paddock/tests/harness"
)

// openPty returns a new pseudo-terminal's two sides, the terminal 200 columns wide.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	var unlock int32
	var n uint32
	if err := ioctl(m, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := ioctl(m, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("no pseudo-terminals: %v", err)
	}
	ws := struct{ row, col, x, y uint16 }{40, 200, 0, 0}
	if err := ioctl(s, syscall.TIOCSWINSZ, unsafe.Pointer(&ws)); err != nil {
		t.Fatal(err)
	}
	return m, s
}

// TestShellTerminal types at the shell through a pseudo-terminal: line editing, tab
// completion of commands and paths, history across runs, ^C and ^D.
func TestShellTerminal(t *testing.T) {
	srv := startServer(t)
	master, slave := openPty(t)
	var screen syncBuffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		master.Close()
		<-readDone
	}()
	hist := filepath.Join(t.TempDir(), "history")
	if err := os.WriteFile(hist, []byte("get /tty\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	codec := make(chan int, 1)
	go func() {
		codec <- Run(Options{Server: srv.Addr(), Timeout: 10 * time.Second, HistoryFile: hist,
			Stdin: slave, Stdout: slave, Stderr: slave}, nil)
	}()
	// waitFor waits for the screen to show want after mark, and returns the new mark.
	mark := 0
	waitFor := func(want string) {
		t.Helper()
		harness.CheckFor(t, 20*time.Second, func() error {
			s := screen.String()
			i := strings.Index(s[mark:], want)
			if i < 0 {
				return fmt.Errorf("the terminal does not show %q; it shows:\n%q", want, s[mark:])
			}
			mark += i + len(want)
			return nil
		})
	}
	typeKeys := func(keys string) {
		t.Helper()
		if _, err := master.Write([]byte(keys)); err != nil {
			t.Fatal(err)
		}
	}
	prompt := func(n int) string { return fmt.Sprintf("(CONNECTED) %d] ", n) }

	waitFor("JLine support is enabled")
	// The session may be established before the line editor starts or after.
	mark = 0
	waitFor("WatchedEvent state:SyncConnected type:None path:null")
	waitFor("] ")
	typeKeys("\r") // a fresh prompt, now connected
	waitFor(prompt(0))
	typeKeys("cre\t/tty x\r") // the command completed
	waitFor("Created /tty")
	waitFor(prompt(1))
	typeKeys("cre\t/tty/child y\r")
	waitFor("Created /tty/child")
	waitFor(prompt(2))
	typeKeys("ls /tt\t\t\r") // /tty/, then /tty/child
	waitFor("ls /tty/child ")
	waitFor("[]")
	waitFor(prompt(3))
	typeKeys("\x1b[A\x1b[A\x1b[A\x1b[A\r") // up four times: the previous run's line
	waitFor("get /tty\x1b[0K")
	waitFor("\nx\r\n")
	waitFor(prompt(4))
	typeKeys("get -w /tty\r")
	waitFor(prompt(5))
	typeKeys("nonsense\x03") // ^C drops the line
	waitFor("^C")
	typeKeys("set /tty z\r")
	waitFor("WatchedEvent state:SyncConnected type:NodeDataChanged path:/tty")
	waitFor(prompt(6))
	typeKeys("deleteall /tty\r")
	waitFor(prompt(7))
	typeKeys("\x04") // ^D ends the session
	select {
	case code := <-codec:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after ^D")
	}
	slave.Close()
	b, _ := os.ReadFile(hist)
	if want := "get /tty\ncreate /tty x\ncreate /tty/child y\nls /tty/child \nget /tty\nget -w /tty\nset /tty z\ndeleteall /tty\n"; string(b) != want {
		t.Errorf("history file:\n%q\nwant\n%q", b, want)
	}
}
