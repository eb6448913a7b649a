package zkcli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paddock/paddock/client"
)

// maxTTL is EphemeralType.TTL's largest TTL in ms.
const maxTTL = 1<<40 - 1

func runLs(x *inv) error {
	path := x.arg(1)
	watch, withStat := x.p.has("w"), x.p.has("s")
	if err := validatePath(path, false); err != nil {
		return err
	}
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	if x.p.has("R") {
		var paths []string
		err := visitDFS(x, c, path, watch, func(p string) error {
			x.out(p + "\n")
			paths = append(paths, p)
			return nil
		})
		x.res.set("paths", nonNil(paths))
		return err
	}
	var children []string
	var st client.Stat
	var ch <-chan client.WatchEvent
	switch {
	case withStat && watch:
		children, st, ch, err = c.GetChildren2W(x.ctx, path)
	case withStat:
		children, st, err = c.GetChildren2(x.ctx, path)
	case watch:
		children, ch, err = c.GetChildrenW(x.ctx, path)
	default:
		children, err = c.GetChildren(x.ctx, path)
	}
	if err != nil {
		return x.wrap(err, path)
	}
	x.sh.watches.addOneShot(wChild, path, ch)
	sortJava(children)
	x.out(javaList(children) + "\n")
	x.res.set("children", nonNil(children))
	if withStat {
		x.stat(st)
	}
	return nil
}

// getData reads path, leaving a one-shot data watch on it when watch is set.
func getData(x *inv, c *client.Client, path string, watch bool) ([]byte, client.Stat, error) {
	if !watch {
		return c.GetData(x.ctx, path)
	}
	data, st, ch, err := c.GetDataW(x.ctx, path)
	if err == nil {
		x.sh.watches.addOneShot(wData, path, ch)
	}
	return data, st, err
}

// visitDFS is ZKUtil.visitSubTreeDFS: the node (read with getData, watched with watch),
// then for each node its children in order, then each child's subtree. A node deleted
// meanwhile is skipped.
func visitDFS(x *inv, c *client.Client, path string, watch bool, visit func(string) error) error {
	if err := validatePath(path, false); err != nil {
		return err
	}
	if _, _, err := getData(x, c, path, watch); err != nil {
		return x.wrap(err, path)
	}
	if err := visit(path); err != nil {
		return err
	}
	return visitChildren(x, c, path, watch, visit)
}

func visitChildren(x *inv, c *client.Client, path string, watch bool, visit func(string) error) error {
	x.progress()
	var children []string
	var err error
	if watch {
		var ch <-chan client.WatchEvent
		children, ch, err = c.GetChildrenW(x.ctx, path)
		if err == nil {
			x.sh.watches.addOneShot(wChild, path, ch)
		}
	} else {
		children, err = c.GetChildren(x.ctx, path)
	}
	if errors.Is(err, client.ErrNoNode) {
		return nil
	}
	if err != nil {
		return x.wrap(err, path)
	}
	sortJava(children)
	prefix := path + "/"
	if path == "/" {
		prefix = "/"
	}
	for _, name := range children {
		if err := visit(prefix + name); err != nil {
			return err
		}
	}
	for _, name := range children {
		if err := visitChildren(x, c, prefix+name, watch, visit); err != nil {
			return err
		}
	}
	return nil
}

