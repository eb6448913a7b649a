package conformance

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/paddock/paddock/internal/proto"
)

// The requests a scenario sends, one method per op; each records one transcript line.

func (x *Session) create(op proto.Op, path, d string, acl []proto.ACL, mode proto.CreateMode, ttl int64) Reply {
	s := x.s
	p := s.P(path)
	desc := fmt.Sprintf("%s %s data=%s acl=%s mode=%s", op, s.show(p), formatData(data(d)), formatACL(acl), formatMode(mode))
	if op == proto.OpCreateTTL {
		desc += fmt.Sprintf(" ttl=%d", ttl)
	}
	var req proto.Record = &proto.CreateRequest{Path: p, Data: data(d), ACL: acl, Flags: int32(mode)}
	if op == proto.OpCreateTTL {
		req = &proto.CreateTTLRequest{Path: p, Data: data(d), ACL: acl, Flags: int32(mode), TTL: ttl}
	}
	if op == proto.OpCreate {
		var resp proto.PathRequest
		r := x.op(op, desc, req, &resp, true, func() string { return "path=" + s.show(resp.Path) })
		r.Path = resp.Path
		return r
	}
	var resp proto.Create2Response
	r := x.op(op, desc, req, &resp, true, func() string { return "path=" + s.show(resp.Path) + " " + s.stat(resp.Stat) })
	r.Path, r.Stat = resp.Path, resp.Stat
	return r
}

// Create sends create (1).
func (x *Session) Create(path, d string, acl []proto.ACL, mode proto.CreateMode) Reply {
	return x.create(proto.OpCreate, path, d, acl, mode, 0)
}

// Create2 sends create2 (15), whose reply carries the Stat.
func (x *Session) Create2(path, d string, acl []proto.ACL, mode proto.CreateMode) Reply {
	return x.create(proto.OpCreate2, path, d, acl, mode, 0)
}

// CreateContainer sends createContainer (19) with the container flag.
func (x *Session) CreateContainer(path, d string, acl []proto.ACL) Reply {
	return x.create(proto.OpCreateContainer, path, d, acl, proto.ModeContainer, 0)
}

// CreateContainerFlags sends createContainer (19) with any flags.
func (x *Session) CreateContainerFlags(path, d string, acl []proto.ACL, mode proto.CreateMode) Reply {
	return x.create(proto.OpCreateContainer, path, d, acl, mode, 0)
}

// CreateTTL sends createTTL (21).
func (x *Session) CreateTTL(path, d string, acl []proto.ACL, mode proto.CreateMode, ttl int64) Reply {
	return x.create(proto.OpCreateTTL, path, d, acl, mode, ttl)
}

// Delete sends delete (2).
func (x *Session) Delete(path string, version int32) Reply {
	s := x.s
	p := s.P(path)
	var resp rawBody
	return x.op(proto.OpDelete, fmt.Sprintf("delete %s v=%d", s.show(p), version),
		&proto.DeleteRequest{Path: p, Version: version}, &resp, true, noBody(&resp))
}

// Check sends check (13) on its own, outside a multi.
func (x *Session) Check(path string, version int32) Reply {
	s := x.s
	p := s.P(path)
	var resp rawBody
	return x.op(proto.OpCheck, fmt.Sprintf("check %s v=%d", s.show(p), version),
		&proto.DeleteRequest{Path: p, Version: version}, &resp, true, noBody(&resp))
}

func watchFlag(w bool) string {
	if w {
		return " watch"
	}
	return ""
}

// Exists sends exists (3).
func (x *Session) Exists(path string, watch bool) Reply {
	s := x.s
	p := s.P(path)
	var resp proto.StatResponse
	r := x.op(proto.OpExists, fmt.Sprintf("exists %s%s", s.show(p), watchFlag(watch)),
		&proto.PathWatchRequest{Path: p, Watch: watch}, &resp, false, func() string { return s.stat(resp.Stat) })
	r.Stat = resp.Stat
	return r
}

