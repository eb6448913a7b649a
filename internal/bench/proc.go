package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat. The kernel exports it as
// USER_HZ, which is 100 on every architecture Linux supports today, whatever CONFIG_HZ is;
// reading it would take sysconf(_SC_CLK_TCK) and so cgo.
const userHZ = 100

// procSample is one reading of a process's CPU time and memory, or the sum of the readings
// of several processes (an ensemble's members).
type procSample struct {
	cpu     time.Duration // user + system, with a resolution of 1/userHZ
	rss     int64         // VmRSS, bytes
	rssPeak int64         // VmHWM, bytes: the peak resident set since the process started
}

func (s *procSample) add(o procSample) {
	s.cpu += o.cpu
	s.rss += o.rss
	s.rssPeak += o.rssPeak
}

// errNoProc is returned for a pid that cannot be read (no such process, or not Linux).
var errNoProc = errors.New("bench: cannot read the server process")

// procfs is the root of a proc file system: procRoot, or in tests a directory of fake
// <pid>/stat and <pid>/status files.
type procfs string

const procRoot procfs = "/proc"

// sampleProcs reads every pid and returns the sum of their samples. The sum of the VmHWM
// peaks is an upper bound of the peak of the summed resident sets, since the processes
// need not have peaked at once. It fails, naming the pid, on the first pid it cannot read.
func (fs procfs) sampleProcs(pids []int) (procSample, error) {
	var sum procSample
	for _, pid := range pids {
		s, err := fs.sampleProc(pid)
		if err != nil {
			return procSample{}, err
		}
		sum.add(s)
	}
	return sum, nil
}

// sampleProc reads <fs>/<pid>/stat and <fs>/<pid>/status.
func (fs procfs) sampleProc(pid int) (procSample, error) {
	dir := filepath.Join(string(fs), strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return procSample{}, fmt.Errorf("%w %d: %v", errNoProc, pid, err)
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return procSample{}, fmt.Errorf("%w %d: %v", errNoProc, pid, err)
	}
	var s procSample
	if s.cpu, err = parseStatCPU(string(stat)); err != nil {
		return procSample{}, fmt.Errorf("%s/stat: %w", dir, err)
	}
	s.rss = parseStatusKB(string(status), "VmRSS:")
	s.rssPeak = parseStatusKB(string(status), "VmHWM:")
	return s, nil
}

// serverUsage is the usage of the processes pids over the measured phase, from their summed
// samples at its start and its end, for ops successful operations.
func serverUsage(pids []int, start, end procSample, ops int64) *ServerUsage {
	cpu := end.cpu - start.cpu
	u := &ServerUsage{
		Pids:       slices.Clone(pids),
		CPUSeconds: cpu.Seconds(),
		RSSStart:   start.rss,
		RSSEnd:     end.rss,
		RSSPeak:    end.rssPeak,
	}
	if ops > 0 {
		u.CPUPerOp = micros(cpu) / float64(ops)
	}
	return u
}

// parseStatCPU returns utime+stime from the text of /proc/<pid>/stat. The second field,
// the command name, is in parentheses and may hold spaces and parentheses itself, so the
// fields are counted from the last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name")
	}
	// After the name: state(3) ppid(4) ... utime(14) stime(15).
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, errors.New("too few fields")
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// parseStatusKB returns the value, in bytes, of a "Key:   1234 kB" line of
// /proc/<pid>/status, or 0 when the line is missing (kernel threads have no VmRSS).
func parseStatusKB(status, key string) int64 {
	for l := range strings.SplitSeq(status, "\n") {
		rest, ok := strings.CutPrefix(l, key)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0
		}
		return n * 1024
	}
	return 0
}
