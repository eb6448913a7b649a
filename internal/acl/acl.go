// Package acl implements ZooKeeper's ACL schemes and permission checks: the world, auth,
// digest and ip schemes, the super identity, the normalisation ZooKeeper applies to an ACL
// list before it stores it (PrepRequestProcessor.fixupACL), and the masking getACL applies
// for callers without ADMIN.
//
// Identities (proto.ID) come from the connection: every connection has an "ip" id, a digest
// AuthPacket adds a "digest" id (and "super" when it matches the configured super digest).
// Stored ACLs never contain the "auth" scheme: Fixup expands it.
//
// Everything here is a pure function of its arguments, safe for concurrent use, and never
// modifies the slices it is given.
package acl

import (
	"strings"

	"github.com/paddock/paddock/internal/proto"
)

// Scheme names.
const (
	SchemeWorld  = "world"
	SchemeAuth   = "auth"
	SchemeDigest = "digest"
	SchemeIP     = "ip"
	SchemeSuper  = "super"
	SchemeX509   = "x509"
	SchemeSASL   = "sasl"
)

// Common ACL lists (ZooDefs.Ids).
var (
	// OpenUnsafe is world:anyone with every permission.
	OpenUnsafe = []proto.ACL{{Perms: proto.PermAll, ID: AnyoneID}}
	// ReadUnsafe is world:anyone with READ only (the ACL of /zookeeper/config).
	ReadUnsafe = []proto.ACL{{Perms: proto.PermRead, ID: AnyoneID}}
	// CreatorAll is auth:"" with every permission; Fixup expands it to the caller's ids.
	CreatorAll = []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: SchemeAuth, ID: ""}}}

	// AnyoneID is world:anyone.
	AnyoneID = proto.ID{Scheme: SchemeWorld, ID: "anyone"}
	// SuperID is the identity that bypasses every check.
	SuperID = proto.ID{Scheme: SchemeSuper, ID: ""}
)

// Check reports whether a caller holding ids may perform an operation needing perm on a
// node whose ACL is list (ZooKeeperServer.checkACL). An entry grants access when it shares
// at least one bit with perm, so perm may combine bits (getACL asks for READ|ADMIN).
// An empty list allows everything; a "super" id allows everything.
func Check(list []proto.ACL, ids []proto.ID, perm int32) bool {
	if len(list) == 0 {
		return true
	}
	for i := range ids {
		if ids[i].Scheme == SchemeSuper {
			return true
		}
	}
	for i := range list {
		a := &list[i]
		if a.Perms&perm == 0 {
			continue
		}
		if a.ID.Scheme == SchemeWorld && a.ID.ID == "anyone" {
			return true
		}
		for j := range ids {
			if ids[j].Scheme == a.ID.Scheme && matches(a.ID.Scheme, ids[j].ID, a.ID.ID) {
				return true
			}
		}
	}
	return false
}

// matches is the scheme's AuthenticationProvider.matches(id, aclExpr). Schemes without a
// provider (world ids other than anyone, unknown schemes) never match.
func matches(scheme, id, expr string) bool {
	switch scheme {
	case SchemeDigest, SchemeX509:
		return id == expr
	case SchemeSASL:
		return id == "super" || id == expr
	case SchemeIP:
		return IPMatch(id, expr)
	}
	return false
}

// authenticated reports whether ids of the scheme come from a real authentication
// (AuthenticationProvider.isAuthenticated): these are what the "auth" scheme expands to.
// ip is not authenticated; super has no provider and is never copied into an ACL.
func authenticated(scheme string) bool {
	return scheme == SchemeDigest || scheme == SchemeX509 || scheme == SchemeSASL
}

// ValidID reports whether id may appear in a stored ACL (the provider's isValid). The
// schemes accepted are world (id "anyone" only), digest (user:hash, see below) and ip
// (address with an optional prefix length). x509 and sasl ids only enter an ACL through the
// auth scheme, since paddock has no provider that would let a client name them directly.
func ValidID(id proto.ID) bool {
	switch id.Scheme {
	case SchemeWorld:
		return id.ID == "anyone"
	case SchemeDigest:
		return validDigestID(id.ID)
	case SchemeIP:
		return validIPExpr(id.ID)
	}
	return false
}

// validDigestID is Java's id.split(":").length == 2: split on every ':', drop trailing empty
// strings, and require two parts. So "u:h" and ":h" and even "u:h:" are valid, "u:" is not.
// Dropping trailing empty parts is dropping trailing colons.
func validDigestID(id string) bool {
	return strings.Count(strings.TrimRight(id, ":"), ":") == 1
}

