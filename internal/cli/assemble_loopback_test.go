package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/internal/assemble"
	"github.com/paddock/paddock/internal/config"
	"github.com/paddock/paddock/tests/harness"
)

// loopMember is one self-assembling member of TestAssembleLoopback, run in-process by
// runAssembled with a zoo.cfg of its own (paddock.* keys instead of PADDOCK_* variables).
type loopMember struct {
	id                  int
	cfgPath, dataDir    string
	client, admin, peer int
	sigc                chan os.Signal
	done                chan error
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (m *loopMember) start(t *testing.T, log *slog.Logger) {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{ConfigPath: m.cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	m.sigc, m.done = make(chan os.Signal, 1), make(chan error, 1)
	discover, _ := cfg.Prop("paddock.discover")
	go func() { m.done <- runAssembled(cfg, discover, log.With("member", m.id), m.sigc) }()
	t.Cleanup(func() { m.stop(t) })
}

func (m *loopMember) stop(t *testing.T) {
	if m.sigc == nil {
		return
	}
	m.sigc <- syscall.SIGTERM
	select {
	case err := <-m.done:
		if err != nil {
			t.Errorf("member %d: %v", m.id, err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("member %d did not stop", m.id)
	}
	m.sigc = nil
}

// ready asks the member's admin server for /readyz and returns its answer's first line.
func (m *loopMember) ready() error {
	var out bytes.Buffer
	return health([]string{"--addr", fmt.Sprintf("127.0.0.1:%d", m.admin), "--timeout", "2s"}, nil, &out, io.Discard)
}

// TestAssembleLoopback runs self-assembly end to end in one process on loopback, with a
// seed list: three members form an ensemble, a fourth joins and is promoted, then leaves;
// a leave that would lose the quorum is refused; the members restart as what they were.
func TestAssembleLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four servers")
	}
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("loopback-secret\n"), 0o600)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	members := make([]*loopMember, 4)
	var seeds []string
	for i := range members {
		m := &loopMember{id: i + 1, dataDir: filepath.Join(dir, fmt.Sprint(i+1)),
			client: freeLoopbackPort(t), admin: freeLoopbackPort(t), peer: freeLoopbackPort(t)}
		members[i] = m
		seeds = append(seeds, fmt.Sprintf("127.0.0.1:%d", m.admin))
	}
	for _, m := range members {
		m.cfgPath = filepath.Join(dir, fmt.Sprintf("zoo%d.cfg", m.id))
		text := strings.Join([]string{
			"tickTime=500", "initLimit=10", "syncLimit=5",
			"dataDir=" + m.dataDir,
			fmt.Sprintf("clientPort=%d", m.client), "clientPortAddress=127.0.0.1",
			"admin.serverAddress=127.0.0.1", fmt.Sprintf("admin.serverPort=%d", m.admin),
			"paddock.discover=seeds:" + strings.Join(seeds, ","),
			"paddock.expect=3",
			fmt.Sprintf("paddock.id=%d", m.id),
			"paddock.advertise=127.0.0.1",
			fmt.Sprintf("paddock.peerPort=%d", m.peer),
			// Unused, but members on one host need election ports of their own, as in ZooKeeper.
			fmt.Sprintf("paddock.electionPort=%d", freeLoopbackPort(t)),
			"paddock.peerSecretFile=" + secret,
		}, "\n") + "\n"
		if err := os.WriteFile(m.cfgPath, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range members[:3] {
		m.start(t, log)
	}
	allReady := func(ms ...*loopMember) func() error {
		return func() error {
			for _, m := range ms {
				if err := m.ready(); err != nil {
					return fmt.Errorf("member %d: %v", m.id, err)
				}
			}
			return nil
		}
	}
	harness.CheckFor(t, time.Minute, allReady(members[:3]...))

	st, err := assemble.ReadState(members[0].dataDir)
	if err != nil || st == nil || st.Status != assemble.StatusMember {
		t.Fatalf("member 1's state: %+v, %v", st, err)
	}
	cluster := st.Cluster
	super := []client.Credential{{Scheme: "digest", Auth: []byte("super:" + assemble.SuperPassword([]byte("loopback-secret"), cluster))}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.Connect(ctx, fmt.Sprintf("127.0.0.1:%d", members[0].client), client.Options{Credentials: super})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	config := func() string {
		c.Sync(ctx, "/zookeeper/config")
		data, _, err := c.GetConfig(ctx)
		if err != nil {
			return err.Error()
		}
		var roles []string
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok && strings.HasPrefix(k, "server.") {
				roles = append(roles, strings.TrimPrefix(k, "server.")+":"+strings.Split(strings.Split(v, ";")[0], ":")[3])
			}
		}
		return strings.Join(roles, " ")
	}
	wantConfig := func(want string) func() error {
		return func() error {
			if got := config(); got != want {
				return fmt.Errorf("/zookeeper/config: %s, want %s", got, want)
			}
			return nil
		}
	}
	harness.CheckFor(t, 30*time.Second, wantConfig("1:participant 2:participant 3:participant"))
	// The super user derived from the secret is the server's super user.
	if _, err := c.Create(ctx, "/assembled", nil, client.ModePersistent, client.DigestACL(client.PermAll, "someone", "else")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.GetData(ctx, "/assembled"); err != nil {
		t.Errorf("the derived super user cannot read a node it has no ACL for: %v", err)
	}

	members[3].start(t, log)
	harness.CheckFor(t, time.Minute, allReady(members...))
	harness.CheckFor(t, time.Minute, wantConfig("1:participant 2:participant 3:participant 4:participant"))

	var out bytes.Buffer
	if err := leave([]string{"--config", members[3].cfgPath}, nil, &out, io.Discard); err != nil {
		t.Fatalf("leave: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "member 4 left ensemble "+cluster) {
		t.Errorf("leave printed %q", out.String())
	}
	harness.CheckFor(t, 30*time.Second, wantConfig("1:participant 2:participant 3:participant"))
	harness.CheckFor(t, 30*time.Second, func() error {
		if err := members[3].ready(); err == nil || !strings.Contains(err.Error(), "left the ensemble") {
			return fmt.Errorf("member 4 after leaving: %v", err)
		}
		return nil
	})
	members[3].stop(t)

	// With member 3 down, member 2 leaving would leave 1 and 3: no quorum.
	members[2].stop(t)
	out.Reset()
	err = leave([]string{"--config", members[1].cfgPath}, nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "would lose its quorum") || !strings.Contains(err.Error(), "member 3") {
		t.Errorf("leave with member 3 down: %v\n%s", err, out.String())
	}

	// Member 3 comes back as the member it was; so do all three after a full stop.
	members[2].start(t, log)
	harness.CheckFor(t, time.Minute, allReady(members[:3]...))
	for _, m := range members[:3] {
		m.stop(t)
	}
	for _, m := range members[:3] {
		m.start(t, log)
	}
	harness.CheckFor(t, time.Minute, allReady(members[:3]...))
	harness.CheckFor(t, 30*time.Second, wantConfig("1:participant 2:participant 3:participant"))
	if _, _, err := c.GetData(ctx, "/assembled"); err != nil {
		t.Errorf("after the restart: %v", err)
	}
}
