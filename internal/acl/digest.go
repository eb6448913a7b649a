package acl

import (
	"crypto/sha1"
	"encoding/base64"
	"strings"
	"unicode/utf8"

	"github.com/paddock/paddock/internal/proto"
)

// Digest returns the digest id for "user:password" as ZooKeeper's
// DigestAuthenticationProvider.generateDigest computes it: the part before the first ':'
// (the whole string when there is none), a ':', and base64(SHA1(userPassword)). It is the
// id a digest ACL names and the form of the super digest setting ("super:<hash>").
func Digest(userPassword string) string {
	user, _, _ := strings.Cut(userPassword, ":")
	sum := sha1.Sum([]byte(userPassword))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// DigestAuth handles an AuthPacket with scheme "digest" whose auth bytes are
// "user:password" in clear. It returns the ids to add to the connection: the digest id and,
// first, the super id when the digest equals superDigest (the value of
// zookeeper.DigestAuthenticationProvider.superDigest, "super:<hash>"; "" disables it).
//
// As in ZooKeeper, any byte string authenticates (there is nothing to verify a digest
// against); ok is false only for a nil auth buffer (a null buffer on the wire), which the
// server answers with AUTHFAILED. Invalid UTF-8 is decoded the way Java's new String(bytes)
// does, each bad byte becoming U+FFFD, so the digest matches the Java server's.
func DigestAuth(auth []byte, superDigest string) (ids []proto.ID, ok bool) {
	if auth == nil {
		return nil, false
	}
	d := Digest(javaString(auth))
	if superDigest != "" && d == superDigest {
		ids = append(ids, SuperID)
	}
	return append(ids, proto.ID{Scheme: SchemeDigest, ID: d}), true
}

func javaString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		sb.WriteRune(r) // RuneError for each invalid byte
		b = b[n:]
	}
	return sb.String()
}