// Fixup validates an ACL list sent with create or setACL and expands it as ZooKeeper does
// before storing it (PrepRequestProcessor.fixupACL): exact duplicates are removed first; an
// empty or null list, an unknown scheme or an invalid id gives CodeInvalidACL; each "auth"
// entry is replaced by one entry per authenticated id of the caller (digest, x509, sasl; not
// ip, not super), with the entry's permissions, and gives CodeInvalidACL when the caller has
// none. list is not modified; the result is list itself when nothing needed to change.
func Fixup(list []proto.ACL, ids []proto.ID) ([]proto.ACL, proto.Code) {
	if len(list) == 0 {
		return nil, proto.CodeInvalidACL
	}
	if plain(list) {
		return list, proto.CodeOK
	}
	uniq := removeDuplicates(list)
	if len(uniq) == 0 {
		return nil, proto.CodeInvalidACL
	}
	out := make([]proto.ACL, 0, len(uniq))
	for _, a := range uniq {
		switch {
		case a.ID.Scheme == SchemeWorld && a.ID.ID == "anyone":
			out = append(out, a)
		case a.ID.Scheme == SchemeAuth:
			found := false
			for _, id := range ids {
				if authenticated(id.Scheme) {
					found = true
					out = append(out, proto.ACL{Perms: a.Perms, ID: id})
				}
			}
			if !found {
				return nil, proto.CodeInvalidACL
			}
		default:
			if !ValidID(a.ID) {
				return nil, proto.CodeInvalidACL
			}
			out = append(out, a)
		}
	}
	return out, proto.CodeOK
}

// plain reports whether list is already in its fixed-up form: valid ids, no auth entry,
// no duplicates. This is the common case and needs no allocation.
func plain(list []proto.ACL) bool {
	for i := range list {
		a := &list[i]
		if a.ID.Scheme == SchemeAuth || !ValidID(a.ID) {
			return false
		}
		for j := 0; j < i; j++ {
			if list[j] == *a {
				return false
			}
		}
	}
	return true
}

func removeDuplicates(list []proto.ACL) []proto.ACL {
	out := make([]proto.ACL, 0, len(list))
	for _, a := range list {
		dup := false
		for _, b := range out {
			if a == b {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, a)
		}
	}
	return out
}

// Mask returns list as getACL shows it to a caller without ADMIN on the node: every digest
// id has everything from its first ':' to the end of the line replaced by ":x"
// (FinalRequestProcessor: id.replaceAll(":.*", ":x")). list itself is returned when it has
// no digest entry; otherwise a new slice.
func Mask(list []proto.ACL) []proto.ACL {
	need := false
	for i := range list {
		if list[i].ID.Scheme == SchemeDigest && strings.IndexByte(list[i].ID.ID, ':') >= 0 {
			need = true
			break
		}
	}
	if !need {
		return list
	}
	out := make([]proto.ACL, len(list))
	copy(out, list)
	for i := range out {
		if out[i].ID.Scheme == SchemeDigest {
			out[i].ID.ID = maskDigest(out[i].ID.ID)
		}
	}
	return out
}

// maskDigest is Java's s.replaceAll(":.*", ":x"): '.' does not match line terminators, so
// each match runs from a ':' to the next terminator, and matching resumes after it.
func maskDigest(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, ':')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(":x")
		rest := s[i+1:]
		end := len(rest)
		for j, r := range rest {
			if r == '\n' || r == '\r' || r == '\u0085' || r == '\u2028' || r == '\u2029' {
				end = j
				break
			}
		}
		s = rest[end:]
	}
}

// Perms formats a permission mask as zkCli does ("cdrwa" order).
func Perms(p int32) string {
	var b [5]byte
	n := 0
	for _, x := range []struct {
		bit int32
		c   byte
	}{{proto.PermCreate, 'c'}, {proto.PermDelete, 'd'}, {proto.PermRead, 'r'}, {proto.PermWrite, 'w'}, {proto.PermAdmin, 'a'}} {
		if p&x.bit != 0 {
			b[n] = x.c
			n++
		}
	}
	return string(b[:n])
}

// ParsePerms parses zkCli permission letters (any of "cdrwa", in any order). ok is false for
// any other character.
func ParsePerms(s string) (p int32, ok bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'c', 'C':
			p |= proto.PermCreate
		case 'd', 'D':
			p |= proto.PermDelete
		case 'r', 'R':
			p |= proto.PermRead
		case 'w', 'W':
			p |= proto.PermWrite
		case 'a', 'A':
			p |= proto.PermAdmin
		default:
			return 0, false
		}
	}
	return p, true
}

// Parse parses one ACL in zkCli's "scheme:id:perms" form, where id may itself contain ':'
// (digest:user:hash:cdrwa). It does not validate the id; Fixup does.
func Parse(s string) (proto.ACL, bool) {
	first := strings.IndexByte(s, ':')
	last := strings.LastIndexByte(s, ':')
	if first < 0 || first == last {
		return proto.ACL{}, false
	}
	perms, ok := ParsePerms(s[last+1:])
	if !ok {
		return proto.ACL{}, false
	}
	return proto.ACL{Perms: perms, ID: proto.ID{Scheme: s[:first], ID: s[first+1 : last]}}, true
}

// ParseList parses a comma-separated list of ACLs in zkCli form.
func ParseList(s string) ([]proto.ACL, bool) {
	var out []proto.ACL
	for _, part := range strings.Split(s, ",") {
		a, ok := Parse(part)
		if !ok {
			return nil, false
		}
		out = append(out, a)
	}
	return out, true
}

// Format formats an ACL in zkCli's "scheme:id:perms" form.
func Format(a proto.ACL) string {
	return a.ID.Scheme + ":" + a.ID.ID + ":" + Perms(a.Perms)
}
