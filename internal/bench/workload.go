package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// Layout under the run's root (see env.root):
//
//	<root>/k/g0000/k0000000   the keys, 100 per group so that children replies stay small
//	<root>/c/w3-17            created by the create workload: worker 3's 18th
//	<root>/t/d0012/n12345     the tree workload's tree, 1000 znodes per parent
//	<root>/w                  the watch workload's watched znode
const (
	keyGroupSize  = 100
	treeDirSize   = 1000
	watchNodeName = "w"
)

var openACL = zk.WorldACL(zk.PermAll)

// env is what the workloads share: the configuration, the sessions and the run's root.
type env struct {
	ctx   context.Context
	cfg   *Config
	conns []*zk.Conn
	root  string
	value []byte       // read only: go-zookeeper does not modify the data it sends
	rngs  []*rand.Rand // one per worker, used only by that worker
}

func (e *env) conn(w int) *zk.Conn { return e.conns[w%len(e.conns)] }

// create creates a persistent znode with the benchmark's value.
func (e *env) create(w int, p string) error {
	_, err := e.conn(w).Create(p, e.value, 0, openACL)
	if err != nil {
		return fmt.Errorf("creating %s: %w", p, err)
	}
	return nil
}

// workload is one kind of operation and the znodes it needs.
type workload interface {
	// setup creates what the operations need under e.root (which exists), counting its
	// steps in done.
	setup(done *atomic.Int64) error
	// adjust changes the loop to the workload's needs (the watch workload runs one round
	// at a time; the tree workload runs exactly Znodes operations).
	adjust(s *loopSpec)
	// op performs one operation as worker w. measured tells whether the loop records it.
	op(w int, measured bool) error
	// close releases what setup opened besides znodes (sessions).
	close()
}

func newWorkload(e *env) workload {
	switch e.cfg.Workload {
	case "watch":
		return &watchWorkload{e: e}
	case "churn":
		return &churnWorkload{e: e}
	case "tree":
		return &treeWorkload{e: e}
	}
	return &keyWorkload{e: e, kind: e.cfg.Workload}
}

// keyWorkload is create, set, get, exists, children, mix and multi.
type keyWorkload struct {
	e       *env
	kind    string
	keys    []string
	groups  []string
	prefix  []string // create: per worker, "<root>/c/w<w>-"
	created []int64  // create: per worker, znodes created so far
}

func (k *keyWorkload) setup(done *atomic.Int64) error {
	e := k.e
	if k.kind == "create" {
		return e.create(0, e.root+"/c")
	}
	if err := e.create(0, e.root+"/k"); err != nil {
		return err
	}
	n := e.cfg.Keys
	k.groups = make([]string, (n+keyGroupSize-1)/keyGroupSize)
	for g := range k.groups {
		k.groups[g] = fmt.Sprintf("%s/k/g%04d", e.root, g)
	}
	k.keys = make([]string, n)
	for i := range k.keys {
		k.keys[i] = fmt.Sprintf("%s/k%07d", k.groups[i/keyGroupSize], i)
	}
	par := e.cfg.Inflight
	if err := parallel(e.ctx, len(k.groups), par, done, func(w, i int) error { return e.create(w, k.groups[i]) }); err != nil {
		return err
	}
	return parallel(e.ctx, n, par, done, func(w, i int) error { return e.create(w, k.keys[i]) })
}

func (k *keyWorkload) adjust(s *loopSpec) {
	if k.kind == "create" {
		k.prefix = make([]string, s.workers)
		k.created = make([]int64, s.workers)
		for w := range k.prefix {
			k.prefix[w] = fmt.Sprintf("%s/c/w%d-", k.e.root, w)
		}
	}
}

func (k *keyWorkload) key(w int) string { return k.keys[k.e.rngs[w].IntN(len(k.keys))] }

func (k *keyWorkload) op(w int, _ bool) error {
	e := k.e
	c := e.conn(w)
	var err error
	switch k.kind {
	case "create":
		p := k.prefix[w] + strconv.FormatInt(k.created[w], 10)
		k.created[w]++
		_, err = c.Create(p, e.value, 0, openACL)
	case "set":
		_, err = c.Set(k.key(w), e.value, -1)
	case "get":
		_, _, err = c.Get(k.key(w))
	case "exists":
		var ok bool
		ok, _, err = c.Exists(k.key(w))
		if err == nil && !ok {
			err = zk.ErrNoNode
		}
	case "children":
		_, _, err = c.Children(k.groups[e.rngs[w].IntN(len(k.groups))])
	case "mix":
		if e.rngs[w].Float64() < e.cfg.ReadRatio {
			_, _, err = c.Get(k.key(w))
		} else {
			_, err = c.Set(k.key(w), e.value, -1)
		}
	case "multi":
		err = k.multi(w, c)
	}
	return err
}

func (k *keyWorkload) multi(w int, c *zk.Conn) error {
	n := k.e.cfg.MultiOps
	ops := make([]any, 0, n)
	picked := make([]int, 0, n)
	for len(picked) < n {
		i := k.e.rngs[w].IntN(len(k.keys))
		dup := false
		for _, j := range picked {
			dup = dup || i == j
		}
		if !dup {
			picked = append(picked, i)
			ops = append(ops, &zk.SetDataRequest{Path: k.keys[i], Data: k.e.value, Version: -1})
		}
	}
	res, err := c.Multi(ops...)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Error != nil {
			return r.Error
		}
	}
	return nil
}