// GetData sends getData (4).
func (x *Session) GetData(path string, watch bool) Reply {
	s := x.s
	p := s.P(path)
	var resp proto.GetDataResponse
	r := x.op(proto.OpGetData, fmt.Sprintf("getData %s%s", s.show(p), watchFlag(watch)),
		&proto.PathWatchRequest{Path: p, Watch: watch}, &resp, false,
		func() string { return "data=" + formatData(resp.Data) + " " + s.stat(resp.Stat) })
	r.Data, r.Stat = resp.Data, resp.Stat
	return r
}

// SetData sends setData (5).
func (x *Session) SetData(path, d string, version int32) Reply {
	s := x.s
	p := s.P(path)
	var resp proto.StatResponse
	r := x.op(proto.OpSetData, fmt.Sprintf("setData %s data=%s v=%d", s.show(p), formatData(data(d)), version),
		&proto.SetDataRequest{Path: p, Data: data(d), Version: version}, &resp, true, func() string { return s.stat(resp.Stat) })
	r.Stat = resp.Stat
	return r
}

// GetACL sends getACL (6).
func (x *Session) GetACL(path string) Reply {
	s := x.s
	p := s.P(path)
	var resp proto.GetACLResponse
	r := x.op(proto.OpGetACL, fmt.Sprintf("getACL %s", s.show(p)),
		&proto.PathRequest{Path: p}, &resp, false, func() string { return "acl=" + formatACL(resp.ACL) + " " + s.stat(resp.Stat) })
	r.Stat = resp.Stat
	return r
}

// SetACL sends setACL (7).
func (x *Session) SetACL(path string, acl []proto.ACL, version int32) Reply {
	s := x.s
	p := s.P(path)
	var resp proto.StatResponse
	r := x.op(proto.OpSetACL, fmt.Sprintf("setACL %s acl=%s v=%d", s.show(p), formatACL(acl), version),
		&proto.SetACLRequest{Path: p, ACL: acl, Version: version}, &resp, true, func() string { return s.stat(resp.Stat) })
	r.Stat = resp.Stat
	return r
}

// GetChildren sends getChildren (8).
func (x *Session) GetChildren(path string, watch bool) Reply {
	s := x.s
	p := s.P(path)
	var resp proto.ChildrenResponse
	r := x.op(proto.OpGetChildren, fmt.Sprintf("getChildren %s%s", s.show(p), watchFlag(watch)),
		&proto.PathWatchRequest{Path: p, Watch: watch}, &resp, false,
		func() string { return "children=" + formatNames(resp.Children, ident) })
	r.Children = resp.Children
	return r
}

func ident(s string) string { return s }

// GetChildren2 sends getChildren2 (12).
func (x *Session) GetChildren2(path string, watch bool) Reply {
	s := x.s
	p := s.P(path)
	resp := proto.ChildrenResponse{HasStat: true}
	r := x.op(proto.OpGetChildren2, fmt.Sprintf("getChildren2 %s%s", s.show(p), watchFlag(watch)),
		&proto.PathWatchRequest{Path: p, Watch: watch}, &resp, false,
		func() string { return "children=" + formatNames(resp.Children, ident) + " " + s.stat(resp.Stat) })
	r.Children, r.Stat = resp.Children, resp.Stat
	return r
}

// Sync sends sync (9).
func (x *Session) Sync(path string) Reply {
	s := x.s
	p := s.P(path)
	var resp proto.PathRequest
	return x.op(proto.OpSync, fmt.Sprintf("sync %s", s.show(p)), &proto.PathRequest{Path: p}, &resp, false,
		func() string { return "path=" + s.show(resp.Path) })
}

// GetAllChildrenNumber sends getAllChildrenNumber (104).
func (x *Session) GetAllChildrenNumber(path string) Reply {
	s := x.s
	p := s.P(path)
	var resp proto.IntResponse
	return x.op(proto.OpGetAllChildrenNumber, fmt.Sprintf("getAllChildrenNumber %s", s.show(p)),
		&proto.PathRequest{Path: p}, &resp, false, func() string { return fmt.Sprintf("n=%d", resp.N) })
}

