package client

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/paddock/paddock/internal/proto"
)

// AnyVersion matches every version in Delete, SetData, SetACL and CheckOp.
const AnyVersion int32 = -1

// ConfigPath is the node that holds the ensemble's configuration (see GetConfig).
const ConfigPath = "/zookeeper/config"

// Every operation takes a context. When it ends before the reply, the call returns ctx.Err()
// (wrapped), and a request not yet written to the connection is never sent; one already
// written may still be carried out by the server, as with ErrConnectionLoss.
//
// Paths are absolute ("/a/b"), relative to the chroot if there is one, and checked against
// ZooKeeper's path rules before anything is sent (ErrInvalidPath). Errors are *OpError values
// wrapping an *Error (errors.Is(err, client.ErrNoNode)), ErrConnectionLoss (the connection was
// lost after the request was sent: it may or may not have been applied), ErrSessionExpired,
// ErrClosed or the context's error.

// serverPath validates a client path and returns the server's path for it.
func (c *Client) serverPath(p string, sequential bool) (string, error) {
	if err := proto.ValidatePath(p, sequential); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidPath, err)
	}
	if sequential && p == "/" && c.cs.chroot != "" {
		return c.cs.chroot + "/", nil
	}
	return c.cs.serverPath(p), nil
}

func opErr(op, path string, err error) error { return &OpError{Op: op, Path: path, Err: err} }

// Create creates a node with data (nil stores no data) and returns its path: path itself, or
// path with the sequence number appended for a sequential mode. A nil acl means
// WorldACL(PermAll). TTL modes need CreateTTL. Errors: ErrNodeExists, ErrNoNode (no parent),
// ErrNoChildrenForEphemerals, ErrNoAuth, ErrInvalidACL, ErrBadArguments.
func (c *Client) Create(ctx context.Context, path string, data []byte, mode CreateMode, acl []ACL) (string, error) {
	p, _, err := c.create(ctx, "create", path, data, mode, acl, 0, false, false)
	return p, err
}

// Create2 is Create that also returns the new node's Stat (ZooKeeper's create2).
func (c *Client) Create2(ctx context.Context, path string, data []byte, mode CreateMode, acl []ACL) (string, Stat, error) {
	return c.create(ctx, "create2", path, data, mode, acl, 0, false, true)
}

// CreateTTL creates a node of a TTL mode (ModePersistentWithTTL or
// ModePersistentSequentialWithTTL): the server deletes it when it has had no children and no
// setData for ttl (at most about 35 years, in ms). The server needs
// zookeeper.extendedTypesEnabled=true, else ErrUnimplemented.
func (c *Client) CreateTTL(ctx context.Context, path string, data []byte, mode CreateMode, acl []ACL, ttl time.Duration) (string, Stat, error) {
	return c.create(ctx, "createTTL", path, data, mode, acl, ttl, true, true)
}

func (c *Client) create(ctx context.Context, name, path string, data []byte, mode CreateMode, acl []ACL,
	ttl time.Duration, withTTL, withStat bool) (string, Stat, error) {
	if !proto.CreateMode(mode).Valid() {
		return "", Stat{}, opErr(name, path, fmt.Errorf("%w: unknown create mode %d", ErrBadArguments, int32(mode)))
	}
	if mode.ttl() != withTTL {
		if withTTL {
			return "", Stat{}, opErr(name, path, fmt.Errorf("%w: CreateTTL needs a TTL mode, not %v", ErrBadArguments, mode))
		}
		return "", Stat{}, opErr(name, path, fmt.Errorf("%w: mode %v needs CreateTTL", ErrBadArguments, mode))
	}
	sp, err := c.serverPath(path, mode.sequential())
	if err != nil {
		return "", Stat{}, opErr(name, path, err)
	}
	op := proto.OpCreate
	switch {
	case withTTL:
		op = proto.OpCreateTTL
	case mode == ModeContainer:
		op = proto.OpCreateContainer
	case withStat:
		op = proto.OpCreate2
	}
	r := newRequest(op)
	defer r.release()
	if withTTL {
		req := proto.CreateTTLRequest{Path: sp, Data: data, ACL: protoACLs(acl), Flags: int32(mode), TTL: ttl.Milliseconds()}
		req.Encode(&r.enc)
	} else {
		req := proto.CreateRequest{Path: sp, Data: data, ACL: protoACLs(acl), Flags: int32(mode)}
		req.Encode(&r.enc)
	}
	if err := c.do(ctx, r); err != nil {
		return "", Stat{}, opErr(name, path, err)
	}
	if op == proto.OpCreate {
		var resp proto.PathRequest
		if err := r.decode(&resp, c.opts.MaxFrameSize); err != nil {
			return "", Stat{}, opErr(name, path, err)
		}
		return c.cs.clientPath(resp.Path), Stat{}, nil
	}
	var resp proto.Create2Response
	d := r.decoder(c.opts.MaxFrameSize)
	resp.Decode(&d)
	if err := r.decoded(&d); err != nil {
		return "", Stat{}, opErr(name, path, err)
	}
	return c.cs.clientPath(resp.Path), statOf(&resp.Stat), nil
}

