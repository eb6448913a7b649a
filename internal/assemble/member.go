package assemble

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/internal/config"
)

// ErrLeft is returned by Run when this member has been removed from its ensemble.
var ErrLeft = errors.New("assemble: this member left the ensemble")

// errRetry asks Plan for another round.
var errRetry = errors.New("assemble: retry")

// session opens a client session with the given client addresses as the super user.
func session(ctx context.Context, addrs []string, cred []byte) (*client.Client, error) {
	if len(addrs) == 0 {
		return nil, errors.New("no member to ask")
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return client.Connect(cctx, strings.Join(addrs, ","), client.Options{
		SessionTimeout: 10 * time.Second,
		Credentials:    []client.Credential{{Scheme: "digest", Auth: cred}},
	})
}

// currentConfig reads the latest /zookeeper/config through c.
func currentConfig(ctx context.Context, c *client.Client) (map[int64]config.Server, error) {
	if err := c.Sync(ctx, "/zookeeper/config"); err != nil {
		return nil, err
	}
	data, _, err := c.GetConfig(ctx)
	if err != nil {
		return nil, err
	}
	return parseLines(strings.Split(string(data), "\n"))
}

// credential is the super credential for this member's ensemble.
func (a *Assembler) credential(cluster string) []byte {
	if a.cfg.SuperPassword != "" {
		return []byte("super:" + a.cfg.SuperPassword)
	}
	return superCredential(a.cfg.Secret, cluster)
}

func clientAddrs(members []Info) []string {
	out := make([]string, 0, len(members))
	for _, m := range members {
		out = append(out, m.clientAddr())
	}
	return out
}

// memberAddrs are the client addresses of members, except the one with id skip.
func memberAddrs(members map[int64]config.Server, skip int64) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(members)) {
		sv := members[id]
		if id == skip || sv.ClientPort == 0 {
			continue
		}
		out = append(out, joinHostPort(sv.Host, sv.ClientPort))
	}
	return out
}

// prepareJoin reads the ready ensemble's membership and decides how to start in it.
func (a *Assembler) prepareJoin(ctx context.Context, d Decision, peers []Info) (*Plan, error) {
	c, err := session(ctx, clientAddrs(d.Contacts), a.credential(d.Cluster))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	members, err := currentConfig(qctx, c)
	cancel()
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	st := *a.state
	self := a.self
	a.mu.Unlock()
	if _, ok := members[self.ID]; ok {
		if !self.IDFrom.stable() {
			taken := map[int64]bool{}
			for id := range members {
				taken[id] = true
			}
			if err := a.redraw(peers, taken, fmt.Sprintf("ensemble %s has a member %d already", d.Cluster, self.ID)); err != nil {
				return nil, err
			}
			return nil, errRetry
		}
		// This member's stable id is in the ensemble: it is that member, back with an empty
		// data directory. It starts as what it was, and the leader readmits it and catches
		// it up (see internal/raftnode/lostlog.go).
		st.Status, st.Cluster, st.Since = StatusMember, d.Cluster, time.Now()
		st.Discover, st.Members = a.cfg.Source.String(), formatLines(members)
		if err := WriteState(a.cfg.DataDir, &st); err != nil {
			return nil, err
		}
		a.log.Info("assemble: the ensemble knows this member's id already; starting as that member, to be caught up", "cluster", d.Cluster, "id", self.ID)
		return a.started(&st, members, false, Join)
	}
	sv, err := config.ParseServer(fmt.Sprint(self.ID), self.line(true))
	if err != nil {
		return nil, err
	}
	members[self.ID] = sv
	st.Status, st.Cluster, st.Since = StatusJoining, d.Cluster, time.Now()
	st.Discover, st.Members = a.cfg.Source.String(), formatLines(members)
	if err := WriteState(a.cfg.DataDir, &st); err != nil {
		return nil, err
	}
	a.log.Info("assemble: joining a ready ensemble", "cluster", d.Cluster, "id", self.ID, "why", d.Reason)
	return a.started(&st, members, true, Join)
}

// askMembership reads the current membership from the ready members in d.Contacts.
func (a *Assembler) askMembership(ctx context.Context, d Decision) (map[int64]config.Server, error) {
	c, err := session(ctx, clientAddrs(d.Contacts), a.credential(d.Cluster))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return currentConfig(qctx, c)
}

