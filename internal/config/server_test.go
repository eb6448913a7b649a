package config

import (
	"errors"
	"strings"
	"testing"
)

func TestServerLine(t *testing.T) {
	tests := []struct {
		line string
		want Server
		str  string // Server.String
	}{
		{"server.1=h:2888:3888", Server{ID: 1, Host: "h", PeerPort: 2888, ElectionPort: 3888},
			"h:2888:3888:participant"},
		{"server.1=h:2888:3888;2181", Server{ID: 1, Host: "h", PeerPort: 2888, ElectionPort: 3888, ClientHost: "0.0.0.0", ClientPort: 2181},
			"h:2888:3888:participant;0.0.0.0:2181"},
		{"server.2=zoo2:2888:3888;0.0.0.0:2181", Server{ID: 2, Host: "zoo2", PeerPort: 2888, ElectionPort: 3888, ClientHost: "0.0.0.0", ClientPort: 2181},
			"zoo2:2888:3888:participant;0.0.0.0:2181"},
		{"server.3=10.0.0.3:2888:3888:observer", Server{ID: 3, Host: "10.0.0.3", PeerPort: 2888, ElectionPort: 3888, Role: Observer},
			"10.0.0.3:2888:3888:observer"},
		{"server.3=h:2888:3888:OBSERVER;127.0.0.1:2181", Server{ID: 3, Host: "h", PeerPort: 2888, ElectionPort: 3888, Role: Observer, ClientHost: "127.0.0.1", ClientPort: 2181},
			"h:2888:3888:observer;127.0.0.1:2181"},
		{"server.4=h:2888:3888:participant", Server{ID: 4, Host: "h", PeerPort: 2888, ElectionPort: 3888},
			"h:2888:3888:participant"},
		{"server.1=[::1]:2888:3888", Server{ID: 1, Host: "::1", PeerPort: 2888, ElectionPort: 3888},
			"[::1]:2888:3888:participant"},
		{"server.1=[2001:db8::7]:2888:3888:observer;[::]:2181", Server{ID: 1, Host: "2001:db8::7", PeerPort: 2888, ElectionPort: 3888, Role: Observer, ClientHost: "::", ClientPort: 2181},
			"[2001:db8::7]:2888:3888:observer;[::]:2181"},
		{"server.255=h:1:2;", Server{ID: 255, Host: "h", PeerPort: 1, ElectionPort: 2}, "h:1:2:participant"},
		{"server.007= h : 2888 : 3888 ; 2181 ", Server{ID: 7, Host: "h", PeerPort: 2888, ElectionPort: 3888, ClientHost: "0.0.0.0", ClientPort: 2181},
			"h:2888:3888:participant;0.0.0.0:2181"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			// Two participants more make it a valid quorum whatever the role.
			text := "dataDir=/d\ninitLimit=5\nsyncLimit=2\nclientPort=2181\n" + tt.line +
				"\nserver.100=x:1:2\nserver.101=y:1:2\n"
			c := mustParse(t, text)
			var got *Server
			for i := range c.Servers {
				if c.Servers[i].ID == tt.want.ID {
					got = &c.Servers[i]
				}
			}
			if got == nil || *got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
		})
	}
}

