package chaos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/internal/zktest"
	"github.com/paddock/paddock/tests/harness"
)

// checkWorkerSessions checks each worker's last session while it lives (its ephemeral
// exists), then closes it: once closeSession is acknowledged the ephemeral is gone on every
// member.
func (r *run) checkWorkerSessions() {
	var closed []*sessionRecord
	for _, w := range r.workers {
		cur := w.current()
		if cur == nil || cur.ephemeral == "" || cur.id != w.s.id {
			continue
		}
		err := w.s.connect(10 * time.Second)
		if errors.Is(err, errExpired) {
			cur.expiredAt = time.Now()
			w.count("session expired")
			continue
		}
		if err != nil {
			r.t.Fatalf("worker %d: reconnecting session 0x%x: %v", w.id, cur.id, err)
		}
		code, err := syncExists(w.s, cur.ephemeral)
		if err != nil {
			r.t.Fatalf("worker %d: %v", w.id, err)
		}
		if code == proto.CodeNoNode {
			// Alive only if the session still works after a while: a closeSession applied by
			// then would have closed the connection.
			time.Sleep(time.Second)
			if _, err := syncExists(w.s, cur.ephemeral); err == nil {
				r.violation("worker %d: session 0x%x is alive but its ephemeral %s is gone", w.id, cur.id, cur.ephemeral)
			} else {
				r.logf("worker %d: session 0x%x expired at the end", w.id, cur.id)
				cur.expiredAt = time.Now()
			}
			continue
		}
		if err := w.s.closeSession(); err != nil {
			r.t.Fatalf("worker %d: closeSession 0x%x: %v", w.id, cur.id, err)
		}
		cur.closed = true
		closed = append(closed, cur)
	}
	for _, m := range r.ens.Members {
		have, err := r.children(m, "/chaos/eph")
		if err != nil {
			r.t.Fatalf("member %d: %v", m.ID, err)
		}
		for _, rec := range closed {
			if have[filepath.Base(rec.ephemeral)] {
				r.violation("member %d still has %s after its session 0x%x was closed", m.ID, rec.ephemeral, rec.id)
			}
		}
	}
}

func syncExists(s *session, path string) (proto.Code, error) {
	h, err := s.call(proto.OpSync, &proto.PathRequest{Path: path}, &proto.PathRequest{})
	if err != nil {
		return 0, fmt.Errorf("sync: %w", err)
	}
	if h.Err != proto.CodeOK {
		return 0, fmt.Errorf("sync: %v", h.Err)
	}
	h, err = s.call(proto.OpExists, &proto.PathWatchRequest{Path: path}, &proto.StatResponse{})
	if err != nil {
		return 0, fmt.Errorf("exists %s: %w", path, err)
	}
	return h.Err, nil
}

// children lists path's children on one member after sync, on a new session.
func (r *run) children(m *harness.Member, path string) (map[string]bool, error) {
	w, err := r.dial(m)
	if err != nil {
		return nil, err
	}
	defer func() {
		w.call(proto.OpCloseSession, nil, nil, time.Second)
		w.close()
	}()
	h, err := w.call(proto.OpSync, &proto.PathRequest{Path: path}, &proto.PathRequest{}, 10*time.Second)
	if err != nil || h.Err != proto.CodeOK {
		return nil, fmt.Errorf("sync: %v %v", err, h.Err)
	}
	var ch proto.ChildrenResponse
	h, err = w.call(proto.OpGetChildren, &proto.PathWatchRequest{Path: path}, &ch, 10*time.Second)
	if err != nil || h.Err != proto.CodeOK {
		return nil, fmt.Errorf("getChildren %s: %v %v", path, err, h.Err)
	}
	have := make(map[string]bool, len(ch.Children))
	for _, c := range ch.Children {
		have[c] = true
	}
	return have, nil
}

