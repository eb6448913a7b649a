package raftnode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paddock/paddock/internal/zktest"
)

// applied is one StateMachine.Apply call.
type applied struct {
	Index, Term uint64
	Data        string
}

// recorder is a StateMachine test double: its state is the list of applies,
// which its snapshots capture and restore.
type recorder struct {
	mu       sync.Mutex
	state    []applied // the state: everything applied, restored included
	calls    []applied // Apply calls since construction (not restored ones)
	restores int
	problems []string
	snapErr  error
}

func (r *recorder) Apply(index, term uint64, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.state); n > 0 && r.state[n-1].Index >= index {
		r.problems = append(r.problems, fmt.Sprintf("apply of index %d after %d", index, r.state[n-1].Index))
	}
	a := applied{index, term, string(data)}
	r.state = append(r.state, a)
	r.calls = append(r.calls, a)
}

func (r *recorder) Snapshot(index uint64) (func(io.Writer) error, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.snapErr != nil {
		return nil, r.snapErr
	}
	if n := len(r.state); n > 0 && r.state[n-1].Index > index {
		r.problems = append(r.problems, fmt.Sprintf("snapshot at %d but applied %d", index, r.state[n-1].Index))
	}
	state := slices.Clone(r.state)
	return func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		var b []byte
		b = binary.AppendUvarint(b, uint64(len(state)))
		for _, a := range state {
			b = binary.AppendUvarint(b, a.Index)
			b = binary.AppendUvarint(b, a.Term)
			b = binary.AppendUvarint(b, uint64(len(a.Data)))
			b = append(b, a.Data...)
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
		return bw.Flush()
	}, nil
}

func (r *recorder) Restore(rd io.Reader) error {
	data, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	br := bytes.NewReader(data)
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return err
	}
	var state []applied
	for range n {
		idx, err1 := binary.ReadUvarint(br)
		term, err2 := binary.ReadUvarint(br)
		l, err3 := binary.ReadUvarint(br)
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		d := make([]byte, l)
		if _, err := io.ReadFull(br, d); err != nil {
			return err
		}
		state = append(state, applied{idx, term, string(d)})
	}
	if br.Len() != 0 {
		return fmt.Errorf("%d trailing bytes", br.Len())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state = state
	r.restores++
	return nil
}

func (r *recorder) snapshot() (state, calls []applied, restores int, problems []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.state), slices.Clone(r.calls), r.restores, slices.Clone(r.problems)
}

func (r *recorder) stateLen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.state)
}

// logBuffer collects log output for assertions; safe for concurrent use.
type logBuffer = zktest.Buffer

// testLogger logs warnings and errors into lb; RAFTNODE_TEST_LOG=1 sends
// everything to stderr as well.
func testLogger(lb *logBuffer) *slog.Logger {
	if os.Getenv("RAFTNODE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(io.MultiWriter(lb, os.Stderr), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func testConfig(dir string, lb *logBuffer) Config {
	return Config{
		ID:           1,
		DataDir:      dir,
		TickInterval: 10 * time.Millisecond,
		SnapCount:    1 << 40, // snapshots only when a test asks
		SegmentSize:  4096,
		Logger:       testLogger(lb),
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func mustStart(t *testing.T, cfg Config, sm StateMachine) *Node {
	t.Helper()
	n, err := Start(cfg, sm)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { n.Stop() })
	return n
}

// proposeAll proposes "<prefix><i>" for i in [from, to) and waits until the
// state machine holds want entries.
func proposeAll(t *testing.T, n *Node, r *recorder, prefix string, from, to, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := from; i < to; i++ {
		if err := n.Propose(ctx, fmt.Appendf(nil, "%s%d", prefix, i)); err != nil {
			t.Fatalf("Propose %d: %v", i, err)
		}
	}
	waitFor(t, fmt.Sprintf("%d applied entries", want), func() bool { return r.stateLen() >= want })
}

func datas(as []applied) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Data
	}
	return out
}

func seq(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

func checkNoProblems(t *testing.T, r *recorder) {
	t.Helper()
	if _, _, _, p := r.snapshot(); len(p) > 0 {
		t.Fatalf("state machine saw: %s", strings.Join(p, "; "))
	}
}
