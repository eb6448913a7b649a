package assemble

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// waiting is a new member with id id, as it announces itself.
func waiting(id int64) Info {
	return Info{ID: id, IDFrom: FromDNSName, Instance: fmt.Sprintf("inst%03d", id), Host: fmt.Sprintf("zk-%d", id),
		PeerPort: 2888, ElectionPort: 3888, ClientPort: 2181, Expect: 3, Phase: PhaseWaiting}
}

// memberOf is a member of cluster c.
func memberOf(id int64, c string, ready bool) Info {
	in := waiting(id)
	in.Phase, in.Cluster, in.Ready = PhaseMember, c, ready
	return in
}

func founders(ids ...int64) []Founder {
	var out []Founder
	for _, id := range ids {
		w := waiting(id)
		out = append(out, Founder{ID: id, Instance: w.Instance, Line: w.line(false)})
	}
	return out
}

func stateOf(id int64, status Status, c string, voters ...int64) *State {
	st := &State{ID: id, Instance: fmt.Sprintf("inst%03d", id), Status: status, Cluster: c}
	for _, v := range voters {
		st.Members = append(st.Members, fmt.Sprintf("server.%d=%s", v, waiting(v).line(false)))
	}
	return st
}

func TestDecide(t *testing.T) {
	withFounders := func(in Info, f []Founder) Info { in.Founders = f; return in }
	stable := func(in Info) Info { in.IDFrom = FromHostname; return in }
	observer := func(in Info) Info { in.Observer = true; return in }
	expect := func(in Info, n int) Info { in.Expect = n; return in }
	instance := func(in Info, s string) Info { in.Instance = s; return in }

	for _, tc := range []struct {
		name     string
		self     Info
		state    *State
		peers    []Info
		settled  bool
		want     Action
		founders []int64
		cluster  string
		reason   string // a substring of the reason
	}{
		{name: "alone", self: waiting(1), want: Wait, reason: "waiting for 3 members"},
		{name: "two of three", self: waiting(2), peers: []Info{waiting(1)}, settled: true, want: Wait, reason: "2 found"},
		{name: "three, not settled", self: waiting(1), peers: []Info{waiting(2), waiting(3)}, want: Wait, reason: "settle"},
		{name: "three, lowest decides", self: waiting(1), peers: []Info{waiting(3), waiting(2)}, settled: true, want: Bootstrap, founders: []int64{1, 2, 3}},
		{name: "three, not the lowest", self: waiting(2), peers: []Info{waiting(3), waiting(1)}, settled: true, want: Wait, reason: "member 1"},
		{name: "five seen, lowest three found", self: waiting(4), peers: []Info{waiting(7), waiting(9), waiting(5), waiting(8)}, settled: true, want: Bootstrap, founders: []int64{4, 5, 7}},
		{name: "observers do not found", self: waiting(1), peers: []Info{observer(waiting(2)), waiting(3)}, settled: true, want: Wait, reason: "2 found"},
		{name: "an observer waits for an ensemble", self: observer(waiting(1)), peers: []Info{waiting(2), waiting(3)}, settled: true, want: Wait, reason: "observer"},
		{name: "PADDOCK_EXPECT differs", self: waiting(1), peers: []Info{waiting(2), expect(waiting(3), 5)}, settled: true, want: Wait, reason: "disagree"},
		{name: "members without a host yet are not counted", self: waiting(1), peers: []Info{waiting(2), func() Info { w := waiting(3); w.Host = ""; return w }()}, settled: true, want: Wait, reason: "2 found"},

		{name: "follow a decision naming this member", self: waiting(3), peers: []Info{withFounders(memberOf(1, "paddock/a", false), founders(1, 2, 3)), waiting(2)},
			want: Follow, cluster: "paddock/a", founders: []int64{1, 2, 3}},
		{name: "follow even when ready", self: waiting(2), peers: []Info{withFounders(memberOf(1, "paddock/a", true), founders(1, 2, 3))},
			want: Follow, cluster: "paddock/a", founders: []int64{1, 2, 3}},
		{name: "a drawn id of another instance does not follow", self: instance(waiting(2), "other"), peers: []Info{withFounders(memberOf(1, "paddock/a", false), founders(1, 2, 3))},
			want: Wait, reason: "no quorum yet"},
		{name: "a stable id follows whatever its instance", self: stable(instance(waiting(2), "other")), peers: []Info{withFounders(memberOf(1, "paddock/a", false), founders(1, 2, 3))},
			want: Follow, cluster: "paddock/a"},
		{name: "left out: wait for the ensemble", self: waiting(4), peers: []Info{withFounders(memberOf(1, "paddock/a", false), founders(1, 2, 3)), waiting(2), waiting(3)}, settled: true,
			want: Wait, reason: "paddock/a"},
		{name: "join the ready ensemble", self: waiting(4), peers: []Info{memberOf(1, "paddock/a", true), memberOf(2, "paddock/a", false), waiting(5)},
			want: Join, cluster: "paddock/a"},
		{name: "two ready ensembles", self: waiting(4), peers: []Info{memberOf(1, "paddock/a", true), memberOf(2, "paddock/b", true)},
			want: Refuse, reason: "more than one ensemble"},

		{name: "id clash: the higher instance draws again", self: instance(waiting(2), "b"), peers: []Info{instance(waiting(2), "a"), waiting(1)}, want: Redraw},
		{name: "id clash: the lower instance stays", self: instance(waiting(2), "a"), peers: []Info{instance(waiting(2), "b"), waiting(1), waiting(3)}, settled: true, want: Wait},
		{name: "id clash: a drawn id gives way to a stable one", self: instance(waiting(2), "a"), peers: []Info{stable(instance(waiting(2), "b"))}, want: Redraw},
		{name: "id clash with a running member: draw again", self: waiting(2), peers: []Info{instance(memberOf(2, "paddock/a", true), "x"), memberOf(1, "paddock/a", true)}, want: Redraw},
		{name: "id clash with a running member: a stable id refuses", self: stable(waiting(2)), peers: []Info{instance(memberOf(2, "paddock/a", true), "x")},
			want: Refuse, reason: "already runs"},
		{name: "a second member with a founder's stable id", self: stable(waiting(2)),
			peers: []Info{withFounders(memberOf(1, "paddock/a", true), founders(1, 2, 3)), instance(memberOf(2, "paddock/a", true), "x")},
			want:  Refuse, reason: "already runs"},
		{name: "id clash: two stable ids", self: stable(waiting(2)), peers: []Info{stable(instance(waiting(2), "b"))}, want: Refuse, reason: "id 2 too"},

		{name: "restart: ready ensemble", self: memberOf(2, "paddock/a", false), state: stateOf(2, StatusMember, "paddock/a", 1, 2, 3),
			peers: []Info{memberOf(1, "paddock/a", true)}, want: Restart, cluster: "paddock/a"},
		{name: "restart: a majority answers", self: memberOf(2, "paddock/a", false), state: stateOf(2, StatusMember, "paddock/a", 1, 2, 3),
			peers: []Info{memberOf(3, "paddock/a", false)}, want: Restart},
		{name: "restart: a minority waits", self: memberOf(2, "paddock/a", false), state: stateOf(2, StatusMember, "paddock/a", 1, 2, 3, 4, 5),
			peers: []Info{memberOf(3, "paddock/a", false)}, want: Wait, reason: "2 of 5"},
		{name: "restart: an ensemble of one", self: memberOf(1, "paddock/a", false), state: stateOf(1, StatusMember, "paddock/a", 1), want: Restart},
		{name: "joining: continue", self: memberOf(4, "paddock/a", false), state: stateOf(4, StatusJoining, "paddock/a", 1, 2, 3),
			peers: []Info{memberOf(1, "paddock/a", true)}, want: Restart},
		{name: "stale: another ensemble is ready", self: memberOf(2, "paddock/old", false), state: stateOf(2, StatusMember, "paddock/old", 1, 2, 3),
			peers: []Info{memberOf(1, "paddock/new", true), memberOf(3, "paddock/new", true)}, want: Refuse, reason: "stale volume"},
		{name: "stale: new members assemble", self: memberOf(2, "paddock/old", false), state: stateOf(2, StatusMember, "paddock/old", 1, 2, 3),
			peers: []Info{waiting(1), waiting(3)}, want: Refuse, reason: "stale volume"},
		{name: "stale even with a majority of its own ensemble", self: memberOf(2, "paddock/old", false), state: stateOf(2, StatusMember, "paddock/old", 1, 2, 3),
			peers: []Info{memberOf(1, "paddock/new", true), memberOf(3, "paddock/old", false)}, want: Refuse, reason: "stale volume"},
		{name: "not stale when its own ensemble is ready too", self: memberOf(2, "paddock/old", false), state: stateOf(2, StatusMember, "paddock/old", 1, 2, 3),
			peers: []Info{memberOf(1, "paddock/new", true), memberOf(3, "paddock/old", true)}, want: Restart},
		{name: "a founder restarted before the others followed waits for them", self: withFounders(memberOf(1, "paddock/a", false), founders(1, 2, 3)),
			state: func() *State {
				st := stateOf(1, StatusMember, "paddock/a", 1, 2, 3)
				st.Founders = founders(1, 2, 3)
				return st
			}(),
			peers: []Info{waiting(2), waiting(3)}, want: Wait, reason: "has not started"},
		{name: "a new member waits for an ensemble restarting", self: waiting(4), peers: []Info{memberOf(1, "paddock/a", false), waiting(5), waiting(6)}, settled: true,
			want: Wait, reason: "no quorum yet"},
		{name: "left: rejoin the ready ensemble", self: memberOf(5, "paddock/a", false), state: stateOf(5, StatusLeft, "paddock/a", 1, 2, 3),
			peers: []Info{memberOf(1, "paddock/a", true)}, want: Rejoin, cluster: "paddock/a"},
		{name: "left: another ensemble", self: memberOf(5, "paddock/a", false), state: stateOf(5, StatusLeft, "paddock/a", 1, 2, 3),
			peers: []Info{memberOf(1, "paddock/b", true)}, want: Refuse, reason: "stale volume"},
		{name: "left: wait", self: memberOf(5, "paddock/a", false), state: stateOf(5, StatusLeft, "paddock/a", 1, 2, 3), want: Wait},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(View{Self: tc.self, State: tc.state, Peers: tc.peers, Expect: 3, Settled: tc.settled, Source: "dns:zk"})
			if d.Action != tc.want {
				t.Fatalf("Decide = %v (%s); want %v", d.Action, d.Reason, tc.want)
			}
			if tc.founders != nil {
				var ids []int64
				for _, f := range d.Founders {
					ids = append(ids, f.ID)
				}
				if !slices.Equal(ids, tc.founders) {
					t.Errorf("founders %v, want %v", ids, tc.founders)
				}
			}
			if tc.cluster != "" && d.Cluster != tc.cluster {
				t.Errorf("cluster %q, want %q", d.Cluster, tc.cluster)
			}
			if !strings.Contains(d.Reason+" "+d.Detail, tc.reason) {
				t.Errorf("reason %q (%s), want it to mention %q", d.Reason, d.Detail, tc.reason)
			}
			if d.Action == Refuse && (d.Detail == "" || len("not ready: refused: "+d.Reason) > 200) {
				t.Errorf("a refusal needs a one-line reason (under 200 characters with its prefix) and a detail: %q / %q", d.Reason, d.Detail)
			}
		})
	}
}

