package raftnode

import (
	"context"
	"io"
	"os"
	"sync/atomic"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
)

// BenchmarkWALAppend measures one Ready's worth of log writing: a batch of
// entries and a hard state, written and fdatasync'd once (group commit).
// Allocations per op should be zero in the steady state.
func BenchmarkWALAppend(b *testing.B) {
	for _, bc := range []struct {
		name       string
		batch, val int
	}{
		{"batch=1/val=128", 1, 128},
		{"batch=64/val=128", 64, 128},
		{"batch=256/val=1024", 256, 1024},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			lb := &logBuffer{}
			w, err := createWAL(dir, 64<<20, 1, &pb.ConfState{Voters: []uint64{1}}, &defaultFS, testLogger(lb))
			if err != nil {
				b.Fatal(err)
			}
			defer w.close()
			data := make([]byte, bc.val)
			ents := make([]*pb.Entry, bc.batch)
			idx := uint64(0)
			for i := range ents {
				ents[i] = &pb.Entry{Term: new(uint64(1)), Index: new(uint64(0)), Type: pb.EntryNormal.Enum(), Data: data}
			}
			term, vote, commit := uint64(1), uint64(1), uint64(0)
			hs := &pb.HardState{Term: &term, Vote: &vote, Commit: &commit}
			b.SetBytes(int64(bc.batch * entryRecordSize(ents[0])))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for _, e := range ents {
					idx++
					*e.Index = idx
				}
				commit = idx
				if err := w.save(hs, ents, true); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*bc.batch)/b.Elapsed().Seconds(), "entries/s")
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				b.Fatal(err)
			}
		})
	}
}

// countSM counts applies; its snapshots are empty.
type countSM struct{ n atomic.Int64 }

func (c *countSM) Apply(uint64, uint64, []byte) { c.n.Add(1) }
func (c *countSM) Snapshot(uint64) (func(io.Writer) error, error) {
	return func(io.Writer) error { return nil }, nil
}
func (c *countSM) Restore(io.Reader) error { return nil }

// BenchmarkProposeApply measures the standalone write path: concurrent
// proposers, group commit, apply. An op is one entry proposed and applied.
func BenchmarkProposeApply(b *testing.B) {
	lb := &logBuffer{}
	cfg := testConfig(b.TempDir(), lb)
	cfg.SegmentSize = 64 << 20
	sm := &countSM{}
	n, err := Start(cfg, sm)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Stop()
	data := make([]byte, 128)
	ctx := context.Background()
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := n.Propose(ctx, data); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := n.ReadIndex(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if got := sm.n.Load(); got != int64(b.N) {
		b.Fatalf("applied %d of %d", got, b.N)
	}
}
