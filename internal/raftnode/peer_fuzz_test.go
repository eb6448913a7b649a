package raftnode

import (
	"bytes"
	"encoding/binary"
	"io"
	"slices"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// FuzzPeerHandshake feeds arbitrary bytes to both sides of the handshake and
// to the hello decoder. Nothing may panic; neither side may accept without a
// proof made with the key over its own fresh nonce, which the input cannot
// contain; a hello that decodes must re-encode to the same bytes.
func FuzzPeerHandshake(f *testing.F) {
	hello := appendPeerHello(nil, peerHello{kind: peerKindStream, from: 1, to: 2, cluster: "fuzz-cluster"})
	proof := bytes.Repeat([]byte{7}, peerMACLen)
	welcome := appendPeerWelcomeHeader(nil, peerRejectNone)
	welcome = binary.BigEndian.AppendUint64(welcome, 2)
	welcome = append(welcome, make([]byte, peerNonceLen)...)
	f.Add(hello)
	f.Add(append(bytes.Clone(hello), proof...))
	f.Add(appendPeerHello(nil, peerHello{kind: peerKindSnapshot, from: 3, to: 2, cluster: "other"}))
	f.Add(hello[:peerHelloPrefixLen+5])
	f.Add(slices.Concat(welcome, []byte{peerRejectNone}, proof))
	f.Add(appendPeerWelcomeHeader(nil, peerRejectCluster))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		a := &peerAuth{id: 2, cluster: "fuzz-cluster", key: []byte("fuzz key")}
		if h, err := a.accept(bytes.NewReader(data), io.Discard, nil, func(id uint64) bool { return id == 1 }); err == nil {
			t.Fatalf("acceptor accepted %+v without a valid proof", h)
		}
		d := &peerAuth{id: 1, cluster: "fuzz-cluster", key: []byte("fuzz key")}
		if err := d.dial(bytes.NewReader(data), io.Discard, 2, peerKindStream, nil); err == nil {
			t.Fatal("dialer accepted an acceptor without a valid proof")
		}
		h, raw, err := readPeerHello(bytes.NewReader(data))
		if err != nil {
			return
		}
		if !bytes.HasPrefix(data, raw) {
			t.Fatalf("raw hello %x is not the input's prefix", raw)
		}
		if again := appendPeerHello(nil, h); !bytes.Equal(again, raw) {
			t.Fatalf("hello %+v re-encodes as %x, read from %x", h, again, raw)
		}
	})
}

// FuzzPeerFrame feeds arbitrary bytes to the frame reader and message
// decoder, as on a stream connection, and to the snapshot receiver (both
// modes). Nothing may panic or read a frame over the limit; a message that
// decodes must survive re-encoding.
func FuzzPeerFrame(f *testing.F) {
	var stream []byte
	for _, m := range []*pb.Message{
		peerMsg(1, 2, 5),
		{Type: pb.MsgHeartbeat.Enum(), From: new(uint64(1)), To: new(uint64(2)), Term: new(uint64(3)), Commit: new(uint64(9))},
		{Type: pb.MsgVote.Enum(), From: new(uint64(1)), To: new(uint64(2)), Term: new(uint64(4)), LogTerm: new(uint64(3)), Index: new(uint64(10))},
		{Type: pb.MsgHup.Enum(), From: new(uint64(1)), To: new(uint64(2))},
	} {
		var err error
		if stream, err = appendPeerMessage(stream, m, 1<<20); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(stream)
	f.Add(stream[:len(stream)-3])
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, frameMsg})
	snapMsg, err := appendPeerMessage(nil, peerSnapMsg(1, 2, 3, 50, nil), 1<<20)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(slices.Concat(snapMsg, appendPeerFrame(nil, frameSnapEnd, make([]byte, 8))))
	f.Add(slices.Concat(snapMsg, appendPeerFrame(nil, frameSnapChunk, []byte("PDKSNAP\x00 not really")),
		appendPeerFrame(nil, frameSnapEnd, binary.BigEndian.AppendUint64(nil, 20))))
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 16
		r := bytes.NewReader(data)
		buf := make([]byte, 0, 512)
		for {
			typ, payload, err := readPeerFrame(r, limit, buf)
			if err != nil {
				break
			}
			if len(payload) > limit {
				t.Fatalf("read a %d-byte frame with limit %d", len(payload), limit)
			}
			if typ != frameMsg {
				continue
			}
			m, err := decodePeerMessage(payload, 1, 2)
			if err != nil {
				continue
			}
			frame, err := appendPeerMessage(nil, m, limit*2)
			if err != nil {
				t.Fatalf("re-encoding %v: %v", m, err)
			}
			_, again, err := readPeerFrame(bytes.NewReader(frame), limit*2, nil)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := decodePeerMessage(again, 1, 2)
			if err != nil || !proto.Equal(m, m2) {
				t.Fatalf("message %v does not survive re-encoding: %v, %v", m, m2, err)
			}
		}
		for _, dir := range []string{"", t.TempDir()} {
			tr := &TCPTransport{cfg: TCPConfig{ID: 2, MaxFrameSize: limit, MaxSnapshotSize: limit}}
			if dir != "" {
				tr.snapDir = dir
			}
			m, _, err := tr.recvSnapshot(bytes.NewReader(data), 1, func() {})
			if err == nil && (m.GetType() != pb.MsgSnap || m.GetFrom() != 1 || m.GetTo() != 2) {
				t.Fatalf("snapshot receiver accepted %v", m)
			}
		}
	})
}