// Delete deletes a node if its version matches (AnyVersion matches any). Errors: ErrNoNode,
// ErrBadVersion, ErrNotEmpty, ErrNoAuth, ErrBadArguments (reserved nodes).
func (c *Client) Delete(ctx context.Context, path string, version int32) error {
	sp, err := c.serverPath(path, false)
	if err != nil {
		return opErr("delete", path, err)
	}
	r := newRequest(proto.OpDelete)
	defer r.release()
	req := proto.DeleteRequest{Path: sp, Version: version}
	req.Encode(&r.enc)
	if err := c.do(ctx, r); err != nil {
		return opErr("delete", path, err)
	}
	return nil
}

// Exists reports whether a node exists, and its Stat if it does. A missing node is not an
// error.
func (c *Client) Exists(ctx context.Context, path string) (bool, Stat, error) {
	ok, st, _, err := c.exists(ctx, path, false)
	return ok, st, err
}

// ExistsW is Exists that also sets a one-shot watch, whether the node exists or not: the
// channel receives one event (EventNodeCreated, EventNodeDeleted or EventNodeDataChanged),
// or EventNotWatching if the session ends first, and is then closed.
func (c *Client) ExistsW(ctx context.Context, path string) (bool, Stat, <-chan WatchEvent, error) {
	return c.exists(ctx, path, true)
}

func (c *Client) exists(ctx context.Context, path string, watch bool) (bool, Stat, <-chan WatchEvent, error) {
	sp, err := c.serverPath(path, false)
	if err != nil {
		return false, Stat{}, nil, opErr("exists", path, err)
	}
	r := newRequest(proto.OpExists)
	defer r.release()
	r.enc.String(sp)
	r.enc.Bool(watch)
	var ch chan WatchEvent
	if watch {
		ch = make(chan WatchEvent, 1)
		r.watch = &watchReg{kind: regExists, path: sp, ch: ch}
	}
	switch err := c.do(ctx, r); {
	case err == ErrNoNode:
		return false, Stat{}, ch, nil
	case err != nil:
		return false, Stat{}, nil, opErr("exists", path, err)
	}
	var resp proto.StatResponse
	d := r.decoder(c.opts.MaxFrameSize)
	resp.Decode(&d)
	if err := r.decoded(&d); err != nil {
		return false, Stat{}, nil, opErr("exists", path, err)
	}
	return true, statOf(&resp.Stat), ch, nil
}

// GetData returns a node's data (nil if it was created with nil data) and Stat. The returned
// slice belongs to the caller. Errors: ErrNoNode, ErrNoAuth.
func (c *Client) GetData(ctx context.Context, path string) ([]byte, Stat, error) {
	data, st, _, err := c.getData(ctx, "getData", path, false, false)
	return data, st, err
}

// GetDataW is GetData that also sets a one-shot watch on the node: the channel receives one
// event (EventNodeDataChanged or EventNodeDeleted), or EventNotWatching if the session ends
// first, and is then closed. No watch is set when the node does not exist (ErrNoNode).
func (c *Client) GetDataW(ctx context.Context, path string) ([]byte, Stat, <-chan WatchEvent, error) {
	return c.getData(ctx, "getData", path, true, false)
}

