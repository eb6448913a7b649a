package assemble

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	"github.com/paddock/paddock/internal/acl"
)

// The security model. Members that assemble change the membership with ZooKeeper's
// reconfig, which needs WRITE on /zookeeper/config: the super user. Its password is derived
// from the peer secret (PADDOCK_PEER_SECRET or paddock.peerSecretFile) and the cluster
// identity, so every member can compute it and nobody else can: whoever holds the peer
// secret can already impersonate a member and read everything, so the super user grants
// nothing more. Without a secret the key is the cluster identity, which /assemble shows:
// anyone who can reach the admin and client ports can then join, leave or act as super.
// Set a secret anywhere but on a private network.

// SuperPassword is the super user's password of ensemble cluster.
func SuperPassword(secret []byte, cluster string) string {
	key := secret
	if len(key) == 0 {
		key = []byte(cluster)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("paddock-assemble-super-v1\x00"))
	m.Write([]byte(cluster))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SuperDigest is the server's superDigest for SuperPassword(secret, cluster).
func SuperDigest(secret []byte, cluster string) string {
	return acl.Digest("super:" + SuperPassword(secret, cluster))
}

// superCredential is the digest credential of the super user.
func superCredential(secret []byte, cluster string) []byte {
	return []byte("super:" + SuperPassword(secret, cluster))
}
