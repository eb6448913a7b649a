package zkcli

import (
	"strings"

	"github.com/paddock/paddock/client"
)

// parseACL is zkCli's AclParser: comma-separated "scheme:id:perms", the id being everything
// between the first and the last colon. Malformed entries and unknown permission letters
// are reported on stderr and skipped.
func parseACL(x *inv, s string) []client.ACL {
	acl := []client.ACL{}
	for _, a := range strings.Split(s, ",") {
		first, last := strings.IndexByte(a, ':'), strings.LastIndexByte(a, ':')
		if first < 0 || first == last {
			x.warn(a + " does not have the form scheme:id:perm\n")
			continue
		}
		acl = append(acl, client.ACL{Scheme: a[:first], ID: a[first+1 : last], Perms: parsePerms(x, a[last+1:])})
	}
	return acl
}

func parsePerms(x *inv, s string) client.Perm {
	var p client.Perm
	for _, c := range s {
		switch c {
		case 'r':
			p |= client.PermRead
		case 'w':
			p |= client.PermWrite
		case 'c':
			p |= client.PermCreate
		case 'd':
			p |= client.PermDelete
		case 'a':
			p |= client.PermAdmin
		default:
			x.warn("Unknown perm type: " + string(c) + "\n")
		}
	}
	return p
}

func aclJSON(acl []client.ACL) []*object {
	out := []*object{}
	for _, a := range acl {
		o := &object{}
		o.set("scheme", a.Scheme)
		o.set("id", a.ID)
		o.set("perms", permString(a.Perms))
		out = append(out, o)
	}
	return out
}

func runGetACL(x *inv) error {
	path := x.arg(1)
	if err := validatePath(path, false); err != nil {
		return err
	}
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	acl, st, err := c.GetACL(x.ctx, path)
	if err != nil {
		return x.wrap(err, path)
	}
	for _, a := range acl {
		x.out(formatACL(a))
	}
	x.res.set("acl", aclJSON(acl))
	if x.p.has("s") {
		x.stat(st)
	}
	return nil
}

func runSetACL(x *inv) error {
	path := x.arg(1)
	acl := parseACL(x, x.arg(2))
	version, err := versionOpt(x)
	if err != nil {
		return err
	}
	if err := validatePath(path, false); err != nil {
		return err
	}
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	if x.p.has("R") {
		// zkCli prints each node's failure without a newline and goes on.
		var failed []*object
		err := visitDFS(x, c, path, false, func(p string) error {
			x.progress()
			var err error
			if len(acl) == 0 {
				err = client.ErrInvalidACL
				x.out(keeperErrorCode(client.CodeOf(err), ""))
			} else if _, err = c.SetACL(x.ctx, p, acl, version); err != nil {
				x.out(keeperErrorCode(client.CodeOf(err), p))
			}
			if err != nil {
				o := &object{}
				o.set("path", p)
				o.set("error", wrapErr(err, p).Error())
				failed = append(failed, o)
			}
			return nil
		})
		if failed != nil {
			x.res.set("failed", failed)
		}
		return err
	}
	if len(acl) == 0 {
		return wrapErr(client.ErrInvalidACL, "")
	}
	st, err := c.SetACL(x.ctx, path, acl, version)
	if err != nil {
		return x.wrap(err, path)
	}
	if x.p.has("s") {
		x.stat(st)
	}
	return nil
}

// runAddAuth adds a credential. zkCli's is asynchronous and says nothing; a refused
// credential shows as an AuthFailed event there. Here it waits for the server's answer and
// a refusal is an error too.
func runAddAuth(x *inv) error {
	var auth []byte
	if len(x.p.args) >= 3 {
		auth = []byte(x.arg(2))
	}
	c, err := x.zk("")
	if err != nil {
		return err
	}
	if err := c.AddAuth(x.ctx, x.arg(1), auth); err != nil {
		return x.wrap(err, "")
	}
	return nil
}

func runWhoAmI(x *inv) error {
	c, err := x.zk("")
	if err != nil {
		return err
	}
	ids, err := c.WhoAmI(x.ctx)
	if err != nil {
		return x.wrap(err, "")
	}
	x.out("Auth scheme: User\n")
	out := []*object{}
	for _, id := range ids {
		x.out(id.AuthScheme + ": " + id.User + "\n")
		o := &object{}
		o.set("scheme", id.AuthScheme)
		o.set("user", id.User)
		out = append(out, o)
	}
	x.res.set("identities", out)
	return nil
}
