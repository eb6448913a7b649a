package cli

import (
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestBenchPidList(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []int
		wantErr string
	}{
		{in: "1234", want: []int{1234}},
		{in: "1231,1232,1233", want: []int{1231, 1232, 1233}},
		{in: " 7, 8 ,9 ", want: []int{7, 8, 9}},
		{in: "", want: nil},
		{in: "0", wantErr: "not positive"},
		{in: "12,-3", wantErr: "not positive"},
		{in: "12,,13", wantErr: `"" is not a process id`},
		{in: "12,x", wantErr: `"x" is not a process id`},
		{in: "12 13", wantErr: `"12 13" is not a process id`},
		{in: "5,6,5", wantErr: "5 given twice"},
	} {
		var pids []int
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Var((*pidList)(&pids), "pid", "")
		err := fs.Parse([]string{"--pid", tc.in})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("--pid %q: err %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(pids, tc.want) {
			t.Errorf("--pid %q: %v, %v; want %v", tc.in, pids, err, tc.want)
		}
		if got := (*pidList)(&pids).String(); got != strings.Join(strings.Fields(strings.ReplaceAll(tc.in, ",", " ")), ",") {
			t.Errorf("--pid %q: String() = %q", tc.in, got)
		}
	}
}

// TestBenchPidsReachTheRun checks that every pid of --pid gets to bench.Run, which reads them
// all before it dials: a list with a process that has exited fails at once, naming it, and
// the server, a listener that never answers, is not contacted.
func TestBenchPidsReachTheRun(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skipf("no /proc: %v", err)
	}
	gone := exec.Command(os.Args[0], "-test.run=^$")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	self, dead := strconv.Itoa(os.Getpid()), strconv.Itoa(gone.Process.Pid)
	for _, pids := range []string{dead, self + "," + dead, dead + "," + self} {
		err := runBench([]string{"--servers", l.Addr().String(), "--session-timeout", "2s", "--quiet", "--pid", pids})
		if err == nil || !strings.Contains(err.Error(), "cannot read the server process "+dead+":") {
			t.Errorf("--pid %s: %v, want pid %s named", pids, err, dead)
		}
	}
}

// TestNextRunPrefix follows the order bench.Compare runs the sides in: A B, B A, A B.
func TestNextRunPrefix(t *testing.T) {
	order := []struct {
		round int
		side  string
	}{{0, "A"}, {0, "B"}, {1, "B"}, {1, "A"}, {2, "A"}}
	want := []string{"B 1/3 ", "B 2/3 ", "A 2/3 ", "A 3/3 ", "B 3/3 "}
	for k, run := range order {
		if got := nextRunPrefix(run.round, run.side, 3); got != want[k] {
			t.Errorf("after %s of round %d: %q, want %q", run.side, run.round+1, got, want[k])
		}
	}
}