// GetEphemerals sends getEphemerals (103) with a prefix, resolved like a path unless it
// starts with "!".
func (x *Session) GetEphemerals(prefix string) Reply {
	s := x.s
	p := s.P(prefix)
	var resp proto.StringsResponse
	return x.op(proto.OpGetEphemerals, fmt.Sprintf("getEphemerals %s", s.show(p)),
		&proto.PathRequest{Path: p}, &resp, false, func() string { return "paths=" + formatNames(resp.Strings, s.show) })
}

// AddWatch sends addWatch (106).
func (x *Session) AddWatch(path string, mode int32) Reply {
	s := x.s
	p := s.P(path)
	m := map[int32]string{proto.AddWatchPersistent: "PERSISTENT", proto.AddWatchPersistentRecursive: "PERSISTENT_RECURSIVE"}[mode]
	if m == "" {
		m = fmt.Sprintf("mode(%d)", mode)
	}
	var resp rawBody
	return x.op(proto.OpAddWatch, fmt.Sprintf("addWatch %s %s", s.show(p), m),
		&proto.AddWatchRequest{Path: p, Mode: mode}, &resp, false, func() string {
			var ir proto.IntResponse
			if err := proto.Unmarshal(resp.b, &ir); err != nil {
				return fmt.Sprintf("body=%dB(not an ErrorResponse)", len(resp.b))
			}
			return fmt.Sprintf("err=%d", ir.N)
		})
}

// RemoveWatches sends removeWatches (18).
func (x *Session) RemoveWatches(path string, t proto.WatcherType) Reply {
	s := x.s
	p := s.P(path)
	var resp rawBody
	return x.op(proto.OpRemoveWatches, fmt.Sprintf("removeWatches %s %s", s.show(p), formatWatcherType(t)),
		&proto.WatchesRequest{Path: p, Type: t}, &resp, false, noBody(&resp))
}

// CheckWatches sends checkWatches (17).
func (x *Session) CheckWatches(path string, t proto.WatcherType) Reply {
	s := x.s
	p := s.P(path)
	var resp rawBody
	return x.op(proto.OpCheckWatches, fmt.Sprintf("checkWatches %s %s", s.show(p), formatWatcherType(t)),
		&proto.WatchesRequest{Path: p, Type: t}, &resp, false, noBody(&resp))
}

// Watches lists paths for SetWatches; each is resolved like a scenario path.
type Watches struct {
	Data, Exist, Child, Persistent, Recursive []string
}

func (s *Script) paths(v []string) []string {
	out := make([]string, 0, len(v))
	for _, p := range v {
		out = append(out, s.P(p))
	}
	return out
}

// SetWatches sends setWatches (101), or setWatches2 (105) when v2 is set, with an
// explicit relative zxid.
func (x *Session) SetWatches(rel int64, w Watches, v2 bool) Reply {
	s := x.s
	req := &proto.SetWatches{RelativeZxid: rel, DataWatches: s.paths(w.Data), ExistWatches: s.paths(w.Exist),
		ChildWatches: s.paths(w.Child), V2: v2}
	op := proto.OpSetWatches
	desc := fmt.Sprintf("setWatches rel=%s data=%s exist=%s child=%s", s.norm.zxid(rel),
		formatNames(req.DataWatches, s.show), formatNames(req.ExistWatches, s.show), formatNames(req.ChildWatches, s.show))
	if v2 {
		op = proto.OpSetWatches2
		req.PersistentWatches, req.PersistentRecursive = s.paths(w.Persistent), s.paths(w.Recursive)
		desc = "setWatches2" + strings.TrimPrefix(desc, "setWatches") + fmt.Sprintf(" persistent=%s recursive=%s",
			formatNames(req.PersistentWatches, s.show), formatNames(req.PersistentRecursive, s.show))
	}
	var resp rawBody
	return x.op(op, desc, req, &resp, false, noBody(&resp))
}

