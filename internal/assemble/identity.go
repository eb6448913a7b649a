package assemble

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// IDSource says where a member's id came from.
type IDSource string

const (
	FromEnv      IDSource = "PADDOCK_ID"
	FromHostname IDSource = "hostname"
	FromDNSName  IDSource = "dns-name" // the container number in the member's Docker DNS name
	FromData     IDSource = "data"     // assembly.json in the data directory
	FromRandom   IDSource = "random"
)

// stable reports whether an id from src names this member whatever its volume holds: the
// operator or the orchestrator set it. Two members with one stable id are a
// misconfiguration; a clash of other ids is settled by drawing again.
func (src IDSource) stable() bool { return src == FromEnv || src == FromHostname }

// MaxID is the largest member id: the id is the top byte of session ids.
const MaxID = 255

// ErrBadID is an id outside 1..MaxID or not a number.
var ErrBadID = errors.New("assemble: a member id is a number from 1 to 255")

// ParseID parses an id as PADDOCK_ID gives it.
func ParseID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id < 1 || id > MaxID {
		return 0, fmt.Errorf("%w, not %q", ErrBadID, s)
	}
	return id, nil
}

var ordinalRE = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?-([0-9]+)$`)

// OrdinalID derives an id from a StatefulSet-style hostname, name-<ordinal>: the ordinal
// minus start, plus one. With ordinals from 0 (a StatefulSet's default), zk-0 is 1 and
// zk-2 is 3; with start 1 (spec.ordinals.start: 1, as deploy/k8s uses), zk-1 is 1. Only
// the first label of the hostname counts. It reports false when the hostname has no
// ordinal or the id would be out of range.
func OrdinalID(hostname string, start int) (int64, bool) {
	n, ok := ordinal(hostname)
	if !ok {
		return 0, false
	}
	id := n - int64(start) + 1
	if id < 1 || id > MaxID {
		return 0, false
	}
	return id, true
}

// ordinal is the N of a hostname name-N (its first label), if it has that form.
func ordinal(hostname string) (int64, bool) {
	label, _, _ := strings.Cut(hostname, ".")
	m := ordinalRE.FindStringSubmatch(label)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[2], 10, 64)
	return n, err == nil
}

// ordinalMismatch explains a hostname whose ordinal gives no id with the configured first
// ordinal ("" when it does, or when the hostname has no ordinal): a StatefulSet whose
// ordinals.start was dropped (a cluster without the feature) numbers its pods from 0.
func ordinalMismatch(hostname string, start int) (reason, detail string) {
	n, ok := ordinal(hostname)
	if !ok {
		return "", ""
	}
	if _, ok := OrdinalID(hostname, start); ok {
		return "", ""
	}
	reason = fmt.Sprintf("hostname %s has ordinal %d, which gives no member id (1-%d) with PADDOCK_ORDINAL_START=%d", hostname, n, MaxID, start)
	detail = fmt.Sprintf("the id is the ordinal minus PADDOCK_ORDINAL_START, plus one. If this is a StatefulSet, does its spec.ordinals.start equal %d? "+
		"Clusters without the start-ordinal feature drop that field and number pods from 0: then set PADDOCK_ORDINAL_START to 0", start)
	return reason, detail
}

var containerNumberRE = regexp.MustCompile(`^[A-Za-z0-9][-_.A-Za-z0-9]*?[-_]([0-9]+)$`)

// ContainerNumber derives an id from the DNS name Docker's embedded DNS gives a
// container (what its address resolves back to): Compose names a service's containers
// <project>-<service>-<n> (v2) or <project>_<service>_<n> (v1), numbered from 1, and the
// number is the id. Only the first label counts ("proj_zk_2.proj_default." is 2).
func ContainerNumber(name string) (int64, bool) {
	label, _, _ := strings.Cut(strings.TrimSuffix(name, "."), ".")
	m := containerNumberRE.FindStringSubmatch(label)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n < 1 || n > MaxID {
		return 0, false
	}
	return n, true
}

// randomID draws an id from 1..MaxID that is not in taken; 0 when every id is taken.
func randomID(taken map[int64]bool) int64 {
	var free []int64
	for id := int64(1); id <= MaxID; id++ {
		if !taken[id] {
			free = append(free, id)
		}
	}
	if len(free) == 0 {
		return 0
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(free))))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return free[n.Int64()]
}

// newInstance returns a random name for one data directory's incarnation of a member.
func newInstance() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return fmt.Sprintf("%x", b)
}
