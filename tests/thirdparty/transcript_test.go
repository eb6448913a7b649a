package thirdparty

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the testdata transcripts from the "+reference+" target's output")

// A transcript is a file of commands, each followed by the normalized output it must
// produce:
//
//	# comments start with '#' and belong to the next command
//	> create /a hello
//	Created /a
//	> get /a
//	hello
//
// Blank lines are ignored, in the file and in the output. A command in parentheses, like
// "(watch events)", names output the driver collects across the session rather than a
// command it sends.
type transcript struct {
	path  string
	head  []string // comments of the file, before the first blank line
	steps []step
	tail  []string // comments after the last command
}

type step struct {
	comments []string
	cmd      string
	want     []string
	line     int
}

func readTranscript(t *testing.T, path string) *transcript {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := &transcript{path: path}
	var comments []string
	var cur *step
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case strings.TrimSpace(l) == "":
			if cur == nil && tr.head == nil {
				tr.head, comments = comments, nil
			}
		case strings.HasPrefix(l, "#"):
			comments = append(comments, l)
		case strings.HasPrefix(l, "> "):
			tr.steps = append(tr.steps, step{comments: comments, cmd: strings.TrimPrefix(l, "> "), line: n})
			cur = &tr.steps[len(tr.steps)-1]
			comments = nil
		case cur == nil:
			t.Fatalf("%s:%d: output before the first command", path, n)
		default:
			cur.want = append(cur.want, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	tr.tail = comments
	return tr
}

// check compares got, one output per step, with the transcript. With -rewrite, on the
// reference target, it rewrites the file with got instead.
func (tr *transcript) check(t *testing.T, target string, got [][]string) {
	t.Helper()
	if len(got) != len(tr.steps) {
		t.Fatalf("%s: driver returned %d outputs for %d commands", tr.path, len(got), len(tr.steps))
	}
	if *rewrite && target == reference {
		tr.write(t, got)
		return
	}
	for i, s := range tr.steps {
		if !slices.Equal(s.want, got[i]) {
			t.Errorf("%s:%d: > %s\n--- want\n%s\n--- got\n%s", tr.path, s.line, s.cmd, indent(s.want), indent(got[i]))
		}
	}
}

func (tr *transcript) write(t *testing.T, got [][]string) {
	var b strings.Builder
	if len(tr.head) > 0 {
		b.WriteString(strings.Join(tr.head, "\n") + "\n\n")
	}
	for i, s := range tr.steps {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, c := range s.comments {
			b.WriteString(c + "\n")
		}
		b.WriteString("> " + s.cmd + "\n")
		for _, l := range got[i] {
			b.WriteString(l + "\n")
		}
	}
	if len(tr.tail) > 0 {
		b.WriteString("\n" + strings.Join(tr.tail, "\n") + "\n")
	}
	if err := os.WriteFile(tr.path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("rewrote %s", tr.path)
}

// commands returns the commands to send, leaving out the parenthesized pseudo-commands.
func (tr *transcript) commands() []string {
	var cmds []string
	for _, s := range tr.steps {
		if !isPseudo(s.cmd) {
			cmds = append(cmds, s.cmd)
		}
	}
	return cmds
}

func isPseudo(cmd string) bool { return strings.HasPrefix(cmd, "(") }

func indent(lines []string) string {
	if len(lines) == 0 {
		return "\t(nothing)"
	}
	return "\t" + strings.Join(lines, "\n\t")
}

// normalizer rewrites what differs between two correct runs: timestamps, durations, the
// server's address, and zxids and session ids. Those two become labels numbered in order of
// first appearance (<zxid:1>, <session:1>), so equal values stay equal and a change stays a
// change; zero stays zero, since the /zookeeper nodes' zero stats are part of the contract.
type normalizer struct {
	addr   string
	labels map[string]map[string]string // kind -> lower-case hex without 0x -> label
}

func newNormalizer(addr string) *normalizer {
	return &normalizer{addr: addr, labels: map[string]map[string]string{}}
}

// idRules find zxids and session ids in zkCli's and cli_mt's output: group 1 is the value.
var idRules = []struct {
	re   *regexp.Regexp
	kind string
}{
	{regexp.MustCompile(`^[cmp]Zxid = (0x[0-9a-f]+)$`), "zxid"},         // zkCli stat
	{regexp.MustCompile(`^ephemeralOwner = (0x[0-9a-f]+)$`), "session"}, // zkCli stat
	{regexp.MustCompile(`^\t[cm]zxid=([0-9a-f]+)$`), "zxid"},            // cli_mt dumpStat
	{regexp.MustCompile(`^\tephemeralOwner = ([0-9a-f]+)$`), "session"}, // cli_mt dumpStat
	{regexp.MustCompile(`^Got a new session id: (0x[0-9a-f]+)$`), "session"},
	{regexp.MustCompile(`^session Id = ([0-9a-f]+)$`), "session"},
}

var (
	// Java's Date.toString ("Sun Nov 22 01:55:05 UTC 2026") and C's ctime ("Sun Nov  2 01:55:05 2026").
	dateRe = regexp.MustCompile(`[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]?[0-9] \d\d:\d\d:\d\d (?:[A-Z]{2,5} )?\d{4}`)
	msecRe = regexp.MustCompile(`^time = \d+ msec$`)
)

// cliVersion starts what zkCli's version command prints.
const cliVersion = "ZooKeeper CLI version: "

func (n *normalizer) line(l string) string {
	if n.addr != "" {
		l = strings.ReplaceAll(l, n.addr, "<server>")
	}
	l = dateRe.ReplaceAllStringFunc(l, func(d string) string {
		if strings.HasSuffix(d, " 1970") {
			return d // the /zookeeper nodes' zero times
		}
		return "<time>"
	})
	if msecRe.MatchString(l) {
		return "time = <ms> msec"
	}
	if strings.HasPrefix(l, cliVersion) {
		return cliVersion + "<version>" // ZooKeeper's release, or paddock's
	}
	for _, r := range idRules {
		m := r.re.FindStringSubmatchIndex(l)
		if m == nil {
			continue
		}
		v := l[m[2]:m[3]]
		return l[:m[2]] + n.label(r.kind, v) + l[m[3]:]
	}
	return l
}

func (n *normalizer) label(kind, v string) string {
	h := strings.TrimLeft(strings.TrimPrefix(strings.ToLower(v), "0x"), "0")
	if h == "" {
		return v
	}
	m := n.labels[kind]
	if m == nil {
		m = map[string]string{}
		n.labels[kind] = m
	}
	if _, ok := m[h]; !ok {
		m[h] = fmt.Sprintf("<%s:%d>", kind, len(m)+1)
	}
	return m[h]
}

// sortRuns sorts, in place, each run of consecutive lines that in accepts.
func sortRuns(lines []string, in func(string) bool) {
	for i := 0; i < len(lines); {
		if !in(lines[i]) {
			i++
			continue
		}
		j := i
		for j < len(lines) && in(lines[j]) {
			j++
		}
		slices.Sort(lines[i:j])
		i = j
	}
}
