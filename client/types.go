package client

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"

	"github.com/paddock/paddock/internal/proto"
)

// Stat is a znode's metadata, as every ZooKeeper server reports it.
type Stat struct {
	Czxid          int64 // zxid of the create
	Mzxid          int64 // zxid of the last setData (or the create)
	Ctime          int64 // time of the create, ms since the epoch (the leader's clock)
	Mtime          int64 // time of the last setData, ms since the epoch
	Version        int32 // number of setData since the create
	Cversion       int32 // number of child creations and deletions
	Aversion       int32 // number of setACL
	EphemeralOwner int64 // owning session of an ephemeral node, else 0
	DataLength     int32
	NumChildren    int32
	Pzxid          int64 // zxid of the last change to the children
}

// The field layout of Stat must stay identical to proto.Stat's: statOf converts one into the
// other without copying field by field.
func statOf(s *proto.Stat) Stat { return Stat(*s) }

// Perm is a set of ACL permission bits.
type Perm int32

// Permissions.
const (
	PermRead   Perm = 1
	PermWrite  Perm = 2
	PermCreate Perm = 4
	PermDelete Perm = 8
	PermAdmin  Perm = 16
	PermAll    Perm = 31
)

// ACL grants Perms to the identity ID of a Scheme: world/anyone, digest/user:hash, ip/addr,
// auth/"" (the creator's authenticated identities), super, x509, sasl.
type ACL struct {
	Perms  Perm
	Scheme string
	ID     string
}

// WorldACL returns the ACL that grants perms to everyone (world:anyone).
func WorldACL(perms Perm) []ACL {
	return []ACL{{Perms: perms, Scheme: "world", ID: "anyone"}}
}

// AuthACL returns the ACL that grants perms to every identity the creating session has
// authenticated (the "auth" scheme). The server refuses it with ErrInvalidACL when the session
// has none.
func AuthACL(perms Perm) []ACL {
	return []ACL{{Perms: perms, Scheme: "auth", ID: ""}}
}

// DigestACL returns the ACL that grants perms to the digest user with this password, as a
// session authenticated by AddAuth(ctx, "digest", "user:password") is.
func DigestACL(perms Perm, user, password string) []ACL {
	return []ACL{{Perms: perms, Scheme: "digest", ID: DigestID(user, password)}}
}

// DigestID returns the digest scheme's id for a user and password:
// "user:base64(sha1(user:password))".
func DigestID(user, password string) string {
	sum := sha1.Sum([]byte(user + ":" + password))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

func protoACLs(acl []ACL) []proto.ACL {
	if acl == nil {
		acl = WorldACL(PermAll)
	}
	out := make([]proto.ACL, len(acl))
	for i, a := range acl {
		out[i] = proto.ACL{Perms: int32(a.Perms), ID: proto.ID{Scheme: a.Scheme, ID: a.ID}}
	}
	return out
}

func clientACLs(acl []proto.ACL) []ACL {
	if acl == nil {
		return nil
	}
	out := make([]ACL, len(acl))
	for i, a := range acl {
		out[i] = ACL{Perms: Perm(a.Perms), Scheme: a.ID.Scheme, ID: a.ID.ID}
	}
	return out
}

// CreateMode is the kind of node a create makes.
type CreateMode int32

// Create modes. The container and TTL modes need ZooKeeper 3.5.3+; TTL modes also need the
// server property zookeeper.extendedTypesEnabled=true (otherwise ErrUnimplemented).
const (
	ModePersistent                  CreateMode = 0
	ModeEphemeral                   CreateMode = 1
	ModePersistentSequential        CreateMode = 2
	ModeEphemeralSequential         CreateMode = 3
	ModeContainer                   CreateMode = 4
	ModePersistentWithTTL           CreateMode = 5
	ModePersistentSequentialWithTTL CreateMode = 6
)

// String returns the mode's name ("persistent", "ephemeral-sequential", ...).
func (m CreateMode) String() string {
	switch m {
	case ModePersistent:
		return "persistent"
	case ModeEphemeral:
		return "ephemeral"
	case ModePersistentSequential:
		return "persistent-sequential"
	case ModeEphemeralSequential:
		return "ephemeral-sequential"
	case ModeContainer:
		return "container"
	case ModePersistentWithTTL:
		return "persistent-ttl"
	case ModePersistentSequentialWithTTL:
		return "persistent-sequential-ttl"
	}
	return fmt.Sprintf("mode(%d)", int32(m))
}

func (m CreateMode) sequential() bool { return proto.CreateMode(m).Sequential() }
func (m CreateMode) ttl() bool        { return proto.CreateMode(m).TTL() }

// EventType is the type of a WatchEvent.
type EventType int32

// Watch event types. The first four come from the server; the others are made by the client.
const (
	EventNodeCreated         EventType = 1
	EventNodeDeleted         EventType = 2
	EventNodeDataChanged     EventType = 3
	EventNodeChildrenChanged EventType = 4
	// EventDataWatchRemoved, EventChildWatchRemoved and EventPersistentWatchRemoved end a
	// watch removed by RemoveWatches (or Watcher.Remove).
	EventDataWatchRemoved       EventType = 5
	EventChildWatchRemoved      EventType = 6
	EventPersistentWatchRemoved EventType = 7
	// EventNotWatching ends a watch that can no longer fire because the session expired or the
	// client was closed; WatchEvent.Err says which.
	EventNotWatching EventType = -2
)

// String returns ZooKeeper's name for the type ("NodeCreated", ...).
func (t EventType) String() string {
	if t == EventNotWatching {
		return "NotWatching"
	}
	return proto.EventType(t).String()
}

// WatchEvent is one event of a watch.
type WatchEvent struct {
	Type EventType
	// Path is the node the event is about, without the chroot.
	Path string
	// Zxid is the zxid of the change on servers that send it (ZooKeeper 3.9+, paddock),
	// -1 on older servers and for events the client makes.
	Zxid int64
	// Err is ErrSessionExpired or ErrClosed for EventNotWatching, else nil.
	Err error
}

// WatcherType selects watches for RemoveWatches and CheckWatches.
type WatcherType int32

// Watcher types. WatcherPersistent and WatcherPersistentRecursive need ZooKeeper 3.9+ (and
// paddock); with older servers remove persistent watches with WatcherAny.
const (
	WatcherChildren            WatcherType = 1
	WatcherData                WatcherType = 2
	WatcherAny                 WatcherType = 3
	WatcherPersistent          WatcherType = 4
	WatcherPersistentRecursive WatcherType = 5
)

// AddWatchMode is the mode of AddWatch.
type AddWatchMode int32

// AddWatch modes (ZooKeeper 3.6+).
const (
	// AddWatchPersistent watches one node for NodeCreated, NodeDeleted, NodeDataChanged and
	// NodeChildrenChanged, until removed.
	AddWatchPersistent AddWatchMode = 0
	// AddWatchPersistentRecursive watches a node and every descendant for NodeCreated,
	// NodeDeleted and NodeDataChanged (never NodeChildrenChanged), until removed.
	AddWatchPersistentRecursive AddWatchMode = 1
)

// ClientInfo is one identity of a session, as WhoAmI reports it.
type ClientInfo struct {
	AuthScheme string // "ip", "digest", "super", ...
	User       string // the address for ip, the user name for digest
}
