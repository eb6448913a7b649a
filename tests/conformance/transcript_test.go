package conformance

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paddock/paddock/internal/proto"
)

// Zxids and times are written into lines as placeholders while a scenario runs and replaced
// by their rank when it ends (finalize), so that Z1 < Z2 and T1 < T2 hold numerically: the
// comparison sees the relative order and equality of values, never their absolute size.
const (
	zxidMark = "\x01z"
	timeMark = "\x01t"
	markEnd  = "\x02"
)

var placeholder = regexp.MustCompile("\x01([zt])(-?[0-9]+)\x02")

// plausibleTime bounds what counts as a real wall-clock time in ms: a server that sent
// seconds or nanoseconds would otherwise hide behind a symbol.
const plausibleTime = 48 * time.Hour

// normalizer turns server-specific values into symbols. Session ids are numbered in order
// of first appearance (S1, S2, ...), because their ranks mean nothing; zxids and times are
// ranked at the end.
type normalizer struct {
	sessions map[int64]string
}

func (n *normalizer) zxid(z int64) string {
	if z == 0 || z == -1 {
		return strconv.FormatInt(z, 10)
	}
	return zxidMark + strconv.FormatInt(z, 10) + markEnd
}

func (n *normalizer) time(ms int64) string {
	if ms == 0 {
		return "0"
	}
	now := time.Now().UnixMilli()
	if d := time.Duration(ms-now) * time.Millisecond; d > plausibleTime || d < -plausibleTime {
		return fmt.Sprintf("badtime(%d)", ms)
	}
	return timeMark + strconv.FormatInt(ms, 10) + markEnd
}

// addSession names a session id the first time it is seen.
func (n *normalizer) addSession(id int64) string {
	if id == 0 {
		return "0"
	}
	if n.sessions == nil {
		n.sessions = make(map[int64]string)
	}
	if s, ok := n.sessions[id]; ok {
		return s
	}
	s := fmt.Sprintf("S%d", len(n.sessions)+1)
	n.sessions[id] = s
	return s
}

// session names a known session id; any other non-zero value (an ephemeralOwner that is
// not a session of this scenario) is printed as it is.
func (n *normalizer) session(id int64) string {
	if id == 0 {
		return "0"
	}
	if s, ok := n.sessions[id]; ok {
		return s
	}
	return fmt.Sprintf("0x%x", uint64(id))
}

// finalize replaces the zxid and time placeholders of all lines by their ranks.
func finalize(lines []string) []string {
	vals := map[string][]int64{}
	for _, l := range lines {
		for _, m := range placeholder.FindAllStringSubmatch(l, -1) {
			v, _ := strconv.ParseInt(m[2], 10, 64)
			vals[m[1]] = append(vals[m[1]], v)
		}
	}
	rank := map[string]map[int64]int{}
	for kind, vs := range vals {
		slices.Sort(vs)
		vs = slices.Compact(vs)
		r := make(map[int64]int, len(vs))
		for i, v := range vs {
			r[v] = i + 1
		}
		rank[kind] = r
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = placeholder.ReplaceAllStringFunc(l, func(s string) string {
			m := placeholder.FindStringSubmatch(s)
			v, _ := strconv.ParseInt(m[2], 10, 64)
			return strings.ToUpper(m[1]) + strconv.Itoa(rank[m[1]][v])
		})
	}
	return out
}

// formatStat prints every Stat field in jute order.
func (n *normalizer) formatStat(st proto.Stat) string {
	return fmt.Sprintf("{czxid=%s mzxid=%s ctime=%s mtime=%s version=%d cversion=%d aversion=%d ephemeralOwner=%s dataLength=%d numChildren=%d pzxid=%s}",
		n.zxid(st.Czxid), n.zxid(st.Mzxid), n.time(st.Ctime), n.time(st.Mtime),
		st.Version, st.Cversion, st.Aversion, n.session(st.EphemeralOwner),
		st.DataLength, st.NumChildren, n.zxid(st.Pzxid))
}

// formatData prints a buffer: null, or a quoted string (long buffers by length and prefix).
func formatData(b []byte) string {
	if b == nil {
		return "null"
	}
	if len(b) > 64 {
		return fmt.Sprintf("%d bytes %s...", len(b), strconv.Quote(string(b[:16])))
	}
	return strconv.Quote(string(b))
}

