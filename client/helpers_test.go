package client_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/tests/harness"
)

const (
	// waitTime bounds every wait for a reply, an event or a state: generous, since the
	// machine is small and shared; tests never wait that long when things work.
	waitTime = 20 * time.Second
	// superPassword is the super user's password on the servers of TestServers.
	superPassword = "s3cret"
)

// serverProps are the properties of the servers of TestServers: TTL nodes on, a super user.
var serverProps = map[string]string{
	"zookeeper.extendedTypesEnabled":                     "true",
	"zookeeper.DigestAuthenticationProvider.superDigest": harness.Digest("super", superPassword),
}

// target is a kind of server the same test bodies run against.
type target struct {
	name  string
	start func(t *testing.T) *harness.Server
}

var targets = []target{
	{"zookeeper", func(t *testing.T) *harness.Server {
		return harness.StartZooKeeper(t, harness.ZKOptions{Properties: maps.Clone(serverProps)})
	}},
	{"paddock", func(t *testing.T) *harness.Server {
		return harness.StartPaddock(t, harness.PaddockOptions{Properties: maps.Clone(serverProps)})
	}},
}

// env is what a test body gets: one server, shared with the other bodies of its target, each
// of which works under its own root node.
type env struct {
	kind string // "zookeeper" or "paddock"
	addr string
}

// ctx returns a context bounded by waitTime, cancelled at the end of the test.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), waitTime)
	t.Cleanup(cancel)
	return c
}

// connect opens a client that the test's cleanup closes.
func connect(t testing.TB, servers string, opts client.Options) *client.Client {
	t.Helper()
	c, err := client.Connect(ctx(t), servers, opts)
	if err != nil {
		t.Fatalf("Connect(%q): %v", servers, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// root creates a fresh persistent node for one test body and returns its path.
func root(t testing.TB, c *client.Client, name string) string {
	t.Helper()
	p := "/" + name
	if _, err := c.Create(ctx(t), p, nil, client.ModePersistent, nil); err != nil {
		t.Fatalf("create %s: %v", p, err)
	}
	return p
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr fails the test unless err matches target (errors.Is).
func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// nextEvent returns the next watch event on ch, failing the test after waitTime or if the
// channel is closed.
func nextEvent(t testing.TB, ch <-chan client.WatchEvent) client.WatchEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed; wanted an event")
		}
		return ev
	case <-time.After(waitTime):
		t.Fatal("no watch event within", waitTime)
	}
	panic("unreachable")
}

// wantEvent fails the test unless the next event on ch has this type and path.
func wantEvent(t testing.TB, ch <-chan client.WatchEvent, typ client.EventType, path string) client.WatchEvent {
	t.Helper()
	ev := nextEvent(t, ch)
	if ev.Type != typ || ev.Path != path {
		t.Fatalf("watch event %v %q, want %v %q", ev.Type, ev.Path, typ, path)
	}
	return ev
}

// ready reports whether ch has an event ready now (the protocol promises some events are
// delivered before a later reply).
func ready(ch <-chan client.WatchEvent) (client.WatchEvent, bool) {
	select {
	case ev, ok := <-ch:
		return ev, ok
	default:
		return client.WatchEvent{}, false
	}
}

// nextState returns the next state event of c, skipping none.
func nextState(t testing.TB, c *client.Client) client.Event {
	t.Helper()
	select {
	case ev, ok := <-c.Events():
		if !ok {
			t.Fatal("events channel closed")
		}
		return ev
	case <-time.After(waitTime):
		t.Fatal("no state event within", waitTime)
	}
	panic("unreachable")
}

// waitState reads c's events until one of state st, failing after waitTime.
func waitState(t testing.TB, c *client.Client, st client.State) client.Event {
	t.Helper()
	deadline := time.After(waitTime)
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("events channel closed while waiting for %v", st)
			}
			if ev.State == st {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %v event within %v", st, waitTime)
		}
	}
}
