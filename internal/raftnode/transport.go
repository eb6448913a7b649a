package raftnode

import (
	"log/slog"
	"sync"

	pb "go.etcd.io/raft/v3/raftpb"
)

// Transport moves raft messages between the members of an ensemble. A
// one-member ensemble needs none. The peer transport (TCP, TLS-ready, with a
// cluster-identity check on connect) implements it; tests may plug in an
// in-memory one through Config.Transport.
//
// Implementations must be safe for concurrent use.
//
// Send runs on the node's Ready loop, and the Receiver hands everything to
// that same loop. So Send must never call a Receiver method on the caller's
// goroutine: Receive blocks while the loop's inbound queue is full, and only
// the loop empties it. Deliveries (a loopback, an in-memory network) and
// reports go through goroutines of the transport's own. ReportUnreachable and
// ReportSnapshot never block, so calling them from Send cannot deadlock the
// node, but Receive can.
type Transport interface {
	// Start begins accepting messages from peers and hands them to
	// info.Receiver. It is called once, by Start, after the log has been
	// replayed and the peers known so far have been added, and before the
	// first Send.
	Start(info StartInfo) error
	// Send queues messages for delivery to the members named in their To
	// fields. It is called from the Ready loop and must not block on the
	// network; messages to an unreachable member may be dropped (raft retries)
	// after calling Receiver.ReportUnreachable. Send must not keep or modify
	// msgs after it returns except by encoding them first.
	//
	// A MsgSnap carries only the snapshot's metadata: the transport streams
	// the file StartInfo.SnapDir/<term>-<index>.snap itself and reports the
	// outcome with Receiver.ReportSnapshot. The receiving transport writes the
	// file into its own StartInfo.SnapDir as <term>-<index>.snap.recv (under a
	// temporary name, synced, renamed, directory synced), and delivers the
	// MsgSnap only then. The .recv name keeps the file out of recovery until
	// raft has accepted it: the node renames it into place (see the package
	// documentation, "Received snapshots").
	Send(msgs []*pb.Message)
	// AddPeer makes a member reachable, or updates its address; RemovePeer
	// forgets it. Both may be called before Start. The node calls them for
	// the membership recovered at Start and whenever a committed change
	// alters the membership or an address; it never adds itself.
	AddPeer(p Peer)
	RemovePeer(id uint64)
	// Stop closes connections and listeners; called once, by Node.Stop.
	Stop() error
}

// StartInfo is what a Node hands its Transport at Start: the settings a
// transport shares with the node, so that they are configured once.
type StartInfo struct {
	ID       uint64       // this member's id
	SnapDir  string       // the node's snapshot directory, DataDir/snap
	Logger   *slog.Logger // the node's logger, already tagged with raft_id
	Receiver Receiver     // where messages and reports go
}

// Receiver is the node's side of a Transport. Its methods are safe for
// concurrent use and drop what they are given once the node has stopped.
//
// Receive blocks while the node's inbound queue is full (back-pressure on
// the peer's stream), so it must not be called from Transport.Send.
// ReportUnreachable and ReportSnapshot never block and lose nothing that
// matters: reports wait for the Ready loop in a set, the unreachable ones one
// per member and the snapshot outcomes the latest per member (a transport
// sends one snapshot per member at a time).
type Receiver interface {
	// Receive hands a message from a peer to raft.
	Receive(m *pb.Message)
	// ReportUnreachable tells raft that sending to id failed.
	ReportUnreachable(id uint64)
	// ReportSnapshot tells raft whether a MsgSnap to id was delivered.
	ReportSnapshot(id uint64, ok bool)
}

// nodeReceiver implements Receiver for a Node without adding raft types to
// the Node's own method set.
type nodeReceiver struct{ n *Node }

func (r nodeReceiver) Receive(m *pb.Message) {
	select {
	case r.n.recvc <- m:
	case <-r.n.stopc:
	}
}

func (r nodeReceiver) ReportUnreachable(id uint64) {
	r.n.reports.unreachable(id)
	r.n.notifyReports()
}

func (r nodeReceiver) ReportSnapshot(id uint64, ok bool) {
	r.n.reports.snapshot(id, ok)
	r.n.notifyReports()
}

// pendingReports holds transport reports until the Ready loop takes them.
// Its size is bounded by the number of members reported on.
type pendingReports struct {
	mu    sync.Mutex      // a leaf lock; guards the fields below
	down  []uint64        // members to report unreachable, each once
	snaps map[uint64]bool // latest snapshot outcome per member
}

func (pr *pendingReports) unreachable(id uint64) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	for _, d := range pr.down {
		if d == id {
			return
		}
	}
	pr.down = append(pr.down, id)
}

func (pr *pendingReports) snapshot(id uint64, ok bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.snaps == nil {
		pr.snaps = map[uint64]bool{}
	}
	pr.snaps[id] = ok
}

// take returns and clears what is pending.
func (pr *pendingReports) take() (down []uint64, snaps map[uint64]bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	down, snaps = pr.down, pr.snaps
	pr.down, pr.snaps = nil, nil
	return down, snaps
}

func (n *Node) notifyReports() {
	select {
	case n.reportc <- struct{}{}:
	default:
	}
}
