package config

import (
	"fmt"
	"strconv"
	"strings"
)

// The JVM's -Xmx. zkServer.sh runs java with "$SERVER_JVMFLAGS $JVMFLAGS", and the last
// -Xmx wins; paddock takes it as its soft memory limit (see internal/cli/memlimit.go), so a
// heap size configured for the Java server still bounds the process.

// maxHeap returns the last -Xmx of the flags strings, in bytes, and where it came from; a
// malformed one is reported, not taken.
func maxHeap(env map[string]string) (n int64, src string, warnings []string) {
	for _, v := range []string{"SERVER_JVMFLAGS", "JVMFLAGS"} {
		for _, w := range shellWords(env[v]) {
			size, ok := strings.CutPrefix(w, "-Xmx")
			if !ok {
				continue
			}
			b, err := ParseJavaSize(size)
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("%s: ignoring %s: %v", v, w, err))
				continue
			}
			n, src = b, v
		}
	}
	return n, src, warnings
}

// ParseJavaSize parses a JVM memory size: a number of bytes, or of kibibytes, mebibytes,
// gibibytes or tebibytes with the suffix k, m, g or t (either case), as -Xmx takes it.
func ParseJavaSize(s string) (int64, error) {
	shift := 0
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		case 't', 'T':
			shift = 40
		}
		if shift > 0 {
			s = s[:n-1]
		}
	}
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, fmt.Errorf("not a size: want digits and an optional k, m, g or t")
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 || v > (1<<62)>>shift {
		return 0, fmt.Errorf("size out of range")
	}
	return v << shift, nil
}