func TestServerLineErrors(t *testing.T) {
	format := " does not have the form server_config or server_config;client_config" +
		" where server_config is the pipe separated list of host:port:port or host:port:port:type" +
		" and client_config is port or host:port"
	tests := []struct {
		line, want string
		is         error
	}{
		{"server.1=h:2888", "h:2888" + format, ErrServerFormat},
		{"server.1=h:1:2:observer:x", "h:1:2:observer:x" + format, ErrServerFormat},
		{"server.1=h:1:2;a:b:c", "h:1:2;a:b:c" + format, ErrServerFormat},
		{"server.1=h:1:2;2181;2182", "h:1:2;2181;2182" + format, ErrServerFormat},
		{"server.1=", format, ErrServerFormat},
		{"server.1=:1:2", ":1:2" + format, ErrServerFormat},
		{"server.1=h:2888:2888", "client and election port must be different! Please update the configuration file on server.1", ErrSamePorts},
		{"server.1=h:x:3888", "address unresolved: h:x", nil},
		{"server.1=h:1:2;h:y", "address unresolved: h:y", nil},
		{"server.1=h:1:70000", "port out of range:70000", nil},
		{"server.1=h:1:2:leader", "unrecognised peertype: leader", nil},
		{"server.1=[::1:2888:3888", "[::1:2888:3888 starts with '[' but has no matching ']:'", nil},
		{"server.1=[::1]2888:3888", "[::1]2888:3888 does not have : after ]", nil},
		{"server.1=[::1]:", "[::1]: doesn't have a port after colon", nil},
		{"server.x=h:1:2", `not a number: "x"`, ErrNotANumber},
		{"server.0=h:1:2", "server id must be between 1 and 255, not 0 (it is the top byte of session ids)", ErrBadServerID},
		{"server.256=h:1:2", "server id must be between 1 and 255, not 256 (it is the top byte of session ids)", ErrBadServerID},
		{"server.1=a:1:2|b:1:2", "multiple address feature is disabled, but multiple addresses were specified for sid 1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			err := parseErr(t, "dataDir=/d\nclientPort=2181\n"+tt.line+"\n")
			key, _, _ := strings.Cut(tt.line, "=")
			want := "config: zoo.cfg:3: " + key + ": " + tt.want
			if err.Error() != want {
				t.Errorf("err = %q\nwant  %q", err, want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

func TestDuplicateServerID(t *testing.T) {
	for _, text := range []string{
		"server.1=a:1:2\nserver.2=b:1:2\nserver.1=c:1:2\n",
		"server.1=a:1:2\nserver.2=b:1:2\nserver.01=c:1:2\n",
	} {
		err := parseErr(t, "dataDir=/d\ninitLimit=1\nsyncLimit=1\n"+text)
		if !errors.Is(err, ErrDuplicateServerID) || !strings.HasPrefix(err.Error(), "config: zoo.cfg:6: server.") ||
			!strings.HasSuffix(err.Error(), "duplicate server id 1 (server.1 at line 4)") {
			t.Errorf("err = %v", err)
		}
	}
}

func TestMultiAddressUsesFirst(t *testing.T) {
	c := mustParse(t, "dataDir=/d\nmultiAddress.enabled=true\nserver.1=a:1:2|b:1:2;2181\n")
	if len(c.Servers) != 1 || c.Servers[0].Host != "a" || c.Servers[0].ClientPort != 2181 {
		t.Errorf("servers = %+v", c.Servers)
	}
	if len(c.Unsupported) != 1 || c.Unsupported[0] != "server.1=a:1:2|b:1:2;2181" {
		t.Errorf("unsupported = %q", c.Unsupported)
	}
	err := parseErr(t, "dataDir=/d\nmultiAddress.enabled=true\nserver.1=a:1:2|b:1:2:observer\n")
	if !strings.HasSuffix(err.Error(), "multiple addresses should have similar roles: participant vs observer") {
		t.Errorf("err = %v", err)
	}
}

func TestQuorumShape(t *testing.T) {
	tests := []struct {
		name, text string
		standalone bool
		err        string
		warning    string
	}{
		{name: "no servers", text: "clientPort=1\n", standalone: true},
		{name: "one server", text: "server.1=a:1:2;2181\n", standalone: true},
		{name: "one server not standalone", text: "standaloneEnabled=false\nserver.1=a:1:2;2181\n",
			warning: "no server failure will be tolerated, you need at least 3 servers"},
		{name: "two servers", text: "server.1=a:1:2\nserver.2=b:1:2\n",
			warning: "no server failure will be tolerated, you need at least 3 servers"},
		{name: "three", text: "server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\n"},
		{name: "four", text: "server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nserver.4=d:1:2\n",
			warning: "non-optimal configuration, consider an odd number of servers"},
		{name: "three and an observer", text: "server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nserver.4=d:1:2:observer\n"},
		{name: "no participants, not standalone", text: "standaloneEnabled=false\n",
			err: "config: zoo.cfg: invalid quorum: standaloneEnabled = false then number of participants should be >0"},
		{name: "observers only", text: "server.1=a:1:2:observer\n",
			err: "config: zoo.cfg: invalid quorum: observers w/o participants is an invalid configuration"},
		{name: "one participant and an observer", text: "server.1=a:1:2;2181\nserver.2=b:1:2:observer\n",
			err: "config: zoo.cfg: invalid quorum: observers w/o quorum is an invalid configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "dataDir=/d\ninitLimit=5\nsyncLimit=2\n" + tt.text
			if tt.err != "" {
				if err := parseErr(t, text); err.Error() != tt.err {
					t.Errorf("err = %q, want %q", err, tt.err)
				}
				return
			}
			c := mustParse(t, text)
			if c.Standalone() != tt.standalone {
				t.Errorf("Standalone() = %v", c.Standalone())
			}
			if got := strings.Join(c.Warnings, "|"); got != tt.warning {
				t.Errorf("warnings = %q, want %q", got, tt.warning)
			}
		})
	}
}

func TestClientPortFromServerLine(t *testing.T) {
	tests := []struct {
		name, text string
		port       int
		addr       string
		err        string
	}{
		{"bare port", "server.1=h:2888:3888;2181\n", 2181, "0.0.0.0", ""},
		{"host and port", "server.1=h:2888:3888;127.0.0.1:2182\n", 2182, "127.0.0.1", ""},
		{"ipv6", "server.1=h:2888:3888;[::1]:2183\n", 2183, "::1", ""},
		{"static agrees", "clientPort=2181\nserver.1=h:2888:3888;2181\n", 2181, "0.0.0.0", ""},
		{"static only", "clientPort=2181\nserver.1=h:2888:3888\n", 2181, "", ""},
		{"static disagrees", "clientPort=2182\nserver.1=h:2888:3888;2181\n", 0, "",
			"config: zoo.cfg: client address for this server (id = 1) in static config file is 0.0.0.0:2182 is different from client address found in dynamic file: 0.0.0.0:2181"},
		{"static host disagrees", "clientPort=2181\nclientPortAddress=10.0.0.1\nserver.1=h:2888:3888;10.0.0.2:2181\n", 0, "",
			"config: zoo.cfg: client address for this server (id = 1) in static config file is 10.0.0.1:2181 is different from client address found in dynamic file: 10.0.0.2:2181"},
		{"no client port", "server.1=h:2888:3888\n", 0, "", "config: zoo.cfg: clientPort is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "dataDir=/d\n" + tt.text
			if tt.err != "" {
				if err := parseErr(t, text); err.Error() != tt.err {
					t.Errorf("err = %q\nwant  %q", err, tt.err)
				}
				return
			}
			c := mustParse(t, text)
			if c.ClientPort != tt.port || c.ClientPortAddress != tt.addr {
				t.Errorf("client = %q:%d, want %q:%d", c.ClientPortAddress, c.ClientPort, tt.addr, tt.port)
			}
		})
	}
}

func TestDynamicConfigString(t *testing.T) {
	c := mustParse(t, "dataDir=/d\ninitLimit=5\nsyncLimit=2\nversion=100000000\n"+
		"server.3=c:2888:3888;2181\nserver.1=a:2888:3888;2181\nserver.2=[::2]:2888:3888:observer\nserver.4=d:2888:3888\n")
	want := "server.1=a:2888:3888:participant;0.0.0.0:2181\n" +
		"server.2=[::2]:2888:3888:observer\n" +
		"server.3=c:2888:3888:participant;0.0.0.0:2181\n" +
		"server.4=d:2888:3888:participant\n" +
		"version=100000000"
	if got := c.DynamicConfig(); got != want {
		t.Errorf("DynamicConfig() =\n%s\nwant\n%s", got, want)
	}
	if c.ConfigVersion != 0x100000000 {
		t.Errorf("ConfigVersion = %#x", c.ConfigVersion)
	}
}
