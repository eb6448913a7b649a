package conformance

// aclScenarios: the world, auth, digest and ip schemes, ACL validation, NOAUTH for every
// op, getACL's masking of digests for readers without ADMIN, the super user, and auth
// packets.
var aclScenarios = []scenario{
	{name: "acl/world-read-only", steps: func(s *Script) {
		s.Create("n", "v", World(R), Persistent)
		s.GetData("n", false)
		s.SetData("n", "x", -1)
		s.Create("n/c", "", Open, Persistent)
		s.SetACL("n", Open, -1)
		s.Delete("n", -1) // needs DELETE on the parent, which is open
	}},
	{name: "acl/digest", steps: func(s *Script) {
		s.Auth("digest", "alice:secret")
		s.Create("n", "v", ACL(Digest(All, "alice", "secret")), Persistent)
		s.GetData("n", false)
		b := s.Open("b")
		b.GetData("n", false)
		b.Auth("digest", "alice:wrong") // accepted, but it is another id
		b.GetData("n", false)
		b.Auth("digest", "alice:secret")
		b.GetData("n", false)
		b.WhoAmI()
	}},
	{name: "acl/auth-scheme-expands-to-the-creators-ids", steps: func(s *Script) {
		s.Auth("digest", "alice:secret")
		s.Auth("digest", "bob:pw")
		s.Create("n", "", Creator(R|W|Adm), Persistent)
		s.GetACL("n")
		s.SetACL("n", ACL(A(R, "auth", "ignored"), A(All, "world", "anyone")), -1)
		s.GetACL("n")
	}},
	{name: "acl/auth-scheme-without-ids", steps: func(s *Script) {
		s.Create("n", "", Creator(All), Persistent)
		s.Create("m", "", Open, Persistent)
		s.SetACL("m", Creator(All), -1)
		s.Auth("ip", "") // ip ids are not "authenticated" ids: still nothing to expand
		s.Create("n", "", Creator(All), Persistent)
		s.WhoAmI()
	}},
	{name: "acl/digest-id-forms", steps: func(s *Script) {
		for i, id := range []string{"nocolon", "a:b:c", "a:", ":b", "user:hash", ""} {
			s.Create(string(rune('a'+i)), "", ACL(A(All, "digest", id)), Persistent)
		}
		s.GetChildren("", false)
	}},
	{name: "acl/ip-forms", steps: func(s *Script) {
		for i, id := range []string{"127.0.0.1", "127.0.0.0/8", "10.1.2.3", "10.0.0.0/33", "1.2.3", "300.1.1.1", "localhost", "1.2.3.4/x", ""} {
			s.Create(string(rune('a'+i)), "", ACL(A(All, "ip", id)), Persistent)
		}
		s.GetChildren("", false)
	}},
	{name: "acl/ip-v6", steps: func(s *Script) {
		s.Create("v4", "", ACL(A(All, "ip", "::ffff:1.2.3.4:5")), Persistent)
		// IPv6 addresses in ip ACLs are valid since ZooKeeper 3.9 (IPAuthenticationProvider
		// parses them); 3.8 answers INVALIDACL.
		s.Since39("OK path=~/v6")
		s.Create("v6", "", ACL(A(All, "ip", "::1")), Persistent)
	}},
	{name: "acl/ip-matching", steps: func(s *Script) {
		s.Create("local", "v", ACL(A(R, "ip", "127.0.0.1")), Persistent)
		s.Create("net", "v", ACL(A(R, "ip", "127.0.0.0/8")), Persistent)
		s.Create("other", "v", ACL(A(All, "ip", "10.1.2.3")), Persistent)
		s.GetData("local", false)
		s.GetData("net", false)
		s.GetData("other", false)
		s.SetData("local", "x", -1)
	}},
	{name: "acl/scheme-names-are-exact", steps: func(s *Script) {
		s.Create("a", "", ACL(A(All, "World", "anyone")), Persistent)
		s.Create("b", "", ACL(A(All, "world", "Anyone")), Persistent)
		s.Create("c", "", ACL(A(All, "super", "x")), Persistent)
		s.Create("d", "", ACL(A(All, "sasl", "x")), Persistent)
	}},
	{name: "acl/noauth-on-every-op", steps: func(s *Script) {
		s.Create("n", "v", World(0), Persistent)
		s.GetData("n", false)
		s.GetChildren("n", false)
		s.GetChildren2("n", false)
		s.GetAllChildrenNumber("n")
		s.GetACL("n")
		s.SetData("n", "x", -1)
		s.SetACL("n", Open, -1)
		s.Create("n/c", "", Open, Persistent)
		s.Delete("n/c", -1)
		s.MultiRead(MGetData("n"), MGetChildren("n"))
		s.Multi(MCheck("n", 0))
		s.Sync("n") // sync checks nothing
		s.AddWatch("n", Persist)
		// ZooKeeper 3.9.2 checks READ on exists when the node exists; 3.8.0 does not.
		s.Since39("NOAUTH")
		s.Exists("n", false)
	}},
	{name: "acl/each-permission-bit", steps: func(s *Script) {
		s.Create("r", "", World(R), Persistent)
		s.Create("w", "", World(W), Persistent)
		s.Create("c", "", World(C), Persistent)
		s.Create("d", "", World(D), Persistent)
		s.Create("a", "", World(Adm), Persistent)
		for _, n := range []string{"r", "w", "c", "d", "a"} {
			s.GetData(n, false)
			s.SetData(n, "x", -1)
			s.Create(n+"/x", "", Open, Persistent)
			s.SetACL(n, World(All&^D&^C), -1)
		}
		s.Delete("c/x", -1) // c's ACL was just changed to rwa: no DELETE
	}},
	{name: "acl/getacl-masks-digests-without-admin", steps: func(s *Script) {
		s.Auth("digest", "alice:secret")
		acl := ACL(Digest(All, "alice", "secret"), Digest(R, "bob", "pw"), A(R, "world", "anyone"), A(R, "ip", "10.0.0.1"))
		s.Create("n", "", acl, Persistent)
		s.GetACL("n") // alice has ADMIN: the real digests
		b := s.Open("b")
		b.GetACL("n") // world can READ but not ADMIN: digests come back as user:x
		b.Auth("digest", "bob:pw")
		b.GetACL("n")
	}},
	{name: "acl/getacl-with-admin-only", steps: func(s *Script) {
		s.Create("n", "", ACL(A(Adm, "world", "anyone"), Digest(R, "bob", "pw")), Persistent)
		s.GetACL("n")
		s.GetData("n", false)
	}},
	{name: "acl/super-digest", steps: func(s *Script) {
		s.Create("locked", "v", Open, Persistent)
		s.Create("locked/c", "", World(0), Persistent)
		s.SetACL("locked", World(0), -1)
		b := s.Open("b")
		b.Auth("digest", "super:s3cret")
		b.WhoAmI()
		b.GetData("locked", false)
		b.GetACL("locked")
		b.SetData("locked", "super", -1)
		b.Create("locked/new", "", World(0), Persistent)
		b.Delete("locked/c", -1)
		b.SetACL("locked", Open, -1)
		s.GetData("locked", false)
	}},
	{name: "acl/super-wrong-password", steps: func(s *Script) {
		s.Create("locked", "", World(0), Persistent)
		s.Auth("digest", "super:wrong")
		s.WhoAmI()
		s.GetData("locked", false)
	}},
	{name: "acl/super-scheme-in-auth-acl", steps: func(s *Script) {
		// The super id is not an "authenticated" id: auth ACLs expand to the digest only.
		s.Auth("digest", "super:s3cret")
		s.Create("n", "", Creator(All), Persistent)
		s.GetACL("n")
	}},
	{name: "acl/auth-failures-close-the-connection", steps: func(s *Script) {
		b := s.Open("b")
		b.Auth("nosuchscheme", "x")
		b.Alive()
		c := s.Open("c")
		c.Auth("", "x")
		c.Alive()
	}},
	{name: "acl/auth-odd-digests", steps: func(s *Script) {
		s.Auth("digest", "nocolon")
		s.Auth("digest", "user:pass:word")
		s.Auth("digest", ":empty-user")
		s.Auth("digest", "")
		s.WhoAmI()
	}},
	{name: "acl/auth-ip", steps: func(s *Script) {
		s.Auth("ip", "10.9.9.9")
		s.WhoAmI()
		s.Alive()
	}},
	{name: "acl/whoami", steps: func(s *Script) {
		s.WhoAmI()
		s.Auth("digest", "alice:secret")
		s.WhoAmI()
		s.Auth("digest", "alice:secret") // the same id twice is kept once
		s.WhoAmI()
	}},
	{name: "acl/several-entries-any-match", steps: func(s *Script) {
		s.Create("n", "v", ACL(Digest(All, "alice", "secret"), A(R, "ip", "127.0.0.1")), Persistent)
		s.GetData("n", false)
		s.SetData("n", "x", -1)
		s.Auth("digest", "alice:secret")
		s.SetData("n", "x", -1)
	}},
	{name: "acl/create-needs-create-on-parent-only", steps: func(s *Script) {
		s.Create("p", "", World(C), Persistent)
		s.Create("p/c", "", World(0), Persistent)
		s.Create("p/c/x", "", Open, Persistent)
		s.GetChildren("p", false)
	}},
	{name: "acl/acl-changes-apply-to-open-sessions", steps: func(s *Script) {
		b := s.Open("b")
		s.Create("n", "v", Open, Persistent)
		b.GetData("n", false)
		s.SetACL("n", ACL(A(All, "digest", "x:y")), -1)
		b.GetData("n", false)
		b.SetACL("n", Open, -1)
	}},
	{name: "acl/unknown-permission-bits", steps: func(s *Script) {
		s.Create("n", "", World(All|0x20|0x100), Persistent)
		s.GetACL("n")
		s.SetACL("n", World(-1), -1)
		s.GetACL("n")
		s.GetData("n", false)
	}},
	{name: "acl/multi-checks-each-op", steps: func(s *Script) {
		s.Create("open", "", Open, Persistent)
		s.Create("closed", "", World(R), Persistent)
		s.Multi(MSet("open", "x", -1), MSet("closed", "x", -1))
		s.Multi(MCreate("open/c", "", Open, Persistent), MCreate("closed/c", "", Open, Persistent))
		s.GetData("open", false)
	}},
	{name: "acl/setacl-invalid-forms", steps: func(s *Script) {
		s.Create("n", "", Open, Persistent)
		s.SetACL("n", nil, -1)
		s.SetACL("n", ACL(A(All, "digest", "nocolon")), -1)
		s.SetACL("n", ACL(A(All, "ip", "1.2.3.4/40")), -1)
		s.SetACL("n", ACL(A(All, "world", "anyone"), A(All, "world", "anyone")), -1)
		s.GetACL("n")
	}},
}
