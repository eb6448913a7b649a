package assemble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paddock/paddock/internal/config"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestPlanSeeds runs three assemblers on loopback that know each other from a seed list:
// they agree on one ensemble of the three, with the same cluster identity and members.
func TestPlanSeeds(t *testing.T) {
	const n = 3
	admin := make([]int, n)
	var seeds []string
	for i := range admin {
		admin[i] = freePort(t)
		seeds = append(seeds, fmt.Sprintf("127.0.0.1:%d", admin[i]))
	}
	src, err := ParseSource("seeds:" + strings.Join(seeds, ","))
	if err != nil {
		t.Fatal(err)
	}
	plans := make([]*Plan, n)
	errs := make([]error, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		a, err := New(Config{
			Source: src, Expect: n, Secret: []byte("s3cret"), DataDir: t.TempDir(),
			ExplicitID: fmt.Sprint(10 - i), Advertise: "127.0.0.1",
			PeerPort: freePort(t), ClientPort: freePort(t), AdminPort: admin[i],
			AdminAddr: fmt.Sprintf("127.0.0.1:%d", admin[i]),
			Settle:    200 * time.Millisecond, Interval: 50 * time.Millisecond, Logger: quiet(),
			LookupPTR: func(context.Context, net.IP) ([]string, error) { return nil, errors.New("no PTR") },
			Interfaces: func() ([]*net.IPNet, error) {
				return []*net.IPNet{{IP: net.IPv4(127, 0, 0, 1), Mask: net.CIDRMask(8, 32)}}, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Members come up one after another.
			time.Sleep(time.Duration(i) * 150 * time.Millisecond)
			plans[i], errs[i] = a.Plan(ctx)
			if errs[i] == nil {
				// Stand in for the server: keep answering /assemble as a member, ready.
				srv := httptest.NewUnstartedServer(a.Handler())
				ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", admin[i]))
				if err != nil {
					errs[i] = err
					return
				}
				srv.Listener = ln
				srv.Start()
				go func() { a.Run(ctx, fakeMember{}) }()
				<-ctx.Done()
				srv.Close()
			}
		}()
	}
	// Every plan arrives well before the deadline; then stop the stand-ins.
	deadline := time.Now().Add(20 * time.Second)
	for {
		done := 0
		for i := range n {
			if plans[i] != nil || errs[i] != nil {
				done++
			}
		}
		if done == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	for i := range n {
		if errs[i] != nil || plans[i] == nil {
			t.Fatalf("member %d: plan %v, %v", 10-i, plans[i], errs[i])
		}
		p := plans[i]
		if p.ID != int64(10-i) || p.Join || p.Cluster != plans[0].Cluster || !strings.HasPrefix(p.Cluster, "paddock/") {
			t.Errorf("member %d: plan %+v", 10-i, p)
		}
		if fmt.Sprint(p.Servers) != fmt.Sprint(plans[0].Servers) || len(p.Servers) != n {
			t.Errorf("member %d starts with %v, member 10 with %v", 10-i, p.Servers, plans[0].Servers)
		}
		for _, sv := range p.Servers {
			if sv.Role != config.Participant || sv.Host != "127.0.0.1" {
				t.Errorf("member %d: server %+v", 10-i, sv)
			}
		}
		if p.SuperPassword != SuperPassword([]byte("s3cret"), p.Cluster) {
			t.Errorf("member %d: super password not derived from the secret", 10-i)
		}
	}
	if a, b := plans[0].Action, plans[2].Action; a != Follow || b != Bootstrap {
		t.Errorf("member 10 %v, member 8 %v; want follow and bootstrap (8 has the lowest id)", a, b)
	}
}

type fakeMember struct{}

func (fakeMember) Ready(context.Context) error { return nil }
func (fakeMember) Membership() []byte          { return nil }

func TestProbeMAC(t *testing.T) {
	in := waiting(4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveInfo(w, r, in, []byte("right"))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	hc := newHTTPClient()
	got, err := probe(context.Background(), hc, addr, []byte("right"))
	if err != nil || got.ID != 4 || got.Instance != in.Instance {
		t.Fatalf("probe = %+v, %v", got, err)
	}
	if _, err := probe(context.Background(), hc, addr, []byte("wrong")); !errors.Is(err, errBadMAC) {
		t.Errorf("probe with another secret: %v, want errBadMAC", err)
	}
	if _, err := probe(context.Background(), hc, addr, nil); err != nil {
		t.Errorf("probe without a secret: %v", err)
	}
}

func TestQuorumAfter(t *testing.T) {
	members, err := parseLines([]string{
		"server.1=a:2888:3888:participant;0.0.0.0:2181",
		"server.2=b:2888:3888:participant;0.0.0.0:2181",
		"server.3=c:2888:3888:participant;0.0.0.0:2181",
		"server.4=d:2888:3888:observer;0.0.0.0:2181",
	})
	if err != nil {
		t.Fatal(err)
	}
	modes := func(m map[string]string) func(context.Context, string) (string, error) {
		return func(_ context.Context, addr string) (string, error) {
			host, _, _ := net.SplitHostPort(addr)
			if v, ok := m[host]; ok {
				return v, nil
			}
			return "", errors.New("connection refused")
		}
	}
	all := modes(map[string]string{"a": "leader", "b": "follower", "c": "follower"})
	if err := quorumAfter(context.Background(), members, 3, all); err != nil {
		t.Errorf("all up, 3 leaves: %v", err)
	}
	cDown := modes(map[string]string{"a": "leader", "b": "follower"})
	err = quorumAfter(context.Background(), members, 2, cDown)
	if !errors.Is(err, ErrWouldLoseQuorum) || !strings.Contains(err.Error(), "member 3 (c)") || !strings.Contains(err.Error(), "a quorum of them is 2, but only member 1 is up") {
		t.Errorf("c down, 2 leaves: %v", err)
	}
	if err := quorumAfter(context.Background(), members, 3, cDown); err != nil {
		t.Errorf("c down, c leaves: %v", err)
	}
	outOfQuorum := modes(map[string]string{"a": "leader", "b": "This ZooKeeper instance is not currently serving requests"})
	if err := quorumAfter(context.Background(), members, 3, outOfQuorum); !errors.Is(err, ErrWouldLoseQuorum) {
		t.Errorf("b out of the quorum, 3 leaves: %v", err)
	}
	one, _ := parseLines([]string{"server.1=a:2888:3888:participant;0.0.0.0:2181"})
	if err := quorumAfter(context.Background(), one, 1, all); !errors.Is(err, ErrWouldLoseQuorum) {
		t.Errorf("the last participant leaves: %v", err)
	}
}

// TestOrdinalBelowStart: a pod numbered from 0 while PADDOCK_ORDINAL_START says 1 (a
// StatefulSet whose ordinals.start the cluster dropped) is refused, and /readyz says why;
// without the setting, the same hostname gives an id from the ordinal.
func TestOrdinalBelowStart(t *testing.T) {
	admin := freePort(t)
	src, err := ParseSource(fmt.Sprintf("seeds:127.0.0.1:%d", admin))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Source: src, DataDir: t.TempDir(), Hostname: "paddock-0", OrdinalStart: 1, OrdinalStartSet: true,
		Advertise: "127.0.0.1", PeerPort: freePort(t), ClientPort: freePort(t), AdminPort: admin,
		AdminAddr: fmt.Sprintf("127.0.0.1:%d", admin), Interval: 50 * time.Millisecond, Logger: quiet(),
		LookupPTR: func(context.Context, net.IP) ([]string, error) { return nil, errors.New("no PTR") },
		Interfaces: func() ([]*net.IPNet, error) {
			return []*net.IPNet{{IP: net.IPv4(127, 0, 0, 1), Mask: net.CIDRMask(8, 32)}}, nil
		},
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := a.Plan(ctx); done <- err }()
	var body string
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", admin))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if strings.Contains(body, "refused") {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("/readyz never reported the refusal; last answer %q", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{"paddock-0 has ordinal 0", "PADDOCK_ORDINAL_START=1", "ordinals.start"} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz %q does not say %q", body, want)
		}
	}
	if in := a.info(ctx); in.ID != 0 {
		t.Errorf("the refused member took id %d", in.ID)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Plan returned %v, want context.Canceled", err)
	}

	if reason, _ := ordinalMismatch("paddock-0", 0); reason != "" {
		t.Errorf("paddock-0 with start 0 refused: %s", reason)
	}
	if reason, _ := ordinalMismatch("zk-300", 0); reason == "" {
		t.Error("zk-300 (id 301) accepted")
	}
	if reason, _ := ordinalMismatch("proj_zk_1", 1); reason != "" {
		t.Errorf("a name without a -N ordinal refused: %s", reason)
	}
}
