package tree

import (
	"slices"
	"strings"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/proto"
)

// Read answers a read request against the current state, as FinalRequestProcessor does. It
// does not modify the tree, so reads may run concurrently with each other (not with Apply).
//
//	op                     req                      reply
//	exists                 *proto.PathWatchRequest  *proto.StatResponse
//	getData                *proto.PathWatchRequest  *proto.GetDataResponse
//	getChildren(2)         *proto.PathWatchRequest  *proto.ChildrenResponse (HasStat for 2)
//	getACL                 *proto.PathRequest       *proto.GetACLResponse
//	getAllChildrenNumber   *proto.PathRequest       *proto.IntResponse
//	getEphemerals          *proto.PathRequest       *proto.StringsResponse (prefix in Path)
//	multiRead              *proto.MultiRequest      *proto.MultiResponse
//
// A missing node gives CodeNoNode before any ACL check, then READ is checked (CodeNoAuth);
// exists checks READ only when the node exists and rejects a path containing '\0' with
// CodeBadArguments; getACL needs READ or ADMIN and masks digest ids without ADMIN. Paths are
// not otherwise validated: a non-canonical path simply names nothing. Children come back
// sorted. The watch flags are ignored (watches are the server's business). An unknown op
// gives CodeUnimplemented, a req of the wrong type CodeMarshallingError.
//
// The reply's Data and ACL slices are shared with the tree, which never modifies them in
// place; callers must not modify them either. The reply is nil when the code is not OK.
func (t *Tree) Read(op proto.Op, req proto.Record, sessionID int64, auth []proto.ID) (proto.Code, proto.Record) {
	switch op {
	case proto.OpExists, proto.OpGetData, proto.OpGetChildren, proto.OpGetChildren2:
		r, ok := req.(*proto.PathWatchRequest)
		if !ok {
			return proto.CodeMarshallingError, nil
		}
		return t.readPath(op, r.Path, sessionID, auth)
	case proto.OpGetACL, proto.OpGetAllChildrenNumber, proto.OpGetEphemerals:
		r, ok := req.(*proto.PathRequest)
		if !ok {
			return proto.CodeMarshallingError, nil
		}
		return t.readPath(op, r.Path, sessionID, auth)
	case proto.OpMultiRead:
		r, ok := req.(*proto.MultiRequest)
		if !ok {
			return proto.CodeMarshallingError, nil
		}
		return t.multiRead(r.Ops, auth)
	}
	return proto.CodeUnimplemented, nil
}

func (t *Tree) readPath(op proto.Op, path string, sessionID int64, auth []proto.ID) (proto.Code, proto.Record) {
	if op == proto.OpGetEphemerals {
		return proto.CodeOK, &proto.StringsResponse{Strings: t.ephemeralsWithPrefix(sessionID, path)}
	}
	if op == proto.OpExists && hasNul(path) {
		return proto.CodeBadArguments, nil
	}
	n := t.find(path)
	if n == nil {
		return proto.CodeNoNode, nil
	}
	switch op {
	case proto.OpGetACL:
		if !t.allowed(n, auth, proto.PermRead|proto.PermAdmin) {
			return proto.CodeNoAuth, nil
		}
		list := n.acl.list
		if !t.allowed(n, auth, proto.PermAdmin) {
			list = acl.Mask(list)
		}
		if list == nil {
			list = []proto.ACL{}
		}
		return proto.CodeOK, &proto.GetACLResponse{ACL: list, Stat: n.getStat()}
	}
	if !t.allowed(n, auth, proto.PermRead) {
		return proto.CodeNoAuth, nil
	}
	switch op {
	case proto.OpExists:
		return proto.CodeOK, &proto.StatResponse{Stat: n.getStat()}
	case proto.OpGetData:
		return proto.CodeOK, &proto.GetDataResponse{Data: n.data(), Stat: n.getStat()}
	case proto.OpGetChildren:
		return proto.CodeOK, &proto.ChildrenResponse{Children: n.childNames()}
	case proto.OpGetChildren2:
		return proto.CodeOK, &proto.ChildrenResponse{Children: n.childNames(), Stat: n.getStat(), HasStat: true}
	case proto.OpGetAllChildrenNumber:
		return proto.CodeOK, &proto.IntResponse{N: int32(t.allChildrenNumber(path, n))}
	}
	return proto.CodeUnimplemented, nil
}

// childNames returns a new, non-nil slice (an empty list encodes as a 0-length vector).
func (n *node) childNames() []string {
	out := make([]string, 0, n.children.len())
	for c := range n.children.all() {
		out = append(out, c.name())
	}
	return out
}

// allChildrenNumber counts the keys of ZooKeeper's path map that start with path+"/": the
// descendants of the node, except that "/" gives nodes−2 and "" (the root's alias) counts
// "/" too.
func (t *Tree) allChildrenNumber(path string, n *node) int {
	switch path {
	case "/":
		return t.nodeCount - 1
	case "":
		return t.nodeCount
	}
	count := 0
	stack := []*node{n}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		count += x.children.len()
		for c := range x.children.all() {
			if c.children.len() > 0 {
				stack = append(stack, c)
			}
		}
	}
	return count
}

// ephemeralsWithPrefix is getEphemerals: the session's ephemeral paths that start with
// prefix (all of them for a blank prefix or "/"), sorted.
func (t *Tree) ephemeralsWithPrefix(id int64, prefix string) []string {
	out := []string{}
	s, ok := t.sessions[id]
	if !ok {
		return out
	}
	p := strings.TrimFunc(prefix, func(r rune) bool { return r <= ' ' })
	all := p == "" || p == "/"
	for e := range s.eph {
		if all || strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

// multiRead answers each op independently; a failed op gives an error result.
func (t *Tree) multiRead(ops []proto.MultiOp, auth []proto.ID) (proto.Code, proto.Record) {
	for i := range ops {
		if ops[i].Type != proto.OpGetData && ops[i].Type != proto.OpGetChildren {
			return proto.CodeMarshallingError, nil
		}
	}
	resp := &proto.MultiResponse{Results: make([]proto.MultiResult, len(ops))}
	for i := range ops {
		res := &resp.Results[i]
		code, rec := t.readPath(ops[i].Type, ops[i].Path, 0, auth)
		switch {
		case code != proto.CodeOK:
			*res = proto.MultiResult{Type: proto.OpError, Err: code}
		case ops[i].Type == proto.OpGetData:
			r := rec.(*proto.GetDataResponse)
			*res = proto.MultiResult{Type: proto.OpGetData, Data: r.Data, Stat: r.Stat}
		default:
			*res = proto.MultiResult{Type: proto.OpGetChildren, Children: rec.(*proto.ChildrenResponse).Children}
		}
	}
	return proto.CodeOK, resp
}