// finalReads reads every key on every member (sync, then getData) once the load stopped and
// adds the reads to the history: they are concurrent only with the writes whose outcome is
// unknown, so they pin down the final state, which every member must agree on.
func (r *run) finalReads() {
	for i, m := range r.ens.Members {
		w, err := r.dial(m)
		if err != nil {
			r.t.Fatalf("final reads on member %d: %v", m.ID, err)
		}
		for g := range groups {
			for k := range keysPerGroup {
				path := keyPath(g, k)
				call := r.rec.now()
				h, err := w.call(proto.OpSync, &proto.PathRequest{Path: path}, &proto.PathRequest{}, 10*time.Second)
				if err != nil || h.Err != proto.CodeOK {
					r.t.Fatalf("final sync on member %d: %v %v", m.ID, err, h.Err)
				}
				var gd proto.GetDataResponse
				h, err = w.call(proto.OpGetData, &proto.PathWatchRequest{Path: path}, &gd, 10*time.Second)
				if err != nil {
					r.t.Fatalf("final getData %s on member %d: %v", path, m.ID, err)
				}
				out := output{code: h.Err}
				if h.Err == proto.CodeOK {
					out.data, out.version = string(gd.Data), gd.Stat.Version
				}
				r.rec.add(workers+i, input{group: g, op: subOp{kind: opRead, key: k}}, call, out, r.rec.now())
			}
		}
		w.call(proto.OpCloseSession, nil, nil, time.Second)
		w.close()
	}
}

// checkDurability: every acknowledged create under /chaos/log (nothing deletes there) is on
// every member.
func (r *run) checkDurability() {
	var acked []string
	for _, w := range r.workers {
		acked = append(acked, w.acked...)
	}
	lost := map[string][]int{}
	for _, m := range r.ens.Members {
		have, err := r.children(m, "/chaos/log")
		if err != nil {
			r.t.Fatalf("member %d: %v", m.ID, err)
		}
		for _, p := range acked {
			if !have[filepath.Base(p)] {
				lost[p] = append(lost[p], m.ID)
			}
		}
	}
	r.totals.lostWrites += len(lost)
	r.logf("durability: %d acknowledged creates, %d missing", len(acked), len(lost))
	n := 0
	for p, ms := range lost {
		if n++; n <= 10 {
			r.violation("acknowledged create %s is missing on member(s) %v", p, ms)
		}
	}
	if len(lost) > 10 {
		r.violation("... and %d more lost acknowledged creates", len(lost)-10)
	}
}

