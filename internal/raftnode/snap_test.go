package raftnode

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
)

// TestUnacceptedReceivedSnapshotIsNotRestored has the transport receive a
// snapshot while no node runs, as if the node crashed before raft saw the
// MsgSnap. Its index is inside the member's log, whose entry there has
// another term: restoring from it would contradict the log. Start must
// ignore it (and delete it) and replay the log.
func TestUnacceptedReceivedSnapshotIsNotRestored(t *testing.T) {
	checkNoPeerGoroutines(t)
	lb := &logBuffer{}
	dirA, dirB := t.TempDir(), t.TempDir()

	cfg := testConfig(dirB, lb)
	cfg.ID = 2
	r := &recorder{}
	n := mustStart(t, cfg, r)
	proposeAll(t, n, r, "local", 0, 20, 20)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	want, _, _, _ := r.snapshot()

	a := newPeerTransport(t, 1, lb, func(c *TCPConfig) { c.DataDir = dirA })
	b := newPeerTransport(t, 2, lb, func(c *TCPConfig) { c.DataDir = dirB })
	connectPeers(a, b)
	ra, rb := &peerRecv{}, &peerRecv{}
	startPeer(t, a, ra)
	startPeer(t, b, rb)
	writePeerSnapshot(t, dirA, 5, 10, 1000) // term 5 at index 10; the log has term 1 there
	a.Send([]*pb.Message{peerSnapMsg(1, 2, 5, 10, nil)})
	waitFor(t, "the snapshot to be delivered", func() bool { return hasPeerSnapReport(ra, peerSnapReport{2, true}) })
	for _, tr := range []*TCPTransport{a, b} {
		if err := tr.Stop(); err != nil {
			t.Fatal(err)
		}
	}

	r2 := &recorder{}
	mustStart(t, cfg, r2)
	got, _, restores, _ := r2.snapshot()
	if restores != 0 || !slices.Equal(got, want) {
		t.Fatalf("after restart: %d restores, %d entries; want the log's %d entries and no restore", restores, len(got), len(want))
	}
	if names := dirNames(t, filepath.Join(dirB, "snap")); len(names) != 0 {
		t.Fatalf("snapshot directory holds %v, want nothing", names)
	}
}

// TestAcceptedReceivedSnapshotIsCompletedAtStart builds the state a crash
// leaves between syncing the marker of a received snapshot and renaming the
// file into place: the log says the snapshot was accepted (and its commit
// index is beyond the log's last entry) but the file is still *.recv. Start
// must complete the rename and restore from it.
func TestAcceptedReceivedSnapshotIsCompletedAtStart(t *testing.T) {
	lb := &logBuffer{}
	dir := t.TempDir()
	cfg := testConfig(dir, lb)
	r := &recorder{}
	n := mustStart(t, cfg, r)
	proposeAll(t, n, r, "local", 0, 4, 4) // indexes 2..5 (1 is the leader's empty entry)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	// The leader's state at index 15, term 1.
	leader := &recorder{}
	for i := uint64(2); i <= 15; i++ {
		leader.Apply(i, 1, []byte{byte('A' + i)})
	}
	write, err := leader.Snapshot(15)
	if err != nil {
		t.Fatal(err)
	}
	snapDir := filepath.Join(dir, "snap")
	conf := &pb.ConfState{Voters: []uint64{1}}
	h := snapHeader{index: 15, term: 1, conf: conf, addrs: map[uint64]string{7: "far:1"}}
	path, err := writeSnapshot(snapDir, h, write, &defaultFS)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, filepath.Join(snapDir, receivedName(1, 15))); err != nil {
		t.Fatal(err)
	}
	walDir := filepath.Join(dir, "wal")
	segs, err := listSegments(walDir)
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := openWAL(walDir, segs, cfg.SegmentSize, 0, &defaultFS, testLogger(lb))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.saveSnapshot(snapMarker{index: 15, term: 1, conf: conf}); err != nil {
		t.Fatal(err)
	}
	if err := w.save(&pb.HardState{Term: new(uint64(1)), Vote: new(uint64(1)), Commit: new(uint64(15))}, nil, true); err != nil {
		t.Fatal(err)
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}

	r2 := &recorder{}
	n = mustStart(t, cfg, r2)
	got, _, restores, _ := r2.snapshot()
	want, _, _, _ := leader.snapshot()
	if restores != 1 || !slices.Equal(got, want) {
		t.Fatalf("after restart: %d restores, state %v; want the received snapshot's", restores, got)
	}
	if names := dirNames(t, snapDir); !slices.Equal(names, []string{snapshotName(1, 15)}) {
		t.Fatalf("snapshot directory holds %v", names)
	}
	if st := n.Status(); st.Applied < 15 || st.LastSnapshotIndex != 15 {
		t.Fatalf("status %+v", st)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestSnapshotHeaderVersions(t *testing.T) {
	conf := &pb.ConfState{Voters: []uint64{1, 2}, Learners: []uint64{3}}
	addrs := map[uint64]string{2: "b:2888", 3: "c:2888"}
	b, err := encodeSnapshotHeader(snapHeader{index: 9, term: 2, bodyLen: 5, bodyCRC: 7, conf: conf, addrs: addrs})
	if err != nil {
		t.Fatal(err)
	}
	h, n, err := decodeSnapshotHeader(b)
	if err != nil || n != len(b) || h.index != 9 || h.term != 2 || len(h.addrs) != 2 || h.addrs[3] != "c:2888" {
		t.Fatalf("version 2: %+v, %d of %d bytes, %v", h, n, len(b), err)
	}
	// Version 1: no address book; still read.
	v1 := encodeSnapshotHeaderV1(t, snapHeader{index: 9, term: 2, bodyLen: 5, bodyCRC: 7, conf: conf})
	h, n, err = decodeSnapshotHeader(v1)
	if err != nil || n != len(v1) || h.index != 9 || !slices.Equal(h.conf.Voters, conf.Voters) || h.addrs != nil {
		t.Fatalf("version 1: %+v, %d of %d bytes, %v", h, n, len(v1), err)
	}
}
