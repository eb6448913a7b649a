package conformance

import (
	"github.com/paddock/paddock/internal/proto"
	"github.com/paddock/paddock/tests/harness"
)

// The words scenarios are written in.

// Create modes.
const (
	Persistent    = proto.ModePersistent
	Ephemeral     = proto.ModeEphemeral
	PersistentSeq = proto.ModePersistentSequential
	EphemeralSeq  = proto.ModeEphemeralSequential
	Container     = proto.ModeContainer
	TTL           = proto.ModePersistentWithTTL
	TTLSeq        = proto.ModePersistentSequentialWithTTL
)

// Permission bits.
const (
	R   = proto.PermRead
	W   = proto.PermWrite
	C   = proto.PermCreate
	D   = proto.PermDelete
	Adm = proto.PermAdmin
	All = proto.PermAll
)

// Watcher types of checkWatches and removeWatches, and addWatch modes.
const (
	WChildren   = proto.WatcherChildren
	WData       = proto.WatcherData
	WAny        = proto.WatcherAny
	WPersistent = proto.WatcherPersistent
	WRecursive  = proto.WatcherPersistentRecursive

	Persist   = proto.AddWatchPersistent
	Recursive = proto.AddWatchPersistentRecursive
)

// Open is world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE).
var Open = ACL(A(All, "world", "anyone"))

// A is one ACL entry.
func A(perms int32, scheme, id string) proto.ACL {
	return proto.ACL{Perms: perms, ID: proto.ID{Scheme: scheme, ID: id}}
}

// ACL builds an ACL list.
func ACL(entries ...proto.ACL) []proto.ACL { return append([]proto.ACL{}, entries...) }

// World is world:anyone with the given permissions.
func World(perms int32) []proto.ACL { return ACL(A(perms, "world", "anyone")) }

// Digest is the digest-scheme id of user:password, as an ACL entry with perms.
func Digest(perms int32, user, password string) proto.ACL {
	return A(perms, "digest", harness.Digest(user, password))
}

// Creator is the "auth" scheme entry: the creator's authenticated ids.
func Creator(perms int32) []proto.ACL { return ACL(A(perms, "auth", "")) }
