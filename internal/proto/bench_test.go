package proto

import (
	"bytes"
	"testing"
)

// The codec's share of a request: reading a frame, decoding a setData request, encoding
// its reply (header and Stat) into a reused buffer.

func BenchmarkReadFrame(b *testing.B) {
	frame := AppendRequest(nil, RequestHeader{Xid: 7, Type: OpSetData},
		&SetDataRequest{Path: "/bench/k-00042", Data: make([]byte, 100), Version: -1})
	stream := bytes.Repeat(frame, 1024)
	r := bytes.NewReader(stream)
	var buf []byte
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r.Len() == 0 {
			r.Reset(stream)
		}
		var err error
		if buf, err = ReadFrame(r, buf[:0], 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSetData(b *testing.B) {
	body := Marshal(nil, &SetDataRequest{Path: "/bench/k-00042", Data: make([]byte, 100), Version: -1})
	var req SetDataRequest
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Unmarshal(body, &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeReplyStat(b *testing.B) {
	resp := &StatResponse{Stat: Stat{Czxid: 1 << 32, Mzxid: 2<<32 | 7, Ctime: 1700000000000, Mtime: 1700000000001, Version: 3, DataLength: 100, Pzxid: 1 << 32}}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = AppendReply(buf[:0], ReplyHeader{Xid: 7, Zxid: 2<<32 | 7}, resp)
	}
}
