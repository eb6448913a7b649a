package config

import (
	"strings"
	"testing"
)

func TestParseJavaSize(t *testing.T) {
	for s, want := range map[string]int64{
		"1024": 1024, "64k": 64 << 10, "512m": 512 << 20, "512M": 512 << 20, "2g": 2 << 30, "1T": 1 << 40,
	} {
		if got, err := ParseJavaSize(s); err != nil || got != want {
			t.Errorf("ParseJavaSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "m", "-1g", "0", "1.5g", "12q", "1gb", "99999999999999999999", "9999999999t"} {
		if got, err := ParseJavaSize(s); err == nil {
			t.Errorf("ParseJavaSize(%q) = %d, want an error", s, got)
		}
	}
}

// The JVM takes the last -Xmx of "$SERVER_JVMFLAGS $JVMFLAGS" (zkServer.sh's order).
func TestMaxHeapFromJVMFlags(t *testing.T) {
	c, err := Load(LoadOptions{Env: []string{"SERVER_JVMFLAGS=-Xmx2g -Da=1", "JVMFLAGS=-Xmx512m"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxHeap != 512<<20 || c.MaxHeapFrom != "JVMFLAGS" {
		t.Errorf("MaxHeap %d from %q, want 512 MiB from JVMFLAGS", c.MaxHeap, c.MaxHeapFrom)
	}
	c, err = Load(LoadOptions{Env: []string{"SERVER_JVMFLAGS=-Xmx1g", "JVMFLAGS=-Xmx12q"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxHeap != 1<<30 || c.MaxHeapFrom != "SERVER_JVMFLAGS" {
		t.Errorf("MaxHeap %d from %q, want 1 GiB from SERVER_JVMFLAGS", c.MaxHeap, c.MaxHeapFrom)
	}
	if !strings.Contains(strings.Join(c.Warnings, "\n"), "JVMFLAGS: ignoring -Xmx12q") {
		t.Errorf("no warning about -Xmx12q: %q", c.Warnings)
	}
	c, err = Load(LoadOptions{})
	if err != nil || c.MaxHeap != 0 {
		t.Errorf("no flags: MaxHeap %d, %v", c.MaxHeap, err)
	}
}

func FuzzJavaSize(f *testing.F) {
	for _, s := range []string{"1g", "512m", "0", "", "9223372036854775807", "4611686018427387904k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseJavaSize(s)
		if err == nil && n <= 0 {
			t.Fatalf("ParseJavaSize(%q) = %d without an error", s, n)
		}
	})
}