func runCreate(x *inv) error {
	hasE, hasS, hasC, hasT := x.p.has("e"), x.p.has("s"), x.p.has("c"), x.p.has("t")
	if hasC && (hasE || hasS) {
		return usageErr("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.")
	}
	var ttl int64
	if hasT {
		var ok bool
		if ttl, ok = parseJavaLong(x.p.value("t"), 10); !ok {
			return usageErr("-t argument must be a long value")
		}
	}
	if hasT && hasE {
		return usageErr("TTLs cannot be used with Ephemeral znodes")
	}
	if hasT && hasC {
		return usageErr("TTLs cannot be used with Container znodes")
	}
	var mode client.CreateMode
	switch {
	case hasE && hasS:
		mode = client.ModeEphemeralSequential
	case hasE:
		mode = client.ModeEphemeral
	case hasS && hasT:
		mode = client.ModePersistentSequentialWithTTL
	case hasS:
		mode = client.ModePersistentSequential
	case hasC:
		mode = client.ModeContainer
	case hasT:
		mode = client.ModePersistentWithTTL
	default:
		mode = client.ModePersistent
	}
	if hasT && (ttl <= 0 || ttl > maxTTL) {
		return usageErr(fmt.Sprintf("ttl must be positive and cannot be larger than: %d", int64(maxTTL)))
	}
	path := x.arg(1)
	var data []byte
	if len(x.p.args) > 2 {
		data = []byte(x.arg(2))
	}
	var acl []client.ACL
	if len(x.p.args) > 3 {
		acl = parseACL(x, x.arg(3))
	}
	if err := validatePath(path, hasS); err != nil {
		return err
	}
	if len(x.p.args) > 3 && len(acl) == 0 {
		x.warn(keeperErrorCode(client.CodeOf(client.ErrInvalidACL), "") + "\n")
		return wrapErr(client.ErrInvalidACL, "")
	}
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	var created string
	if hasT {
		created, _, err = c.CreateTTL(x.ctx, path, data, mode, acl, time.Duration(ttl)*time.Millisecond)
	} else {
		created, err = c.Create(x.ctx, path, data, mode, acl)
	}
	switch {
	case errors.Is(err, client.ErrEphemeralOnLocalSession):
		x.warn("Unable to create ephemeral node on a local session\n")
	case errors.Is(err, client.ErrInvalidACL):
		x.warn(keeperErrorCode(client.CodeOf(err), path) + "\n")
	}
	if err != nil {
		return x.wrap(err, path)
	}
	x.errOut("Created " + created + "\n")
	x.res.set("path", created)
	return nil
}

func runGet(x *inv) error {
	path := x.arg(1)
	watch := x.p.has("w")
	if err := validatePath(path, false); err != nil {
		return err
	}
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	data, st, err := getData(x, c, path, watch)
	if err != nil {
		return x.wrap(err, path)
	}
	text := []byte("null")
	if data != nil {
		text = data
	}
	switch {
	case x.p.has("x"): // ZooKeeper 3.9
		x.out(hexDump(text) + "\n")
	case x.p.has("b"): // ZooKeeper 3.9
		x.out(base64.StdEncoding.EncodeToString(text) + "\n")
	default:
		x.out(javaString(text) + "\n")
	}
	x.res.setData(data)
	if x.p.has("s") {
		x.stat(st)
	}
	return nil
}

// javaString is Java's new String(b, UTF_8): each byte of an invalid sequence becomes U+FFFD.
func javaString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var s strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		s.WriteRune(r)
		b = b[n:]
	}
	return s.String()
}

// hexDump is netty's ByteBufUtil.prettyHexDump, which ZooKeeper 3.9's get -x prints.
func hexDump(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var s strings.Builder
	s.WriteString("         +-------------------------------------------------+\n")
	s.WriteString("         |  0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f |\n")
	s.WriteString("+--------+-------------------------------------------------+----------------+")
	for off := 0; off < len(b); off += 16 {
		row := b[off:min(off+16, len(b))]
		fmt.Fprintf(&s, "\n|%08x|", off)
		for i := range 16 {
			if i < len(row) {
				fmt.Fprintf(&s, " %02x", row[i])
			} else {
				s.WriteString("   ")
			}
		}
		s.WriteString(" |")
		for i := range 16 {
			switch {
			case i >= len(row):
				s.WriteByte(' ')
			case row[i] <= 0x1f || row[i] >= 0x7f:
				s.WriteByte('.')
			default:
				s.WriteByte(row[i])
			}
		}
		s.WriteByte('|')
	}
	s.WriteString("\n+--------+-------------------------------------------------+----------------+")
	return s.String()
}

// versionOpt is the value of -v: an int, or AnyVersion when absent. zkCli dies of a
// NumberFormatException on a bad one; this says so instead.
func versionOpt(x *inv) (int32, error) {
	if !x.p.has("v") {
		return client.AnyVersion, nil
	}
	v, ok := parseJavaInt(x.p.value("v"))
	if !ok {
		return 0, usageErr("-v argument must be an int value")
	}
	return v, nil
}

func runSet(x *inv) error {
	path := x.arg(1)
	data := []byte(x.arg(2))
	if x.p.has("b") { // ZooKeeper 3.9
		var err error
		if data, err = base64.StdEncoding.DecodeString(x.arg(2)); err != nil {
			return usageErr("Illegal base64 data: " + err.Error())
		}
	}
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
	st, err := c.SetData(x.ctx, path, data, version)
	if err != nil {
		return x.wrap(err, path)
	}
	if x.p.has("s") {
		x.stat(st)
	}
	return nil
}

