package assemble

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Source is where members look for each other: the PADDOCK_DISCOVER setting.
//
//	dns:NAME[:PORT]          every address NAME resolves to (A and AAAA records)
//	seeds:HOST[:PORT],...    these hosts
//
// PORT is the members' admin port, where they answer /assemble; by default this member's
// own (admin.serverPort, 8080).
type Source struct {
	Kind  string   // "dns" or "seeds"
	Name  string   // dns: the name
	Port  int      // dns: the port; 0 = this member's admin port
	Seeds []string // seeds: host or host:port each
}

// ErrBadSource is a PADDOCK_DISCOVER value that does not parse.
var ErrBadSource = errors.New("assemble: PADDOCK_DISCOVER is dns:NAME[:PORT] or seeds:HOST[:PORT][,HOST[:PORT]]")

// ParseSource parses a PADDOCK_DISCOVER value.
func ParseSource(s string) (Source, error) {
	kind, rest, ok := strings.Cut(strings.TrimSpace(s), ":")
	bad := func(why string) (Source, error) { return Source{}, fmt.Errorf("%w: %q: %s", ErrBadSource, s, why) }
	if !ok || rest == "" {
		return bad("no kind or no value")
	}
	switch kind {
	case "dns":
		name, port := rest, 0
		if h, p, err := net.SplitHostPort(rest); err == nil {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return bad("bad port")
			}
			name, port = h, n
		}
		name = strings.TrimSuffix(name, ".") // a fully qualified name's root
		if name == "" || strings.IndexFunc(name, badNameRune) >= 0 || slices.Contains(strings.Split(name, "."), "") {
			return bad("bad name") // every label must have a character, and none a blank
		}
		return Source{Kind: kind, Name: name, Port: port}, nil
	case "seeds":
		var seeds []string
		for _, h := range strings.Split(rest, ",") {
			h = strings.TrimSpace(h)
			if h == "" {
				continue
			}
			if host, p, err := net.SplitHostPort(h); err == nil {
				if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || host == "" {
					return bad("bad seed " + h)
				}
			} else if strings.ContainsAny(h, " /") {
				return bad("bad seed " + h)
			}
			seeds = append(seeds, h)
		}
		if len(seeds) == 0 {
			return bad("no seeds")
		}
		return Source{Kind: kind, Seeds: seeds}, nil
	}
	return bad("unknown kind " + kind)
}

// badNameRune reports a character no DNS name to look up has: blanks, control characters,
// and the separators of the settings.
func badNameRune(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || r == ',' || r == '/'
}

func (s Source) String() string {
	switch s.Kind {
	case "dns":
		if s.Port != 0 {
			return "dns:" + net.JoinHostPort(s.Name, strconv.Itoa(s.Port))
		}
		return "dns:" + s.Name
	case "seeds":
		return "seeds:" + strings.Join(s.Seeds, ",")
	}
	return ""
}

// Resolver resolves host names; *net.Resolver is one.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// targets returns the host:port addresses to ask, with defPort where none is given. A name
// that does not resolve (yet) is an error only when nothing resolves.
func (s Source) targets(ctx context.Context, r Resolver, defPort int) ([]string, error) {
	switch s.Kind {
	case "dns":
		port := s.Port
		if port == 0 {
			port = defPort
		}
		addrs, err := r.LookupHost(ctx, s.Name)
		if err != nil {
			return nil, err
		}
		out := make([]string, 0, len(addrs))
		for _, a := range addrs {
			out = append(out, net.JoinHostPort(a, strconv.Itoa(port)))
		}
		return out, nil
	case "seeds":
		out := make([]string, 0, len(s.Seeds))
		for _, h := range s.Seeds {
			if _, _, err := net.SplitHostPort(h); err != nil {
				h = net.JoinHostPort(h, strconv.Itoa(defPort))
			}
			out = append(out, h)
		}
		return out, nil
	}
	return nil, ErrBadSource
}