// GetConfig returns the ensemble's configuration, the data of /zookeeper/config (whatever the
// chroot): "server.N=..." lines and "version=<hex>". Its Stat's Mzxid is the version.
func (c *Client) GetConfig(ctx context.Context) ([]byte, Stat, error) {
	data, st, _, err := c.getData(ctx, "getConfig", ConfigPath, false, true)
	return data, st, err
}

// GetConfigW is GetConfig with a one-shot watch on the configuration, as GetDataW.
func (c *Client) GetConfigW(ctx context.Context) ([]byte, Stat, <-chan WatchEvent, error) {
	return c.getData(ctx, "getConfig", ConfigPath, true, true)
}

func (c *Client) getData(ctx context.Context, name, path string, watch, raw bool) ([]byte, Stat, <-chan WatchEvent, error) {
	sp := path
	if !raw {
		var err error
		if sp, err = c.serverPath(path, false); err != nil {
			return nil, Stat{}, nil, opErr(name, path, err)
		}
	}
	r := newRequest(proto.OpGetData)
	defer r.release()
	r.enc.String(sp)
	r.enc.Bool(watch)
	var ch chan WatchEvent
	if watch {
		ch = make(chan WatchEvent, 1)
		r.watch = &watchReg{kind: regData, path: sp, ch: ch}
	}
	if err := c.do(ctx, r); err != nil {
		return nil, Stat{}, nil, opErr(name, path, err)
	}
	var resp proto.GetDataResponse
	d := r.decoder(c.opts.MaxFrameSize)
	resp.Decode(&d)
	if err := r.decoded(&d); err != nil {
		return nil, Stat{}, nil, opErr(name, path, err)
	}
	return bytes.Clone(resp.Data), statOf(&resp.Stat), ch, nil
}

// SetData replaces a node's data if its version matches (AnyVersion matches any) and returns
// the new Stat. Errors: ErrNoNode, ErrBadVersion, ErrNoAuth.
func (c *Client) SetData(ctx context.Context, path string, data []byte, version int32) (Stat, error) {
	sp, err := c.serverPath(path, false)
	if err != nil {
		return Stat{}, opErr("setData", path, err)
	}
	r := newRequest(proto.OpSetData)
	defer r.release()
	req := proto.SetDataRequest{Path: sp, Data: data, Version: version}
	req.Encode(&r.enc)
	return c.statReply(ctx, r, "setData", path)
}

// statReply sends r and decodes a reply that is a Stat.
func (c *Client) statReply(ctx context.Context, r *request, name, path string) (Stat, error) {
	if err := c.do(ctx, r); err != nil {
		return Stat{}, opErr(name, path, err)
	}
	var resp proto.StatResponse
	d := r.decoder(c.opts.MaxFrameSize)
	resp.Decode(&d)
	if err := r.decoded(&d); err != nil {
		return Stat{}, opErr(name, path, err)
	}
	return statOf(&resp.Stat), nil
}

// GetACL returns a node's ACL and Stat. Without ADMIN permission on the node the server masks
// digest ids. Errors: ErrNoNode, ErrNoAuth.
func (c *Client) GetACL(ctx context.Context, path string) ([]ACL, Stat, error) {
	sp, err := c.serverPath(path, false)
	if err != nil {
		return nil, Stat{}, opErr("getACL", path, err)
	}
	r := newRequest(proto.OpGetACL)
	defer r.release()
	r.enc.String(sp)
	if err := c.do(ctx, r); err != nil {
		return nil, Stat{}, opErr("getACL", path, err)
	}
	var resp proto.GetACLResponse
	if err := r.decode(&resp, c.opts.MaxFrameSize); err != nil {
		return nil, Stat{}, opErr("getACL", path, err)
	}
	return clientACLs(resp.ACL), statOf(&resp.Stat), nil
}

