package zkcli

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paddock/paddock/client"
)

// A session is one connection attempt's client, as zkCli's ZooKeeper object: it is created
// at once and connects in the background, so that commands can be typed meanwhile (they wait
// for it, and fail with ConnectionLoss when an attempt to reach a server fails, as zkCli's do).
type session struct {
	host   string
	cancel context.CancelFunc // ends a Connect still in progress
	readyc chan struct{}      // closed when Connect has returned; c is set before
	c      *client.Client     // nil when Connect failed

	mu     sync.Mutex
	waiter map[int]func() // guarded by mu: called at the next failed dial
	nextID int            // guarded by mu
	closed bool           // guarded by mu
}

// startSession starts connecting to host. A goroutine, tracked by wg, connects, runs
// onConnect once the session is established (before readyc is closed) or onFail if it
// cannot be, then hands the client's later state events to onEvent until the client ends.
func startSession(wg *sync.WaitGroup, host string, o Options, onConnect func(*client.Client), onFail func(error), onEvent func(client.Event)) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{host: host, cancel: cancel, readyc: make(chan struct{}), waiter: map[int]func(){}}
	dial := o.Dialer
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	opts := client.Options{
		SessionTimeout: o.Timeout,
		ReadOnly:       o.ReadOnly,
		MaxFrameSize:   o.MaxBuffer,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				s.dialFailed()
			}
			return c, err
		},
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := client.Connect(ctx, host, opts)
		s.c = c
		if c != nil {
			onConnect(c)
		}
		close(s.readyc)
		if c == nil {
			if ctx.Err() == nil { // not abandoned by close
				onFail(err)
			}
			return
		}
		first := true
		for ev := range c.Events() { // closed after the final event
			if first && (ev.State == client.StateConnected || ev.State == client.StateConnectedReadOnly) {
				first = false
				continue // onConnect has said it
			}
			onEvent(ev)
		}
	}()
	return s
}

// dialFailed wakes the commands waiting for a connection: they fail, as zkCli's requests
// fail when an attempt to connect fails.
func (s *session) dialFailed() {
	s.mu.Lock()
	ws := s.waiter
	s.waiter = map[int]func(){}
	s.mu.Unlock()
	for _, f := range ws {
		f()
	}
}

// onDialFailure calls f at the next failed dial, unless stop is called first.
func (s *session) onDialFailure(f func()) (stop func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID
	s.nextID++
	s.waiter[id] = f
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.waiter, id)
	}
}

// client waits for the session to be established, within ctx.
func (s *session) client(ctx context.Context) (*client.Client, error) {
	select {
	case <-s.readyc:
		if s.c == nil {
			return nil, client.ErrConnectionLoss
		}
		return s.c, nil
	case <-ctx.Done():
		return nil, client.ErrConnectionLoss
	}
}

// waitReady waits up to d for the session; it reports whether it is established.
func (s *session) waitReady(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.readyc:
		return s.c != nil
	case <-t.C:
		return false
	}
}

// state is zkCli's ZooKeeper.States name, as the prompt shows it.
func (s *session) state() string {
	select {
	case <-s.readyc:
	default:
		return "CONNECTING"
	}
	if s.c == nil {
		return "CLOSED"
	}
	switch s.c.State() {
	case client.StateConnected:
		return "CONNECTED"
	case client.StateConnectedReadOnly:
		return "CONNECTEDREADONLY"
	case client.StateExpired, client.StateClosed:
		return "CLOSED"
	}
	return "CONNECTING"
}

// alive is ZooKeeper.States.isAlive: not closed (expired counts as closed).
func (s *session) alive() bool {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	return !closed && s.state() != "CLOSED"
}

// close ends the session (a connection still being attempted is abandoned). It reports
// whether the session was alive.
func (s *session) close() bool {
	alive := s.alive()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	<-s.readyc
	if s.c != nil {
		s.c.Close()
	}
	return alive
}

// checkConnectString rejects what the Java client's ConnectStringParser would refuse, so
// that a bad -server or connect argument fails at once with a clear message.
func checkConnectString(s string) error {
	hosts := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		hosts = s[:i]
		if chroot := s[i:]; chroot != "/" {
			if err := validatePath(chroot, false); err != nil {
				return fmt.Errorf("bad chroot in connect string %q: %v", s, err)
			}
		}
	}
	n := 0
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		n++
		host, port := h, ""
		if strings.HasPrefix(h, "[") {
			end := strings.IndexByte(h, ']')
			if end < 0 {
				return fmt.Errorf("bad server %q in connect string: unclosed [", h)
			}
			host, port = h[1:end], strings.TrimPrefix(h[end+1:], ":")
			if h[end+1:] != "" && !strings.HasPrefix(h[end+1:], ":") {
				return fmt.Errorf("bad server %q in connect string", h)
			}
		} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
			host, port = h[:i], h[i+1:]
		}
		if host == "" {
			return fmt.Errorf("bad server %q in connect string: no host", h)
		}
		if port != "" {
			if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
				return fmt.Errorf("bad server %q in connect string: bad port", h)
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("connect string %q names no server", s)
	}
	return nil
}
