package assemble

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Phase is what a member is doing, as /assemble reports it.
type Phase string

const (
	PhaseWaiting Phase = "waiting" // looking for the others; in no ensemble
	PhaseMember  Phase = "member"  // runs as a member of Cluster (maybe still catching up, or joining)
	PhaseRefused Phase = "refused" // will not start: Reason says why
	PhaseLeft    Phase = "left"    // left Cluster; waits to be stopped
)

// Founder is one founding member of an ensemble, as its bootstrap decided it.
type Founder struct {
	ID       int64  `json:"id"`
	Instance string `json:"instance"`
	// Line is the member's server line without "server.N=": host:peer:election:role;clientHost:clientPort.
	Line string `json:"line"`
}

// Info is what a member answers at GET /assemble.
type Info struct {
	ID           int64     `json:"id"` // 0 while it has none
	IDFrom       IDSource  `json:"idFrom,omitempty"`
	Instance     string    `json:"instance"`
	Host         string    `json:"host"` // where its peers reach it; "" while unknown
	PeerPort     int       `json:"peerPort"`
	ElectionPort int       `json:"electionPort"`
	ClientPort   int       `json:"clientPort"`
	Observer     bool      `json:"observer,omitempty"`
	Expect       int       `json:"expect"`
	Phase        Phase     `json:"phase"`
	Cluster      string    `json:"cluster,omitempty"`
	Founders     []Founder `json:"founders,omitempty"`
	Ready        bool      `json:"ready"`            // in a quorum and caught up
	Reason       string    `json:"reason,omitempty"` // one line: what it waits for, or why it refuses
	Detail       string    `json:"detail,omitempty"` // what to do about it
}

// line returns the member's server line (without "server.N=") in the given role.
func (in Info) line(observer bool) string {
	role := "participant"
	if observer {
		role = "observer"
	}
	return fmt.Sprintf("%s:%d:%d:%s;0.0.0.0:%d", bracket(in.Host), in.PeerPort, in.ElectionPort, role, in.ClientPort)
}

// clientAddr is where clients reach the member.
func (in Info) clientAddr() string { return joinHostPort(in.Host, in.ClientPort) }

// macHeader carries HMAC-SHA256(secret, macLabel, challenge, body) when members share a
// secret: an answer from a host without the secret is ignored.
const (
	macHeader = "X-Paddock-Assemble-Mac"
	macLabel  = "paddock-assemble-v1\n"
)

func answerMAC(secret []byte, challenge string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(macLabel))
	m.Write([]byte(challenge))
	m.Write([]byte{'\n'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// serveInfo answers GET /assemble with in, signed when there is a secret.
func serveInfo(w http.ResponseWriter, r *http.Request, in Info, secret []byte) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	body, err := json.Marshal(in)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	body = append(body, '\n')
	challenge := r.URL.Query().Get("challenge")
	if len(secret) > 0 {
		w.Header().Set(macHeader, answerMAC(secret, challenge, body))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// errBadMAC is an answer that does not prove the secret.
var errBadMAC = errors.New("the answer is not signed with this ensemble's peer secret (PADDOCK_PEER_SECRET differs?)")

// probe asks addr (host:port) for its Info.
func probe(ctx context.Context, hc *http.Client, addr string, secret []byte) (Info, error) {
	var in Info
	c := make([]byte, 16)
	rand.Read(c)
	challenge := hex.EncodeToString(c)
	u := url.URL{Scheme: "http", Host: addr, Path: "/assemble", RawQuery: "challenge=" + challenge}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return in, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return in, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return in, err
	}
	if resp.StatusCode != http.StatusOK {
		return in, fmt.Errorf("GET /assemble: %s (not a paddock member that assembles?)", resp.Status)
	}
	return decodeInfo(body, resp.Header.Get(macHeader), challenge, secret)
}

// decodeInfo checks an answer's signature (when there is a secret) and decodes it.
func decodeInfo(body []byte, mac, challenge string, secret []byte) (Info, error) {
	var in Info
	if len(secret) > 0 && !hmac.Equal([]byte(mac), []byte(answerMAC(secret, challenge, body))) {
		return in, errBadMAC
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return in, fmt.Errorf("GET /assemble: %w", err)
	}
	if in.Instance == "" {
		return in, errors.New("GET /assemble: an answer without an instance")
	}
	return in, nil
}

// newHTTPClient is the client of the probes: short timeouts, no keep-alive between rounds
// (members come and go, and addresses are reused).
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout:   1500 * time.Millisecond,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil, ResponseHeaderTimeout: time.Second},
	}
}