// checkEphemerals: the ephemerals of abandoned and expired sessions are gone on every member
// once the session timeout has passed (a leader change gives every session a fresh timeout,
// hence the margin), and the abandoned sessions are refused.
func (r *run) checkEphemerals() {
	var gone []*sessionRecord
	last := time.Time{}
	for _, g := range r.ghosts {
		gone = append(gone, g)
		if g.expiredAt.After(last) {
			last = g.expiredAt
		}
	}
	for _, w := range r.workers {
		for _, s := range w.sessions {
			if !s.expiredAt.IsZero() && s.ephemeral != "" {
				gone = append(gone, s)
			}
		}
	}
	for _, c := range r.silent {
		defer c.close()
	}
	deadline := last.Add(3*r.sessionTimeout + recoverWithin)
	var left []string
	for {
		left = left[:0]
		for _, m := range r.ens.Members {
			have, err := r.children(m, "/chaos/eph")
			if err != nil {
				r.t.Fatalf("member %d: %v", m.ID, err)
			}
			for _, s := range gone {
				if have[filepath.Base(s.ephemeral)] {
					left = append(left, fmt.Sprintf("%s (session 0x%x) on member %d", s.ephemeral, s.id, m.ID))
				}
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, l := range left {
		r.violation("ephemeral of an expired session still present: %s", l)
	}
	for _, g := range r.ghosts {
		m := r.pick(r.ens.Members)
		w, err := dialWire(m.Addr(), zktest.Options{Timeout: r.sessionTimeout, SessionID: g.id, Passwd: g.passwd}, 5*time.Second)
		switch {
		case errors.Is(err, zktest.ErrSessionInvalid):
		case err == nil:
			w.close()
			r.violation("abandoned session 0x%x is still valid on member %d", g.id, m.ID)
		default:
			r.t.Fatalf("member %d: %v", m.ID, err)
		}
	}
	r.logf("ephemerals: %d of abandoned or expired sessions gone", len(gone))
}

// checkTimeout bounds porcupine's search for one group; a search that runs out is reported
// as inconclusive, never as a pass.
func (r *run) checkTimeout() time.Duration {
	if r.short {
		return 20 * time.Second
	}
	return 60 * time.Second
}

// checkLinearizable checks each group's history with porcupine.
func (r *run) checkLinearizable() {
	byGroup := map[int][]porcupine.Operation{}
	for _, op := range r.rec.history() {
		g := op.Input.(input).group
		byGroup[g] = append(byGroup[g], op)
	}
	for g := range groups {
		ops := byGroup[g]
		began := time.Now()
		res, info := porcupine.CheckOperationsVerbose(model, ops, r.checkTimeout())
		took := time.Since(began).Round(time.Millisecond)
		switch res {
		case porcupine.Ok:
			r.logf("group %d: %d ops linearizable (checked in %v)", g, len(ops), took)
		case porcupine.Illegal:
			where := r.saveHistory(g, ops, info)
			r.violation("group %d: history of %d ops is not linearizable; see %s", g, len(ops), where)
		default:
			r.totals.inconclusive++
			r.t.Errorf("group %d: porcupine timed out after %v on %d ops: inconclusive, not a pass", g, took, len(ops))
		}
	}
}

// saveHistory writes porcupine's visualisation and a plain listing of a failed group to
// $CHAOS_ARTIFACTS (or a new temporary directory, kept) and returns where. The listing can be
// checked again, against a changed model say, with CHAOS_RECHECK (see recheck_test.go).
func (r *run) saveHistory(g int, ops []porcupine.Operation, info porcupine.LinearizationInfo) string {
	dir := os.Getenv("CHAOS_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "paddock-chaos-"); err != nil {
			return err.Error()
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err.Error()
	}
	base := filepath.Join(dir, fmt.Sprintf("seed%d-run%d-group%d", r.seed, r.n, g))
	if err := porcupine.VisualizePath(model, info, base+".html"); err != nil {
		r.logf("visualisation: %v", err)
	}
	sorted := append([]porcupine.Operation(nil), ops...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Call < sorted[j].Call })
	var b strings.Builder
	for _, op := range sorted {
		b.WriteString(formatOp(op))
		b.WriteByte('\n')
	}
	if err := os.WriteFile(base+".txt", []byte(b.String()), 0o644); err != nil {
		return err.Error()
	}
	return base + ".{html,txt}"
}

// formatOp is one line of a saved history; parseOp reads it back (CHAOS_RECHECK).
func formatOp(op porcupine.Operation) string {
	ret := "∞"
	if op.Return != neverReturned {
		ret = fmt.Sprintf("%.9f", float64(op.Return)/1e9)
	}
	return fmt.Sprintf("client %d [%.9f, %s] %v → %v", op.ClientId, float64(op.Call)/1e9, ret, op.Input, op.Output)
}

// count adds the run to the totals.
func (r *run) count() {
	tt := r.totals
	tt.runs++
	for _, op := range r.rec.history() {
		tt.ops++
		out := op.Output.(output)
		switch {
		case out.unknown:
			tt.unknownOps++
		case op.Input.(input).op.kind == opRead:
			tt.reads++
		default:
			tt.writes++
		}
	}
	for _, w := range r.workers {
		tt.logCreates += w.counts["log ok"] + w.counts["log unknown"]
		tt.ops += w.counts["log ok"] + w.counts["log unknown"]
		tt.expired += w.counts["session expired"]
		tt.disputed += w.counts["expiry disputed"]
	}
	tt.ghosts += len(r.ghosts)
	r.logf("run totals so far: %v", tt)
}
