package cli

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/paddock/paddock/internal/config"
)

func TestMemoryLimit(t *testing.T) {
	noEnv := func(string) string { return "" }
	v2 := fstest.MapFS{"memory.max": {Data: []byte("1073741824\n")}}
	cases := []struct {
		name   string
		cfg    config.Config
		env    func(string) string
		root   fstest.MapFS
		want   int64
		source string
	}{
		{"nothing", config.Config{}, noEnv, fstest.MapFS{}, 0, ""},
		{"cgroup v2", config.Config{}, noEnv, v2, 966367641, "90% of the container's memory limit (/sys/fs/cgroup/memory.max"},
		{"cgroup v2 without a limit", config.Config{}, noEnv, fstest.MapFS{"memory.max": {Data: []byte("max\n")}}, 0, ""},
		{"cgroup v1", config.Config{}, noEnv, fstest.MapFS{"memory/memory.limit_in_bytes": {Data: []byte("536870912")}}, 483183820, "memory.limit_in_bytes"},
		{"cgroup v1 without a limit", config.Config{}, noEnv, fstest.MapFS{"memory/memory.limit_in_bytes": {Data: []byte("9223372036854771712")}}, 0, ""},
		{"-Xmx before the cgroup", config.Config{MaxHeap: 256 << 20, MaxHeapFrom: "JVMFLAGS"}, noEnv, v2, 256 << 20, "-Xmx in JVMFLAGS"},
		{"GOMEMLIMIT before all", config.Config{MaxHeap: 256 << 20}, func(k string) string {
			if k == "GOMEMLIMIT" {
				return "300MiB"
			}
			return ""
		}, v2, 0, "GOMEMLIMIT=300MiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, from := memoryLimit(&c.cfg, c.env, c.root)
			if got != c.want || !strings.Contains(from, c.source) || (c.source == "") != (from == "") {
				t.Errorf("memoryLimit = %d, %q; want %d, %q", got, from, c.want, c.source)
			}
		})
	}
}
