package server

import (
	"testing"
	"time"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/zktest"
)

// TestContainersAndTTLNodesAreReaped: an emptied container and an expired TTL node are
// deleted by the reaper through ordinary deletes, so watchers see NodeDeleted.
func TestContainersAndTTLNodesAreReaped(t *testing.T) {
	opts := testOptions(t, t.TempDir())
	opts.ContainerCheckInterval = 50 * time.Millisecond
	s := startServer(t, opts)
	c := dial(t, s, zktest.Options{})

	if h, err := c.Call(proto.OpCreateContainer, &proto.CreateRequest{Path: "/box", ACL: openACL, Flags: int32(proto.ModeContainer)}, &proto.Create2Response{}); err != nil || h.Err != 0 {
		t.Fatalf("createContainer: %v %v", err, h.Err)
	}
	create(t, c, "/box/item", "", proto.ModePersistent)
	if h, err := c.Call(proto.OpCreateTTL, &proto.CreateTTLRequest{Path: "/ttl", ACL: openACL, Flags: int32(proto.ModePersistentWithTTL), TTL: 100}, &proto.Create2Response{}); err != nil || h.Err != 0 {
		t.Fatalf("createTTL: %v %v", err, h.Err)
	}
	for _, p := range []string{"/box", "/ttl"} {
		if h, _ := c.Call(proto.OpExists, &proto.PathWatchRequest{Path: p, Watch: true}, &proto.StatResponse{}); h.Err != 0 {
			t.Fatalf("exists %s: %v", p, h.Err)
		}
	}
	// The container is kept while it has a child.
	if h, _ := c.Call(proto.OpDelete, &proto.DeleteRequest{Path: "/box/item", Version: -1}, nil); h.Err != 0 {
		t.Fatalf("delete child: %v", h.Err)
	}
	deleted := map[string]bool{}
	for len(deleted) < 2 {
		ev, err := c.NextEvent(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for reaping: %v (deleted so far %v)", err, deleted)
		}
		if ev.Type == proto.EventNodeDeleted {
			deleted[ev.Path] = true
		}
	}
	if !deleted["/box"] || !deleted["/ttl"] {
		t.Fatalf("reaped %v", deleted)
	}
}

// TestWatchDeliveryRechecksACL: a watcher that lost READ on a node before it changed gets no
// event (CVE-2024-23944), while one with READ does.
func TestWatchDeliveryRechecksACL(t *testing.T) {
	s := startServer(t, testOptions(t, t.TempDir()))
	owner := dial(t, s, zktest.Options{})
	other := dial(t, s, zktest.Options{})
	if h, _ := owner.Call(proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("alice:pw")}, nil); h.Err != 0 {
		t.Fatalf("auth: %v", h.Err)
	}
	create(t, owner, "/secret", "v", proto.ModePersistent)
	for _, c := range []*zktest.Conn{owner, other} {
		if h, _ := c.Call(proto.OpGetData, &proto.PathWatchRequest{Path: "/secret", Watch: true}, &proto.GetDataResponse{}); h.Err != 0 {
			t.Fatalf("getData: %v", h.Err)
		}
	}
	onlyAlice := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "auth", ID: ""}}}
	if h, _ := owner.Call(proto.OpSetACL, &proto.SetACLRequest{Path: "/secret", ACL: onlyAlice, Version: -1}, &proto.StatResponse{}); h.Err != 0 {
		t.Fatalf("setACL: %v", h.Err)
	}
	if h, _ := owner.Call(proto.OpSetData, &proto.SetDataRequest{Path: "/secret", Data: []byte("w"), Version: -1}, &proto.StatResponse{}); h.Err != 0 {
		t.Fatalf("setData: %v", h.Err)
	}
	if ev, err := owner.NextEvent(5 * time.Second); err != nil || ev.Type != proto.EventNodeDataChanged {
		t.Fatalf("owner event: %v %+v", err, ev)
	}
	// other's next frame must be the reply to its own request, not a notification.
	if h, _ := other.Call(proto.OpExists, &proto.PathWatchRequest{Path: "/"}, &proto.StatResponse{}); h.Err != 0 {
		t.Fatalf("exists: %v", h.Err)
	}
	select {
	case ev := <-other.Events:
		t.Fatalf("a watcher without READ got %+v", ev)
	default:
	}
}
