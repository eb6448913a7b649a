package chaos

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/zktest"
	"github.com/paddock/paddock/tests/harness"
)

// TestSessionsAfterSnapshotCatchUp: a follower that was down while a session was created
// and catches up from a snapshot stream (the leader compacted its log meanwhile) must
// accept that session when its client moves to it, as every member must: the session is
// alive and owns an ephemeral.
func TestSessionsAfterSnapshotCatchUp(t *testing.T) {
	ens := harness.StartEnsemble(t, harness.EnsembleOptions{TickTime: tickTime, Config: []string{"snapCount=100"}})
	r := &run{t: t, ens: ens, sessionTimeout: sessionTimeout, start: time.Now()}
	l := r.mustLeader()
	f := r.followers(l)[0]
	f.Kill()

	// A session created while f is down, with an ephemeral, and enough writes after it that
	// the leader's log no longer reaches back to what f has.
	s := newSession(func() []string { return []string{l.Addr()} }, sessionTimeout, rand.New(rand.NewPCG(1, 2)))
	if err := s.connect(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	defer s.drop()
	if h, err := s.call(proto.OpCreate, &proto.CreateRequest{Path: "/eph", ACL: openACL, Flags: int32(proto.ModeEphemeral)}, &proto.PathRequest{}); err != nil || h.Err != proto.CodeOK {
		t.Fatalf("create /eph: %v %v", err, h.Err)
	}
	for i := range 400 {
		p := fmt.Sprintf("/n%d", i)
		if h, err := s.call(proto.OpCreate, &proto.CreateRequest{Path: p, ACL: openACL}, &proto.PathRequest{}); err != nil || h.Err != proto.CodeOK {
			t.Fatalf("create %s: %v %v", p, err, h.Err)
		}
	}
	before := r.logSize(f)
	if err := r.startMember(f); err != nil {
		t.Fatal(err)
	}
	if _, err := r.children(f, "/"); err != nil { // sync: f has caught up
		t.Fatal(err)
	}
	if !strings.Contains(r.logSince(f, before), "received snapshot") {
		t.Logf("member %d caught up without a snapshot; the test proves less", f.ID)
	}

	// The client moves its session to f.
	s.drop()
	w, err := dialWire(f.Addr(), zktest.Options{Timeout: sessionTimeout, SessionID: s.id, Passwd: s.passwd, LastZxidSeen: s.lastZxid}, 5*time.Second)
	if errors.Is(err, zktest.ErrSessionInvalid) {
		// Is it really gone? The leader still has it, and its ephemeral.
		s.addrs = func() []string { return []string{l.Addr()} }
		alive := s.connect(5*time.Second) == nil
		t.Fatalf("member %d (caught up from a snapshot) refuses session 0x%x as expired; the leader still accepts it: %v", f.ID, s.id, alive)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	h, err := w.call(proto.OpExists, &proto.PathWatchRequest{Path: "/eph"}, &proto.StatResponse{}, 5*time.Second)
	if err != nil || h.Err != proto.CodeOK {
		t.Fatalf("exists /eph on member %d: %v %v", f.ID, err, h.Err)
	}
}
