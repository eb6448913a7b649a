package assemble

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseSource(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Source
		err  bool
	}{
		{in: "dns:tasks.zk", want: Source{Kind: "dns", Name: "tasks.zk"}},
		{in: "dns:zk-headless.ns.svc.cluster.local.", want: Source{Kind: "dns", Name: "zk-headless.ns.svc.cluster.local"}},
		{in: "dns:zk:8081", want: Source{Kind: "dns", Name: "zk", Port: 8081}},
		{in: " seeds:a:8080, b ,c:9000 ", want: Source{Kind: "seeds", Seeds: []string{"a:8080", "b", "c:9000"}}},
		{in: "seeds:[::1]:8080", want: Source{Kind: "seeds", Seeds: []string{"[::1]:8080"}}},
		{in: "zk", err: true},
		{in: "dns:", err: true},
		{in: "dns:zk:0", err: true},
		{in: "dns:a,b", err: true},
		{in: "seeds:,", err: true},
		{in: "seeds:a:x", err: true},
		{in: "consul:zk", err: true},
	} {
		got, err := ParseSource(tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadSource) {
				t.Errorf("ParseSource(%q) = %+v, %v; want ErrBadSource", tc.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseSource(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if again, err := ParseSource(got.String()); err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("ParseSource(%q.String()) = %+v, %v", tc.in, again, err)
		}
	}
}

func TestIDs(t *testing.T) {
	ordinals := []struct {
		host  string
		start int
		id    int64
		ok    bool
	}{
		{"zk-0", 0, 1, true},
		{"zk-2", 0, 3, true}, // a StatefulSet's default ordinals
		{"paddock-1", 1, 1, true},
		{"paddock-3.paddock-hs.default.svc.cluster.local", 1, 3, true}, // spec.ordinals.start: 1, as deploy/k8s
		{"paddock-0", 1, 0, false},
		{"my-zk-254", 0, 255, true},
		{"my-zk-255", 0, 0, false},
		{"3f2a1b9c0d12", 0, 0, false}, // Docker's hostname: the container id
		{"zoo1", 0, 0, false},
		{"-1", 0, 0, false},
	}
	for _, tc := range ordinals {
		id, ok := OrdinalID(tc.host, tc.start)
		if id != tc.id || ok != tc.ok {
			t.Errorf("OrdinalID(%q, %d) = %d, %v; want %d, %v", tc.host, tc.start, id, ok, tc.id, tc.ok)
		}
	}
	names := []struct {
		name string
		id   int64
		ok   bool
	}{
		{"proj_zk_2.proj_default.", 2, true}, // Compose v1
		{"proj-zk-3.proj_default", 3, true},  // Compose v2
		{"paddocktest1a2b-zk-12.paddocktest1a2b_default", 12, true},
		{"zk_zk.1.x3p9.zk_net", 0, false}, // a Swarm task: PADDOCK_ID={{.Task.Slot}} instead
		{"solo.net", 0, false},
		{"proj_zk_0", 0, false},
		{"", 0, false},
	}
	for _, tc := range names {
		id, ok := ContainerNumber(tc.name)
		if id != tc.id || ok != tc.ok {
			t.Errorf("ContainerNumber(%q) = %d, %v; want %d, %v", tc.name, id, ok, tc.id, tc.ok)
		}
	}
	for _, s := range []string{"0", "256", "x", "", "-3"} {
		if _, err := ParseID(s); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseID(%q): %v, want ErrBadID", s, err)
		}
	}
	if id, err := ParseID(" 7 "); id != 7 || err != nil {
		t.Errorf("ParseID(7) = %d, %v", id, err)
	}
	taken := map[int64]bool{}
	for i := range MaxID {
		id := randomID(taken)
		if id < 1 || id > MaxID || taken[id] {
			t.Fatalf("draw %d: randomID = %d (taken: %v)", i, id, taken[id])
		}
		taken[id] = true
	}
	if id := randomID(taken); id != 0 {
		t.Errorf("randomID with every id taken = %d", id)
	}
}

