package chaos

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/paddock/paddock/internal/proto"
)

// recorder collects the operations of one run for porcupine. Times are nanoseconds since
// base on the monotonic clock. Safe for concurrent use.
type recorder struct {
	base time.Time

	mu  sync.Mutex
	ops []porcupine.Operation // guarded by mu
}

func (r *recorder) now() int64 { return int64(time.Since(r.base)) }

func (r *recorder) add(client int, in input, call int64, out output, ret int64) {
	if out.unknown {
		ret = neverReturned
	}
	r.mu.Lock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	r.mu.Unlock()
}

func (r *recorder) history() []porcupine.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]porcupine.Operation(nil), r.ops...)
}

// sessionRecord is one session a worker (or a ghost) held, and its ephemeral znode.
type sessionRecord struct {
	id        int64
	passwd    []byte
	ephemeral string    // the session's ephemeral znode; "" if it never got one
	expiredAt time.Time // when the ensemble said it expired (a ghost: when it was abandoned); zero if never
	closed    bool      // closeSession acknowledged
}

// worker is one client goroutine with its own session, on the run's key space.
type worker struct {
	id  int
	rng *rand.Rand
	s   *session

	sessions []*sessionRecord // every session, the current one last
	known    map[[2]int]znode // the last state seen of each key, to pick likely versions
	logSeq   int              // next /chaos/log name
	acked    []string         // acknowledged creates under /chaos/log
	dataSeq  int              // makes every written value unique
	counts   map[string]int   // outcome counts for the summary
	problems []string         // protocol errors: fail the run
	mu       sync.Mutex       // guards counts while the run reads them
	rec      *recorder        // the run's history
	eph      func(int) string // the ephemeral path of the worker's n-th session
	groups   int              // the number of key groups
	think    func() time.Duration
}

func (w *worker) count(what string) {
	w.mu.Lock()
	w.counts[what]++
	w.mu.Unlock()
}

func (w *worker) current() *sessionRecord {
	if len(w.sessions) == 0 {
		return nil
	}
	return w.sessions[len(w.sessions)-1]
}

