package zkcli

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
)

func TestFormatStat(t *testing.T) {
	defer setLocal(time.UTC)()
	st := client.Stat{Czxid: 0x1a, Mzxid: 0x100000002, Ctime: 1795237655000, Mtime: 0, Version: 2, Cversion: 3,
		Aversion: 1, EphemeralOwner: 0x1000038ec2f0001, DataLength: 5, NumChildren: 4, Pzxid: -1}
	want := `cZxid = 0x1a
ctime = Sat Nov 21 05:07:35 UTC 2026
mZxid = 0x100000002
mtime = Thu Jan 01 00:00:00 UTC 1970
pZxid = 0xffffffffffffffff
cversion = 3
dataVersion = 2
aclVersion = 1
ephemeralOwner = 0x1000038ec2f0001
dataLength = 5
numChildren = 4
`
	if got := formatStat(st); got != want {
		t.Errorf("formatStat:\n%s\nwant:\n%s", got, want)
	}
	if got := statJSON(st).line(); got != `{"cZxid":26,"ctime":1795237655000,"mZxid":4294967298,"mtime":0,"pZxid":-1,`+
		`"cversion":3,"dataVersion":2,"aclVersion":1,"ephemeralOwner":72057838518599681,"dataLength":5,"numChildren":4}`+"\n" {
		t.Errorf("statJSON: %s", got)
	}
}

func setLocal(l *time.Location) (restore func()) {
	old := time.Local
	time.Local = l
	return func() { time.Local = old }
}

func TestJavaDate(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	defer setLocal(berlin)()
	if got := javaDate(1782900000000); got != "Wed Jul 01 12:00:00 CEST 2026" {
		t.Errorf("javaDate = %q", got)
	}
}

func TestFormatACL(t *testing.T) {
	for _, tc := range []struct {
		acl  client.ACL
		want string
	}{
		{client.ACL{Perms: client.PermAll, Scheme: "world", ID: "anyone"}, "'world,'anyone\n: cdrwa\n"},
		{client.ACL{Perms: client.PermRead | client.PermAdmin, Scheme: "digest", ID: "u:x"}, "'digest,'u:x\n: ra\n"},
		{client.ACL{Perms: 0, Scheme: "ip", ID: "10.0.0.0/8,%}"}, "'ip,'10.0.0.0/8%2C%25%7D\n: \n"},
	} {
		if got := formatACL(tc.acl); got != tc.want {
			t.Errorf("formatACL(%v) = %q, want %q", tc.acl, got, tc.want)
		}
	}
}

func TestValidatePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		seq  bool
		want string
	}{
		{"/", false, ""},
		{"/a/b", false, ""},
		{"/a/", true, ""},
		{"/a..b/.c", false, ""},
		{"", false, "Path length must be > 0"},
		{"a", false, "Path must start with / character"},
		{"/a/", false, "Path must not end with / character"},
		{"/a//b", false, `Invalid path string "/a//b" caused by empty node name specified @3`},
		{"/a//", true, `Invalid path string "/a//1" caused by empty node name specified @3`},
		{"/a/./b", false, `Invalid path string "/a/./b" caused by relative paths not allowed @3`},
		{"/..", false, `Invalid path string "/.." caused by relative paths not allowed @2`},
		{"/a\x01", false, `Invalid path string "/a` + "\x01" + `" caused by invalid character @2`},
		{"/\U0001F600x\x00", false, `Invalid path string "/` + "\U0001F600x\x00" + `" caused by invalid character @1`},
		{"/é\x00", false, `Invalid path string "/é` + "\x00" + `" caused by null character not allowed @2`},
	} {
		err := validatePath(tc.path, tc.seq)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("validatePath(%q, %v) = %q, want %q", tc.path, tc.seq, got, tc.want)
		}
	}
}

func TestWrapErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		path string
		want string
	}{
		{client.ErrNoNode, "/a", "Node does not exist: /a"},
		{&client.OpError{Op: "getData", Path: "/b", Err: client.ErrNoNode}, "/a", "Node does not exist: /b"},
		{client.ErrNodeExists, "/a", "Node already exists: /a"},
		{client.ErrNotEmpty, "/a", "Node not empty: /a"},
		{client.ErrBadVersion, "/a", "version No is not valid : /a"},
		{client.ErrNoAuth, "/a", "Insufficient permission : /a"},
		{client.ErrInvalidACL, "", "Acl is not valid : null"},
		{client.ErrNoChildrenForEphemerals, "/e/x", "Ephemerals cannot have children: /e/x"},
		{client.ErrConnectionLoss, "/", "KeeperErrorCode = ConnectionLoss for /"},
		{client.ErrNoWatcher, "/w", "KeeperErrorCode = No such watcher for /w"},
		{client.ErrReconfigDisabled, "", "KeeperErrorCode = Reconfig is disabled"},
		{client.ErrAuthFailed, "", "KeeperErrorCode = AuthFailed"},
		{client.ErrClosed, "/a", "KeeperErrorCode = Session expired for /a"},
		{errors.New("boom"), "/a", "boom"},
	} {
		if got := wrapErr(tc.err, tc.path).Error(); got != tc.want {
			t.Errorf("wrapErr(%v, %q) = %q, want %q", tc.err, tc.path, got, tc.want)
		}
	}
}

func TestSortJava(t *testing.T) {
	// UTF-16 order puts U+FF5E before U+1F600 (a surrogate pair), unlike UTF-8 byte order.
	s := []string{"b", "\U0001F600", "B", "a", "\uFF5E", "a0"}
	sortJava(s)
	if want := []string{"B", "a", "a0", "b", "\U0001F600", "\uFF5E"}; !slices.Equal(s, want) {
		t.Errorf("sortJava = %q, want %q", s, want)
	}
}

func TestHexDump(t *testing.T) {
	want := `         +-------------------------------------------------+
         |  0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f |
+--------+-------------------------------------------------+----------------+
|00000000| 68 65 6c 6c 6f 0a 77 6f 72 6c 64 21 00 ff 7e 20 |hello.world!..~ |
|00000010| 41                                              |A               |
+--------+-------------------------------------------------+----------------+`
	if got := hexDump([]byte("hello\nworld!\x00\xff~ A")); got != want {
		t.Errorf("hexDump:\n%s\nwant:\n%s", got, want)
	}
}

func TestClientConfig(t *testing.T) {
	cfg := "server.2=h2:2888:3888:participant;0.0.0.0:2182\nserver.1=h1:2888:3888:participant;h1:2181\nserver.3=h3:2888:3888:observer\nversion=100000000\n"
	if got := clientConfig(cfg); got != "100000000 h1:2181,0.0.0.0:2182," {
		t.Errorf("clientConfig = %q", got)
	}
	if got := clientConfig(""); got != " " {
		t.Errorf("clientConfig of nothing = %q", got)
	}
}

func TestStatsTrack(t *testing.T) {
	st := parseStatsTrack([]byte("count=1,bytes=-1=;byteHardLimit=7;countHardLimit=-1"))
	if got := st.String(); got != "count=1,bytes=-1=;byteHardLimit=7;countHardLimit=-1" {
		t.Errorf("round trip: %q", got)
	}
	if got := parseStatsTrack([]byte("count=0,bytes=12")).String(); got != "count=0,bytes=12" {
		t.Errorf("old format: %q", got)
	}
}