// Auth sends an auth packet (100).
func (x *Session) Auth(scheme, auth string) Reply {
	var resp rawBody
	return x.op(proto.OpAuth, fmt.Sprintf("auth %s %q", scheme, auth),
		&proto.AuthPacket{Scheme: scheme, Auth: []byte(auth)}, &resp, false, noBody(&resp))
}

// WhoAmI sends whoAmI (107).
func (x *Session) WhoAmI() Reply {
	var resp proto.WhoAmIResponse
	return x.op(proto.OpWhoAmI, "whoAmI", nil, &resp, false, func() string {
		if resp.Infos == nil {
			return "ids=null"
		}
		v := make([]string, len(resp.Infos))
		for i, c := range resp.Infos {
			v[i] = c.AuthScheme + ":" + c.User
		}
		return "ids=" + formatNames(v, ident)
	})
}

// CloseSession sends closeSession (-11); the server then closes the connection, which the
// final line of the transcript shows.
func (x *Session) CloseSession() Reply {
	var resp rawBody
	r := x.op(proto.OpCloseSession, "closeSession", nil, &resp, true, noBody(&resp))
	return r
}

// Reconfig sends reconfig (16).
func (x *Session) Reconfig(joining, leaving, members string, configID int64) Reply {
	s := x.s
	var resp proto.GetDataResponse
	return x.op(proto.OpReconfig, fmt.Sprintf("reconfig joining=%q leaving=%q members=%q id=%d", joining, leaving, members, configID),
		&proto.ReconfigRequest{JoiningServers: joining, LeavingServers: leaving, NewMembers: members, CurConfigID: configID},
		&resp, true, func() string { return "data=" + formatData(resp.Data) + " " + s.stat(resp.Stat) })
}

// Raw sends any opcode with a body of raw bytes.
func (x *Session) Raw(op proto.Op, body []byte) Reply {
	var resp rawBody
	return x.op(op, fmt.Sprintf("raw op=%d body=%dB", int32(op), len(body)), &rawBody{b: body}, &resp, false,
		func() string { return fmt.Sprintf("body=%dB", len(resp.b)) })
}

// --- multi ---

// MultiOp helpers build the ops of Multi and MultiRead; paths are scenario paths.
func MCreate(path, d string, acl []proto.ACL, mode proto.CreateMode) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpCreate, Path: path, Data: data(d), ACL: acl, Flags: int32(mode)}
}

// MCreate2 is a create2 inside a multi.
func MCreate2(path, d string, acl []proto.ACL, mode proto.CreateMode) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpCreate2, Path: path, Data: data(d), ACL: acl, Flags: int32(mode)}
}

// MContainer is a createContainer inside a multi.
func MContainer(path, d string, acl []proto.ACL) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpCreateContainer, Path: path, Data: data(d), ACL: acl, Flags: int32(proto.ModeContainer)}
}

// MCreateTTL is a createTTL inside a multi.
func MCreateTTL(path, d string, acl []proto.ACL, mode proto.CreateMode, ttl int64) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpCreateTTL, Path: path, Data: data(d), ACL: acl, Flags: int32(mode), TTL: ttl}
}

// MDelete is a delete inside a multi.
func MDelete(path string, version int32) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpDelete, Path: path, Version: version}
}

// MSet is a setData inside a multi.
func MSet(path, d string, version int32) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpSetData, Path: path, Data: data(d), Version: version}
}

// MCheck is a version check inside a multi.
func MCheck(path string, version int32) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpCheck, Path: path, Version: version}
}

// MGetData is a getData inside a multiRead.
func MGetData(path string) proto.MultiOp { return proto.MultiOp{Type: proto.OpGetData, Path: path} }

// MGetChildren is a getChildren inside a multiRead.
func MGetChildren(path string) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpGetChildren, Path: path}
}

