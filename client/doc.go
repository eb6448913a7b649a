// Package client is a Go client for ZooKeeper-protocol servers: paddock, and Apache ZooKeeper
// 3.5 to 3.9. It has every operation of ZooKeeper 3.9, including create with Stat, container
// and TTL nodes, multi and multiRead, persistent and recursive watches (addWatch),
// removeWatches and checkWatches, whoAmI, getEphemerals, getAllChildrenNumber and reconfig.
//
// # Sessions and connections
//
// Connect takes a ZooKeeper connect string, "host1:2181,host2:2181,host3:2181/app": the
// servers of one ensemble and an optional chroot (every path is relative to it, and it is
// stripped from the paths the server returns). It returns once a session is established. The
// client then keeps the session alive over one connection at a time: when the connection
// breaks it connects to the next server, presenting the session id and password and the last
// zxid it has seen (so it never goes back in time), and sets its watches again. Ephemeral
// nodes and watches survive that; only the session's expiry ends them.
//
// Changes of state are events (Events, Options.OnEvent): StateConnected, StateDisconnected
// (the connection is lost; the session may be alive), StateReconnected (same session, new
// connection), StateConnectedReadOnly, StateAuthFailed, and the final StateExpired and
// StateClosed. A client whose session expired is finished: create a new one.
//
// # Requests
//
// Every method takes a context and blocks until the reply, the end of the context, or the end
// of the client. Methods are safe for concurrent use, and concurrent calls are pipelined: a
// writer goroutine sends everything queued in one write, the server answers in order, and a
// reader goroutine hands each reply to its caller, which decodes it. A call costs no goroutine;
// requests and their buffers are pooled, so a read such as GetData allocates little beyond
// the data it returns.
//
// While the client is disconnected, calls wait for the next connection (bounded by their
// context). A call whose request was already written when the connection broke fails with
// ErrConnectionLoss: the server may or may not have carried it out. Likewise, when a call's
// context ends after its request was written, the server may still carry it out.
//
// # Watches
//
// ExistsW, GetDataW, GetChildrenW and GetChildren2W set one-shot watches: each returns a
// channel that receives exactly one WatchEvent and is then closed. AddWatch sets a persistent
// watch (the node, or the node and its subtree) that delivers every event on its Watcher's
// channel until removed. Events of a connection are handed out in the order the server sent
// them, and an event is delivered before the reply to any request sent after the change,
// so a client never reads a new value without the watch having fired.
//
// On reconnect the one-shot watches are set again relative to the last zxid seen: a watch
// whose node changed while the client was disconnected fires at once, so no change is missed.
// Persistent watches are set again too, but what they missed is not replayed (ZooKeeper's
// semantics). When the session ends, every watch gets EventNotWatching.
//
// # Errors
//
// Errors of the server are *Error values, one per ZooKeeper code (ErrNoNode, ErrNodeExists,
// ErrBadVersion, ErrNotEmpty, ErrNoAuth, ...), wrapped in an *OpError that names the
// operation and path: test them with errors.Is, and get the code with CodeOf. A failed Multi
// returns a *MultiError and per-op errors in its results.
//
// # Goroutines and locks
//
// A client runs, for its whole life, its run loop (connecting, reconnecting, expiry); per
// connection a reader (owns the socket's read side, the reply dispatch and the watch
// bookkeeping) and a writer (owns the write side and the pings); a pump goroutine for a
// persistent Watcher only while its consumer lags behind; and a goroutine calling
// Options.OnEvent only while there are events for it. Close waits for all of them but the
// last.
//
// Locks are leaves, never held while taking another, except watchSet.mu before Watcher.mu.
// Client.mu guards the session's state, Client.qmu the send queue, conn.pmu a connection's
// pending replies.
package client