func (k *keyWorkload) close() {}

// treeWorkload creates Znodes znodes, treeDirSize per parent, as fast as the loop allows.
type treeWorkload struct {
	e    *env
	dirs []string
	next atomic.Int64
}

func (t *treeWorkload) setup(done *atomic.Int64) error {
	e := t.e
	if err := e.create(0, e.root+"/t"); err != nil {
		return err
	}
	t.dirs = make([]string, (e.cfg.Znodes+treeDirSize-1)/treeDirSize)
	for i := range t.dirs {
		t.dirs[i] = fmt.Sprintf("%s/t/d%04d/", e.root, i)
	}
	return parallel(e.ctx, len(t.dirs), e.cfg.Inflight, done, func(w, i int) error {
		return e.create(w, t.dirs[i][:len(t.dirs[i])-1])
	})
}

func (t *treeWorkload) adjust(s *loopSpec) {
	s.ops = int64(t.e.cfg.Znodes)
	s.warmup = 0
}

func (t *treeWorkload) op(w int, _ bool) error {
	n := t.next.Add(1) - 1
	p := t.dirs[int(n)/treeDirSize] + "n" + strconv.FormatInt(n, 10)
	_, err := t.e.conn(w).Create(p, t.e.value, 0, openACL)
	return err
}

func (t *treeWorkload) close() {}

// churnWorkload opens and closes a session per operation.
type churnWorkload struct{ e *env }

func (c *churnWorkload) setup(*atomic.Int64) error { return nil }
func (c *churnWorkload) adjust(*loopSpec)          {}
func (c *churnWorkload) close()                    {}

func (c *churnWorkload) op(int, bool) error {
	conn, err := dial(c.e.ctx, c.e.cfg)
	if err != nil {
		return err
	}
	conn.Close()
	return nil
}

// errWatch reports a watcher that was not armed or not notified.
var errWatch = errors.New("bench: watch not delivered")

// watchWorkload: Watchers sessions each hold a data watch on one znode; a round fires them
// all with one setData and lasts until the last watcher has its event. Each watcher needs
// its own session because a server keeps one watch per znode and session.
type watchWorkload struct {
	e        *env
	node     string
	watchers []*zk.Conn
	notify   *Histogram // per watcher, setData issued to event received; measured rounds only
	notified int64

	// The round in progress, between prepare and op (one worker: no lock needed).
	arrivals []time.Time // fresh per round: a late watcher of a failed round writes its own
	failed   *atomic.Int64
	donec    chan struct{} // closed when every watcher has its event or has failed
}

func (ww *watchWorkload) setup(done *atomic.Int64) error {
	e := ww.e
	ww.node = e.root + "/" + watchNodeName
	ww.notify = NewHistogram()
	if err := e.create(0, ww.node); err != nil {
		return err
	}
	var err error
	ww.watchers, err = dialAll(e.ctx, e.cfg, e.cfg.Watchers, e.cfg.Inflight, done)
	return err
}

func (ww *watchWorkload) adjust(s *loopSpec) {
	s.workers = 1
	s.rate = 0
	s.prepare = func(int) error { return ww.arm() }
}

// arm sets one data watch per watcher session and returns when the server has
// acknowledged them all. It runs before the loop starts the clock on the round.
func (ww *watchWorkload) arm() error {
	n := len(ww.watchers)
	arrivals := make([]time.Time, n)
	failed := new(atomic.Int64)
	var armed, notified sync.WaitGroup
	armed.Add(n)
	notified.Add(n)
	for i, c := range ww.watchers {
		go func() {
			defer notified.Done()
			_, _, ch, err := c.GetW(ww.node)
			armed.Done()
			if err != nil {
				failed.Add(1)
				return
			}
			ev := <-ch
			arrivals[i] = time.Now()
			if ev.Err != nil || ev.Type != zk.EventNodeDataChanged {
				failed.Add(1)
			}
		}()
	}
	armed.Wait()
	donec := make(chan struct{})
	go func() { notified.Wait(); close(donec) }()
	// A watcher that failed to arm is reported by op, which fires the round anyway so that
	// the others are released.
	ww.arrivals, ww.failed, ww.donec = arrivals, failed, donec
	return nil
}

// op fires the armed watches with one setData and waits until every watcher has its event.
func (ww *watchWorkload) op(_ int, measured bool) error {
	n := len(ww.watchers)
	t0 := time.Now()
	if _, err := ww.e.conn(0).Set(ww.node, ww.e.value, -1); err != nil {
		return err
	}
	limit := ww.e.cfg.SessionTimeout + connectGrace
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-ww.donec:
	case <-t.C:
		return fmt.Errorf("%w: not every watcher notified within %v", errWatch, limit)
	}
	if f := ww.failed.Load(); f > 0 {
		return fmt.Errorf("%w: %d of %d watchers failed", errWatch, f, n)
	}
	if measured {
		for _, a := range ww.arrivals {
			ww.notify.Record(a.Sub(t0))
		}
		ww.notified += int64(n)
	}
	return nil
}

func (ww *watchWorkload) close() { closeAll(ww.watchers) }
