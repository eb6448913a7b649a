package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/zktest"
)

// TestPipelinedReadsSeeTheWritesBeforeThem sends many setData and getData requests of one
// session in a single write, so that the reads queue behind writes that have not applied
// while later writes are proposed. Each read must see exactly the writes sent before it (not
// the session's later ones), every reply comes in request order, and the data watch each read
// sets fires on the next write, with the notification ahead of that write's reply.
func TestPipelinedReadsSeeTheWritesBeforeThem(t *testing.T) {
	s := startServer(t, testOptions(t, t.TempDir()))
	c := dial(t, s, zktest.Options{})
	create(t, c, "/p", "v0", proto.ModePersistent)

	const rounds = 40
	for attempt := range 5 {
		base := attempt * rounds // the node's version before this attempt
		var batch []byte
		xid := int32(1000 * (attempt + 1))
		for i := 1; i <= rounds; i++ {
			xid++
			batch = proto.AppendRequest(batch, proto.RequestHeader{Xid: xid, Type: proto.OpSetData},
				&proto.SetDataRequest{Path: "/p", Data: []byte(fmt.Sprintf("v%d", base+i)), Version: -1})
			xid++
			batch = proto.AppendRequest(batch, proto.RequestHeader{Xid: xid, Type: proto.OpGetData},
				&proto.PathWatchRequest{Path: "/p", Watch: true})
		}
		if err := c.SendRaw(batch); err != nil {
			t.Fatal(err)
		}

		want := int32(1000*(attempt+1)) + 1
		watchSet := attempt > 0 // the last read of the previous attempt left a watch
		for want <= xid {
			h, body, err := c.ReadReply(10 * time.Second)
			if err != nil {
				t.Fatalf("attempt %d: reading the reply to xid %d: %v", attempt, want, err)
			}
			if h.Xid == proto.XidNotification {
				if !watchSet {
					t.Fatalf("attempt %d: a notification before xid %d with no watch set", attempt, want)
				}
				watchSet = false
				continue
			}
			if h.Xid != want || h.Err != 0 {
				t.Fatalf("attempt %d: got xid %d (err %d), want xid %d", attempt, h.Xid, h.Err, want)
			}
			i := base + int(want-int32(1000*(attempt+1))+1)/2 // the round, counted over all attempts
			if want%2 == 1 {                                  // setData
				if watchSet {
					t.Fatalf("attempt %d: reply to the write of round %d before the notification it fired", attempt, i)
				}
				var sr proto.StatResponse
				if err := proto.Unmarshal(body, &sr); err != nil || sr.Stat.Version != int32(i) {
					t.Fatalf("attempt %d: setData of round %d: %v, version %d", attempt, i, err, sr.Stat.Version)
				}
			} else {
				var gd proto.GetDataResponse
				if err := proto.Unmarshal(body, &gd); err != nil {
					t.Fatal(err)
				}
				if got := string(gd.Data); got != fmt.Sprintf("v%d", i) || gd.Stat.Version != int32(i) {
					t.Fatalf("attempt %d: the read of round %d saw %q version %d, want v%d version %d",
						attempt, i, got, gd.Stat.Version, i, i)
				}
				watchSet = true
			}
			want++
		}
	}
}

// TestPipelinedReadsKeepTheirPaths pipelines, in one write, a setData and a getData with a
// watch on each of many nodes whose paths have the same length. The reader decodes a path
// read's record in place, over the frame that the next request overwrites, so a read that
// waits behind a write, and the watch a read sets, must keep a copy: each read must see its
// own node, and each watch fire for its own path.
func TestPipelinedReadsKeepTheirPaths(t *testing.T) {
	s := startServer(t, testOptions(t, t.TempDir()))
	c := dial(t, s, zktest.Options{})
	create(t, c, "/q", "", proto.ModePersistent)
	const n = 40
	path := func(i int) string { return fmt.Sprintf("/q/n%02d", i) }
	for i := range n {
		create(t, c, path(i), "", proto.ModePersistent)
	}
	xid := int32(1000)
	// send pipelines one or two requests per node; it returns the bodies of the replies,
	// checked to come in order and succeed, and counts the notifications read meanwhile.
	send := func(reqs ...func(i int) (proto.Op, proto.Record)) (bodies [][]byte, fired map[string]int) {
		var batch []byte
		first := xid + 1
		for i := range n {
			for _, r := range reqs {
				xid++
				op, rec := r(i)
				batch = proto.AppendRequest(batch, proto.RequestHeader{Xid: xid, Type: op}, rec)
			}
		}
		if err := c.SendRaw(batch); err != nil {
			t.Fatal(err)
		}
		fired = map[string]int{}
		for want := first; want <= xid; {
			h, body, err := c.ReadReply(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if h.Xid == proto.XidNotification {
				var ev proto.WatcherEvent
				if err := proto.Unmarshal(body, &ev); err != nil {
					t.Fatal(err)
				}
				fired[ev.Path]++
				continue
			}
			if h.Xid != want || h.Err != 0 {
				t.Fatalf("reply: xid %d err %d, want xid %d", h.Xid, h.Err, want)
			}
			bodies = append(bodies, body)
			want++
		}
		return bodies, fired
	}
	set := func(data string) func(int) (proto.Op, proto.Record) {
		return func(i int) (proto.Op, proto.Record) {
			return proto.OpSetData, &proto.SetDataRequest{Path: path(i), Data: []byte(data + path(i)), Version: -1}
		}
	}
	get := func(i int) (proto.Op, proto.Record) {
		return proto.OpGetData, &proto.PathWatchRequest{Path: path(i), Watch: true}
	}
	checkFired := func(when string, fired map[string]int) {
		t.Helper()
		for i := range n {
			if fired[path(i)] != 1 {
				t.Errorf("%s: the watch on %s fired %d times; all notifications: %v", when, path(i), fired[path(i)], fired)
			}
		}
	}

	// Each read waits behind the write before it.
	bodies, _ := send(set("a"), get)
	for i := range n {
		var gd proto.GetDataResponse
		if err := proto.Unmarshal(bodies[2*i+1], &gd); err != nil {
			t.Fatal(err)
		}
		if want := "a" + path(i); string(gd.Data) != want {
			t.Fatalf("the read of %s saw %q, want %q", path(i), gd.Data, want)
		}
	}
	_, fired := send(set("b"))
	checkFired("watches set by reads behind writes", fired)
	// Each read is served at once.
	send(get)
	_, fired = send(set("c"))
	checkFired("watches set by reads served at once", fired)
}
