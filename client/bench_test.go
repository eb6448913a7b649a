package client_test

import (
	"context"
	"testing"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/tests/harness"
)

// benchClient starts a paddock server and connects to it, with a 64-byte node /bench.
func benchClient(b *testing.B) *client.Client {
	srv := harness.StartPaddock(b, harness.PaddockOptions{})
	c := connect(b, srv.Addr(), client.Options{})
	if _, err := c.Create(ctx(b), "/bench", make([]byte, 64), client.ModePersistent, nil); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkGetData is one goroutine's round trips: latency and the client's allocations per op.
func BenchmarkGetData(b *testing.B) {
	c := benchClient(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.GetData(ctx, "/bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetDataParallel pipelines reads from many goroutines over one session.
func BenchmarkGetDataParallel(b *testing.B) {
	c := benchClient(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := c.GetData(ctx, "/bench"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSetDataParallel pipelines writes from many goroutines over one session.
func BenchmarkSetDataParallel(b *testing.B) {
	c := benchClient(b)
	ctx := context.Background()
	data := make([]byte, 64)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.SetData(ctx, "/bench", data, client.AnyVersion); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
