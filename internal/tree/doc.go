// Package tree is paddock's replicated state machine: the znode tree and the session table,
// changed only by Apply(zxid, txn) and encoded by Snapshot/Restore.
//
// Apply is deterministic: it reads no clock (the proposer stamps Txn.Time), draws no random
// numbers, starts no goroutines, and nothing observable depends on map iteration order
// (children are kept sorted; sets are sorted before they are walked or returned). Applying
// the same txns in the same order to equal trees gives equal trees, results and events, and
// byte-identical snapshots. All of ZooKeeper's request validation (PrepRequestProcessor)
// happens inside Apply, against the state the txn actually meets.
//
// A Tree is not safe for concurrent use. The server applies txns under its write lock and
// serves Read, Lookup and the other accessors under its read lock; those never modify the
// tree (they may fill the path cache, whose slots are atomic). Snapshot is called under the
// write lock and returns a function that may run concurrently with later Applies.
//
// # Memory layout
//
// Each znode is one 128-byte struct (node) on amd64/arm64, and one buffer:
//
//	nd        string     16  the name (last path component), then the data: one allocation
//	children  kids       32  sorted by name in chunks (below); empty when there are none
//	acl       *aclEntry   8  interned ACL list
//	czxid, mzxid, pzxid,
//	ctime, mtime         40
//	owner     int64       8  session id (ephemeral) or ttl ms (TTL node)
//	gen       uint32      4  copy-on-write generation (one per snapshot)
//	nameLen   uint32      4  where the name ends in nd
//	version, cversion,
//	aversion  int32      12  cversion in ZooKeeper's persisted form (child creations)
//	kind      uint8       1  persistent, ephemeral, container or TTL
//	null      bool        1  null data, as opposed to empty (+2 padding)
//
// 128 bytes is a Go size class: the struct wastes nothing. The buffer is never modified:
// setData builds a new one (name and new data), so readers and snapshot writers may hold
// the data without a lock. A znode of 100 bytes under a short name costs 128 + 112 bytes
// (the buffer's size class) plus its pointer and key in the parent's chunk (12 bytes); full
// paths are never stored per node.
//
// There is no per-node map and no parent pointer: lookups walk from the root one component
// at a time (O(depth·log fanout) string compares); reads go through a bounded cache of the
// paths found lately (pathcache.go: 2^16 slots, entries removed when their node leaves its
// path). A child set is a list of chunks of at most 255 sorted child pointers, with an index holding each chunk's pointer and its last name:
// a lookup binary-searches the index (contiguous, so a large directory costs few cache
// misses), then one chunk; an insert or delete moves at most one chunk's pointers, and a
// full chunk splits in two. Sequential children are appended at the end: past a full last
// chunk a new one starts, so children created in order fill their chunks. A chunk also keeps
// a 4-byte key per child: the 4 bytes of its name after the prefix that all the chunk's
// names share ("lock-000000" for a run of sequential locks). The search within a chunk
// binary-searches these keys, a contiguous array, and compares full names only for equal
// keys. Following a pointer to each probed node and another to its name costs two cache
// misses per step, and pprof showed the child search at 11 to 16% of the server's CPU under
// set and get. A node's name and data are copied out of the request into its buffer, so that a node never pins a request buffer. The index keeps its
// own copy of each chunk's last name, not a substring of that node's buffer, which would keep
// replaced data alive.
//
// ACL lists are interned as ZooKeeper's ReferenceCountedACLCache does: each distinct list
// (order-sensitive) is stored once in an aclEntry with a reference count, keyed by its jute
// encoding, and nodes point to it. The client's Stat is computed on demand from the node:
// cversion = 2·persisted − numChildren, dataLength, numChildren, and ephemeralOwner shown as 0
// for containers and TTL nodes.
//
// Beside the nodes the tree keeps, by full path, the ephemerals of each session and the sets
// of container and TTL nodes (for closeSession, getEphemerals and the reaper), and running
// counters for Stats.
//
// # Snapshots without stopping apply
//
// The tree is copy-on-write across snapshots. Snapshot records the current root, copies the
// session table, and advances the tree's generation. From then on Apply never writes to a
// node of an older generation: before changing a node it clones the path from the root down
// to it (each clone copies one chunk index; a chunk is copied when it changes). Nodes reachable from the captured root are
// therefore frozen, and the writer walks them without locks while Apply carries on. The
// cost is paid lazily, once per directory touched after each snapshot. Data slices and ACL
// lists are immutable, so clones share them.
//
// # Multi
//
// A multi applies its ops one by one on the live tree, each seeing the effects of the ones
// before (as ZooKeeper's outstanding change records do), and keeps an undo log. If an op
// fails, the log is replayed backwards, restoring the tree exactly (the undo path follows the
// same copy-on-write rule), and no event is returned.
package tree
