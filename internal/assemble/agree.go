package assemble

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/paddock/paddock/internal/config"
)

// ErrIdentity is a data directory that belongs to another member (see IdentityError).
var ErrIdentity = errors.New("assemble: this data directory belongs to another member")

// IdentityError is a data directory holding an ensemble member's data, attached to a
// member whose id (from its environment) is another one.
type IdentityError struct {
	Have *State   // what the data directory holds
	Want int64    // this member's id
	From IDSource // where Want came from
}

// Reason is the one-line summary.
func (e *IdentityError) Reason() string {
	return fmt.Sprintf("wrong volume: it holds member %d's data (ensemble %s), but this member is %d (from its %s)", e.Have.ID, e.Have.Cluster, e.Want, e.From)
}

// Detail says what to do.
func (e *IdentityError) Detail() string {
	return fmt.Sprintf("the data directory was member %d's (%s since %s). A volume was attached to the wrong member: "+
		"give member %d its own volume back, or delete this one to let member %d start afresh",
		e.Have.ID, e.Have.Status, e.Have.Since.UTC().Format("2006-01-02 15:04:05Z"), e.Have.ID, e.Want)
}

func (e *IdentityError) Error() string { return "assemble: " + e.Reason() + ": " + e.Detail() }

// Is makes errors.Is(err, ErrIdentity) true.
func (e *IdentityError) Is(target error) bool { return target == ErrIdentity }

// ChooseID decides this member's id from the one derived from its environment (derived 0:
// none, from says where it came from) and the state persisted in its data directory (nil:
// none). It returns 0 when a random id must be drawn. A data directory that holds an
// ensemble's data keeps its id, and a stable derived id (PADDOCK_ID, a hostname ordinal)
// that differs from it is an error: the volume was moved to another member.
func ChooseID(derived int64, from IDSource, st *State) (int64, IDSource, error) {
	if st != nil && st.Status != StatusNew {
		if from.stable() && derived != 0 && derived != st.ID {
			return 0, "", &IdentityError{Have: st, Want: derived, From: from}
		}
		return st.ID, FromData, nil
	}
	switch {
	case derived != 0 && (from.stable() || st == nil):
		return derived, from, nil
	case st != nil:
		// Not in an ensemble yet: a stable id would have won above, so this is an id
		// drawn (or redrawn after a clash) and kept for the restarts to come.
		return st.ID, st.IDFrom, nil
	case derived != 0:
		return derived, from, nil
	}
	return 0, FromRandom, nil
}

// Action is what a member does after a round of discovery.
type Action int

const (
	Wait      Action = iota // nothing to do yet: Reason says what it waits for
	Refuse                  // it must not start: Reason explains; discovery goes on
	Redraw                  // its random id clashes with another member's: draw another
	Bootstrap               // form a new ensemble with Founders, under a new cluster identity
	Follow                  // form the ensemble Cluster with Founders, as another member decided
	Join                    // join the ready ensemble Cluster through Contacts
	Restart                 // start as the member of Cluster its data directory says it is
	Rejoin                  // it left Cluster: start afresh and join it again through Contacts
)

func (a Action) String() string {
	return [...]string{"wait", "refuse", "redraw", "bootstrap", "follow", "join", "restart", "rejoin"}[a]
}

// View is what one member knows after a round of discovery.
type View struct {
	Self    Info   // as this member announces itself; Self.ID is set
	State   *State // its persisted state, nil when none
	Peers   []Info // the other members' answers (never this member's own)
	Expect  int    // PADDOCK_EXPECT: how many members form a new ensemble
	Settled bool   // the set of waiting members has not changed for a while
	Source  string // the discovery setting, for messages
}

// Decision is the outcome of Decide.
type Decision struct {
	Action   Action
	Reason   string // one line
	Detail   string // Refuse: what is wrong and what to do about it
	Cluster  string
	Founders []Founder // Bootstrap, Follow: sorted by id
	Contacts []Info    // Join, Rejoin, Restart: the ready members of Cluster (may be empty for Restart)
}

