package chaos

import (
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// link is a TCP proxy in front of one directed peer link: the connections member from dials
// to send raft messages (and snapshots) to member to. Cut closes every proxied connection and
// refuses new ones until Heal, as a network partition would (without the wait for a timeout).
type link struct {
	from, to int
	ln       net.Listener
	target   string

	mu    sync.Mutex
	cut   bool                  // guarded by mu
	conns map[net.Conn]struct{} // guarded by mu: both ends of every proxied connection
	done  bool                  // guarded by mu: Close was called
	fails []string              // guarded by mu: the last failed dials to target, for a failed run's report
	wg    sync.WaitGroup
}

func newLink(from, to int, target string) (*link, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &link{from: from, to: to, ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

func (l *link) addr() string { return l.ln.Addr().String() }

func (l *link) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		if l.cut || l.done {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.conns[c] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go l.serve(c)
	}
}

// serve dials the target for one accepted connection and copies both ways until either
// side closes or Cut closes both.
func (l *link) serve(in net.Conn) {
	defer l.wg.Done()
	out, err := net.DialTimeout("tcp", l.target, 2*time.Second)
	if err == nil && out.LocalAddr().String() == out.RemoteAddr().String() {
		// Dialling a local port nobody listens on can connect the socket to itself (TCP
		// simultaneous open), which would hold the member's port: refuse it.
		out.Close()
		out, err = nil, fmt.Errorf("dial %s: connected to itself", l.target)
	}
	l.mu.Lock()
	if err != nil {
		l.fails = append(l.fails, time.Now().Format("15:04:05.000")+" "+err.Error())
		if len(l.fails) > 20 {
			l.fails = l.fails[len(l.fails)-20:]
		}
	}
	if err != nil || l.cut || l.done {
		delete(l.conns, in)
		l.mu.Unlock()
		in.Close()
		if out != nil {
			out.Close()
		}
		return
	}
	l.conns[out] = struct{}{}
	l.mu.Unlock()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			in.Close()
			out.Close()
			l.mu.Lock()
			delete(l.conns, in)
			delete(l.conns, out)
			l.mu.Unlock()
		})
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); io.Copy(out, in); stop() }()
	go func() { defer wg.Done(); io.Copy(in, out); stop() }()
	wg.Wait()
}

// setCut cuts (true) or heals (false) the link. Cutting closes the open connections.
func (l *link) setCut(cut bool) {
	l.mu.Lock()
	l.cut = cut
	var open []net.Conn
	if cut {
		for c := range l.conns {
			open = append(open, c)
		}
	}
	l.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

func (l *link) isCut() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cut
}

func (l *link) close() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
	l.ln.Close()
	l.setCut(true)
	l.wg.Wait()
}

// network is the set of proxies between the members of an ensemble of n: links[i][j]
// carries member i+1's traffic to member j+1.
type network struct {
	n     int
	links [][]*link
}

// newNetwork listens for every directed link; the targets are set by connect once the
// members' peer ports are known. Closed at cleanup.
func newNetwork(t testing.TB, n int) *network {
	t.Helper()
	nw := &network{n: n, links: make([][]*link, n)}
	for i := range nw.links {
		nw.links[i] = make([]*link, n)
	}
	t.Cleanup(nw.close)
	return nw
}

// listen creates the proxy from→to (1-based ids) in front of target and returns its address.
func (nw *network) listen(from, to int, target string) (string, error) {
	l, err := newLink(from, to, target)
	if err != nil {
		return "", err
	}
	nw.links[from-1][to-1] = l
	return l.addr(), nil
}

func (nw *network) close() {
	for _, row := range nw.links {
		for _, l := range row {
			if l != nil {
				l.close()
			}
		}
	}
}

// partition cuts every link between the members in side and the others, both ways, and
// heals every other link.
func (nw *network) partition(side ...int) {
	in := make(map[int]bool)
	for _, id := range side {
		in[id] = true
	}
	for i, row := range nw.links {
		for j, l := range row {
			if l != nil {
				l.setCut(in[i+1] != in[j+1])
			}
		}
	}
}

// cutOneWay cuts the single direction from→to.
func (nw *network) cutOneWay(from, to int) { nw.links[from-1][to-1].setCut(true) }

// heal restores every link.
func (nw *network) heal() { nw.partition() }

// failures lists each link's last failed dials to its member, for a failed run's report.
func (nw *network) failures() string {
	var b strings.Builder
	for i, row := range nw.links {
		for j, l := range row {
			if l == nil {
				continue
			}
			l.mu.Lock()
			for _, f := range l.fails {
				fmt.Fprintf(&b, "%d→%d %s\n", i+1, j+1, f)
			}
			l.mu.Unlock()
		}
	}
	return b.String()
}

// String lists the cut links, "1→2 1→3", or "whole".
func (nw *network) String() string {
	var cut []string
	for i, row := range nw.links {
		for j, l := range row {
			if l != nil && l.isCut() {
				cut = append(cut, fmt.Sprintf("%d→%d", i+1, j+1))
			}
		}
	}
	if len(cut) == 0 {
		return "whole"
	}
	sort.Strings(cut)
	return strings.Join(cut, " ")
}

// TestLinkCutAndHeal checks the proxy itself on an echo server: traffic passes, a cut closes
// the open connection and refuses new ones, a heal lets them through again.
func TestLinkCutAndHeal(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	nw := newNetwork(t, 2)
	addr, err := nw.listen(1, 2, echo.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	roundTrip := func(c net.Conn) error {
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if string(buf) != "ping" {
			return fmt.Errorf("echo %q", buf)
		}
		return nil
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(c); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	nw.partition(1)
	if nw.String() != "1→2" {
		t.Errorf("cut links %q, want 1→2", nw.String())
	}
	if err := roundTrip(c); err == nil {
		t.Fatal("an open connection survived the cut")
	}
	c.Close()
	if c2, err := net.Dial("tcp", addr); err == nil {
		if err := roundTrip(c2); err == nil {
			t.Fatal("a new connection passed a cut link")
		}
		c2.Close()
	}
	nw.heal()
	c3, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if err := roundTrip(c3); err != nil {
		t.Fatalf("after heal: %v", err)
	}
}