func TestChooseID(t *testing.T) {
	member := &State{ID: 2, IDFrom: FromHostname, Instance: "a", Status: StatusMember, Cluster: "paddock/x"}
	fresh := &State{ID: 77, IDFrom: FromRandom, Instance: "a", Status: StatusNew}
	for _, tc := range []struct {
		name    string
		derived int64
		from    IDSource
		st      *State
		id      int64
		src     IDSource
		err     bool
	}{
		{"nothing", 0, "", nil, 0, FromRandom, false},
		{"PADDOCK_ID", 4, FromEnv, nil, 4, FromEnv, false},
		{"hostname", 3, FromHostname, nil, 3, FromHostname, false},
		{"dns name", 5, FromDNSName, nil, 5, FromDNSName, false},
		{"member keeps its id", 2, FromHostname, member, 2, FromData, false},
		{"member, weak id elsewhere", 9, FromDNSName, member, 2, FromData, false},
		{"member, no derived id", 0, "", member, 2, FromData, false},
		{"volume of another member", 3, FromHostname, member, 0, "", true},
		{"volume of another member (env)", 5, FromEnv, member, 0, "", true},
		{"new: a drawn id is kept", 5, FromDNSName, fresh, 77, FromRandom, false},
		{"new: a stable id wins", 6, FromEnv, fresh, 6, FromEnv, false},
		{"new: no derived id", 0, "", fresh, 77, FromRandom, false},
	} {
		id, src, err := ChooseID(tc.derived, tc.from, tc.st)
		if (err != nil) != tc.err || id != tc.id || src != tc.src {
			t.Errorf("%s: ChooseID = %d, %q, %v; want %d, %q, error %v", tc.name, id, src, err, tc.id, tc.src, tc.err)
		}
		if err != nil {
			if !errors.Is(err, ErrIdentity) || !strings.Contains(err.Error(), "member 2's data") {
				t.Errorf("%s: error %v", tc.name, err)
			}
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if st, err := ReadState(dir); st != nil || err != nil {
		t.Fatalf("ReadState(empty) = %v, %v", st, err)
	}
	want := &State{ID: 3, IDFrom: FromHostname, Instance: "abc", Status: StatusMember, Cluster: "paddock/0011",
		Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Members: []string{"server.3=zk-2:2888:3888:participant;0.0.0.0:2181"},
		Founders: []Founder{{ID: 3, Instance: "abc", Line: "zk-2:2888:3888:participant;0.0.0.0:2181"}}}
	if err := WriteState(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(dir)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadState = %+v, %v; want %+v", got, err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, StateFile+".tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
	os.WriteFile(filepath.Join(dir, StateFile), []byte("{"), 0o600)
	if _, err := ReadState(dir); err == nil {
		t.Error("a torn state file reads without an error")
	}
}

func TestSuperPassword(t *testing.T) {
	a := SuperPassword([]byte("s3cret"), "paddock/01")
	if a != SuperPassword([]byte("s3cret"), "paddock/01") {
		t.Fatal("not deterministic")
	}
	for _, other := range []string{SuperPassword([]byte("s3cret"), "paddock/02"), SuperPassword([]byte("other"), "paddock/01"), SuperPassword(nil, "paddock/01")} {
		if other == a {
			t.Errorf("two keys give the same password %q", a)
		}
	}
	if d := SuperDigest([]byte("s3cret"), "paddock/01"); !strings.HasPrefix(d, "super:") || strings.Contains(d, a) {
		t.Errorf("SuperDigest = %q", d)
	}
}

func TestReverseName(t *testing.T) {
	for ip, want := range map[string]string{
		"192.168.16.3": "3.16.168.192.in-addr.arpa.",
		"10.0.0.255":   "255.0.0.10.in-addr.arpa.",
		"2001:db8::1":  "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
	} {
		got, err := reverseName(net.ParseIP(ip))
		if err != nil || got != want {
			t.Errorf("reverseName(%s) = %q, %v; want %q", ip, got, err, want)
		}
	}
}