// loop runs operations until stopc closes.
func (w *worker) loop(stopc <-chan struct{}) {
	for {
		select {
		case <-stopc:
			return
		default:
		}
		if err := w.ensureSession(stopc); err != nil {
			select {
			case <-stopc:
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		w.do()
		if d := w.think(); d > 0 {
			time.Sleep(d)
		}
	}
}

// ensureSession connects the session, moving it to another member after a connection
// loss, and starts a new session (with a new ephemeral) when the ensemble says it expired.
func (w *worker) ensureSession(stopc <-chan struct{}) error {
	for {
		err := w.s.connect(5 * time.Second)
		if errors.Is(err, errExpired) {
			if cur := w.current(); cur != nil {
				cur.expiredAt = time.Now()
			}
			w.count("session expired")
			if w.s.acceptedElsewhere() {
				// Not a violation by itself (a leader change can revive a session whose
				// expiry was under way), but worth counting: see the package tests.
				w.count("expiry disputed")
			}
			w.s.renew()
			continue
		}
		if err != nil {
			return err
		}
		cur := w.current()
		if cur == nil || cur.id != w.s.id {
			cur = &sessionRecord{id: w.s.id, passwd: w.s.passwd}
			w.sessions = append(w.sessions, cur)
			w.count("sessions")
		}
		if cur.ephemeral != "" {
			return nil
		}
		// Every session owns an ephemeral: it must exist while the session lives and be gone
		// once the session expired or closed.
		path := w.eph(len(w.sessions))
		h, err := w.s.call(proto.OpCreate, &proto.CreateRequest{Path: path, ACL: openACL, Flags: int32(proto.ModeEphemeral)}, &proto.PathRequest{})
		if err != nil {
			if !errors.Is(err, errLost) && !errors.Is(err, errNotSent) {
				w.problems = append(w.problems, err.Error())
			}
			select {
			case <-stopc:
				return err
			default:
			}
			continue
		}
		switch h.Err {
		case proto.CodeOK, proto.CodeNodeExists: // NodeExists: an earlier attempt made it
			cur.ephemeral = path
			return nil
		}
		w.problems = append(w.problems, fmt.Sprintf("create ephemeral %s: %v", path, h.Err))
		return h.Err
	}
}

func (w *worker) data() string {
	w.dataSeq++
	return fmt.Sprintf("w%d.%d", w.id, w.dataSeq)
}

// version picks the expected version for an op on key: usually the last one seen (so the op
// tends to succeed), sometimes any (-1), sometimes a stale guess.
func (w *worker) version(group, key int) int32 {
	n := w.known[[2]int{group, key}]
	switch r := w.rng.IntN(10); {
	case r < 2:
		return -1
	case r < 3:
		return n.version + int32(w.rng.IntN(3)) - 1
	}
	return n.version
}

// do runs one random operation and records it.
func (w *worker) do() {
	r := w.rng.IntN(100)
	if r < 8 {
		w.logCreate()
		return
	}
	g := w.rng.IntN(w.groups)
	k := w.rng.IntN(keysPerGroup)
	var in input
	in.group = g
	switch {
	case r < 38:
		w.read(g, k)
		return
	case r < 55:
		in.op = subOp{kind: opSet, key: k, data: w.data(), version: w.version(g, k)}
	case r < 67:
		in.op = subOp{kind: opCreate, key: k, data: w.data()}
	case r < 77:
		in.op = subOp{kind: opDelete, key: k, version: w.version(g, k)}
	default:
		in.op = subOp{kind: opMulti}
		in.ops = w.multiOps(g, k)
	}
	w.write(in)
}

// multiOps picks one of a few two-op transactions within the group.
func (w *worker) multiOps(g, a int) []subOp {
	b := 1 - a
	switch w.rng.IntN(5) {
	case 0: // conditional write on the other key
		return []subOp{{kind: opCheck, key: a, version: w.version(g, a)}, {kind: opSet, key: b, data: w.data(), version: -1}}
	case 1: // move a to b
		return []subOp{{kind: opDelete, key: a, version: w.version(g, a)}, {kind: opCreate, key: b, data: w.data()}}
	case 2: // both at once
		return []subOp{{kind: opSet, key: a, data: w.data(), version: w.version(g, a)}, {kind: opSet, key: b, data: w.data(), version: w.version(g, b)}}
	case 3: // create and update in one
		return []subOp{{kind: opCreate, key: a, data: w.data()}, {kind: opSet, key: a, data: w.data(), version: 0}}
	default: // replace: the version starts again
		return []subOp{{kind: opDelete, key: a, version: w.version(g, a)}, {kind: opCreate, key: a, data: w.data()}}
	}
}

// write sends one write (or multi), records it and learns the versions it reveals.
func (w *worker) write(in input) {
	var out output
	call := w.rec.now()
	var err error
	var h proto.ReplyHeader
	path := keyPath(in.group, in.op.key)
	switch in.op.kind {
	case opCreate:
		h, err = w.s.call(proto.OpCreate, &proto.CreateRequest{Path: path, Data: []byte(in.op.data), ACL: openACL}, &proto.PathRequest{})
		out.code = h.Err
	case opSet:
		var st proto.StatResponse
		h, err = w.s.call(proto.OpSetData, &proto.SetDataRequest{Path: path, Data: []byte(in.op.data), Version: in.op.version}, &st)
		out.code, out.version = h.Err, st.Stat.Version
	case opDelete:
		h, err = w.s.call(proto.OpDelete, &proto.DeleteRequest{Path: path, Version: in.op.version}, nil)
		out.code = h.Err
	case opMulti:
		req := &proto.MultiRequest{}
		for _, o := range in.ops {
			mo := proto.MultiOp{Path: keyPath(in.group, o.key), Version: o.version}
			switch o.kind {
			case opCreate:
				mo.Type, mo.Data, mo.ACL = proto.OpCreate, []byte(o.data), openACL
			case opSet:
				mo.Type, mo.Data = proto.OpSetData, []byte(o.data)
			case opDelete:
				mo.Type = proto.OpDelete
			case opCheck:
				mo.Type = proto.OpCheck
			}
			req.Ops = append(req.Ops, mo)
		}
		var resp proto.MultiResponse
		h, err = w.s.call(proto.OpMulti, req, &resp)
		out = multiOutput(h, &resp)
	}
	ret := w.rec.now()
	if errors.Is(err, errNotSent) {
		return
	}
	if err != nil {
		if !errors.Is(err, errLost) {
			w.problems = append(w.problems, fmt.Sprintf("%v: %v", in, err))
		}
		out = output{unknown: true}
		w.count("unknown")
	} else {
		w.count(fmt.Sprintf("%v %v", in.op.kind, okOrFailed(out.code)))
		w.learn(in, out)
	}
	w.rec.add(w.id, in, call, out, ret)
}

func okOrFailed(c proto.Code) string {
	if c == proto.CodeOK {
		return "ok"
	}
	return "failed"
}

// multiOutput reads a multi reply: per-op results, the failing op the first error result.
func multiOutput(h proto.ReplyHeader, resp *proto.MultiResponse) output {
	out := output{code: h.Err, failed: -1}
	if h.Err != proto.CodeOK {
		return out
	}
	for i, res := range resp.Results {
		if res.Type == proto.OpError && res.Err != proto.CodeOK {
			out.code, out.failed = res.Err, i
			return out
		}
	}
	for _, res := range resp.Results {
		if res.Type == proto.OpSetData {
			out.setVers = append(out.setVers, res.Stat.Version)
		}
	}
	return out
}

// learn updates the worker's guess of each key's version from a result.
func (w *worker) learn(in input, out output) {
	if out.code != proto.CodeOK {
		return
	}
	ops := in.ops
	if in.op.kind != opMulti {
		ops = []subOp{in.op}
	}
	sets := 0
	for _, o := range ops {
		k := [2]int{in.group, o.key}
		switch o.kind {
		case opCreate:
			w.known[k] = znode{exists: true}
		case opDelete:
			w.known[k] = znode{}
		case opSet:
			v := out.version
			if in.op.kind == opMulti && sets < len(out.setVers) {
				v = out.setVers[sets]
				sets++
			}
			w.known[k] = znode{exists: true, version: v}
		}
	}
}

// read is sync followed by getData in the same session: porcupine checks it as a
// linearizable read from the sync's call to the getData's return. A read whose outcome is
// unknown changed nothing, so it is not recorded.
func (w *worker) read(g, k int) {
	path := keyPath(g, k)
	call := w.rec.now()
	h, err := w.s.call(proto.OpSync, &proto.PathRequest{Path: path}, &proto.PathRequest{})
	if err == nil && h.Err != proto.CodeOK {
		w.problems = append(w.problems, fmt.Sprintf("sync %s: %v", path, h.Err))
		return
	}
	var gd proto.GetDataResponse
	if err == nil {
		h, err = w.s.call(proto.OpGetData, &proto.PathWatchRequest{Path: path}, &gd)
	}
	ret := w.rec.now()
	if err != nil {
		if !errors.Is(err, errLost) && !errors.Is(err, errNotSent) {
			w.problems = append(w.problems, fmt.Sprintf("read %s: %v", path, err))
		}
		w.count("read lost")
		return
	}
	out := output{code: h.Err}
	if h.Err == proto.CodeOK {
		out.data, out.version = string(gd.Data), gd.Stat.Version
		w.known[[2]int{g, k}] = znode{exists: true, version: gd.Stat.Version}
	} else if h.Err == proto.CodeNoNode {
		w.known[[2]int{g, k}] = znode{}
	}
	w.count("read " + okOrFailed(h.Err))
	w.rec.add(w.id, input{group: g, op: subOp{kind: opRead, key: k}}, call, out, ret)
}

// logCreate creates a znode under /chaos/log that nothing ever deletes: every acknowledged
// one must be on every member at the end.
func (w *worker) logCreate() {
	w.logSeq++
	path := fmt.Sprintf("/chaos/log/w%d-%d", w.id, w.logSeq)
	h, err := w.s.call(proto.OpCreate, &proto.CreateRequest{Path: path, Data: []byte("x"), ACL: openACL}, &proto.PathRequest{})
	switch {
	case errors.Is(err, errNotSent):
	case err != nil:
		if !errors.Is(err, errLost) {
			w.problems = append(w.problems, fmt.Sprintf("create %s: %v", path, err))
		}
		w.count("log unknown")
	case h.Err == proto.CodeOK:
		w.acked = append(w.acked, path)
		w.count("log ok")
	default:
		w.problems = append(w.problems, fmt.Sprintf("create %s: %v", path, h.Err))
	}
}
