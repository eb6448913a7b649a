// Package e2e drives the built paddock binary as a user would: crashes, restarts, signals.
package e2e

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/zktest"
	"github.com/paddock/paddock/tests/harness"
)

var openACL = []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}

// TestKill9KeepsAcknowledgedWrites kills the server with SIGKILL while several clients write,
// restarts it, and checks that every create that was acknowledged survived. Repeated, with
// the load carrying on across crashes, and with small snapshots so that restarts replay a
// snapshot plus a log.
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	srv := harness.StartPaddock(t, harness.PaddockOptions{Config: []string{"snapCount=200"}})
	setup, err := zktest.Dial(srv.Addr(), zktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := setup.Call(proto.OpCreate, &proto.CreateRequest{Path: "/crash", ACL: openACL}, nil); err != nil || h.Err != 0 {
		t.Fatalf("create /crash: %v %v", err, h.Err)
	}
	setup.Close()

	const writers, rounds, perRound = 4, 3, 150
	var mu sync.Mutex
	acked := map[string]bool{}
	for round := 0; round < rounds; round++ {
		var wg sync.WaitGroup
		killed := make(chan struct{})
		var count sync.WaitGroup
		count.Add(1)
		var once sync.Once
		var n int
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				c, err := zktest.Dial(srv.Addr(), zktest.Options{})
				if err != nil {
					return
				}
				defer c.Close()
				for i := 0; ; i++ {
					p := fmt.Sprintf("/crash/r%d-w%d-%d", round, w, i)
					h, err := c.Call(proto.OpCreate, &proto.CreateRequest{Path: p, Data: []byte("v"), ACL: openACL}, nil)
					if err != nil {
						return // the server died under us: this create may or may not have happened
					}
					if h.Err != 0 {
						t.Errorf("create %s: %v", p, h.Err)
						return
					}
					mu.Lock()
					acked[p] = true
					n++
					if n == perRound*(round+1) {
						once.Do(count.Done)
					}
					mu.Unlock()
					select {
					case <-killed:
						return
					default:
					}
				}
			}(w)
		}
		count.Wait()
		srv.Kill()
		close(killed)
		wg.Wait()
		srv.Restart()

		c, err := zktest.Dial(srv.Addr(), zktest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var ch proto.ChildrenResponse
		h, err := c.Call(proto.OpGetChildren, &proto.PathWatchRequest{Path: "/crash"}, &ch)
		c.Close()
		if err != nil || h.Err != 0 {
			t.Fatalf("round %d: getChildren: %v %v", round, err, h.Err)
		}
		have := map[string]bool{}
		for _, name := range ch.Children {
			have["/crash/"+name] = true
		}
		mu.Lock()
		lost := 0
		for p := range acked {
			if !have[p] {
				lost++
				if lost < 5 {
					t.Errorf("round %d: acknowledged %s lost", round, p)
				}
			}
		}
		t.Logf("round %d: %d acknowledged creates, %d present after kill -9, %d lost", round, len(acked), len(have), lost)
		mu.Unlock()
		if lost > 0 {
			t.Fatalf("round %d: %d acknowledged writes lost", round, lost)
		}
	}
}

// TestSIGTERMShutsDownCleanly: SIGTERM makes the server exit on its own, and a restart serves
// the same data.
func TestSIGTERMShutsDownCleanly(t *testing.T) {
	srv := harness.StartPaddock(t, harness.PaddockOptions{})
	c, err := zktest.Dial(srv.Addr(), zktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := c.Call(proto.OpCreate, &proto.CreateRequest{Path: "/kept", Data: []byte("x"), ACL: openACL}, nil); err != nil || h.Err != 0 {
		t.Fatalf("create: %v %v", err, h.Err)
	}
	c.Close()
	if err := srv.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, 10*time.Second, func() bool { return !srv.Running() })
	log, _ := os.ReadFile(srv.LogPath())
	if !strings.Contains(string(log), "shutting down") {
		t.Fatalf("no shutdown message in the log:\n%s", log)
	}
	srv.Restart()
	c, err = zktest.Dial(srv.Addr(), zktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var gd proto.GetDataResponse
	if h, err := c.Call(proto.OpGetData, &proto.PathWatchRequest{Path: "/kept"}, &gd); err != nil || h.Err != 0 || string(gd.Data) != "x" {
		t.Fatalf("after restart: %v %v %q", err, h.Err, gd.Data)
	}
}
