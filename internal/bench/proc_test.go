package bench

import (
	"os"
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
	s, err := sampleProc(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if s.rss <= 0 || s.rssPeak < s.rss {
		t.Errorf("rss %d peak %d", s.rss, s.rssPeak)
	}
	if _, err := sampleProc(-1); err == nil {
		t.Error("no error for pid -1")
	}
}
