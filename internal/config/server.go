package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// parseServers turns server.N entries into c.Servers (sorted by id) and checks
// the ensemble as QuorumPeerConfig.parseDynamicConfig does.
func (b *builder) parseServers(entries []entry) error {
	c := b.c
	seen := map[int64]entry{}
	for _, e := range entries {
		s, err := b.parseServer(e.key, e.value)
		if err == nil {
			if first, dup := seen[s.ID]; dup {
				err = fmt.Errorf("%w %d (%s at line %d)", ErrDuplicateServerID, s.ID, first.key, first.line)
			}
		}
		if err != nil {
			return &Error{File: e.src, Line: e.line, Key: e.key, Err: err}
		}
		seen[s.ID] = e
		c.Servers = append(c.Servers, s)
	}
	sort.Slice(c.Servers, func(i, j int) bool { return c.Servers[i].ID < c.Servers[j].ID })

	src := c.Source
	if len(entries) > 0 {
		src = entries[0].src
	}
	participants := c.participants()
	observers := len(c.Servers) - participants
	quorum := func(msg string) error { return &Error{File: src, Err: fmt.Errorf("%w: %s", ErrQuorum, msg)} }
	switch {
	case participants == 0:
		if !c.StandaloneEnabled {
			return quorum("standaloneEnabled = false then number of participants should be >0")
		}
		if observers > 0 {
			return quorum("observers w/o participants is an invalid configuration")
		}
	case participants == 1 && c.StandaloneEnabled:
		if observers > 0 {
			return quorum("observers w/o quorum is an invalid configuration")
		}
	case participants <= 2:
		b.warn("no server failure will be tolerated, you need at least 3 servers")
	case participants%2 == 0:
		b.warn("non-optimal configuration, consider an odd number of servers")
	}
	return nil
}

// parseServer parses server.N=host:peer:election[:role][;[host:]clientport] as
// QuorumPeer.QuorumServer does. Several addresses joined by '|' need
// multiAddress.enabled; paddock uses the first.
func (b *builder) parseServer(key, value string) (Server, error) {
	idText := strings.TrimPrefix(key, "server.")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return Server{}, fmt.Errorf("%w: %q", ErrNotANumber, idText)
	}
	if id < 1 || id > 255 {
		return Server{}, fmt.Errorf("%w, not %d (it is the top byte of session ids)", ErrBadServerID, id)
	}
	s := Server{ID: id}
	wrong := fmt.Errorf("%s %w", value, ErrServerFormat)

	parts := javaSplit(value, ";")
	if len(parts) == 0 || len(parts) > 2 {
		return s, wrong
	}
	if len(parts) == 2 {
		cp, err := hostAndPort(parts[1])
		if err != nil {
			return s, err
		}
		if len(cp) == 0 || len(cp) > 2 {
			return s, wrong
		}
		s.ClientHost = "0.0.0.0"
		if len(cp) == 2 {
			s.ClientHost = trimJava(cp[0])
		}
		port := trimJava(cp[len(cp)-1])
		if s.ClientPort, err = addrPort(s.ClientHost, port); err != nil {
			return s, err
		}
		if s.ClientPort == 0 || s.ClientHost == "" {
			return s, wrong
		}
	}

	addrs := javaSplit(parts[0], "|")
	if len(addrs) == 0 {
		return s, wrong
	}
	if len(addrs) > 1 {
		if !b.multiAddr {
			return s, fmt.Errorf("multiple address feature is disabled, but multiple addresses were specified for sid %d", id)
		}
		b.unsupported(key, value)
	}
	for i, a := range addrs {
		sp, err := hostAndPort(a)
		if err != nil {
			return s, err
		}
		if len(sp) < 3 || len(sp) > 4 {
			return s, wrong
		}
		host := trimJava(sp[0])
		if host == "" {
			return s, wrong
		}
		peer, err := addrPort(host, trimJava(sp[1]))
		if err != nil {
			return s, err
		}
		election, err := addrPort(host, trimJava(sp[2]))
		if err != nil {
			return s, err
		}
		if peer == election {
			return s, fmt.Errorf("%w! Please update the configuration file on server.%d", ErrSamePorts, id)
		}
		role := Participant
		if len(sp) == 4 {
			if role, err = parseRole(sp[3]); err != nil {
				return s, err
			}
		}
		if i == 0 {
			s.Host, s.PeerPort, s.ElectionPort, s.Role = host, peer, election, role
		} else if role != s.Role {
			return s, fmt.Errorf("multiple addresses should have similar roles: %s vs %s", s.Role, role)
		}
	}
	return s, nil
}

