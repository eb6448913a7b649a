package raftnode

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDatasync measures what an append costs a segment depending on how
// it was prepared: a 3000-byte pwrite at the end of the written area and an
// fdatasync. "spare" also prepares spares in the background the way the log
// does, to see how much that slows the syncs down. It reports the CPU the
// syncing thread used per op and the 99th percentile latency.
func BenchmarkDatasync(b *testing.B) {
	for _, mode := range []string{"fallocated", "zero-filled", "zero-filled+spare"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			size := max(int64(b.N)*3000, 1<<20)
			var f *os.File
			var err error
			if mode == "fallocated" {
				if f, err = os.Create(filepath.Join(dir, "seg")); err == nil {
					if err = preallocate(f, size); err == nil {
						err = f.Sync()
					}
				}
			} else {
				f, err = prepareSegment(filepath.Join(dir, "seg"), size, &defaultFS, nil)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			stopc, donec := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(donec)
				if mode != "zero-filled+spare" {
					return
				}
				pause := func(d time.Duration) error { time.Sleep(d); return nil }
				for i := 0; ; i++ {
					select {
					case <-stopc:
						return
					default:
					}
					sf, err := prepareSegment(filepath.Join(dir, fmt.Sprintf("%d.spare", i)), 16<<20, &defaultFS, pause)
					if err != nil {
						b.Error(err)
						return
					}
					sf.Close()
				}
			}()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			data := make([]byte, 3000)
			lat := make([]time.Duration, 0, b.N)
			cpu0 := threadCPU()
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				if _, err := f.WriteAt(data, int64(i)*3000); err != nil {
					b.Fatal(err)
				}
				if err := fdatasync(f); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			cpu := threadCPU() - cpu0
			close(stopc)
			<-donec
			slices.Sort(lat)
			b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-µs/op")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// threadCPU is the CPU time the calling OS thread has used.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
