package assemble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/internal/config"
)

// ErrWouldLoseQuorum is a leave refused because the remaining participants would not have
// a live majority.
var ErrWouldLoseQuorum = errors.New("refused: the ensemble would lose its quorum")

// ErrNotAssembled is a data directory without an assembled member's state.
var ErrNotAssembled = errors.New("this member did not assemble (no " + StateFile + " in its data directory)")

// LeaveOptions configure Leave.
type LeaveOptions struct {
	DataDir string
	// ID is the member to remove; 0 means this member (the data directory's).
	ID int64
	// Local is this member's client address, asked when no other member answers.
	Local string
	// Secret and SuperPassword as in Config.
	Secret        []byte
	SuperPassword string
	Out           io.Writer // progress and the outcome
	// Mode returns the Mode line of a member's srvr answer (default: asks it over TCP).
	Mode func(ctx context.Context, addr string) (string, error)
}

// Leave removes a member from its ensemble for good (a scale-down): it refuses when the
// remaining participants would not have a live majority (ErrWouldLoseQuorum, with the
// members that are missing), then asks the ensemble for the change with reconfig, and
// marks this member's data directory as having left. Removing a member that is no longer
// in the ensemble succeeds and changes nothing.
func Leave(ctx context.Context, o LeaveOptions) error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Mode == nil {
		o.Mode = srvrMode
	}
	st, err := ReadState(o.DataDir)
	if err != nil {
		return err
	}
	if st == nil || st.Status == StatusNew || st.Cluster == "" {
		return ErrNotAssembled
	}
	id := o.ID
	if id == 0 {
		id = st.ID
	}
	self := id == st.ID
	known, _ := parseLines(st.Members)
	addrs := memberAddrs(known, id)
	if o.Local != "" {
		addrs = append(addrs, o.Local)
	}
	pw := o.SuperPassword
	if pw == "" {
		pw = SuperPassword(o.Secret, st.Cluster)
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	c, err := client.Connect(cctx, strings.Join(addrs, ","), client.Options{
		SessionTimeout: 10 * time.Second, KeepOrder: true,
		Credentials: []client.Credential{{Scheme: "digest", Auth: []byte("super:" + pw)}},
	})
	cancel()
	if err != nil {
		return fmt.Errorf("no member of ensemble %s answers (%s): %w", st.Cluster, strings.Join(addrs, ","), err)
	}
	defer c.Close()
	members, err := currentConfig(ctx, c)
	if err != nil {
		return fmt.Errorf("reading the membership: %w", err)
	}
	target, ok := members[id]
	if !ok {
		fmt.Fprintf(o.Out, "member %d is not in ensemble %s (any more): nothing to do\n", id, st.Cluster)
		if self && st.Status != StatusLeft {
			st.Status, st.Since = StatusLeft, time.Now()
			return WriteState(o.DataDir, st)
		}
		return nil
	}
	if target.Role == config.Participant {
		if err := quorumAfter(ctx, members, id, o.Mode); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Out, "removing member %d (%s) from ensemble %s\n", id, target.Host, st.Cluster)
	for {
		_, _, err = c.Reconfig(ctx, nil, []string{fmt.Sprint(id)}, nil, -1)
		if !errors.Is(err, client.ErrReconfigInProgress) {
			break
		}
		select { // another member is joining or leaving: one change at a time
		case <-ctx.Done():
			return fmt.Errorf("another membership change is still in progress: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
	switch {
	case errors.Is(err, client.ErrNewConfigNoQuorum):
		return fmt.Errorf("%w: the ensemble refused to remove member %d: the remaining participants have no live, caught-up majority", ErrWouldLoseQuorum, id)
	case errors.Is(err, client.ErrNoAuth):
		return fmt.Errorf("the ensemble refused: not authorised (is PADDOCK_PEER_SECRET, or PADDOCK_SUPER_PASSWORD, the members' one?): %w", err)
	case err != nil && !errors.Is(err, client.ErrConnectionLoss):
		return fmt.Errorf("removing member %d: %w", id, err)
	}
	// A connection loss may hide a success: look.
	after, cerr := currentConfig(ctx, c)
	if cerr != nil {
		if err != nil {
			return fmt.Errorf("removing member %d: %w", id, err)
		}
		return fmt.Errorf("removing member %d: reading the new membership: %w", id, cerr)
	}
	if _, still := after[id]; still {
		return fmt.Errorf("removing member %d: it is still in the membership (%v)", id, err)
	}
	if self {
		st.Status, st.Since, st.Members = StatusLeft, time.Now(), formatLines(after)
		if err := WriteState(o.DataDir, st); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Out, "member %d left ensemble %s; participants now: %s\n", id, st.Cluster, idList(participantsOf(after)))
	return nil
}

// quorumAfter refuses, with an explanation, when the participants left after removing id
// would not have a majority that is up and in the quorum.
func quorumAfter(ctx context.Context, members map[int64]config.Server, id int64, mode func(context.Context, string) (string, error)) error {
	var rest []int64
	for _, p := range participantsOf(members) {
		if p != id {
			rest = append(rest, p)
		}
	}
	if len(rest) == 0 {
		return fmt.Errorf("%w: member %d is the last participant; remove the ensemble instead", ErrWouldLoseQuorum, id)
	}
	live := map[int64]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range rest {
		sv := members[p]
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			m, err := mode(pctx, joinHostPort(sv.Host, sv.ClientPort))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				live[p] = "not answering: " + err.Error()
			case m == "leader" || m == "follower":
				live[p] = ""
			default:
				live[p] = "not in the quorum (" + m + ")"
			}
		}()
	}
	wg.Wait()
	var up, down []int64
	for _, p := range rest {
		if live[p] == "" {
			up = append(up, p)
		} else {
			down = append(down, p)
		}
	}
	need := len(rest)/2 + 1
	if len(up) >= need {
		return nil
	}
	var why []string
	for _, p := range down {
		why = append(why, fmt.Sprintf("member %d (%s) is %s", p, members[p].Host, live[p]))
	}
	upText := isAre(up)
	if len(up) > 0 {
		upText = "only " + upText
	}
	return fmt.Errorf("%w: without member %d the participants would be %s; a quorum of them is %d, but %s up and in the quorum: %s. "+
		"Bring the missing members back (or remove them first if they are gone for good), then try again",
		ErrWouldLoseQuorum, id, idList(rest), need, upText, strings.Join(why, "; "))
}

func participantsOf(members map[int64]config.Server) []int64 {
	var out []int64
	for _, id := range slices.Sorted(maps.Keys(members)) {
		if members[id].Role == config.Participant {
			out = append(out, id)
		}
	}
	return out
}

// isAre is "member 1 is", "members 1, 2 are", "none is".
func isAre(ids []int64) string {
	switch len(ids) {
	case 0:
		return "none is"
	case 1:
		return fmt.Sprintf("member %d is", ids[0])
	}
	return "members " + idList(ids) + " are"
}

func idList(ids []int64) string {
	if len(ids) == 0 {
		return "none"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ", ")
}

// srvrMode asks addr's srvr four-letter word for its Mode line ("" when there is none:
// the member is not serving).
func srvrMode(ctx context.Context, addr string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, "srvr"); err != nil {
		return "", err
	}
	out, err := io.ReadAll(c)
	if err != nil && len(out) == 0 {
		return "", err
	}
	for _, l := range strings.Split(string(out), "\n") {
		if m, ok := strings.CutPrefix(l, "Mode: "); ok {
			return strings.TrimSpace(m), nil
		}
	}
	return strings.TrimSpace(firstLine(string(out))), nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