// TestAgreement plays rounds of Decide over members that all see each other, started in a
// random order, and checks that they form exactly one ensemble, whose founders all agree
// on them, and that the others join it. When the view settles only after every member is
// up, the founders are the lowest Expect ids.
func TestAgreement(t *testing.T) {
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, seed))
		n := 3 + r.IntN(4) // 3..6 members
		expect := 3
		ids := r.Perm(40)[:n]
		type node struct {
			in    Info
			state *State
		}
		var nodes []*node
		for _, id := range ids {
			in := waiting(int64(id + 1))
			in.Expect = expect
			nodes = append(nodes, &node{in: in})
		}
		const cluster = "paddock/c0ffee"
		settleAt := n // every member is up
		if seed%3 == 0 {
			settleAt = expect - 1 + r.IntN(n-expect+1) // maybe earlier
		}
		for round := 0; round < 20; round++ {
			// Members start one by one: in round k, the first k+1 are up.
			up := nodes[:min(len(nodes), round+1)]
			for _, nd := range r.Perm(len(up)) {
				me := up[nd]
				var peers []Info
				for _, o := range up {
					if o != me {
						peers = append(peers, o.in)
					}
				}
				d := Decide(View{Self: me.in, State: me.state, Peers: peers, Expect: expect, Settled: round >= settleAt, Source: "dns:zk"})
				switch d.Action {
				case Bootstrap, Follow:
					me.in.Phase, me.in.Cluster, me.in.Founders = PhaseMember, cluster, d.Founders
					me.state = &State{ID: me.in.ID, Instance: me.in.Instance, Status: StatusMember, Cluster: cluster}
				case Join:
					if d.Cluster != cluster {
						t.Fatalf("seed %d: joins %q", seed, d.Cluster)
					}
					me.in.Phase, me.in.Cluster = PhaseMember, cluster
					me.state = &State{ID: me.in.ID, Instance: me.in.Instance, Status: StatusJoining, Cluster: cluster}
				case Refuse, Redraw:
					t.Fatalf("seed %d: member %d: %v: %s", seed, me.in.ID, d.Action, d.Reason)
				}
			}
			// An ensemble is ready once all of its founders run.
			var formed []*node
			for _, nd := range nodes {
				if nd.in.Phase == PhaseMember && len(nd.in.Founders) > 0 {
					formed = append(formed, nd)
				}
			}
			if len(formed) == expect {
				for _, nd := range formed {
					nd.in.Ready = true
				}
			}
		}
		sorted := slices.Clone(ids)
		slices.Sort(sorted)
		var agreed []Founder
		foundersRunning := 0
		for _, nd := range nodes {
			if nd.in.Phase != PhaseMember || nd.in.Cluster != cluster {
				t.Fatalf("seed %d (%d members %v): member %d ended %s", seed, n, ids, nd.in.ID, nd.in.Phase)
			}
			if len(nd.in.Founders) == 0 {
				continue
			}
			foundersRunning++
			if agreed == nil {
				agreed = nd.in.Founders
			}
			if !slices.Equal(nd.in.Founders, agreed) || len(agreed) != expect {
				t.Fatalf("seed %d: member %d has founders %v, another %v", seed, nd.in.ID, nd.in.Founders, agreed)
			}
		}
		if foundersRunning != expect {
			t.Fatalf("seed %d: %d members run as founders, want %d", seed, foundersRunning, expect)
		}
		if settleAt >= n {
			for i, f := range agreed {
				if f.ID != int64(sorted[i]+1) {
					t.Fatalf("seed %d: founders %v, want the lowest ids of %v", seed, agreed, ids)
				}
			}
		}
	}
}
