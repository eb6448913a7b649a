package zkcli

import (
	"slices"
	"sync"
	"testing"

	"github.com/paddock/paddock/client"
)

// watchHarness is a watch table with sources fed by the test, as the client would feed them.
type watchHarness struct {
	t       *testing.T
	wt      *watchTable
	wg      sync.WaitGroup
	printed []string // owned by the dispatcher until flush returns
}

func newWatchHarness(t *testing.T) *watchHarness {
	h := &watchHarness{t: t}
	h.wt = newWatchTable(&h.wg, func(ev client.WatchEvent) { h.printed = append(h.printed, ev.Type.String()+" "+ev.Path) })
	t.Cleanup(func() { h.wt.stop(); h.wg.Wait() })
	return h
}

// oneShot registers a one-shot watch and returns the channel the client would fire.
func (h *watchHarness) oneShot(kind watchKind, path string) chan client.WatchEvent {
	ch := make(chan client.WatchEvent, 1)
	h.wt.addOneShot(kind, path, ch)
	return ch
}

// persistent registers a persistent watch's channel.
func (h *watchHarness) persistent(kind watchKind, path string) chan client.WatchEvent {
	ch := make(chan client.WatchEvent, 16)
	h.wt.do(&source{kind: kind, path: path, ch: ch})
	return ch
}

func fire(ch chan client.WatchEvent, t client.EventType, path string, zxid int64) {
	ch <- client.WatchEvent{Type: t, Path: path, Zxid: zxid}
}

func fireOnce(ch chan client.WatchEvent, t client.EventType, path string, zxid int64) {
	fire(ch, t, path, zxid)
	close(ch)
}

// hold stops the dispatcher until release is called, so that the events fired meanwhile
// are taken as one batch; release returns once the batch is processed.
func (h *watchHarness) hold() (release func()) {
	hold := make(chan struct{})
	req := watchReq{hold: hold, done: make(chan struct{})}
	// reqc is unbuffered: once the send completes, the dispatcher is waiting on hold.
	h.wt.reqc <- req
	return func() {
		close(hold)
		<-req.done
	}
}

// expect flushes and checks what was printed since the last expect.
func (h *watchHarness) expect(want ...string) {
	h.t.Helper()
	h.wt.flush()
	if !slices.Equal(h.printed, want) {
		h.t.Errorf("printed %q, want %q", h.printed, want)
	}
	h.printed = nil
}

func TestWatchTableOneShotCopies(t *testing.T) {
	h := newWatchHarness(t)
	// get -w /a twice, stat -w /a, ls -w /a; then set /a: zkCli prints one event.
	d1, d2, d3 := h.oneShot(wData, "/a"), h.oneShot(wData, "/a"), h.oneShot(wData, "/a")
	c := h.oneShot(wChild, "/a")
	fireOnce(d1, client.EventNodeDataChanged, "/a", -1)
	fireOnce(d2, client.EventNodeDataChanged, "/a", -1)
	fireOnce(d3, client.EventNodeDataChanged, "/a", -1)
	h.expect("NodeDataChanged /a")
	// The child watch is still set: a child change prints, and so does a later data change
	// on a new watch.
	fireOnce(c, client.EventNodeChildrenChanged, "/a", -1)
	d4 := h.oneShot(wData, "/a")
	fireOnce(d4, client.EventNodeDataChanged, "/a", -1)
	h.expect("NodeChildrenChanged /a", "NodeDataChanged /a")

	// Deleting a node fires data and child watches: one event.
	d5, c2 := h.oneShot(wData, "/b"), h.oneShot(wChild, "/b")
	fireOnce(c2, client.EventNodeDeleted, "/b", -1)
	fireOnce(d5, client.EventNodeDeleted, "/b", -1)
	h.expect("NodeDeleted /b")

	// Removing watches: one event per type, however many watches.
	d6, d7, c3 := h.oneShot(wData, "/c"), h.oneShot(wData, "/c"), h.oneShot(wChild, "/c")
	// Without zxids, events of different watches print in the order the table happens to
	// receive them: each expect below covers what was fired since the one before.
	fireOnce(d6, client.EventDataWatchRemoved, "/c", -1)
	fireOnce(d7, client.EventDataWatchRemoved, "/c", -1)
	h.expect("DataWatchRemoved /c")
	fireOnce(c3, client.EventChildWatchRemoved, "/c", -1)
	h.expect("ChildWatchRemoved /c")

	// The end of the session prints nothing here (the state event is printed elsewhere).
	d8 := h.oneShot(wData, "/d")
	fireOnce(d8, client.EventNotWatching, "/d", -1)
	h.expect()
}

func TestWatchTablePersistent(t *testing.T) {
	h := newWatchHarness(t)
	r := h.persistent(wRecursive, "/")
	p := h.persistent(wPersistent, "/a")
	d := h.oneShot(wData, "/a")
	// One notification reaches all three.
	fire(r, client.EventNodeDataChanged, "/a", -1)
	fire(p, client.EventNodeDataChanged, "/a", -1)
	fireOnce(d, client.EventNodeDataChanged, "/a", -1)
	h.expect("NodeDataChanged /a")
	// The next only the persistent ones: the one-shot watch is gone.
	fire(p, client.EventNodeDataChanged, "/a", -1)
	fire(r, client.EventNodeDataChanged, "/a", -1)
	h.expect("NodeDataChanged /a")
	// Children changed: the persistent watch on the node only, never the recursive one.
	fire(p, client.EventNodeChildrenChanged, "/a", -1)
	h.expect("NodeChildrenChanged /a")
	// A node below: the recursive watch only.
	fire(r, client.EventNodeCreated, "/a/b", -1)
	h.expect("NodeCreated /a/b")

	// removewatches /a: the persistent watch ends, the recursive one on / stays.
	fire(p, client.EventPersistentWatchRemoved, "/a", -1)
	close(p)
	h.expect("PersistentWatchRemoved /a")
	fire(r, client.EventNodeDeleted, "/a", -1)
	h.expect("NodeDeleted /a")
}

func TestWatchTableZxids(t *testing.T) {
	h := newWatchHarness(t)
	// With zxids (paddock, ZooKeeper 3.9), copies are told from repeats even when a source
	// delivers late: the persistent watch has two changes queued, the one-shot the first.
	r := h.persistent(wRecursive, "/")
	d := h.oneShot(wData, "/a")
	p := h.persistent(wPersistent, "/b")
	// The table sorts by zxid the events it takes at once: hold it while firing, or it
	// may take r's first event before the others are fired.
	release := h.hold()
	fire(r, client.EventNodeDataChanged, "/a", 7)
	fire(r, client.EventNodeDataChanged, "/a", 8)
	fire(p, client.EventNodeChildrenChanged, "/b", 5)
	fireOnce(d, client.EventNodeDataChanged, "/a", 7)
	release()
	// Printed in zxid order, though the sources are polled in the order they were added.
	h.expect("NodeChildrenChanged /b", "NodeDataChanged /a", "NodeDataChanged /a")
}
