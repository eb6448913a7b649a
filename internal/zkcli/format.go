package zkcli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/paddock/paddock/client"
)

// formatStat returns zkCli's Stat block (StatPrinter), one "name = value" line each.
func formatStat(st client.Stat) string {
	var b strings.Builder
	hex := func(v int64) string { return "0x" + strconv.FormatUint(uint64(v), 16) }
	fmt.Fprintf(&b, "cZxid = %s\n", hex(st.Czxid))
	fmt.Fprintf(&b, "ctime = %s\n", javaDate(st.Ctime))
	fmt.Fprintf(&b, "mZxid = %s\n", hex(st.Mzxid))
	fmt.Fprintf(&b, "mtime = %s\n", javaDate(st.Mtime))
	fmt.Fprintf(&b, "pZxid = %s\n", hex(st.Pzxid))
	fmt.Fprintf(&b, "cversion = %d\n", st.Cversion)
	fmt.Fprintf(&b, "dataVersion = %d\n", st.Version)
	fmt.Fprintf(&b, "aclVersion = %d\n", st.Aversion)
	fmt.Fprintf(&b, "ephemeralOwner = %s\n", hex(st.EphemeralOwner))
	fmt.Fprintf(&b, "dataLength = %d\n", st.DataLength)
	fmt.Fprintf(&b, "numChildren = %d\n", st.NumChildren)
	return b.String()
}

// statJSON is the Stat of --json output, with zkCli's names.
func statJSON(st client.Stat) *object {
	o := &object{}
	o.set("cZxid", st.Czxid)
	o.set("ctime", st.Ctime)
	o.set("mZxid", st.Mzxid)
	o.set("mtime", st.Mtime)
	o.set("pZxid", st.Pzxid)
	o.set("cversion", st.Cversion)
	o.set("dataVersion", st.Version)
	o.set("aclVersion", st.Aversion)
	o.set("ephemeralOwner", st.EphemeralOwner)
	o.set("dataLength", st.DataLength)
	o.set("numChildren", st.NumChildren)
	return o
}

// javaDate formats ms since the epoch as Java's Date.toString does, in the local zone:
// "Sun Nov 22 05:07:35 UTC 2026".
func javaDate(ms int64) string {
	return time.UnixMilli(ms).Format("Mon Jan 02 15:04:05 MST 2006")
}

// permString is ZKUtil.getPermString: the permissions as "cdrwa" letters, in that order.
func permString(p client.Perm) string {
	var b strings.Builder
	for _, x := range []struct {
		bit client.Perm
		c   byte
	}{{client.PermCreate, 'c'}, {client.PermDelete, 'd'}, {client.PermRead, 'r'}, {client.PermWrite, 'w'}, {client.PermAdmin, 'a'}} {
		if p&x.bit != 0 {
			b.WriteByte(x.c)
		}
	}
	return b.String()
}

// formatACL is how getAcl prints one entry: jute's toString of the Id ("'scheme,'id" and a
// newline), then ": " and the permissions.
func formatACL(a client.ACL) string {
	return "'" + juteEscape(a.Scheme) + ",'" + juteEscape(a.ID) + "\n: " + permString(a.Perms) + "\n"
}

// juteEscape is jute's ToStringOutputArchive string escaping.
func juteEscape(s string) string {
	r := strings.NewReplacer("\x00", "%00", "\n", "%0A", "\r", "%0D", ",", "%2C", "}", "%7D", "%", "%25")
	return r.Replace(s)
}

// javaList is Java's List.toString: "[a, b]".
func javaList(items []string) string { return "[" + strings.Join(items, ", ") + "]" }

// sortJava sorts strings as Java's String.compareTo does: by UTF-16 code units.
func sortJava(s []string) {
	slices.SortFunc(s, func(a, b string) int {
		return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
	})
}

// stateName is Watcher.Event.KeeperState's name for a client state event.
func stateName(s client.State) string {
	switch s {
	case client.StateConnected, client.StateReconnected:
		return "SyncConnected"
	case client.StateDisconnected:
		return "Disconnected"
	case client.StateExpired:
		return "Expired"
	case client.StateAuthFailed:
		return "AuthFailed"
	case client.StateConnectedReadOnly:
		return "ConnectedReadOnly"
	case client.StateClosed:
		return "Closed"
	}
	return s.String()
}

// watcherBlock is what zkCli's watcher prints for an event: "WATCHER::" and the
// WatchedEvent, each after a blank line.
func watcherBlock(state, typ, path string) string {
	return "\nWATCHER::\n\nWatchedEvent state:" + state + " type:" + typ + " path:" + path + "\n"
}

// A cliError is a failed command: the message zkCli prints on stderr and its exit code.
type cliError struct {
	msg  string
	exit int
	code client.Code // the ZooKeeper code behind it, 0 if none
}

func (e *cliError) Error() string { return e.msg }

// usageErr is MalformedCommandException or CliParseException with a usage line.
func usageErr(msg string) error { return &cliError{msg: msg, exit: 1} }

