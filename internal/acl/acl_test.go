package acl

import (
	"reflect"
	"testing"

	"github.com/paddock/paddock/internal/proto"
)

func id(scheme, v string) proto.ID { return proto.ID{Scheme: scheme, ID: v} }

func entry(perms int32, scheme, v string) proto.ACL {
	return proto.ACL{Perms: perms, ID: id(scheme, v)}
}

func TestDigest(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Values printed by DigestAuthenticationProvider.main.
		{"super:admin", "super:xQJmxLMiHGwaqBvst5y6rkB6HQs="},
		{"user:password", "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY="},
		{"a:b:c", "a:" + Digest("a:b:c")[2:]},
		{"nocolon", "nocolon:" + Digest("nocolon")[len("nocolon:"):]},
	} {
		if got := Digest(tc.in); got != tc.want {
			t.Errorf("Digest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDigestAuth(t *testing.T) {
	super := "super:xQJmxLMiHGwaqBvst5y6rkB6HQs="
	for _, tc := range []struct {
		name  string
		auth  []byte
		super string
		want  []proto.ID
		ok    bool
	}{
		{"plain", []byte("user:password"), super, []proto.ID{id("digest", "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=")}, true},
		{"super", []byte("super:admin"), super, []proto.ID{SuperID, id("digest", super)}, true},
		{"super disabled", []byte("super:admin"), "", []proto.ID{id("digest", super)}, true},
		{"wrong super password", []byte("super:nope"), super, []proto.ID{id("digest", Digest("super:nope"))}, true},
		{"empty", []byte{}, super, []proto.ID{id("digest", Digest(""))}, true},
		{"null", nil, super, nil, false},
		{"invalid utf8", []byte{'u', ':', 0xff}, "", []proto.ID{id("digest", Digest("u:\uFFFD"))}, true},
	} {
		got, ok := DigestAuth(tc.auth, tc.super)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: DigestAuth = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCheck(t *testing.T) {
	alice := id("digest", Digest("alice:pw"))
	bob := id("digest", Digest("bob:pw"))
	local := id("ip", "127.0.0.1")
	v6 := id("ip", "fe80::1")
	for _, tc := range []struct {
		name string
		list []proto.ACL
		ids  []proto.ID
		perm int32
		want bool
	}{
		{"empty list", nil, nil, proto.PermAdmin, true},
		{"world anyone", OpenUnsafe, nil, proto.PermWrite, true},
		{"world read only", ReadUnsafe, nil, proto.PermWrite, false},
		{"world read ok", ReadUnsafe, nil, proto.PermRead, true},
		{"world other id never matches", []proto.ACL{entry(31, "world", "someone")}, []proto.ID{id("world", "someone")}, proto.PermRead, false},
		{"super", []proto.ACL{entry(31, "digest", alice.ID)}, []proto.ID{local, SuperID}, proto.PermAdmin, true},
		{"digest match", []proto.ACL{entry(31, "digest", alice.ID)}, []proto.ID{local, alice}, proto.PermDelete, true},
		{"digest other user", []proto.ACL{entry(31, "digest", alice.ID)}, []proto.ID{local, bob}, proto.PermDelete, false},
		{"digest missing perm", []proto.ACL{entry(proto.PermRead, "digest", alice.ID)}, []proto.ID{alice}, proto.PermWrite, false},
		{"any bit of a combined perm", []proto.ACL{entry(proto.PermAdmin, "digest", alice.ID)}, []proto.ID{alice}, proto.PermRead | proto.PermAdmin, true},
		{"scheme must agree", []proto.ACL{entry(31, "ip", "127.0.0.1")}, []proto.ID{id("digest", "127.0.0.1")}, proto.PermRead, false},
		{"ip exact", []proto.ACL{entry(31, "ip", "127.0.0.1")}, []proto.ID{local}, proto.PermRead, true},
		{"ip prefix", []proto.ACL{entry(31, "ip", "127.0.0.0/8")}, []proto.ID{local}, proto.PermRead, true},
		{"ip prefix miss", []proto.ACL{entry(31, "ip", "10.0.0.0/8")}, []proto.ID{local}, proto.PermRead, false},
		{"ip v6 prefix", []proto.ACL{entry(31, "ip", "fe80::/16")}, []proto.ID{v6}, proto.PermRead, true},
		{"ip v4 vs v6", []proto.ACL{entry(31, "ip", "0.0.0.0/0")}, []proto.ID{v6}, proto.PermRead, false},
		{"unknown scheme", []proto.ACL{entry(31, "foo", "bar")}, []proto.ID{id("foo", "bar")}, proto.PermRead, false},
		{"x509 exact", []proto.ACL{entry(31, "x509", "CN=a")}, []proto.ID{id("x509", "CN=a")}, proto.PermRead, true},
		{"second entry grants", []proto.ACL{entry(proto.PermRead, "digest", bob.ID), entry(proto.PermWrite, "digest", alice.ID)}, []proto.ID{alice}, proto.PermWrite, true},
		{"no ids", []proto.ACL{entry(31, "digest", alice.ID)}, nil, proto.PermRead, false},
	} {
		if got := Check(tc.list, tc.ids, tc.perm); got != tc.want {
			t.Errorf("%s: Check = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIPMatch(t *testing.T) {
	for _, tc := range []struct {
		id, expr string
		want     bool
	}{
		{"10.1.2.3", "10.1.2.3", true},
		{"10.1.2.3", "10.1.2.4", false},
		{"10.1.2.3", "10.1.0.0/16", true},
		{"10.1.2.3", "10.1.2.0/23", true},
		{"10.1.4.3", "10.1.2.0/23", false},
		{"10.1.2.3", "0.0.0.0/0", true},
		{"10.1.2.3", "10.1.2.3/33", false},
		{"10.1.2.3", "10.1.2.3/-1", false},
		{"10.1.2.3", "10.1.2.3/x", false},
		{"10.1.2.3", "010.001.002.003", true}, // Integer.parseInt accepts leading zeros
		{"10.1.2.3", "+10.1.2.3", true},
		{"10.1.2.3", "10.1.2", false},
		{"10.1.2.3", "10.1.2.256", false},
		{"10.1.2.3", "host", false},
		{"::1", "::1", true},
		{"0:0:0:0:0:0:0:1", "::1", true},
		{"::1", "::1/128", true},
		{"::2", "::1/127", false},
		{"::3", "::2/127", true},
		{"2001:db8::1", "2001:db8::/32", true},
		{"2001:db9::1", "2001:db8::/32", false},
		{"1::", "1::/16", true},
		{"::1", "1:2:3:4:5:6:7:8:9", false},
		{"::1", "1::2::3", false},
		{"::1", "1:2:3:4:5:6:7::8", false},
		{"::1", "12345::", false},
		{"::1", "::1/129", false},
		{"fe80::1%eth0", "fe80::1", false},
		{"::ffff:1.2.3.4", "1.2.3.4", false},
	} {
		if got := IPMatch(tc.id, tc.expr); got != tc.want {
			t.Errorf("IPMatch(%q, %q) = %v, want %v", tc.id, tc.expr, got, tc.want)
		}
	}
}

func TestFixup(t *testing.T) {
	alice := id("digest", Digest("alice:pw"))
	bob := id("digest", Digest("bob:pw"))
	local := id("ip", "127.0.0.1")
	for _, tc := range []struct {
		name string
		list []proto.ACL
		ids  []proto.ID
		want []proto.ACL
		code proto.Code
	}{
		{"null", nil, nil, nil, proto.CodeInvalidACL},
		{"empty", []proto.ACL{}, nil, nil, proto.CodeInvalidACL},
		{"open", OpenUnsafe, nil, OpenUnsafe, proto.CodeOK},
		{"duplicates removed", []proto.ACL{OpenUnsafe[0], ReadUnsafe[0], OpenUnsafe[0]}, nil, []proto.ACL{OpenUnsafe[0], ReadUnsafe[0]}, proto.CodeOK},
		{"world other id", []proto.ACL{entry(31, "world", "me")}, nil, nil, proto.CodeInvalidACL},
		{"unknown scheme", []proto.ACL{entry(31, "foo", "bar")}, nil, nil, proto.CodeInvalidACL},
		{"super scheme is not storable", []proto.ACL{entry(31, "super", "")}, []proto.ID{SuperID}, nil, proto.CodeInvalidACL},
		{"x509 not nameable", []proto.ACL{entry(31, "x509", "CN=a")}, nil, nil, proto.CodeInvalidACL},
		{"digest ok", []proto.ACL{entry(31, "digest", "u:h")}, nil, []proto.ACL{entry(31, "digest", "u:h")}, proto.CodeOK},
		{"digest empty user ok", []proto.ACL{entry(31, "digest", ":h")}, nil, []proto.ACL{entry(31, "digest", ":h")}, proto.CodeOK},
		{"digest trailing colon ok", []proto.ACL{entry(31, "digest", "u:h:")}, nil, []proto.ACL{entry(31, "digest", "u:h:")}, proto.CodeOK},
		{"digest no hash", []proto.ACL{entry(31, "digest", "u:")}, nil, nil, proto.CodeInvalidACL},
		{"digest no colon", []proto.ACL{entry(31, "digest", "u")}, nil, nil, proto.CodeInvalidACL},
		{"digest two colons", []proto.ACL{entry(31, "digest", "u:h:x")}, nil, nil, proto.CodeInvalidACL},
		{"ip ok", []proto.ACL{entry(31, "ip", "10.0.0.0/8")}, nil, []proto.ACL{entry(31, "ip", "10.0.0.0/8")}, proto.CodeOK},
		{"ip v6 ok", []proto.ACL{entry(31, "ip", "::1")}, nil, []proto.ACL{entry(31, "ip", "::1")}, proto.CodeOK},
		{"ip bad", []proto.ACL{entry(31, "ip", "10.0.0/8")}, nil, nil, proto.CodeInvalidACL},
		{"ip bad bits", []proto.ACL{entry(31, "ip", "10.0.0.0/40")}, nil, nil, proto.CodeInvalidACL},
		{"auth without credentials", CreatorAll, []proto.ID{local}, nil, proto.CodeInvalidACL},
		{"auth expands to digest ids only", CreatorAll, []proto.ID{local, alice, SuperID, bob},
			[]proto.ACL{{Perms: 31, ID: alice}, {Perms: 31, ID: bob}}, proto.CodeOK},
		{"auth keeps its perms and position", []proto.ACL{ReadUnsafe[0], entry(proto.PermWrite, "auth", "ignored")}, []proto.ID{alice},
			[]proto.ACL{ReadUnsafe[0], {Perms: proto.PermWrite, ID: alice}}, proto.CodeOK},
		{"auth expansion is not deduplicated", []proto.ACL{{Perms: 31, ID: alice}, CreatorAll[0]}, []proto.ID{alice},
			[]proto.ACL{{Perms: 31, ID: alice}, {Perms: 31, ID: alice}}, proto.CodeOK},
		{"sasl and x509 via auth", CreatorAll, []proto.ID{id("sasl", "u@R"), id("x509", "CN=a")},
			[]proto.ACL{{Perms: 31, ID: id("sasl", "u@R")}, {Perms: 31, ID: id("x509", "CN=a")}}, proto.CodeOK},
		{"one bad entry fails all", []proto.ACL{OpenUnsafe[0], entry(31, "ip", "x")}, nil, nil, proto.CodeInvalidACL},
	} {
		got, code := Fixup(tc.list, tc.ids)
		if code != tc.code || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Fixup = %v, %v; want %v, %v", tc.name, got, code, tc.want, tc.code)
		}
	}
}

func TestFixupDoesNotModifyInput(t *testing.T) {
	in := []proto.ACL{CreatorAll[0], CreatorAll[0]}
	orig := append([]proto.ACL(nil), in...)
	Fixup(in, []proto.ID{id("digest", "a:b")})
	if !reflect.DeepEqual(in, orig) {
		t.Fatalf("input modified: %v", in)
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"user:hash", "user:x"},
		{"user:ha:sh", "user:x"},
		{"nocolon", "nocolon"},
		{":", ":x"},
		{"a:b\nc:d", "a:x\nc:x"},
		{"a:b\r\nc", "a:x\r\nc"},
	} {
		got := Mask([]proto.ACL{entry(31, "digest", tc.in), entry(1, "ip", "1.2.3.4:5")})
		want := []proto.ACL{entry(31, "digest", tc.want), entry(1, "ip", "1.2.3.4:5")}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Mask(%q) = %v, want %v", tc.in, got, want)
		}
	}
	in := []proto.ACL{entry(31, "digest", "u:h")}
	Mask(in)
	if in[0].ID.ID != "u:h" {
		t.Fatal("Mask modified its input")
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want proto.ACL
		ok   bool
	}{
		{"world:anyone:cdrwa", OpenUnsafe[0], true},
		{"world:anyone:r", ReadUnsafe[0], true},
		{"digest:u:h=:rw", entry(proto.PermRead|proto.PermWrite, "digest", "u:h="), true},
		{"ip:10.0.0.0/8:", entry(0, "ip", "10.0.0.0/8"), true},
		{"auth::cdrwa", entry(31, "auth", ""), true},
		{"world:anyone:z", proto.ACL{}, false},
		{"world", proto.ACL{}, false},
		{"world:cdrwa", proto.ACL{}, false},
	} {
		got, ok := Parse(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if got := Format(entry(31, "digest", "u:h")); got != "digest:u:h:cdrwa" {
		t.Errorf("Format = %q", got)
	}
	if got := Perms(proto.PermRead | proto.PermAdmin); got != "ra" {
		t.Errorf("Perms = %q", got)
	}
	list, ok := ParseList("world:anyone:r,ip:1.2.3.4:cd")
	if !ok || len(list) != 2 || list[1] != entry(proto.PermCreate|proto.PermDelete, "ip", "1.2.3.4") {
		t.Errorf("ParseList = %v, %v", list, ok)
	}
}
