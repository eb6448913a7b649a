package raftnode

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// peerTLSConfig returns a mutual-TLS config whose self-signed certificate
// is valid for 127.0.0.1 and trusted as the only CA.
func peerTLSConfig(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "paddock peer test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}
}

func TestPeerTLS(t *testing.T) {
	checkNoPeerGoroutines(t)
	lbA, lbB, lbC := &logBuffer{}, &logBuffer{}, &logBuffer{}
	tc := peerTLSConfig(t)
	withTLS := func(c *TCPConfig) { c.TLS = tc }
	a := newPeerTransport(t, 1, lbA, withTLS)
	b := newPeerTransport(t, 2, lbB, withTLS)
	connectPeers(a, b)
	ra, rb := &peerRecv{}, &peerRecv{}
	startPeer(t, a, ra)
	startPeer(t, b, rb)
	for i := range uint64(100) {
		a.Send([]*pb.Message{peerMsg(1, 2, i)})
		b.Send([]*pb.Message{peerMsg(2, 1, i)})
	}
	waitFor(t, "delivery over TLS both ways", func() bool { return ra.count() == 100 && rb.count() == 100 })
	for i, m := range rb.received() {
		if m.GetIndex() != uint64(i) {
			t.Fatalf("message %d arrived as index %d", i, m.GetIndex())
		}
	}

	// A member without TLS cannot talk to one that requires it.
	c := newPeerTransport(t, 3, lbC, nil)
	b.AddPeer(Peer{ID: 3, Addr: c.Addr().String()})
	c.AddPeer(Peer{ID: 2, Addr: b.Addr().String()})
	startPeer(t, c, &peerRecv{})
	waitSending(t, "B to refuse plaintext", c, func() *pb.Message { return peerMsg(3, 2, 1) }, func() bool {
		return strings.Contains(lbB.String(), "TLS handshake")
	})
	waitFor(t, "C to log the failure", func() bool { return strings.Contains(lbC.String(), "cannot connect to peer") })
	if rb.count() != 100 {
		t.Fatal("B delivered a message from a plaintext peer")
	}
}