// formatPerms prints permission bits as zkCli does (c d r w a), plus any unknown bits.
func formatPerms(p int32) string {
	var b strings.Builder
	for _, x := range []struct {
		bit int32
		c   byte
	}{{proto.PermCreate, 'c'}, {proto.PermDelete, 'd'}, {proto.PermRead, 'r'}, {proto.PermWrite, 'w'}, {proto.PermAdmin, 'a'}} {
		if p&x.bit != 0 {
			b.WriteByte(x.c)
		}
	}
	if rest := p &^ proto.PermAll; rest != 0 {
		fmt.Fprintf(&b, "+%#x", uint32(rest))
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

func formatACL(acl []proto.ACL) string {
	if acl == nil {
		return "null"
	}
	parts := make([]string, len(acl))
	for i, a := range acl {
		parts[i] = fmt.Sprintf("%s:%s=%s", a.ID.Scheme, a.ID.ID, formatPerms(a.Perms))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// formatNames prints a children or paths list sorted: ZooKeeper's order is unspecified.
func formatNames(v []string, path func(string) string) string {
	if v == nil {
		return "null"
	}
	v = slices.Clone(v)
	for i := range v {
		v[i] = path(v[i])
	}
	slices.Sort(v)
	return "[" + strings.Join(v, " ") + "]"
}

var modeNames = map[proto.CreateMode]string{
	proto.ModePersistent: "PERSISTENT", proto.ModeEphemeral: "EPHEMERAL",
	proto.ModePersistentSequential: "PERSISTENT_SEQUENTIAL", proto.ModeEphemeralSequential: "EPHEMERAL_SEQUENTIAL",
	proto.ModeContainer: "CONTAINER", proto.ModePersistentWithTTL: "PERSISTENT_WITH_TTL",
	proto.ModePersistentSequentialWithTTL: "PERSISTENT_SEQUENTIAL_WITH_TTL",
}

func formatMode(m proto.CreateMode) string {
	if s, ok := modeNames[m]; ok {
		return s
	}
	return fmt.Sprintf("flags(%d)", int32(m))
}

var watcherTypeNames = map[proto.WatcherType]string{
	proto.WatcherChildren: "Children", proto.WatcherData: "Data", proto.WatcherAny: "Any",
	proto.WatcherPersistent: "Persistent", proto.WatcherPersistentRecursive: "PersistentRecursive",
}

func formatWatcherType(w proto.WatcherType) string {
	if s, ok := watcherTypeNames[w]; ok {
		return s
	}
	return fmt.Sprintf("type(%d)", int32(w))
}

// firstDiff returns the index of the first line where a and b differ, or -1.
func firstDiff(a, b []string) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}

func lineAt(v []string, i int) string {
	if i < len(v) {
		return v[i]
	}
	return "(end of transcript)"
}

// renderDiff shows both transcripts with the first differing line marked, and which
// space-separated fields of that line differ.
func renderDiff(ref, got []string, refName, gotName string) string {
	i := firstDiff(ref, got)
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d:\n  %-9s %s\n  %-9s %s\n", i+1, refName+":", lineAt(ref, i), gotName+":", lineAt(got, i))
	if i < len(ref) && i < len(got) {
		if f := fieldDiff(ref[i], got[i]); f != "" {
			fmt.Fprintf(&b, "  fields:   %s\n", f)
		}
	}
	for _, tr := range []struct {
		name  string
		lines []string
	}{{refName, ref}, {gotName, got}} {
		fmt.Fprintf(&b, "%s transcript:\n", tr.name)
		for j, l := range tr.lines {
			mark := "  "
			if j == i {
				mark = ">>"
			}
			fmt.Fprintf(&b, "%s %3d  %s\n", mark, j+1, l)
		}
	}
	return b.String()
}

// fieldDiff names the first fields (space-separated words) that differ between two lines.
func fieldDiff(a, b string) string {
	fa, fb := strings.Fields(a), strings.Fields(b)
	var out []string
	for i := 0; i < len(fa) || i < len(fb); i++ {
		x, y := "", ""
		if i < len(fa) {
			x = fa[i]
		}
		if i < len(fb) {
			y = fb[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("%q vs %q", x, y))
			if len(out) == 3 {
				break
			}
		}
	}
	return strings.Join(out, "; ")
}
