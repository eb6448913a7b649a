package raftnode

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
)

func peerSnapMsg(from, to, term, index uint64, data []byte) *pb.Message {
	return &pb.Message{
		Type: pb.MsgSnap.Enum(), From: new(from), To: new(to), Term: new(term),
		Snapshot: &pb.Snapshot{Data: data, Metadata: &pb.SnapshotMetadata{
			Index: new(index), Term: new(term), ConfState: &pb.ConfState{Voters: []uint64{1, 2}},
		}},
	}
}

// writePeerSnapshot writes a snapshot file of about size bytes (the body is
// incompressible) into dir/snap and returns its path.
func writePeerSnapshot(t *testing.T, dir string, term, index uint64, size int) string {
	t.Helper()
	snapDir := filepath.Join(dir, "snap")
	if err := os.MkdirAll(snapDir, 0o750); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{byte(index)})
	rng.Read(body)
	h := snapHeader{index: index, term: term, conf: &pb.ConfState{Voters: []uint64{1, 2}}}
	path, err := writeSnapshot(snapDir, h, func(w io.Writer) error { _, err := w.Write(body); return err }, &defaultFS)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func hasPeerSnapReport(r *peerRecv, want peerSnapReport) bool {
	return slices.Contains(r.snapshotReports(), want)
}

func TestPeerSnapshotFile(t *testing.T) {
	checkNoPeerGoroutines(t)
	lb := &logBuffer{}
	dirA, dirB := t.TempDir(), t.TempDir()
	a := newPeerTransport(t, 1, lb, func(c *TCPConfig) { c.DataDir = dirA })
	b := newPeerTransport(t, 2, lb, func(c *TCPConfig) { c.DataDir = dirB })
	connectPeers(a, b)

	src := writePeerSnapshot(t, dirA, 3, 50, 3<<20+12345)   // several chunks
	dst := filepath.Join(dirB, "snap", receivedName(3, 50)) // until the node accepts it
	var mu sync.Mutex
	var atDelivery []error // verification of B's file when each MsgSnap arrived
	ra := &peerRecv{}
	rb := &peerRecv{onReceive: func(m *pb.Message) {
		if m.GetType() == pb.MsgSnap {
			md := m.GetSnapshot().GetMetadata()
			_, err := verifySnapshot(filepath.Join(dirB, "snap", receivedName(md.GetTerm(), md.GetIndex())))
			mu.Lock()
			atDelivery = append(atDelivery, err)
			mu.Unlock()
		}
	}}
	startPeer(t, a, ra)
	startPeer(t, b, rb)

	a.Send([]*pb.Message{peerSnapMsg(1, 2, 3, 50, nil), peerMsg(1, 2, 1)})
	waitFor(t, "the snapshot to be acknowledged", func() bool { return hasPeerSnapReport(ra, peerSnapReport{2, true}) })
	mu.Lock()
	if len(atDelivery) != 1 || atDelivery[0] != nil {
		t.Fatalf("when the MsgSnap was delivered, B's snapshot file verified as %v", atDelivery)
	}
	mu.Unlock()
	want, _ := os.ReadFile(src)
	got, _ := os.ReadFile(dst)
	if !bytes.Equal(got, want) {
		t.Fatalf("B's snapshot file differs from A's (%d vs %d bytes)", len(got), len(want))
	}
	waitFor(t, "the message sent with the snapshot", func() bool { return rb.count() == 2 })

	// A missing file: reported failed, nothing delivered.
	a.Send([]*pb.Message{peerSnapMsg(1, 2, 3, 99, nil)})
	waitFor(t, "the failure to be reported", func() bool { return hasPeerSnapReport(ra, peerSnapReport{2, false}) })

	// A damaged file: B refuses it, keeps nothing, and A reports failure.
	bad := writePeerSnapshot(t, dirA, 3, 60, 1<<20)
	data, _ := os.ReadFile(bad)
	data[len(data)-10] ^= 0xFF
	if err := os.WriteFile(bad, data, 0o600); err != nil {
		t.Fatal(err)
	}
	before := len(ra.snapshotReports())
	a.Send([]*pb.Message{peerSnapMsg(1, 2, 3, 60, nil)})
	waitFor(t, "the damaged snapshot to be refused", func() bool { return len(ra.snapshotReports()) > before })
	if r := ra.snapshotReports()[before]; r.ok {
		t.Fatal("a damaged snapshot was acknowledged")
	}
	if !strings.Contains(lb.String(), "refused snapshot from peer") {
		t.Fatalf("log:\n%s", lb)
	}
	if rb.count() != 2 {
		t.Fatalf("B delivered %d messages, want 2", rb.count())
	}
	entries, _ := os.ReadDir(filepath.Join(dirB, "snap"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != filepath.Base(dst) {
		t.Fatalf("B's snapshot directory holds %v", names)
	}
}

func TestPeerSnapshotInline(t *testing.T) {
	checkNoPeerGoroutines(t)
	lb := &logBuffer{}
	const frame = 256 << 10
	a := newPeerTransport(t, 1, lb, func(c *TCPConfig) { c.MaxFrameSize = frame })
	b := newPeerTransport(t, 2, lb, func(c *TCPConfig) { c.MaxFrameSize = frame })
	connectPeers(a, b)
	ra, rb := &peerRecv{}, &peerRecv{}
	startPeer(t, a, ra)
	startPeer(t, b, rb)

	data := bytes.Repeat([]byte("state"), 4*frame/5) // above the frame limit
	a.Send([]*pb.Message{peerSnapMsg(1, 2, 2, 10, data)})
	waitFor(t, "the snapshot to be acknowledged", func() bool { return hasPeerSnapReport(ra, peerSnapReport{2, true}) })
	got := rb.received()
	if len(got) != 1 || got[0].GetType() != pb.MsgSnap || !bytes.Equal(got[0].GetSnapshot().GetData(), data) ||
		got[0].GetSnapshot().GetMetadata().GetIndex() != 10 {
		t.Fatalf("B received %v", got)
	}
}

func TestPeerSnapshotModeMismatch(t *testing.T) {
	checkNoPeerGoroutines(t)
	lb := &logBuffer{}
	dirA := t.TempDir()
	a := newPeerTransport(t, 1, lb, func(c *TCPConfig) { c.DataDir = dirA })
	b := newPeerTransport(t, 2, lb, nil) // no DataDir: expects inline snapshots
	connectPeers(a, b)
	ra, rb := &peerRecv{}, &peerRecv{}
	startPeer(t, a, ra)
	startPeer(t, b, rb)
	writePeerSnapshot(t, dirA, 1, 5, 1000)
	a.Send([]*pb.Message{peerSnapMsg(1, 2, 1, 5, nil)})
	waitFor(t, "the failure to be reported", func() bool { return hasPeerSnapReport(ra, peerSnapReport{2, false}) })
	if !strings.Contains(lb.String(), "DataDir is not set here") || rb.count() != 0 {
		t.Fatalf("delivered %d; log:\n%s", rb.count(), lb)
	}
}
