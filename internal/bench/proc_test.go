package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseProc(t *testing.T) {
	// A command name with a space and a parenthesis must not shift the fields.
	stat := "4242 (java (x) y) S 1 4242 4242 0 -1 4194560 12345 0 2 0 250 130 0 0 20 0 40 0 1234 5678901 9999\n"
	cpu, err := parseStatCPU(stat)
	if err != nil || cpu != 3800*time.Millisecond {
		t.Errorf("cpu = %v, %v; want 3.8s", cpu, err)
	}
	if _, err := parseStatCPU("garbage"); err == nil {
		t.Error("no error for garbage")
	}
	status := "Name:\tjava\nVmPeak:\t 9000 kB\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n"
	if got := parseStatusKB(status, "VmRSS:"); got != 1024*1024 {
		t.Errorf("VmRSS = %d", got)
	}
	if got := parseStatusKB(status, "VmHWM:"); got != 2048*1024 {
		t.Errorf("VmHWM = %d", got)
	}
	if got := parseStatusKB(status, "VmSwap:"); got != 0 {
		t.Errorf("missing key = %d", got)
	}
}

func TestSampleProcSelf(t *testing.T) {
	s, err := procRoot.sampleProc(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if s.rss <= 0 || s.rssPeak < s.rss {
		t.Errorf("rss %d peak %d", s.rss, s.rssPeak)
	}
	if _, err := procRoot.sampleProc(-1); err == nil {
		t.Error("no error for pid -1")
	}
}

// fakeProc writes <dir>/<pid>/stat and status for a process that has used ticks of CPU
// time (split between user and system) and has rssKB resident, hwmKB at its peak.
func fakeProc(t *testing.T, dir string, pid int, ticks, rssKB, hwmKB int64) {
	t.Helper()
	d := filepath.Join(dir, strconv.Itoa(pid))
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	stat := fmt.Sprintf("%d (paddock) S 1 %d %d 0 -1 4194560 100 0 0 0 %d %d 0 0 20 0 9 0 77 123456 789\n", pid, pid, pid, ticks-ticks/3, ticks/3)
	status := fmt.Sprintf("Name:\tpaddock\nVmHWM:\t%8d kB\nVmRSS:\t%8d kB\n", hwmKB, rssKB)
	if err := os.WriteFile(filepath.Join(d, "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSampleProcsSums(t *testing.T) {
	dir := t.TempDir()
	fs := procfs(dir)
	fakeProc(t, dir, 101, 250, 1000, 1500)
	fakeProc(t, dir, 102, 40, 2000, 2000)
	fakeProc(t, dir, 103, 7, 300, 4000)

	one, err := fs.sampleProcs([]int{102})
	if err != nil {
		t.Fatal(err)
	}
	if want := (procSample{cpu: 400 * time.Millisecond, rss: 2000 << 10, rssPeak: 2000 << 10}); one != want {
		t.Errorf("one pid: %+v, want %+v", one, want)
	}
	all, err := fs.sampleProcs([]int{101, 102, 103})
	if err != nil {
		t.Fatal(err)
	}
	if want := (procSample{cpu: 2970 * time.Millisecond, rss: 3300 << 10, rssPeak: 7500 << 10}); all != want {
		t.Errorf("three pids: %+v, want %+v", all, want)
	}

	// A member that is gone fails the whole sample and is named.
	_, err = fs.sampleProcs([]int{101, 104, 103})
	if !errors.Is(err, errNoProc) || !strings.Contains(err.Error(), " 104:") {
		t.Errorf("missing pid: %v", err)
	}
	// So does one whose stat cannot be parsed.
	if err := os.WriteFile(filepath.Join(dir, "103", "stat"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.sampleProcs([]int{101, 103}); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "103", "stat")) {
		t.Errorf("bad stat: %v", err)
	}
}

func TestServerUsageOverThePhase(t *testing.T) {
	dir := t.TempDir()
	fs := procfs(dir)
	pids := []int{201, 202, 203}
	fakeProc(t, dir, 201, 1000, 50000, 60000)
	fakeProc(t, dir, 202, 300, 40000, 40000)
	fakeProc(t, dir, 203, 200, 40000, 45000)
	start, err := fs.sampleProcs(pids)
	if err != nil {
		t.Fatal(err)
	}
	// The measured phase: the leader uses 2 s, the followers 0.5 s each; memory grows.
	fakeProc(t, dir, 201, 1200, 70000, 80000)
	fakeProc(t, dir, 202, 350, 41000, 41000)
	fakeProc(t, dir, 203, 250, 42000, 45000)
	end, err := fs.sampleProcs(pids)
	if err != nil {
		t.Fatal(err)
	}
	u := serverUsage(pids, start, end, 15000)
	pids[0] = 999 // the usage keeps its own copy
	if !slices.Equal(u.Pids, []int{201, 202, 203}) {
		t.Errorf("pids %v", u.Pids)
	}
	if u.CPUSeconds != 3 || u.CPUPerOp != 200 {
		t.Errorf("cpu %v s, %v µs/op; want 3 s, 200 µs/op", u.CPUSeconds, u.CPUPerOp)
	}
	if u.RSSStart != 130000<<10 || u.RSSEnd != 153000<<10 || u.RSSPeak != 166000<<10 {
		t.Errorf("rss start %d end %d peak %d", u.RSSStart, u.RSSEnd, u.RSSPeak)
	}
	if u := serverUsage([]int{201}, start, end, 0); u.CPUPerOp != 0 {
		t.Errorf("no ops: %v µs/op", u.CPUPerOp)
	}
}

func TestServerUsageTable(t *testing.T) {
	r := &Result{Workload: "get", Servers: "a,b,c", Ops: 10, Seconds: 1, Throughput: 10}
	for _, tc := range []struct {
		pids []int
		want string
	}{
		{[]int{7}, "server pid 7: cpu 2.00 s"},
		{[]int{201, 202, 203}, "3 servers, pids 201,202,203, summed: cpu 2.00 s"},
	} {
		r.Server = &ServerUsage{Pids: tc.pids, CPUSeconds: 2, CPUPerOp: 200, RSSEnd: 3 << 20}
		var out strings.Builder
		if err := WriteTable(&out, r); err != nil || !strings.Contains(out.String(), tc.want) {
			t.Errorf("table lacks %q: %v\n%s", tc.want, err, out.String())
		}
		out.Reset()
		if err := WriteJSON(&out, r); err != nil || !strings.Contains(out.String(), `"pids": [`) {
			t.Errorf("JSON lacks the pids: %v\n%s", err, out.String())
		}
	}
}
