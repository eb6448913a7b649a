package client

import (
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/paddock/paddock/internal/proto"
)

func TestParseConnectString(t *testing.T) {
	for _, tc := range []struct {
		in     string
		hosts  []string
		chroot string
		bad    bool
	}{
		{in: "h1:2181", hosts: []string{"h1:2181"}},
		{in: "h1", hosts: []string{"h1:2181"}},
		{in: "h1:1,h2:2,h3", hosts: []string{"h1:1", "h2:2", "h3:2181"}},
		{in: " h1:1 , h2:2 ,", hosts: []string{"h1:1", "h2:2"}},
		{in: "h1:2181,h2:2181/app", hosts: []string{"h1:2181", "h2:2181"}, chroot: "/app"},
		{in: "h1/app/sub", hosts: []string{"h1:2181"}, chroot: "/app/sub"},
		{in: "h1:2181/", hosts: []string{"h1:2181"}},
		{in: "[::1]:2181,[::1]", hosts: []string{"[::1]:2181", "[::1]:2181"}},
		{in: "127.0.0.1:65535", hosts: []string{"127.0.0.1:65535"}},
		{in: "", bad: true},
		{in: "/app", bad: true},
		{in: ",,", bad: true},
		{in: "h1:0", bad: true},
		{in: "h1:70000", bad: true},
		{in: "h1:x", bad: true},
		{in: "::1", bad: true},
		{in: ":2181", bad: true},
		{in: "h1/app/", bad: true},
		{in: "h1/app//x", bad: true},
	} {
		cs, err := parseConnectString(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrBadConnectString) {
				t.Errorf("parse(%q) = %+v, %v; want ErrBadConnectString", tc.in, cs, err)
			}
			continue
		}
		if err != nil || !slices.Equal(cs.hosts, tc.hosts) || cs.chroot != tc.chroot {
			t.Errorf("parse(%q) = %q %q %v; want %q %q", tc.in, cs.hosts, cs.chroot, err, tc.hosts, tc.chroot)
		}
	}
}

func TestChrootPaths(t *testing.T) {
	cs := connectString{chroot: "/app"}
	for _, tc := range []struct{ client, server string }{
		{"/", "/app"}, {"/x", "/app/x"}, {"/x/y", "/app/x/y"},
	} {
		if got := cs.serverPath(tc.client); got != tc.server {
			t.Errorf("serverPath(%q) = %q, want %q", tc.client, got, tc.server)
		}
		if got := cs.clientPath(tc.server); got != tc.client {
			t.Errorf("clientPath(%q) = %q, want %q", tc.server, got, tc.client)
		}
	}
	for _, outside := range []string{"/apple", "/other", "/ap"} {
		if cs.inChroot(outside) || cs.clientPath(outside) != outside {
			t.Errorf("%q counted as inside the chroot /app", outside)
		}
	}
	var none connectString
	if none.serverPath("/x") != "/x" || none.clientPath("/x") != "/x" || !none.inChroot("/x") {
		t.Error("no chroot changes paths")
	}
}

// FuzzConnectString: parsing never panics, and what it accepts is usable: dialable host:port
// pairs and a valid chroot that round-trips paths.
func FuzzConnectString(f *testing.F) {
	for _, s := range []string{"h1:2181,h2:2181/app", "[::1]:1/x/y", "a,b,c", "", "/", "h:99999", "h/..", "[::1", "h:1/a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := parseConnectString(s)
		if err != nil {
			return
		}
		if len(cs.hosts) == 0 {
			t.Fatalf("parse(%q): no hosts and no error", s)
		}
		for _, h := range cs.hosts {
			host, port, err := net.SplitHostPort(h)
			if err != nil || host == "" || port == "" {
				t.Fatalf("parse(%q): host %q is not host:port (%v)", s, h, err)
			}
		}
		if cs.chroot != "" {
			if err := proto.ValidatePath(cs.chroot, false); err != nil || cs.chroot == "/" || strings.HasSuffix(cs.chroot, "/") {
				t.Fatalf("parse(%q): chroot %q: %v", s, cs.chroot, err)
			}
		}
		for _, p := range []string{"/", "/a", "/a/b"} {
			if got := cs.clientPath(cs.serverPath(p)); got != p {
				t.Fatalf("chroot %q: %q round-trips to %q", cs.chroot, p, got)
			}
		}
	})
}

func TestFIFO(t *testing.T) {
	var q fifo
	var popped []int32
	for i := range 1000 {
		q.push(&request{xid: int32(i)})
		if i%3 == 2 {
			popped = append(popped, q.pop().xid)
		}
	}
	for q.len() > 0 {
		popped = append(popped, q.pop().xid)
	}
	if len(popped) != 1000 || !slices.IsSorted(popped) || popped[999] != 999 || q.pop() != nil {
		t.Errorf("fifo lost requests or their order: %d popped", len(popped))
	}
	q.push(&request{xid: 1})
	q.push(&request{xid: 2})
	if d := q.drain(); len(d) != 2 || d[0].xid != 1 || q.len() != 0 {
		t.Errorf("drain = %v", d)
	}
}
