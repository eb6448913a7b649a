package raftnode

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPeerThreeMemberCluster runs a 3-member ensemble over real TCP
// transports: it elects a leader and replicates proposals; then a member
// that was down while the others moved on and compacted their logs catches
// up through a snapshot streamed by the leader.
func TestPeerThreeMemberCluster(t *testing.T) {
	checkNoPeerGoroutines(t)
	base := t.TempDir()
	lb := &logBuffer{}
	// The member's id, snapshot directory and logger come from the node.
	newTransport := func(addr string) *TCPTransport {
		tr, err := NewTCPTransport(TCPConfig{
			ListenAddr: addr,
			ClusterID:  peerTestClusterID,
			Secret:     []byte("ensemble secret"),
			BackoffMin: 2 * time.Millisecond,
			BackoffMax: 50 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Stop() }) // the node stops it first; again is harmless
		return tr
	}
	trs := make([]*TCPTransport, 3)
	var peers []Peer
	for i := range trs {
		trs[i] = newTransport("127.0.0.1:0")
		peers = append(peers, Peer{ID: uint64(i + 1), Addr: trs[i].Addr().String()})
	}
	cfgs := make([]Config, 3)
	nodes := make([]*Node, 3)
	recs := make([]*recorder, 3)
	for i := range cfgs {
		cfgs[i] = testConfig(filepath.Join(base, fmt.Sprint(i+1)), lb)
		cfgs[i].Logger = peerTestLogger(lb) // info level: the snapshot transfer is logged
		cfgs[i].ID = uint64(i + 1)
		cfgs[i].Peers = peers
		cfgs[i].SnapCount = 16 // snapshots, and log compaction behind them, as it runs
		cfgs[i].Transport = trs[i]
		recs[i] = &recorder{}
		nodes[i] = mustStart(t, cfgs[i], recs[i])
	}

	var leader *Node
	waitFor(t, "a leader", func() bool {
		for _, n := range nodes {
			if n.Status().Role == "leader" {
				leader = n
			}
		}
		return leader != nil
	})
	li := slices.Index(nodes, leader)
	fi := (li + 1) % 3 // a follower
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	propose := func(n *Node, from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			for {
				err := n.Propose(ctx, fmt.Appendf(nil, "p%d", i))
				if err == nil {
					break
				}
				if !errors.Is(err, ErrProposalDropped) || ctx.Err() != nil {
					t.Fatalf("Propose: %v", err)
				}
			}
		}
	}
	// Through a follower: it forwards to the leader over the transport.
	propose(nodes[fi], 0, 100)
	for i, r := range recs {
		waitFor(t, fmt.Sprintf("member %d to apply 100 entries", i+1), func() bool { return r.stateLen() == 100 })
	}
	want, _, _, _ := recs[li].snapshot()
	for i, r := range recs {
		if got, _, _, _ := r.snapshot(); !slices.Equal(got, want) {
			t.Fatalf("member %d applied a different log", i+1)
		}
		checkNoProblems(t, r)
	}

	// Member fi goes down; the others commit, snapshot and compact without it.
	if err := nodes[fi].Stop(); err != nil {
		t.Fatal(err)
	}
	propose(leader, 100, 300)
	waitFor(t, "the leader to apply and snapshot", func() bool {
		return recs[li].stateLen() == 300 && leader.Status().LastSnapshotIndex > peerLastIndex(recs[fi])+16
	})
	// Back on a new transport at the same address, it needs the leader's
	// snapshot: the entries it misses are gone from the leader's log.
	cfgs[fi].Transport = newTransport(peers[fi].Addr)
	recs[fi] = &recorder{}
	nodes[fi] = mustStart(t, cfgs[fi], recs[fi])
	waitFor(t, "the restarted member to catch up", func() bool { return recs[fi].stateLen() == 300 })
	want, _, _, _ = recs[li].snapshot()
	for i, r := range recs {
		waitFor(t, fmt.Sprintf("member %d to apply 300 entries", i+1), func() bool { return r.stateLen() == 300 })
		if got, _, _, _ := r.snapshot(); !slices.Equal(got, want) {
			t.Fatalf("member %d has a different state", i+1)
		}
	}
	if log := lb.String(); !strings.Contains(log, "sent snapshot") || !strings.Contains(log, "received snapshot") ||
		!strings.Contains(log, "installed snapshot from leader") {
		t.Fatalf("the member caught up without a snapshot transfer:\n%s", log)
	}
	// The received file was renamed into place once raft accepted it.
	snaps, _ := listSnapshots(cfgs[fi].DataDir + "/snap")
	recvd, _ := listReceived(cfgs[fi].DataDir + "/snap")
	if len(snaps) == 0 || len(recvd) != 0 {
		t.Fatalf("the restarted member has snapshots %v and received files %v", snaps, recvd)
	}
	for _, n := range nodes {
		if err := n.Stop(); err != nil {
			t.Fatal(err)
		}
	}
}

func peerLastIndex(r *recorder) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.state) == 0 {
		return 0
	}
	return r.state[len(r.state)-1].Index
}
