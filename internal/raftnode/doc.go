// Package raftnode replicates a state machine with etcd's raft (it is the
// only importer of go.etcd.io/raft/v3) and makes it durable: it owns the raft
// Ready loop, the write-ahead log, the snapshot files and the seam to the peer
// transport. A standalone server is a one-member ensemble on the same path.
//
// # Goroutines
//
// Start recovers on the caller's goroutine (newest valid snapshot, then the
// log replayed through StateMachine.Apply; a one-member ensemble also elects
// itself and applies the whole log), then starts:
//
//   - The Ready loop (Node.run), the apply goroutine. It alone owns the
//     raft.RawNode, the raft.MemoryStorage, the write-ahead log, the
//     membership and member addresses, the applied index and the bookkeeping
//     of proposals, reads, membership changes and leadership transfers, and
//     it makes every StateMachine call except the write function returned by
//     Snapshot, and every Transport call (before it runs, Start makes them).
//     It ticks raft, batches queued proposals into raft messages of at most
//     Config.MaxBatchBytes, and handles each Ready in the order raft
//     requires: persist entries, hard state and snapshot with a single
//     fdatasync (group commit), send messages, apply committed entries,
//     Advance.
//   - The spare segment's preparer (wal.startSpare), one at a time. Once
//     the segment being written is half full, it creates, zero-fills and
//     fsyncs the next segment under a *.tmp name; the Ready loop renames it
//     into place when it cuts, and waits for it if it is not ready yet. It
//     owns nothing but that file; the log's close abandons and removes it.
//   - The snapshot writer (Node.snapshotWriter). It runs the write function
//     returned by StateMachine.Snapshot, writes and syncs the snapshot file,
//     and deletes snapshot files beyond Config.SnapRetain. One job is in
//     flight at a time; the Ready loop then records a marker in the log,
//     compacts the in-memory log and deletes log segments no kept snapshot
//     needs.
//
// A Transport runs goroutines of its own and reaches the loop only through
// the Receiver it is given. Transport.Send runs on the loop, so it must never
// call the Receiver itself: Receive blocks while the loop's inbound queue is
// full. The reports (ReportUnreachable, ReportSnapshot) never block: they
// wait in a small set (Node.reports) that the loop empties. Stop (or a fatal
// error) ends the loop, which releases everyone waiting to hand it work,
// waits for the snapshot writer, stops the transport, syncs and closes the
// log, and then closes Done. Node.mu guards only the published Status and
// the fatal error, Node.reports.mu the pending reports; both are leaf locks,
// never held while calling out.
//
// # On-disk layout
//
//	LogDir/wal/<seq>-<first>.wal      log segments, 16 hex digits each
//	DataDir/snap/<term>-<index>.snap  snapshots, 16 hex digits each
//	*.snap.recv                       snapshots received from the leader that
//	                                  raft has not accepted (yet)
//	*.tmp                             interrupted creations and spare
//	                                  segments, deleted at Start
//	*.snap.broken                     snapshots that failed their CRC
//
// A new log's first segment is 1 MiB (or Config.SegmentSize if smaller);
// each next one is twice the previous one's size, up to Config.SegmentSize
// (after a restart, the last segment's size is its file's). Small first
// segments spare a new server writing 64 MiB of zeros: a segment is
// fallocated, then filled with zeros and fsync'd before it is used, because
// fallocate alone leaves unwritten extents and the first write into each one
// makes the following fdatasync journal its conversion. On ext4 a 3000-byte
// append's fdatasync cost 88-100 µs of CPU and 162 µs that way, 57-67 µs and
// 104-114 µs in a zero-filled segment. The next segment
// is prepared in the background as a spare (see Goroutines), so a cut rarely
// waits; if the spare fails, the cut creates the segment itself, and only
// that failing is fatal. Zeros read as the end of the records, so the format
// is the same as for a sparse or preallocated file. A segment holds records
// [u32 length][u32 CRC32-C of type+payload][u8 type][payload]; a zero length
// marks the end. Types: raft entry and hard state (protobuf wire format),
// snapshot marker (index, term, membership; the one at index 0 holds the
// bootstrap membership) and meta (member ID, first in every segment, followed
// by the current hard state, so replay can begin at any segment). seq
// numbers segments without gaps; first is the index of the next entry when
// the segment was cut. A snapshot file is a CRC-protected header (index,
// term, membership and the member addresses recorded by membership changes,
// length and CRC of the body) and the zstd-compressed state; see snap.go.
//
// # Durability contract
//
//   - StateMachine.Apply never sees an entry before it is fdatasync'd to the
//     local log, and raft acknowledges (or, as leader, counts) an entry only
//     after that sync. One fdatasync covers a whole Ready.
//   - New files (segments, snapshots) are written under a temporary name,
//     synced, renamed, and their directory synced.
//   - A failed write or sync, including a full disk, is fatal: the node stops
//     (fail-stop), Done closes and Err says why. Nothing is retried, because
//     after a failed fsync the page cache can no longer be trusted.
//   - At Start a torn tail of the last segment (a bad record followed by
//     nothing valid) is repaired: zeroed and logged. Any other damage is a
//     CorruptError naming the file and byte offset, and Start fails. The
//     exact rules are in walread.go.
//   - A snapshot that fails its CRC is set aside and the previous one used;
//     segments are kept back to the oldest retained snapshot so the log
//     covers the gap. If it cannot, Start fails rather than lose entries.
//
// # Received snapshots
//
// A .snap file is one recovery may restore from, so it must only ever hold a
// snapshot the log agrees with. A snapshot from the leader therefore arrives
// under a name recovery ignores, and becomes a .snap only once raft has
// accepted it and the log says so:
//
//  1. The transport writes the file as <term>-<index>.snap.recv (temporary
//     name, fsync, rename, directory fsync) and only then hands the MsgSnap
//     to raft.
//  2. If raft accepts it, the Ready that carries it first checks the file,
//     then appends the snapshot marker to the log and fdatasyncs it. This is
//     the commit point.
//  3. The file is renamed to <term>-<index>.snap and the directory fsync'd.
//  4. The state machine restores it.
//
// A crash before 2 leaves a .recv file and a log without its marker: raft
// never accepted the snapshot (or did, but acknowledged nothing), so Start
// deletes the file and recovers from the log as it was, which may hold a
// different entry at that index. A crash between 2 and 3 leaves the marker
// and the .recv file: Start renames it into place before choosing a
// snapshot (it reads the log's markers for that, only when .recv files
// exist). After 3 it is an ordinary snapshot with its marker. A snapshot raft
// refuses (stale: at or below its commit index) is deleted once the applied
// index reaches it, or at the next Start.
//
// # More members
//
// Config.Peers bootstraps the membership (learners are ZooKeeper's
// observers); later changes travel in the log as ConfChangeV2 entries,
// proposed with Node.ProposeConfChange, whose Context carries the addresses
// of the members they add (see membership.go for the encoding). Applying a
// change, every member records those addresses (replicated state, kept in
// snapshot headers across compaction) and tells the transport (AddPeer,
// RemovePeer). A member's address is the one a change recorded, else the one
// in Config.Peers. Start gives the transport every member of the recovered
// membership whose address it knows. raft panics on a change it refuses, so
// each change is checked with raft's own rules when proposed and again when
// applied, where every member skips an invalid one alike.
//
// Messages to other members go through Config.Transport, whose contract
// (including how snapshot files travel with MsgSnap) is documented on the
// Transport interface. A follower forwards a batch of proposals to the
// leader as one message, hence Config.MaxBatchBytes.
// Node.TransferLeadership hands leadership to another voter, for a leader
// about to shut down. Node.Progress gives the leader's view of each member's
// replication (match index, recently active), to tell whether a new member has
// caught up. raft refuses a snapshot whose membership lacks its recipient, so
// when a change adds a member after the log was compacted, the node takes a
// snapshot at that change (join.go): the new member can then be sent one.
package raftnode