// addrPort parses a port of a server line.
func addrPort(host, port string) (int, error) {
	n, err := strconv.ParseInt(port, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("address unresolved: %s:%s", host, port)
	}
	if n < 0 || n > 65535 {
		return 0, fmt.Errorf("port out of range:%d", n)
	}
	return int(n), nil
}

// hostAndPort is ConfigUtils.getHostAndPort: it splits at ':' but keeps an
// IPv6 literal in brackets whole (without the brackets).
func hostAndPort(s string) ([]string, error) {
	s = trimJava(s)
	if !strings.HasPrefix(s, "[") {
		return javaSplit(s, ":"), nil
	}
	i := strings.IndexByte(s, ']')
	if i < 0 {
		return nil, fmt.Errorf("%s starts with '[' but has no matching ']:'", s)
	}
	host := s[1:i]
	rest := s[i+1:]
	if rest == "" {
		return []string{host}, nil
	}
	if rest[0] != ':' {
		return nil, fmt.Errorf("%s does not have : after ]", s)
	}
	if rest == ":" {
		return nil, fmt.Errorf("%s doesn't have a port after colon", s)
	}
	return append([]string{host}, javaSplit(rest[1:], ":")...), nil
}

// javaSplit is String.split with a literal separator: trailing empty strings
// are dropped, and an empty input gives one empty string.
func javaSplit(s, sep string) []string {
	parts := strings.Split(s, sep)
	if s == "" {
		return parts
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// resolveSelf derives this server's client address and role from the server
// list (QuorumPeerConfig.setupClientPort and setupPeerType).
func (b *builder) resolveSelf() error {
	c := b.c
	self, ok := c.Self()
	if !ok && c.MyID == 0 && len(c.Servers) == 1 && c.Standalone() {
		// ZooKeeper needs dataDir/myid to take a standalone server's client
		// port from its only server line; paddock does not.
		self, ok = c.Servers[0], true
	}
	if !ok {
		return nil
	}
	if self.ClientPort != 0 {
		if c.ClientPort != 0 {
			static := c.ClientPortAddress
			if static == "" {
				static = "0.0.0.0"
			}
			wild := static == "0.0.0.0" || static == "::" || static == "[::]"
			if c.ClientPort != self.ClientPort || (!wild && static != self.ClientHost) {
				return &Error{File: c.Source, Err: fmt.Errorf(
					"client address for this server (id = %d) in static config file is %s:%d is different from client address found in dynamic file: %s:%d",
					self.ID, static, c.ClientPort, self.ClientHost, self.ClientPort)}
			}
		}
		c.ClientPort, c.ClientPortAddress = self.ClientPort, self.ClientHost
	}
	if c.MyID != 0 && self.Role != c.PeerType {
		b.warn(fmt.Sprintf("peer type from servers list (%s) doesn't match peerType (%s), defaulting to servers list", self.Role, c.PeerType))
	}
	if c.MyID != 0 {
		c.PeerType = self.Role
	}
	return nil
}

// check is QuorumPeerConfig.checkValidity plus what paddock needs to serve.
// haveMyID says whether dataDir/myid could have been read.
func (b *builder) check(haveMyID bool) error {
	c := b.c
	fail := func(err error) error { return &Error{File: c.Source, Err: err} }
	if c.Standalone() {
		if c.ClientPort == 0 {
			return fail(ErrClientPortNotSet)
		}
		return nil
	}
	if c.InitLimit == 0 {
		return fail(ErrInitLimitNotSet)
	}
	if c.SyncLimit == 0 {
		return fail(ErrSyncLimitNotSet)
	}
	if !haveMyID {
		return nil
	}
	if c.MyID == 0 {
		return &Error{File: c.DataDir + "/myid", Err: ErrMyIDMissing}
	}
	if _, ok := c.Self(); !ok {
		return fail(fmt.Errorf("my id %d %w", c.MyID, ErrNotInPeerList))
	}
	return nil
}
