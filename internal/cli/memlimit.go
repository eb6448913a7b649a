package cli

import (
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/paddock/paddock/internal/config"
)

// The Go runtime's soft memory limit, so that the garbage collector works harder before the
// process outgrows what it was given, instead of the kernel killing it. First that applies:
//
//   - GOMEMLIMIT, which the runtime already applied;
//   - the last -Xmx of SERVER_JVMFLAGS and JVMFLAGS, the heap configured for the Java server;
//   - 90% of the container's memory limit (cgroup v2 memory.max, or v1's
//     memory.limit_in_bytes), leaving room for what the runtime does not count.
//
// Without any of them there is no limit, as for any Go program.

// cgroupShare is the fraction of a container's memory limit given to the runtime.
const cgroupShare = 0.9

// memoryLimit decides the limit: bytes (0 = none) and a description of where it came from.
// root is the cgroup file system (/sys/fs/cgroup), a parameter for tests.
func memoryLimit(cfg *config.Config, getenv func(string) string, root fs.FS) (int64, string) {
	if v := getenv("GOMEMLIMIT"); v != "" {
		return 0, "GOMEMLIMIT=" + v
	}
	if cfg.MaxHeap > 0 {
		return cfg.MaxHeap, fmt.Sprintf("-Xmx in %s", cfg.MaxHeapFrom)
	}
	if limit, file := cgroupLimit(root); limit > 0 {
		return int64(float64(limit) * cgroupShare), fmt.Sprintf("%.0f%% of the container's memory limit (%s: %d bytes)", cgroupShare*100, file, limit)
	}
	return 0, ""
}

// cgroupLimit reads this process's cgroup memory limit: 0 when there is none.
func cgroupLimit(root fs.FS) (int64, string) {
	for _, file := range []string{"memory.max", "memory/memory.limit_in_bytes"} {
		b, err := fs.ReadFile(root, file)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, ""
		}
		n, err := strconv.ParseInt(s, 10, 64)
		// cgroup v1 reports "no limit" as a huge number (a page-rounded MaxInt64).
		if err != nil || n <= 0 || n >= math.MaxInt64/2 {
			return 0, ""
		}
		return n, filepath.Join("/sys/fs/cgroup", file)
	}
	return 0, ""
}

// applyMemoryLimit sets and logs the limit memoryLimit decides.
func applyMemoryLimit(cfg *config.Config, log *slog.Logger) {
	limit, from := memoryLimit(cfg, os.Getenv, os.DirFS("/sys/fs/cgroup"))
	switch {
	case from == "":
		return
	case limit == 0:
		log.Info("memory limit", "from", from)
	default:
		debug.SetMemoryLimit(limit)
		log.Info("memory limit", "bytes", limit, "MiB", limit>>20, "from", from)
	}
}
