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