func (s *Script) describeOp(o proto.MultiOp) string {
	switch o.Type {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		d := fmt.Sprintf("%s %s data=%s acl=%s mode=%s", o.Type, s.show(o.Path), formatData(o.Data), formatACL(o.ACL), formatMode(proto.CreateMode(o.Flags)))
		if o.Type == proto.OpCreateTTL {
			d += fmt.Sprintf(" ttl=%d", o.TTL)
		}
		return d
	case proto.OpDelete, proto.OpCheck:
		return fmt.Sprintf("%s %s v=%d", o.Type, s.show(o.Path), o.Version)
	case proto.OpSetData:
		return fmt.Sprintf("%s %s data=%s v=%d", o.Type, s.show(o.Path), formatData(o.Data), o.Version)
	}
	return fmt.Sprintf("%s %s", o.Type, s.show(o.Path))
}

func (x *Session) multi(op proto.Op, ops []proto.MultiOp) Reply {
	s := x.s
	descs := make([]string, len(ops))
	for i := range ops {
		ops[i].Path = s.P(ops[i].Path)
		descs[i] = s.describeOp(ops[i])
	}
	var resp proto.MultiResponse
	return x.op(op, fmt.Sprintf("%s [%s]", op, strings.Join(descs, "; ")), &proto.MultiRequest{Ops: ops}, &resp,
		op == proto.OpMulti, func() string {
			out := fmt.Sprintf("results=%d", len(resp.Results))
			for i, res := range resp.Results {
				line := s.formatResult(res)
				if s.onZooKeeper() && i < len(ops) && ops[i].Type == proto.OpCreate2 && res.Type == proto.OpCreate {
					// ZooKeeper 3.9 answers a create2 inside a multi with a create2 result
					// (type 15, with the Stat); 3.8 turns the op into a create. The 3.9
					// answer is recorded, with the Stat the scenario reads back by an
					// exists after the multi (see resolveCreate2).
					line = "create2 path=" + s.show(res.Path) + " " + create2Mark + res.Path + markEnd
				}
				out += fmt.Sprintf("\n#%d %s", i+1, line)
			}
			return out
		})
}

// create2Mark stands for the Stat of a node created by a create2 inside a multi on
// ZooKeeper 3.8, until resolveCreate2 replaces it.
const create2Mark = "\x01c"

var create2Placeholder = regexp.MustCompile("\x01c([^\x02]*)\x02")

// resolveCreate2 replaces each create2Mark by the Stat of the first later successful
// exists of that node.
func (s *Script) resolveCreate2() {
	for i, l := range s.lines {
		m := create2Placeholder.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		want := ": exists " + s.show(m[1]) + " -> OK stat="
		stat := ""
		for _, later := range s.lines[i+1:] {
			if j := strings.Index(later, want); j >= 0 {
				rest := later[j+len(want):]
				stat = "stat=" + rest[:strings.Index(rest, "}")+1]
				break
			}
		}
		if stat == "" {
			s.t.Errorf("a create2 inside a multi needs an exists of %s after the multi, to record ZooKeeper 3.9's answer", m[1])
		}
		s.lines[i] = strings.Replace(l, m[0], stat, 1)
	}
}

func (s *Script) formatResult(r proto.MultiResult) string {
	switch r.Type {
	case proto.OpError:
		return "error " + r.Err.String()
	case proto.OpCreate:
		return "create path=" + s.show(r.Path)
	case proto.OpCreate2:
		return "create2 path=" + s.show(r.Path) + " " + s.stat(r.Stat)
	case proto.OpSetData:
		return "setData " + s.stat(r.Stat)
	case proto.OpGetData:
		return "getData data=" + formatData(r.Data) + " " + s.stat(r.Stat)
	case proto.OpGetChildren:
		return "getChildren children=" + formatNames(r.Children, ident)
	}
	return r.Type.String()
}

// Multi sends multi (14).
func (x *Session) Multi(ops ...proto.MultiOp) Reply { return x.multi(proto.OpMulti, ops) }

// MultiRead sends multiRead (22).
func (x *Session) MultiRead(ops ...proto.MultiOp) Reply { return x.multi(proto.OpMultiRead, ops) }