// wrapErr is CliWrapperException: zkCli's message for a ZooKeeper error on path.
func wrapErr(err error, path string) error {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = client.ErrConnectionLoss
	}
	if errors.Is(err, client.ErrClosed) {
		err = client.ErrSessionExpired
	}
	var ze *client.Error
	if !errors.As(err, &ze) {
		return &cliError{msg: err.Error(), exit: 1}
	}
	var oe *client.OpError
	if errors.As(err, &oe) && oe.Path != "" {
		path = oe.Path
	}
	return &cliError{msg: keeperMessage(ze.Code, path), exit: 1, code: ze.Code}
}

// keeperMessage is CliWrapperException's message for a code, falling back to
// KeeperException.getMessage ("KeeperErrorCode = ConnectionLoss for /a").
func keeperMessage(code client.Code, path string) string {
	p := path
	if p == "" {
		p = "null"
	}
	switch code {
	case client.CodeOf(client.ErrNoNode):
		return "Node does not exist: " + p
	case client.CodeOf(client.ErrNoChildrenForEphemerals):
		return "Ephemerals cannot have children: " + p
	case client.CodeOf(client.ErrNodeExists):
		return "Node already exists: " + p
	case client.CodeOf(client.ErrNotEmpty):
		return "Node not empty: " + p
	case client.CodeOf(client.ErrNotReadOnly):
		return "Not a read-only call: " + p
	case client.CodeOf(client.ErrInvalidACL):
		return "Acl is not valid : " + p
	case client.CodeOf(client.ErrNoAuth):
		return "Insufficient permission : " + p
	case client.CodeOf(client.ErrBadArguments):
		return "Arguments are not valid : " + p
	case client.CodeOf(client.ErrBadVersion):
		return "version No is not valid : " + p
	case client.CodeOf(client.ErrReconfigInProgress):
		return "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
	case client.CodeOf(client.ErrNewConfigNoQuorum):
		return "No quorum of new config is connected and up-to-date with the leader of last commmitted config - try invoking reconfiguration after new servers are connected and synced"
	case client.CodeOf(client.ErrQuotaExceeded):
		return "Quota has exceeded : " + p
	}
	return keeperErrorCode(code, path)
}

// keeperErrorCode is KeeperException.getMessage.
func keeperErrorCode(code client.Code, path string) string {
	msg := "KeeperErrorCode = " + codeMessage(code)
	if path != "" {
		msg += " for " + path
	}
	return msg
}

// codeMessage is KeeperException.getCodeMessage.
func codeMessage(code client.Code) string {
	switch int32(code) {
	case 0:
		return "ok"
	case -1:
		return "SystemError"
	case -2:
		return "RuntimeInconsistency"
	case -3:
		return "DataInconsistency"
	case -4:
		return "ConnectionLoss"
	case -5:
		return "MarshallingError"
	case -6:
		return "Unimplemented"
	case -7:
		return "OperationTimeout"
	case -8:
		return "BadArguments"
	case -13:
		return "NewConfigNoQuorum"
	case -14:
		return "ReconfigInProgress"
	case -100:
		return "APIError"
	case -101:
		return "NoNode"
	case -102:
		return "NoAuth"
	case -103:
		return "BadVersion"
	case -108:
		return "NoChildrenForEphemerals"
	case -110:
		return "NodeExists"
	case -111:
		return "Directory not empty"
	case -112:
		return "Session expired"
	case -113:
		return "Invalid callback"
	case -114:
		return "InvalidACL"
	case -115:
		return "AuthFailed"
	case -118:
		return "Session moved"
	case -119:
		return "Not a read-only call"
	case -120:
		return "Ephemeral node on local session"
	case -121:
		return "No such watcher"
	case -123:
		return "Reconfig is disabled"
	case -124:
		return "Session closed because client failed to authenticate"
	case -125:
		return "Quota has exceeded"
	case -127:
		return "Op throttled due to high load"
	}
	return "Unknown error " + code.String()
}

// validatePath is the Java client's PathUtils.validatePath, with its messages (positions
// count UTF-16 code units, as Java's do). A sequential create may end in "/".
func validatePath(path string, sequential bool) error {
	if sequential {
		path += "1"
	}
	bad := func(msg string) error { return &cliError{msg: msg, exit: 1} }
	if path == "" {
		return bad("Path length must be > 0")
	}
	if path[0] != '/' {
		return bad("Path must start with / character")
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return bad("Path must not end with / character")
	}
	chars := utf16.Encode([]rune(path))
	reason := ""
	last := uint16('/')
	for i := 1; i < len(chars); last, i = chars[i], i+1 {
		c := chars[i]
		at := " @" + strconv.Itoa(i)
		switch {
		case c == 0:
			reason = "null character not allowed" + at
		case c == '/' && last == '/':
			reason = "empty node name specified" + at
		case c == '.' && last == '.':
			if chars[i-2] == '/' && (i+1 == len(chars) || chars[i+1] == '/') {
				reason = "relative paths not allowed" + at
			}
		case c == '.':
			if chars[i-1] == '/' && (i+1 == len(chars) || chars[i+1] == '/') {
				reason = "relative paths not allowed" + at
			}
		case c > 0 && c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0:
			reason = "invalid character" + at
		}
		if reason != "" {
			return bad(`Invalid path string "` + path + `" caused by ` + reason)
		}
	}
	return nil
}