// SetACL replaces a node's ACL if its ACL version (Stat.Aversion) matches (AnyVersion
// matches any) and returns the new Stat. A nil acl means WorldACL(PermAll). Errors:
// ErrNoNode, ErrBadVersion, ErrNoAuth (ADMIN is needed), ErrInvalidACL.
func (c *Client) SetACL(ctx context.Context, path string, acl []ACL, version int32) (Stat, error) {
	sp, err := c.serverPath(path, false)
	if err != nil {
		return Stat{}, opErr("setACL", path, err)
	}
	r := newRequest(proto.OpSetACL)
	defer r.release()
	req := proto.SetACLRequest{Path: sp, ACL: protoACLs(acl), Version: version}
	req.Encode(&r.enc)
	return c.statReply(ctx, r, "setACL", path)
}

// GetChildren returns the names of a node's children, in no particular order (ZooKeeper's
// getChildren). Errors: ErrNoNode, ErrNoAuth.
func (c *Client) GetChildren(ctx context.Context, path string) ([]string, error) {
	ch, _, _, err := c.children(ctx, proto.OpGetChildren, path, false)
	return ch, err
}

// GetChildrenW is GetChildren that also sets a one-shot watch on the node's children: the
// channel receives one event (EventNodeChildrenChanged or EventNodeDeleted), or
// EventNotWatching if the session ends first, and is then closed. No watch is set when the
// node does not exist.
func (c *Client) GetChildrenW(ctx context.Context, path string) ([]string, <-chan WatchEvent, error) {
	ch, _, w, err := c.children(ctx, proto.OpGetChildren, path, true)
	return ch, w, err
}

// GetChildren2 is GetChildren that also returns the node's Stat (ZooKeeper's getChildren2).
func (c *Client) GetChildren2(ctx context.Context, path string) ([]string, Stat, error) {
	ch, st, _, err := c.children(ctx, proto.OpGetChildren2, path, false)
	return ch, st, err
}

// GetChildren2W is GetChildren2 with a one-shot watch, as GetChildrenW.
func (c *Client) GetChildren2W(ctx context.Context, path string) ([]string, Stat, <-chan WatchEvent, error) {
	return c.children(ctx, proto.OpGetChildren2, path, true)
}

func (c *Client) children(ctx context.Context, op proto.Op, path string, watch bool) ([]string, Stat, <-chan WatchEvent, error) {
	name := op.String()
	sp, err := c.serverPath(path, false)
	if err != nil {
		return nil, Stat{}, nil, opErr(name, path, err)
	}
	r := newRequest(op)
	defer r.release()
	r.enc.String(sp)
	r.enc.Bool(watch)
	var ch chan WatchEvent
	if watch {
		ch = make(chan WatchEvent, 1)
		r.watch = &watchReg{kind: regChild, path: sp, ch: ch}
	}
	if err := c.do(ctx, r); err != nil {
		return nil, Stat{}, nil, opErr(name, path, err)
	}
	resp := proto.ChildrenResponse{HasStat: op == proto.OpGetChildren2}
	if err := r.decode(&resp, c.opts.MaxFrameSize); err != nil {
		return nil, Stat{}, nil, opErr(name, path, err)
	}
	if resp.Children == nil {
		resp.Children = []string{}
	}
	return resp.Children, statOf(&resp.Stat), ch, nil
}

// Sync waits until the server the client is connected to has caught up with the leader as
// of the moment the sync reached the leader, so that a read issued after Sync returns sees
// every write that completed before Sync was called (anywhere in the ensemble).
func (c *Client) Sync(ctx context.Context, path string) error {
	sp, err := c.serverPath(path, false)
	if err != nil {
		return opErr("sync", path, err)
	}
	r := newRequest(proto.OpSync)
	defer r.release()
	r.enc.String(sp)
	if err := c.do(ctx, r); err != nil {
		return opErr("sync", path, err)
	}
	return nil
}