// Run carries on beside the running server m: it finishes a join (this member is added as
// an observer, then, once caught up, promoted to participant unless it is an observer),
// records the membership in the data directory as it changes, updates this member's
// address in the ensemble when it changed, and notices when this member is removed. It
// returns ErrLeft then, or ctx's error when ctx ends.
func (a *Assembler) Run(ctx context.Context, m Member) error {
	a.mu.Lock()
	a.member = m
	plan := a.plan
	a.mu.Unlock()
	if plan == nil {
		return errors.New("assemble: Run before Plan")
	}
	if plan.Join {
		if err := a.join(ctx, m); err != nil {
			return err
		}
	}
	return a.watch(ctx, m)
}

// members returns the membership as last persisted.
func (a *Assembler) members() (map[int64]config.Server, *State) {
	a.mu.Lock()
	st := *a.state
	a.mu.Unlock()
	members, _ := parseLines(st.Members)
	return members, &st
}

// join asks the ensemble to add this member as an observer, then to promote it, retrying
// until it is done or ctx ends.
func (a *Assembler) join(ctx context.Context, m Member) error {
	a.mu.Lock()
	self := a.self
	a.mu.Unlock()
	lineFor := func(r config.Role) string {
		return fmt.Sprintf("server.%d=%s", self.ID, self.line(r == config.Observer))
	}
	step := func(want config.Role) error {
		members, st := a.members()
		c, err := session(ctx, memberAddrs(members, self.ID), a.credential(st.Cluster))
		if err != nil {
			return err
		}
		defer c.Close()
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cur, err := currentConfig(rctx, c)
		if err != nil {
			return err
		}
		role := want
		if sv, ok := cur[self.ID]; ok {
			if sv.Role == config.Participant {
				role = config.Participant // never demoted by a join that starts over
			}
			if sv.Role == role && sv.Host == self.Host && sv.PeerPort == self.PeerPort && sv.ClientPort == self.ClientPort {
				return a.record(cur)
			}
		}
		if _, _, err := c.Reconfig(rctx, []string{lineFor(role)}, nil, nil, -1); err != nil {
			return err
		}
		cur, err = currentConfig(rctx, c)
		if err != nil {
			return err
		}
		return a.record(cur)
	}
	retry := func(what string, role config.Role, before func() bool) error {
		for wait := time.Second; ; wait = min(2*wait, 5*time.Second) {
			if before == nil || before() {
				err := step(role)
				switch {
				case err == nil:
					return nil
				case errors.Is(err, client.ErrReconfigInProgress):
					// Another member joins or leaves: one change at a time, and ours is next.
					a.log.Debug("assemble: waiting for another membership change", "step", what)
				default:
					a.noteProblem("join:"+what, fmt.Sprintf("%s: %s; retrying", what, explain(err)))
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
	}
	if err := retry("asking to be added as an observer", config.Observer, nil); err != nil {
		return err
	}
	a.log.Info("assemble: added to the ensemble as an observer", "id", self.ID)
	if !self.Observer {
		caughtUp := func() bool {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			return m.Ready(rctx) == nil
		}
		if err := retry("asking to be promoted to participant", config.Participant, caughtUp); err != nil {
			return err
		}
		a.log.Info("assemble: promoted to participant", "id", self.ID)
	}
	_, st := a.members()
	st.Status, st.Since = StatusMember, time.Now()
	return a.save(st)
}

// record persists members as the ensemble's membership when it changed.
func (a *Assembler) record(members map[int64]config.Server) error {
	lines := formatLines(members)
	a.mu.Lock()
	st := *a.state
	a.mu.Unlock()
	if slices.Equal(lines, st.Members) {
		return nil
	}
	st.Members = lines
	return a.save(&st)
}

func (a *Assembler) save(st *State) error {
	if err := WriteState(a.cfg.DataDir, st); err != nil {
		return fmt.Errorf("assemble: persisting the membership: %w", err)
	}
	a.mu.Lock()
	a.state = st
	a.mu.Unlock()
	return nil
}

// watch follows the membership as this member applies it.
func (a *Assembler) watch(ctx context.Context, m Member) error {
	var (
		last      string
		seenSelf  bool
		lastAsk   time.Time
		lastHeal  time.Time
		absentFor time.Time
	)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if st, err := ReadState(a.cfg.DataDir); err == nil && st != nil && st.Status == StatusLeft {
			return a.left(st, "paddock leave removed this member")
		}
		data := string(m.Membership())
		if data == "" {
			continue
		}
		members, err := parseLines(strings.Split(data, "\n"))
		if err != nil {
			continue
		}
		a.mu.Lock()
		self := a.self
		a.mu.Unlock()
		sv, present := members[self.ID]
		if present {
			seenSelf, absentFor = true, time.Time{}
			if data != last {
				last = data
				if err := a.record(members); err != nil {
					a.log.Warn(err.Error())
				}
			}
			if (sv.Host != self.Host || sv.PeerPort != self.PeerPort || sv.ClientPort != self.ClientPort) && time.Since(lastHeal) > 10*time.Second {
				lastHeal = time.Now()
				a.heal(ctx, members, sv)
			}
			continue
		}
		if !seenSelf {
			continue
		}
		// Absent from the membership applied here: maybe removed, maybe a change replayed
		// while catching up. Ask the ensemble.
		if absentFor.IsZero() {
			absentFor = time.Now()
		}
		if time.Since(lastAsk) < 10*time.Second {
			continue
		}
		lastAsk = time.Now()
		if removed, err := a.removed(ctx, members, self.ID); err == nil && removed {
			_, st := a.members()
			return a.left(st, "the ensemble's configuration no longer lists this member")
		}
	}
}

// removed asks the ensemble (not this member) whether it still lists id.
func (a *Assembler) removed(ctx context.Context, members map[int64]config.Server, id int64) (bool, error) {
	_, st := a.members()
	known, _ := parseLines(st.Members)
	maps.Copy(known, members)
	c, err := session(ctx, memberAddrs(known, id), a.credential(st.Cluster))
	if err != nil {
		return false, err
	}
	defer c.Close()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cur, err := currentConfig(rctx, c)
	if err != nil {
		return false, err
	}
	_, ok := cur[id]
	return !ok, nil
}

// left records that this member is out of its ensemble and returns ErrLeft.
func (a *Assembler) left(st *State, why string) error {
	if st.Status != StatusLeft {
		st.Status, st.Since = StatusLeft, time.Now()
		if err := a.save(st); err != nil {
			a.log.Warn(err.Error())
		}
	} else {
		a.mu.Lock()
		a.state = st
		a.mu.Unlock()
	}
	a.mu.Lock()
	a.member = nil
	a.mu.Unlock()
	a.setPhase(PhaseLeft, fmt.Sprintf("%s; it is no longer part of ensemble %s", why, st.Cluster),
		"stop it and delete its volumes, or restart it to join the ensemble again")
	return ErrLeft
}

// heal updates this member's line in the ensemble when its address changed (a new task
// or pod got another IP address), keeping its role.
func (a *Assembler) heal(ctx context.Context, members map[int64]config.Server, cur config.Server) {
	a.mu.Lock()
	self := a.self
	a.mu.Unlock()
	line := fmt.Sprintf("server.%d=%s", self.ID, self.line(cur.Role == config.Observer))
	_, st := a.members()
	c, err := session(ctx, memberAddrs(members, self.ID), a.credential(st.Cluster))
	if err != nil {
		a.noteProblem("heal", fmt.Sprintf("updating this member's address to %s: %v; retrying", self.Host, err))
		return
	}
	defer c.Close()
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, _, err := c.Reconfig(rctx, []string{line}, nil, nil, -1); err != nil {
		a.noteProblem("heal", fmt.Sprintf("updating this member's address to %s: %s; retrying", self.Host, explain(err)))
		return
	}
	a.log.Info("assemble: this member's address changed; the ensemble now has it", "old", cur.Host, "new", self.Host)
}

// explain adds what an operator can do about a refused reconfig.
func explain(err error) string {
	switch {
	case errors.Is(err, client.ErrBadArguments):
		return err.Error() + " (the ensemble refused this member's server line: does another member have its address and ports? " +
			"Members on one host need their own PADDOCK_PEER_PORT and PADDOCK_ELECTION_PORT)"
	case errors.Is(err, client.ErrNoAuth), errors.Is(err, client.ErrAuthFailed):
		return err.Error() + " (not authorised: is PADDOCK_PEER_SECRET, or PADDOCK_SUPER_PASSWORD, the ensemble's?)"
	case errors.Is(err, client.ErrReconfigDisabled):
		return err.Error() + " (the ensemble did not assemble: its members were configured with a fixed server list)"
	}
	return err.Error()
}

// Idle serves the admin address while no server runs (after ErrLeft) until ctx ends.
func (a *Assembler) Idle(ctx context.Context) error {
	stop, err := a.serveIdle()
	if err != nil {
		return err
	}
	defer stop()
	<-ctx.Done()
	return ctx.Err()
}