func runDelete(x *inv) error {
	path := x.arg(1)
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
	if err := c.Delete(x.ctx, path, version); err != nil {
		return x.wrap(err, path)
	}
	return nil
}

// errDeleteAll is deleteall's report of a failed batch. zkCli prints it and exits 0; here
// it is an error.
var errDeleteAll = &cliError{msg: "Failed to delete some node(s) in the subtree!", exit: exitError}

func runDeleteAll(x *inv) error {
	batch := 1000
	if x.p.has("b") {
		v, ok := parseJavaInt(x.p.value("b"))
		if !ok {
			return usageErr("-b argument must be an int value")
		}
		batch = int(v)
	}
	path := x.arg(1)
	if err := validatePath(path, false); err != nil {
		return err
	}
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	// ZKUtil.listSubTreeBFS, then deletes from the deepest, batch nodes per multi.
	tree := []string{path}
	for i := 0; i < len(tree); i++ {
		x.progress()
		children, err := c.GetChildren(x.ctx, tree[i])
		if err != nil {
			return x.wrap(err, tree[i])
		}
		for _, ch := range children {
			if tree[i] == "/" {
				tree = append(tree, "/"+ch)
			} else {
				tree = append(tree, tree[i]+"/"+ch)
			}
		}
	}
	var ops []client.Op
	for i := len(tree) - 1; i >= 0; i-- {
		ops = append(ops, client.DeleteOp(tree[i], client.AnyVersion))
		if len(ops) == batch || i == 0 {
			x.progress()
			if _, err := c.Multi(x.ctx, ops...); err != nil {
				var me *client.MultiError
				if !errors.As(err, &me) {
					return x.wrap(err, path)
				}
				return errDeleteAll
			}
			ops = nil
		}
	}
	return nil
}

func runStat(x *inv) error {
	path := x.arg(1)
	if err := validatePath(path, false); err != nil {
		return err
	}
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	var ok bool
	var st client.Stat
	if x.p.has("w") {
		var ch <-chan client.WatchEvent
		ok, st, ch, err = c.ExistsW(x.ctx, path)
		if err == nil {
			x.sh.watches.addOneShot(wData, path, ch)
		}
	} else {
		ok, st, err = c.Exists(x.ctx, path)
	}
	if err != nil {
		return x.wrap(err, path)
	}
	if !ok {
		return wrapErr(client.ErrNoNode, path)
	}
	x.stat(st)
	return nil
}

func runSync(x *inv) error {
	path := x.arg(1)
	if err := validatePath(path, false); err != nil {
		return err
	}
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	if err := c.Sync(x.ctx, path); err != nil {
		ce := wrapErr(err, path).(*cliError)
		if ce.code == 0 || errors.Is(context.Cause(x.ctx), errInterrupted) {
			return x.wrap(err, path)
		}
		// zkCli prints this on stdout and exits 0; here it is an error.
		return &cliError{msg: "Sync has failed. rc=" + strconv.Itoa(int(ce.code)), exit: exitError, code: ce.code}
	}
	x.out("Sync is OK\n")
	return nil
}

func runGetEphemerals(x *inv) error {
	path := "/"
	if len(x.p.args) >= 2 {
		path = x.arg(1)
	}
	if err := validatePath(path, false); err != nil {
		return err
	}
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	paths, err := c.GetEphemerals(x.ctx, path)
	if err != nil {
		return x.wrap(err, path)
	}
	x.out(javaList(paths) + "\n")
	sorted := append([]string{}, paths...)
	sortJava(sorted)
	x.res.set("paths", sorted)
	return nil
}

func runGetAllChildrenNumber(x *inv) error {
	path := x.arg(1)
	if err := validatePath(path, false); err != nil {
		return err
	}
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	n, err := c.GetAllChildrenNumber(x.ctx, path)
	if err != nil {
		return x.wrap(err, path)
	}
	x.out(strconv.Itoa(n) + "\n")
	x.res.set("count", n)
	return nil
}

func runVersion(x *inv) error {
	x.out("ZooKeeper CLI version: " + x.sh.opts.Version + "\n")
	x.res.set("version", x.sh.opts.Version)
	return nil
}

func runClose(x *inv) error {
	if x.sh.sess.close() {
		x.sh.printState(client.StateClosed)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