// GetEphemerals returns the paths of the session's own ephemeral nodes whose path begins with
// prefix (a plain string prefix: "/a/b" matches "/a/bc"); "/" gives them all. Needs ZooKeeper
// 3.6+.
func (c *Client) GetEphemerals(ctx context.Context, prefix string) ([]string, error) {
	sp, err := c.serverPath(prefix, false)
	if err != nil {
		return nil, opErr("getEphemerals", prefix, err)
	}
	r := newRequest(proto.OpGetEphemerals)
	defer r.release()
	r.enc.String(sp)
	if err := c.do(ctx, r); err != nil {
		return nil, opErr("getEphemerals", prefix, err)
	}
	var resp proto.StringsResponse
	if err := r.decode(&resp, c.opts.MaxFrameSize); err != nil {
		return nil, opErr("getEphemerals", prefix, err)
	}
	out := make([]string, 0, len(resp.Strings))
	for _, p := range resp.Strings {
		if c.cs.inChroot(p) {
			out = append(out, c.cs.clientPath(p))
		}
	}
	return out, nil
}

// GetAllChildrenNumber returns the number of descendants of a node (children, their children,
// ...), not counting the node itself. Needs ZooKeeper 3.6+. Errors: ErrNoNode, ErrNoAuth.
func (c *Client) GetAllChildrenNumber(ctx context.Context, path string) (int, error) {
	sp, err := c.serverPath(path, false)
	if err != nil {
		return 0, opErr("getAllChildrenNumber", path, err)
	}
	r := newRequest(proto.OpGetAllChildrenNumber)
	defer r.release()
	r.enc.String(sp)
	if err := c.do(ctx, r); err != nil {
		return 0, opErr("getAllChildrenNumber", path, err)
	}
	var resp proto.IntResponse
	if err := r.decode(&resp, c.opts.MaxFrameSize); err != nil {
		return 0, opErr("getAllChildrenNumber", path, err)
	}
	return int(resp.N), nil
}

// WhoAmI returns the identities the server knows the session by (its address under "ip",
// the users it authenticated, ...). Needs ZooKeeper 3.7+.
func (c *Client) WhoAmI(ctx context.Context) ([]ClientInfo, error) {
	r := newRequest(proto.OpWhoAmI)
	defer r.release()
	if err := c.do(ctx, r); err != nil {
		return nil, opErr("whoAmI", "", err)
	}
	var resp proto.WhoAmIResponse
	if err := r.decode(&resp, c.opts.MaxFrameSize); err != nil {
		return nil, opErr("whoAmI", "", err)
	}
	out := make([]ClientInfo, len(resp.Infos))
	for i, in := range resp.Infos {
		out[i] = ClientInfo{AuthScheme: in.AuthScheme, User: in.User}
	}
	return out, nil
}

// AddAuth authenticates the session with a scheme's credentials, for example
// AddAuth(ctx, "digest", []byte("user:password")). The client remembers a credential the
// server accepted and sends it again, before anything else, on every new connection. A refused
// credential fails with ErrAuthFailed, is reported as a StateAuthFailed event, and costs the
// connection (the server closes it; the client reconnects without it).
func (c *Client) AddAuth(ctx context.Context, scheme string, auth []byte) error {
	r := newAuthRequest(&credential{Scheme: scheme, Auth: bytes.Clone(auth)})
	defer r.release()
	if err := c.do(ctx, r); err != nil {
		return opErr("auth", "", err)
	}
	return nil
}

func newAuthRequest(cr *credential) *request {
	r := newRequest(proto.OpAuth)
	req := proto.AuthPacket{Type: 0, Scheme: cr.Scheme, Auth: cr.Auth}
	req.Encode(&r.enc)
	r.cred = cr
	return r
}

// AddWatch sets a persistent watch on path (which need not exist), for this session until it
// is removed (ZooKeeper 3.6+). No ACL is checked when it is set; from ZooKeeper 3.8.4/3.9.2
// (and in paddock) events are delivered only for nodes the session may read.
func (c *Client) AddWatch(ctx context.Context, path string, mode AddWatchMode) (*Watcher, error) {
	sp, err := c.serverPath(path, false)
	if err != nil {
		return nil, opErr("addWatch", path, err)
	}
	if mode != AddWatchPersistent && mode != AddWatchPersistentRecursive {
		return nil, opErr("addWatch", path, fmt.Errorf("%w: unknown addWatch mode %d", ErrBadArguments, int32(mode)))
	}
	w := &Watcher{c: c, path: path, spath: sp, mode: mode, ch: make(chan WatchEvent, watcherBuffer)}
	r := newRequest(proto.OpAddWatch)
	defer r.release()
	req := proto.AddWatchRequest{Path: sp, Mode: int32(mode)}
	req.Encode(&r.enc)
	r.watch = &watchReg{kind: regAdd, path: sp, w: w}
	if err := c.do(ctx, r); err != nil {
		// The reply may still come and register w: end it first, so that it is ignored.
		w.finish(WatchEvent{Type: EventNotWatching, Path: path, Zxid: -1, Err: err})
		return nil, opErr("addWatch", path, err)
	}
	return w, nil
}

