package conformance

import (
	"time"

	"github.com/paddock/paddock/internal/zktest"
)

// fast is a server with a 200 ms tick: sessions may last 400 ms to 4 s, so expiry takes
// about a second.
var fast = serverOpts{Name: "fast", TickTime: 200 * time.Millisecond}

// clamp configures explicit session timeout bounds.
var clamp = serverOpts{Name: "clamp", TickTime: 200 * time.Millisecond,
	Config: []string{"minSessionTimeout=1500", "maxSessionTimeout=2500"}}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// sessionScenarios: reconnecting with id and password, refused handshakes, expiry,
// closeSession, timeout negotiation and the optional readOnly byte.
var sessionScenarios = []scenario{
	{name: "session/timeout-default-bounds", opts: fast, steps: func(s *Script) {
		// min = 2 ticks, max = 20 ticks
		for _, t := range []int{1, 399, 400, 1000, 4000, 4001, 100000} {
			s.Connect("x", Handshake{Timeout: ms(t)})
		}
		s.Connect("x", Handshake{Timeout: 0})
		s.Connect("x", Handshake{Timeout: ms(-5)})
	}},
	{name: "session/timeout-configured-bounds", opts: clamp, steps: func(s *Script) {
		for _, t := range []int{1, 1499, 1500, 2000, 2500, 2501, 60000} {
			s.Connect("x", Handshake{Timeout: ms(t)})
		}
	}},
	{name: "session/reconnect-keeps-ephemerals", opts: fast, steps: func(s *Script) {
		s.Create("e", "", Open, Ephemeral)
		s.Drop()
		b := s.Open("b")
		b.Exists("e", false)
		s.Reconnect(false)
		s.GetEphemerals("")
		s.SetData("e", "still mine", -1)
	}},
	{name: "session/reconnect-closes-previous-connection", opts: fast, steps: func(s *Script) {
		s.Create("e", "", Open, Ephemeral)
		s.Reconnect(true)
		s.GetEphemerals("")
	}},
	{name: "session/wrong-password", opts: fast, steps: func(s *Script) {
		s.Create("e", "", Open, Ephemeral)
		bad := append([]byte(nil), s.passwd...)
		bad[0] ^= 0xff
		s.Connect("x", Handshake{Timeout: ms(4000), SessionID: s.id, Passwd: bad})
		s.Alive() // the server closed the session's other connection before checking
		s.Reconnect(false)
		s.Exists("e", false) // the session itself is unharmed
	}},
	{name: "session/unknown-session", opts: fast, steps: func(s *Script) {
		s.Connect("x", Handshake{Timeout: ms(4000), SessionID: 0x0123456789abcdef, Passwd: make([]byte, 16)})
		s.Alive()
	}},
	{name: "session/client-zxid-ahead", opts: fast, steps: func(s *Script) {
		// A client that has seen a newer zxid than the server's is refused with no
		// ConnectResponse at all.
		r := s.Create("n", "", Open, Persistent)
		s.Connect("x", Handshake{Timeout: ms(4000), LastZxidSeen: r.Zxid + 1000})
		s.Connect("y", Handshake{Timeout: ms(4000), LastZxidSeen: r.Zxid})
		s.Alive()
	}},
	{name: "session/client-zxid-ahead-on-reconnect", opts: fast, steps: func(s *Script) {
		r := s.Create("n", "", Open, Persistent)
		s.Connect("x", Handshake{Timeout: ms(4000), SessionID: s.id, Passwd: s.passwd, LastZxidSeen: r.Zxid + 1})
		s.Alive()
	}},
	{name: "session/expiry-deletes-ephemerals-and-fires-watches", opts: fast, steps: func(s *Script) {
		b := s.OpenWith("b", zktest.Options{Timeout: ms(1000)})
		b.Create("p", "", Open, Persistent)
		b.Create("p/e", "", Open, Ephemeral)
		s.Exists("p/e", true)
		s.GetChildren("p", true)
		b.Drop()
		s.WaitEvents(2, 5*time.Second)
		s.GetChildren2("p", false)
		b.Reconnect(false)
	}},
	{name: "session/expiry-closes-an-idle-connection", opts: fast, steps: func(s *Script) {
		b := s.OpenWith("b", zktest.Options{Timeout: ms(1000)})
		b.Create("e", "", Open, Ephemeral)
		s.GetData("e", true)
		b.Idle = true // no more pings: the session expires with its socket open
		b.WaitClosed(3 * time.Second)
		s.GetData("e", false) // the event came first
		b.Reconnect(false)
	}},
	{name: "session/expiry-of-several-sessions", opts: fast, steps: func(s *Script) {
		b := s.OpenWith("b", zktest.Options{Timeout: ms(1000)})
		b.Create("b", "", Open, Ephemeral)
		c := s.OpenWith("c", zktest.Options{Timeout: ms(1000)})
		c.Create("c", "", Open, EphemeralSeq)
		s.Exists("b", true)
		s.AddWatch("c0000000001", Persist)
		b.Drop()
		s.WaitEvents(1, 5*time.Second)
		c.Drop()
		s.WaitEvents(1, 5*time.Second)
		s.GetChildren("", false)
	}},
	{name: "session/close-session", opts: fast, steps: func(s *Script) {
		b := s.Open("b")
		b.Create("e", "", Open, Ephemeral)
		b.Create("p", "", Open, Persistent)
		s.GetChildren("", true)
		b.CloseSession()
		b.GetData("p", false)
		s.GetChildren("", false)
		b.Reconnect(false)
	}},
	{name: "session/close-session-twice", opts: fast, steps: func(s *Script) {
		b := s.Open("b")
		b.Reconnect(true)
		b.CloseSession()
		b.Reconnect(false)
	}},
	{name: "session/no-readonly-byte", opts: fast, steps: func(s *Script) {
		// A 3.3-era ConnectRequest without the readOnly byte gets a ConnectResponse
		// without it.
		s.Connect("x", Handshake{Timeout: ms(2000), NoReadOnly: true})
		s.Connect("y", Handshake{Timeout: ms(2000)})
		b := s.OpenWith("b", zktest.Options{NoReadOnly: true})
		b.Create("n", "", Open, Ephemeral)
		b.GetData("n", false)
	}},
	{name: "session/read-only-client-on-a-read-write-server", opts: fast, steps: func(s *Script) {
		s.Connect("x", Handshake{Timeout: ms(2000), ReadOnly: true})
		b := s.OpenWith("b", zktest.Options{ReadOnly: true})
		b.Create("n", "", Open, Persistent)
	}},
	{name: "session/ids-and-passwords", opts: fast, steps: func(s *Script) {
		b := s.Open("b")
		c := s.Open("c")
		b.Create("b", "", Open, Ephemeral)
		c.Create("c", "", Open, Ephemeral)
		s.Exists("b", false)
		s.Exists("c", false)
		s.Connect("x", Handshake{Timeout: ms(2000), SessionID: b.id, Passwd: c.passwd})
	}},
	{name: "session/ephemerals-survive-reconnects", opts: fast, steps: func(s *Script) {
		s.Create("e", "", Open, Ephemeral)
		for range 3 {
			s.Reconnect(false)
		}
		s.Exists("e", false)
	}},
}