// Decide is the bootstrap agreement, a pure function of one member's view.
//
// A member whose data directory holds an ensemble's data (State.Status member or joining)
// restarts as that member once a ready member of its ensemble answers, or once a majority
// of the participants it last knew do (a whole ensemble restarting); it refuses to start
// while another ensemble is ready there instead, or while only new members are assembling
// (a stale volume). A member that left rejoins its ensemble once it is ready.
//
// A new member follows a bootstrap decision that names it (its id and instance); joins the
// one ready ensemble; waits for an ensemble that is forming without it; and otherwise
// waits until Expect new participants answer (no id clash, the same Expect everywhere) and
// the set has settled. Then the one with the lowest id decides: the founders are the
// Expect lowest ids. Everybody else waits for that decision, and members it left out join
// the ensemble once it is ready. Two views that both reach a decision pick the same
// founders unless they saw different sets of new members, which the settling time guards
// against; start with Expect members and scale afterwards to leave no doubt.
func Decide(v View) Decision {
	if st := v.State; st != nil && st.Status != StatusNew {
		return decideKnown(v)
	}
	self := v.Self

	// A running member with this id: this is not that member back without its data (nor a
	// founder that has yet to start), but another one.
	for _, p := range v.Peers {
		if p.Phase == PhaseMember && p.ID == self.ID && p.Instance != self.Instance {
			if self.IDFrom.stable() {
				return Decision{Action: Refuse, Reason: fmt.Sprintf("member %d already runs at %s (ensemble %s)", p.ID, p.Host, p.Cluster),
					Detail: fmt.Sprintf("this member's id comes from its %s: two members cannot share an id; fix PADDOCK_ID or the hostnames", self.IDFrom)}
			}
			return Decision{Action: Redraw, Reason: fmt.Sprintf("member %d already runs at %s", p.ID, p.Host)}
		}
	}
	// A decision that names this member.
	for _, p := range v.Peers {
		if p.Phase != PhaseMember || len(p.Founders) == 0 {
			continue
		}
		if isFounder(p.Founders, self) {
			return Decision{Action: Follow, Cluster: p.Cluster, Founders: p.Founders,
				Reason: fmt.Sprintf("member %d (%s) formed ensemble %s with this member among its founders", p.ID, p.Host, p.Cluster)}
		}
	}

	// Clashing ids among new members (joining ones too, which do not wait).
	waiting := map[int64]Info{}
	for _, p := range v.Peers {
		if p.Phase != PhaseWaiting || p.ID == 0 || p.Host == "" {
			continue
		}
		if p.ID == self.ID {
			switch {
			case self.IDFrom.stable() && p.IDFrom.stable():
				return Decision{Action: Refuse, Reason: fmt.Sprintf("member at %s has id %d too", p.Host, p.ID),
					Detail: fmt.Sprintf("both ids come from the environment (%s, %s): two members cannot share an id; fix PADDOCK_ID or the hostnames", self.IDFrom, p.IDFrom)}
			case !self.IDFrom.stable() && (p.IDFrom.stable() || p.Instance < self.Instance):
				return Decision{Action: Redraw, Reason: fmt.Sprintf("member at %s has id %d too", p.Host, p.ID)}
			default:
				continue // the other one draws again
			}
		}
		if q, dup := waiting[p.ID]; dup && q.Instance != p.Instance {
			delete(waiting, p.ID) // a clash between two others: they settle it
			continue
		}
		waiting[p.ID] = p
	}

	// Ensembles that serve.
	ready := readyByCluster(v.Peers)
	switch len(ready) {
	case 0:
	case 1:
		for c, members := range ready {
			return Decision{Action: Join, Cluster: c, Contacts: members,
				Reason: fmt.Sprintf("ensemble %s is ready (%s)", c, describe(members))}
		}
	default:
		return Decision{Action: Refuse, Reason: fmt.Sprintf("more than one ensemble answers at %s; this member joins none of them", v.Source),
			Detail: fmt.Sprintf("%s. One of them formed from part of the members only. "+
				"Keep the one with the data you want and delete the other's volumes", describeClusters(ready))}
	}
	for _, p := range v.Peers {
		if p.Phase == PhaseMember && p.Cluster != "" {
			return Decision{Action: Wait, Reason: fmt.Sprintf("ensemble %s answers at %s but has no quorum yet (member %d at %s); waiting to join it once it is ready",
				p.Cluster, v.Source, p.ID, p.Host)}
		}
	}

	if self.Observer {
		return Decision{Action: Wait, Reason: "an observer joins an ensemble once it is ready; none answers at " + v.Source + " yet"}
	}
	candidates := []Info{self}
	for _, id := range slices.Sorted(maps.Keys(waiting)) {
		p := waiting[id]
		if p.Observer {
			continue
		}
		if p.Expect != v.Expect {
			return Decision{Action: Wait, Reason: fmt.Sprintf("members disagree on PADDOCK_EXPECT: %d here, %d at member %d (%s)", v.Expect, p.Expect, p.ID, p.Host)}
		}
		candidates = append(candidates, p)
	}
	slices.SortFunc(candidates, func(a, b Info) int { return int(a.ID - b.ID) })
	if len(candidates) < v.Expect {
		return Decision{Action: Wait, Reason: fmt.Sprintf("waiting for %d members to form a new ensemble (PADDOCK_EXPECT), %d found at %s: %s",
			v.Expect, len(candidates), v.Source, describe(candidates))}
	}
	if !v.Settled {
		return Decision{Action: Wait, Reason: fmt.Sprintf("%d members found at %s (%s); waiting for the set to settle", len(candidates), v.Source, describe(candidates))}
	}
	if lead := candidates[0]; lead.ID != self.ID {
		return Decision{Action: Wait, Reason: fmt.Sprintf("member %d (%s), the lowest id, decides the founding members", lead.ID, lead.Host)}
	}
	founders := make([]Founder, 0, v.Expect)
	for _, c := range candidates[:v.Expect] {
		founders = append(founders, Founder{ID: c.ID, Instance: c.Instance, Line: c.line(false)})
	}
	return Decision{Action: Bootstrap, Founders: founders,
		Reason: fmt.Sprintf("%d members found at %s; founding members: %s", len(candidates), v.Source, describe(candidates[:v.Expect]))}
}