// RemoveWatches removes the session's watches of type t on path, on the server and in the
// client: their channels receive EventDataWatchRemoved, EventChildWatchRemoved or
// EventPersistentWatchRemoved. WatcherAny removes them all, persistent ones included;
// WatcherPersistent and WatcherPersistentRecursive need ZooKeeper 3.9+. Errors: ErrNoWatcher
// when the server holds no such watch.
func (c *Client) RemoveWatches(ctx context.Context, path string, t WatcherType) error {
	sp, err := c.serverPath(path, false)
	if err != nil {
		return opErr("removeWatches", path, err)
	}
	return c.removeWatches(ctx, path, sp, t, true)
}

func (c *Client) removeWatches(ctx context.Context, path, sp string, t WatcherType, local bool) error {
	r := newRequest(proto.OpRemoveWatches)
	defer r.release()
	req := proto.WatchesRequest{Path: sp, Type: proto.WatcherType(t)}
	req.Encode(&r.enc)
	if local {
		r.watch = &watchReg{kind: regRemove, path: sp, wtype: t}
	}
	if err := c.do(ctx, r); err != nil {
		return opErr("removeWatches", path, err)
	}
	return nil
}

// CheckWatches asks the server whether the session holds a watch of type t on path: nil if
// it does, ErrNoWatcher if not.
func (c *Client) CheckWatches(ctx context.Context, path string, t WatcherType) error {
	sp, err := c.serverPath(path, false)
	if err != nil {
		return opErr("checkWatches", path, err)
	}
	r := newRequest(proto.OpCheckWatches)
	defer r.release()
	req := proto.WatchesRequest{Path: sp, Type: proto.WatcherType(t)}
	req.Encode(&r.enc)
	if err := c.do(ctx, r); err != nil {
		return opErr("checkWatches", path, err)
	}
	return nil
}

// Reconfig changes the ensemble's membership (ZooKeeper's reconfig; the server needs
// reconfigEnabled=true, and the session WRITE on /zookeeper/config, in practice the super
// user). Either joining and leaving (incremental: "server.N=host:peer:election[:role];client"
// lines to add, ids to remove), or members (the whole new membership) is given; nil means
// absent. fromConfig is the configuration version it applies to, or -1 for any. It returns
// the new configuration, as GetConfig would. Errors: ErrReconfigDisabled, ErrUnimplemented
// (standalone), ErrBadVersion, ErrNewConfigNoQuorum, ErrReconfigInProgress, ErrBadArguments,
// ErrNoAuth.
func (c *Client) Reconfig(ctx context.Context, joining, leaving, members []string, fromConfig int64) ([]byte, Stat, error) {
	req := proto.ReconfigRequest{CurConfigID: fromConfig}
	req.JoiningServers, req.JoiningNull = joinList(joining)
	req.LeavingServers, req.LeavingNull = joinList(leaving)
	req.NewMembers, req.NewMembersNull = joinList(members)
	r := newRequest(proto.OpReconfig)
	defer r.release()
	req.Encode(&r.enc)
	if err := c.do(ctx, r); err != nil {
		return nil, Stat{}, opErr("reconfig", "", err)
	}
	var resp proto.GetDataResponse
	if err := r.decode(&resp, c.opts.MaxFrameSize); err != nil {
		return nil, Stat{}, opErr("reconfig", "", err)
	}
	return bytes.Clone(resp.Data), statOf(&resp.Stat), nil
}

func joinList(l []string) (string, bool) {
	if l == nil {
		return "", true
	}
	return strings.Join(l, ","), false
}
