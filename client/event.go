package client

import (
	"fmt"
	"sync"
)

// State is the state of a client, and the kind of a state Event.
type State int32

// States. Client.State reports StateConnecting, StateConnected, StateConnectedReadOnly,
// StateDisconnected, StateExpired or StateClosed; StateReconnected and StateAuthFailed are
// only ever events.
const (
	// StateConnecting: no session yet (Connect has not returned).
	StateConnecting State = iota
	// StateConnected: a new session is established with a read-write server.
	StateConnected
	// StateReconnected: the session continues over a new connection (to the same server or
	// another one); its ephemeral nodes and watches are intact. The watches are set again
	// first thing on the connection: an event missed while disconnected is delivered before
	// the reply to any request made after this event.
	StateReconnected
	// StateConnectedReadOnly: connected to a server that serves reads only (Options.ReadOnly).
	StateConnectedReadOnly
	// StateDisconnected: the connection is lost ("suspended"). The session may still be alive:
	// the client is reconnecting, and requests wait for the next connection (requests that
	// were already sent fail with ErrConnectionLoss). Event.Err says why.
	StateDisconnected
	// StateExpired: the server says the session is gone, with its ephemeral nodes and watches.
	// The client is finished; every call fails with ErrSessionExpired. Final.
	StateExpired
	// StateAuthFailed: the server refused a credential (Event.Err is ErrAuthFailed) and closes
	// the connection; the client reconnects without that credential.
	StateAuthFailed
	// StateClosed: Close was called. Final.
	StateClosed
)

// String returns the state's name ("Connected", ...).
func (s State) String() string {
	switch s {
	case StateConnecting:
		return "Connecting"
	case StateConnected:
		return "Connected"
	case StateReconnected:
		return "Reconnected"
	case StateConnectedReadOnly:
		return "ConnectedReadOnly"
	case StateDisconnected:
		return "Disconnected"
	case StateExpired:
		return "Expired"
	case StateAuthFailed:
		return "AuthFailed"
	case StateClosed:
		return "Closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Event is a change of the client's state.
type Event struct {
	State     State
	SessionID int64
	// Server is the server connected to (Connected, Reconnected, ConnectedReadOnly), lost
	// (Disconnected) or refusing a credential (AuthFailed).
	Server string
	// Err is why: the connection's error for StateDisconnected, ErrAuthFailed for
	// StateAuthFailed, ErrSessionExpired or ErrClosed for the final states.
	Err error
}

// String describes the event on one line.
func (e Event) String() string {
	s := fmt.Sprintf("%s session=0x%x", e.State, e.SessionID)
	if e.Server != "" {
		s += " server=" + e.Server
	}
	if e.Err != nil {
		s += " err=" + e.Err.Error()
	}
	return s
}

// eventBuffer is the capacity of the Events channel.
const eventBuffer = 64

// events delivers state events to the Events channel and to Options.OnEvent.
//
// The channel never blocks the client: when it is full the oldest event is dropped, so the
// newest state is always there. OnEvent gets every event from a goroutine started when there
// are events to deliver (ending when there are none), so a slow callback holds up only later
// events. Close does not wait for OnEvent, which may itself call Close.
type events struct {
	mu      sync.Mutex
	ch      chan Event  // capacity eventBuffer; closed after the final event
	fn      func(Event) // Options.OnEvent
	q       []Event     // guarded by mu: events for fn not yet delivered
	running bool        // guarded by mu: a goroutine is delivering q to fn
	ended   bool        // guarded by mu: the final event was emitted
}

func (e *events) init(fn func(Event)) {
	e.ch = make(chan Event, eventBuffer)
	e.fn = fn
}

// Events returns the channel of the client's state events, starting with the StateConnected
// of Connect. It holds the latest 64 events: a consumer that falls behind loses the oldest
// ones, never the newest. It is closed after the final event (StateExpired or StateClosed).
func (c *Client) Events() <-chan Event { return c.events.ch }

func (c *Client) emit(ev Event) { c.events.emit(ev) }

func (e *events) emit(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ended {
		return
	}
	for {
		select {
		case e.ch <- ev:
		default:
			select {
			case <-e.ch: // drop the oldest
			default:
			}
			continue
		}
		break
	}
	if e.fn != nil {
		e.q = append(e.q, ev)
		if !e.running {
			e.running = true
			go e.deliver()
		}
	}
}

// end marks the final event emitted and closes the channel.
func (e *events) end() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.ended {
		e.ended = true
		close(e.ch)
	}
}

func (e *events) deliver() {
	for {
		e.mu.Lock()
		if len(e.q) == 0 {
			e.running = false
			e.mu.Unlock()
			return
		}
		ev := e.q[0]
		e.q[0] = Event{}
		e.q = e.q[1:]
		e.mu.Unlock()
		e.fn(ev)
	}
}