// decideKnown decides for a member whose data directory belongs to an ensemble.
func decideKnown(v View) Decision {
	st := v.State
	x := st.Cluster
	var mine []Info
	for _, p := range v.Peers {
		if p.Cluster == x && p.Phase != PhaseLeft {
			mine = append(mine, p)
		}
	}
	ready := readyByCluster(v.Peers)
	readyMine := ready[x]
	delete(ready, x)
	if st.Status == StatusLeft {
		switch {
		case len(readyMine) > 0:
			return Decision{Action: Rejoin, Cluster: x, Contacts: readyMine,
				Reason: fmt.Sprintf("this member left ensemble %s, which is ready (%s): joining it again with an empty data directory", x, describe(readyMine))}
		case len(ready) > 0:
			return refuseStale(v, ready)
		}
		return Decision{Action: Wait, Reason: fmt.Sprintf("this member left ensemble %s; waiting for it to be ready to join it again", x)}
	}
	if len(readyMine) > 0 {
		return Decision{Action: Restart, Cluster: x, Contacts: readyMine,
			Reason: fmt.Sprintf("ensemble %s is ready (%s)", x, describe(readyMine))}
	}
	if len(ready) > 0 {
		// Even with other members of its own ensemble around (stale volumes, all of them):
		// two ensembles must not serve under one name.
		return refuseStale(v, ready)
	}
	members, _ := parseLines(st.Members)
	voters := map[int64]bool{}
	for id, sv := range members {
		if sv.Role == config.Participant {
			voters[id] = true
		}
	}
	seen := map[int64]bool{}
	if voters[st.ID] {
		seen[st.ID] = true
	}
	for _, p := range mine {
		if voters[p.ID] {
			seen[p.ID] = true
		}
	}
	if len(voters) == 0 || 2*len(seen) > len(voters) {
		return Decision{Action: Restart, Cluster: x, Contacts: readyOnly(mine),
			Reason: fmt.Sprintf("%d of the %d participants of ensemble %s answer", len(seen), len(voters), x)}
	}
	if len(mine) == 0 {
		for _, p := range v.Peers {
			if p.Phase == PhaseWaiting && isFounder(st.Founders, p) {
				return Decision{Action: Wait, Reason: fmt.Sprintf("ensemble %s was founded with member %d (%s), which has not started as its member yet", x, p.ID, p.Host)}
			}
		}
		for _, p := range v.Peers {
			if p.Phase == PhaseWaiting {
				return Decision{Action: Refuse,
					Reason: fmt.Sprintf("stale volume: it belongs to ensemble %s (member %d), but new members are assembling at %s", x, st.ID, v.Source),
					Detail: fmt.Sprintf("none of ensemble %s answers there, and the members found (e.g. member %d at %s) are forming a new ensemble. "+
						"Delete this member's volumes to let it join the new ensemble, or point PADDOCK_DISCOVER at ensemble %s", x, p.ID, p.Host, x)}
			}
		}
	}
	return Decision{Action: Wait, Reason: fmt.Sprintf("waiting for the participants of ensemble %s: %d of %d answer at %s (a majority is needed to start)",
		x, len(seen), len(voters), v.Source)}
}

