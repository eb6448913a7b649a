package zkcli

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// newTestEditor returns an editor reading keys from input, drawing on a buffer 80 columns
// wide.
func newTestEditor(input string, complete func(string) []string) (*editor, *bytes.Buffer) {
	var out bytes.Buffer
	con := &console{out: &out, err: &out}
	e := &editor{
		r:        bufio.NewReader(strings.NewReader(input)),
		out:      &out,
		con:      con,
		width:    func() int { return 80 },
		raw:      func() (func(), error) { return func() {}, nil },
		complete: complete,
	}
	con.ed = e
	return e, &out
}

// readLines reads lines until the input ends.
func readLines(e *editor) ([]string, error) {
	var lines []string
	for {
		l, err := e.readLine("> ")
		if err != nil {
			return lines, err
		}
		lines = append(lines, l)
		e.addHistory(l)
	}
}

func TestEditorKeys(t *testing.T) {
	const (
		left  = "\x1b[D"
		right = "\x1b[C"
		up    = "\x1b[A"
		down  = "\x1b[B"
		home  = "\x1b[H"
		end   = "\x1b[F"
		del   = "\x1b[3~"
	)
	for _, tc := range []struct {
		name, keys string
		want       []string
	}{
		{"plain", "ls /\r", []string{"ls /"}},
		{"newline", "ls /\n", []string{"ls /"}},
		{"insert", "abc" + left + left + "X\r", []string{"aXbc"}},
		{"backspace", "abc\x7f\x08d\r", []string{"ad"}},
		{"home end", "bc" + home + "a" + end + "d\r", []string{"abcd"}},
		{"ctrl a e b f", "bc\x01a\x05d\x02\x02\x06X\r", []string{"abcXd"}},
		{"vt100 home", "b\x1bOHa\r", []string{"ab"}},
		{"delete", "abc" + home + del + "\x04\r", []string{"c"}},
		{"kill", "abcdef" + left + left + "\x0b\r", []string{"abcd"}},
		{"kill before", "abcdef" + left + left + "\x15\r", []string{"ef"}},
		{"word", "get -s /a/b\x17\x17x\r", []string{"get x"}},
		{"word motion", "ab cd" + "\x1bb" + "X" + "\x1b[1;5D" + "Y\r", []string{"ab YXcd"}},
		{"cancel", "junk\x03ls\r", []string{"ls"}},
		{"control keys ignored", "a\x1a\x1b[Zb\r", []string{"ab"}},
		{"utf-8", "get /é" + left + "x\r", []string{"get /xé"}},
		{"history", "one\rtwo\r" + up + up + "\r" + up + down + "\r", []string{"one", "two", "one", ""}},
		{"history keeps the typed line", "one\rtyp" + up + down + "ed\r", []string{"one", "typed"}},
		{"history ends", "one\r" + up + up + up + "\x10\r", []string{"one", "one"}},
		{"history edit", "one\r" + up + "s\r", []string{"one", "ones"}},
	} {
		e, _ := newTestEditor(tc.keys, nil)
		got, err := readLines(e)
		if !errors.Is(err, io.EOF) || !slices.Equal(got, tc.want) {
			t.Errorf("%s: lines %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestEditorEOF(t *testing.T) {
	e, _ := newTestEditor("ab\x04\x04", nil)
	if _, err := e.readLine("> "); !errors.Is(err, io.EOF) {
		t.Errorf("^D on a line: %v, want nothing until the end of input", err)
	}
	e, _ = newTestEditor("\x04ls\r", nil)
	if _, err := e.readLine("> "); !errors.Is(err, io.EOF) {
		t.Errorf("^D on an empty line: %v, want io.EOF", err)
	}
}

func TestEditorScrolls(t *testing.T) {
	e, out := newTestEditor("", nil)
	e.width = func() int { return 20 }
	e.prompt, e.buf = "> ", []rune("0123456789abcdefghijklmnopqrstuvwxyz")
	e.pos = 30
	e.refresh()
	// The cursor must stay on screen: the line is drawn from its 14th character.
	if got := out.String(); got != "\r> defghijklmnopqrstu\x1b[0K\r\x1b[19C" {
		t.Errorf("refresh = %q", got)
	}
}

func TestEditorComplete(t *testing.T) {
	cands := map[string][]string{
		"cr":       {"create "},
		"ls /a":    {"/app", "/apple"},
		"ls /app":  {"/app", "/apple"},
		"ls /appl": {"/apple "},
		"ls /z":    nil,
	}
	complete := func(before string) []string { return cands[before] }
	e, _ := newTestEditor("cr\t/x\r", complete)
	if l, _ := e.readLine("> "); l != "create /x" {
		t.Errorf("one candidate: %q", l)
	}
	e, _ = newTestEditor("ls /a\tl\t\r", complete)
	if l, _ := e.readLine("> "); l != "ls /apple " {
		t.Errorf("common prefix, then one: %q", l)
	}
	e, out := newTestEditor("ls /app\t\r", complete)
	if l, _ := e.readLine("> "); l != "ls /app" || !strings.Contains(out.String(), "app    apple\n") {
		t.Errorf("listing: %q, output %q", l, out.String())
	}
	e, out = newTestEditor("ls /z\t\r", complete)
	if l, _ := e.readLine("> "); l != "ls /z" || !strings.Contains(out.String(), "\a") {
		t.Errorf("no candidate: %q, output %q", l, out.String())
	}
}

func TestEditorAsyncOutput(t *testing.T) {
	e, out := newTestEditor("", nil)
	e.reading, e.prompt, e.buf, e.pos = true, "> ", []rune("ls"), 2
	e.con.async("\nWATCHER::\n")
	if got := out.String(); got != "\r\x1b[0K\nWATCHER::\n\r> ls\x1b[0K\r\x1b[4C" {
		t.Errorf("async output while reading: %q", got)
	}
	out.Reset()
	e.reading = false
	e.con.async("x\n")
	if got := out.String(); got != "x\n" {
		t.Errorf("async output between lines: %q", got)
	}
}

func TestEditorHistoryFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history")
	var lines []string
	for i := range histMax + 5 {
		lines = append(lines, strings.Repeat("x", i%7+1))
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, _ := newTestEditor("", nil)
	e.loadHistory(path)
	if len(e.hist) != histMax || e.hist[0] != lines[5] {
		t.Fatalf("loaded %d lines starting %q", len(e.hist), e.hist[0])
	}
	e.addHistory("ls /")
	e.addHistory("ls /") // a repeat is kept once
	e.addHistory("get /a")
	e2, _ := newTestEditor("", nil)
	e2.loadHistory(path)
	if n := len(e2.hist); n != histMax || e2.hist[n-2] != "ls /" || e2.hist[n-1] != "get /a" {
		t.Errorf("reloaded %d lines ending %q", n, e2.hist[n-2:])
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("history file: %v %v", fi.Mode(), err)
	}
}

func TestColumns(t *testing.T) {
	got := columns([]string{"a", "bb", "ccc", "d"}, 12)
	if want := "a    bb\nccc  d\n"; got != want {
		t.Errorf("columns = %q, want %q", got, want)
	}
}
