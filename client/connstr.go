package client

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/paddock/paddock/internal/proto"
)

// DefaultPort is the port of a server named without one in a connect string.
const DefaultPort = 2181

// connectString is a parsed connect string.
type connectString struct {
	hosts  []string // "host:port"
	chroot string   // "" or a path such as "/app" (never "/" and never ending in "/")
}

// parseConnectString parses "host[:port][,host[:port]...][/chroot]", ZooKeeper's connect
// string. IPv6 addresses are written in brackets ("[::1]:2181"). A chroot of "/" is no chroot.
func parseConnectString(s string) (connectString, error) {
	var cs connectString
	hosts := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		hosts, cs.chroot = s[:i], s[i:]
		if cs.chroot == "/" {
			cs.chroot = ""
		}
		if cs.chroot != "" {
			if err := proto.ValidatePath(cs.chroot, false); err != nil {
				return connectString{}, fmt.Errorf("%w: chroot: %v", ErrBadConnectString, err)
			}
		}
	}
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		addr, err := hostPort(h)
		if err != nil {
			return connectString{}, fmt.Errorf("%w: %q: %v", ErrBadConnectString, h, err)
		}
		cs.hosts = append(cs.hosts, addr)
	}
	if len(cs.hosts) == 0 {
		return connectString{}, fmt.Errorf("%w: %q names no server", ErrBadConnectString, s)
	}
	return cs, nil
}

// hostPort returns h as "host:port", adding DefaultPort when h has no port.
func hostPort(h string) (string, error) {
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		// No port: a bare name, an IPv4 address, or a bracketed IPv6 address.
		host = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if host == "" || strings.ContainsAny(host, "[]") || (strings.Contains(host, ":") && !strings.HasPrefix(h, "[")) {
			return "", err
		}
		port = strconv.Itoa(DefaultPort)
	}
	if host == "" {
		return "", fmt.Errorf("empty host")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("bad port %q", port)
	}
	return net.JoinHostPort(host, port), nil
}

// serverPath returns the server's path for a client path: the chroot prepended.
func (cs *connectString) serverPath(path string) string {
	if cs.chroot == "" {
		return path
	}
	if path == "/" {
		return cs.chroot
	}
	return cs.chroot + path
}

// clientPath returns the client's path for a server path: the chroot stripped. A path outside
// the chroot is returned unchanged.
func (cs *connectString) clientPath(path string) string {
	if cs.chroot == "" {
		return path
	}
	rest, ok := strings.CutPrefix(path, cs.chroot)
	switch {
	case !ok:
		return path
	case rest == "":
		return "/"
	case rest[0] == '/':
		return rest
	}
	return path
}

// inChroot reports whether a server path lies inside the chroot.
func (cs *connectString) inChroot(path string) bool {
	if cs.chroot == "" {
		return true
	}
	rest, ok := strings.CutPrefix(path, cs.chroot)
	return ok && (rest == "" || rest[0] == '/')
}