// isFounder reports whether p is one of founders (the same id and instance, or the same
// stable id).
func isFounder(founders []Founder, p Info) bool {
	for _, f := range founders {
		if f.ID == p.ID && (f.Instance == p.Instance || p.IDFrom.stable()) {
			return true
		}
	}
	return false
}

func refuseStale(v View, ready map[string][]Info) Decision {
	st := v.State
	return Decision{Action: Refuse,
		Reason: fmt.Sprintf("stale volume: it belongs to ensemble %s (member %d), not to the one at %s", st.Cluster, st.ID, v.Source),
		Detail: fmt.Sprintf("this data directory holds member %d's data of ensemble %s (%s since %s), but the ensemble found at %s is another one: %s. "+
			"Refusing to mix them, which would corrupt both. If this volume is stale, delete it, and this member joins that ensemble as a new member; "+
			"if it holds the data you want, point PADDOCK_DISCOVER at its own ensemble",
			st.ID, st.Cluster, st.Status, st.Since.UTC().Format("2006-01-02 15:04:05Z"), v.Source, describeClusters(ready))}
}

// readyByCluster groups the ready members by ensemble.
func readyByCluster(peers []Info) map[string][]Info {
	out := map[string][]Info{}
	for _, p := range peers {
		if p.Phase == PhaseMember && p.Ready && p.Cluster != "" {
			out[p.Cluster] = append(out[p.Cluster], p)
		}
	}
	return out
}

func readyOnly(peers []Info) []Info {
	var out []Info
	for _, p := range peers {
		if p.Ready {
			out = append(out, p)
		}
	}
	return out
}

func describe(members []Info) string {
	members = slices.Clone(members)
	slices.SortFunc(members, func(a, b Info) int { return int(a.ID - b.ID) })
	parts := make([]string, 0, len(members))
	for _, m := range members {
		parts = append(parts, fmt.Sprintf("%d at %s", m.ID, m.Host))
	}
	return strings.Join(parts, ", ")
}

func describeClusters(c map[string][]Info) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("ensemble %s (members %s)", k, describe(c[k])))
	}
	return strings.Join(parts, "; ")
}

// parseLines parses "server.N=..." lines (other keys, like version, are skipped).
func parseLines(lines []string) (map[int64]config.Server, error) {
	out := map[int64]config.Server{}
	for _, l := range lines {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok || !strings.HasPrefix(k, "server.") {
			continue
		}
		sv, err := config.ParseServer(k, v)
		if err != nil {
			return nil, fmt.Errorf("assemble: %s: %w", l, err)
		}
		out[sv.ID] = sv
	}
	return out, nil
}

// formatLines renders members as sorted "server.N=..." lines.
func formatLines(members map[int64]config.Server) []string {
	out := make([]string, 0, len(members))
	for _, id := range slices.Sorted(maps.Keys(members)) {
		out = append(out, fmt.Sprintf("server.%d=%s", id, members[id]))
	}
	return out
}
