// Package recipe holds coordination recipes built on the public client package, with the
// znode layouts and data formats of Apache Curator 5.4, so that Go and Java (Curator)
// processes cooperate on the same nodes: a Go Mutex and a Java InterProcessMutex on the same
// path exclude each other, a Go LeaderLatch and a Java LeaderLatch elect one leader, and
// services registered by either are discovered by both.
//
// # Sessions
//
// Every recipe is built on a Session, this package's CuratorFramework: a ZooKeeper session
// that survives session expiry by establishing a new one. Its states are Curator's
// (StateConnected, StateSuspended, StateReconnected, StateLost, StateReadOnly), and its
// ErrorPolicy (Curator's ConnectionStateErrorPolicy) says which of them end what a recipe
// holds: by default StateSuspended and StateLost, so that a lock holder or a leader gives up
// as soon as its connection is lost, before the ensemble can have expired its session and
// let someone else in. A Session declares its session lost, as Curator does, when it has been
// suspended for longer than the session timeout.
//
// Operations retry through connection losses and session changes as Curator's RetryLoop
// does, bounded by their context. Creates of sequential nodes use Curator's protected mode
// (the "_c_<uuid>-" name prefix) so that a create whose reply was lost is found rather than
// repeated, and deletes of lock nodes are guaranteed (retried in the background until they
// succeed or the Session closes).
//
// # Layouts
//
//	Mutex           <path>/_c_<uuid>-lock-<seq>         ephemeral sequential, default data
//	RWMutex         <path>/_c_<uuid>-__READ__<seq>, ...-__WRIT__<seq>
//	Semaphore       <path>/locks/... (a Mutex), <path>/leases/_c_<uuid>-lease-<seq>
//	LeaderLatch     <path>/_c_<uuid>-latch-<seq>        ephemeral sequential, data = id
//	LeaderSelector  <path>/_c_<uuid>-lock-<seq>         data = id (default data if empty)
//	ServiceDiscovery <base>/<name>/<id>                 JSON as JsonInstanceSerializer
//	Barrier         <path>                               exists while the barrier is set
//	DoubleBarrier   <path>/<uuid> (ephemeral), <path>/ready
//	SharedCount     <path>                               4-byte big-endian int
//	AtomicLong      <path>                               8-byte big-endian long
//	Queue           <path>/queue-<seq>                   persistent sequential, ItemSerializer framing
//	PersistentNode  <path>                               any mode, re-created after loss
//	GroupMember     <path>/<id>                          ephemeral PersistentNode
//
// Parents are created as container nodes, with empty data, as Curator's
// creatingParentContainersIfNeeded.
//
// # Goroutines
//
// A Session runs a listener dispatcher (only while there are state changes to deliver), a
// connector after a loss, and background guaranteed deletes; Close waits for them. A
// LeaderLatch runs one loop from Start to Close; a LeaderSelector one worker while it
// contends or leads; a TreeCache, a SharedCount and a PersistentNode one loop each from
// Start to Close. Callbacks (Session.Listen, LatchOptions.OnChange, SharedCount and TreeCache
// listeners) run one at a time, in order, on a goroutine that exists while there are calls to
// make, never under a lock of this package.
//
// # Locks
//
// Every mutex of this package is a leaf: Session.mu, and each recipe's mu (hold.mu,
// Mutex.mu, LeaderLatch.mu, ...), is never held while another is taken or a call is made to
// the client, except that the callback queue's serial.mu is taken under Session.mu to queue a
// state change. ServiceDiscovery.regMu serializes registrations and is taken before
// ServiceDiscovery.mu.
package recipe
