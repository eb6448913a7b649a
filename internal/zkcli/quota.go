package zkcli

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/paddock/paddock/client"
)

// ZooKeeper's quota nodes (Quotas): /zookeeper/quota/<path>/zookeeper_limits holds the
// limits and .../zookeeper_stats the usage the server tracks, both as StatsTrack strings.
const (
	procZookeeper  = "/zookeeper"
	quotaZookeeper = "/zookeeper/quota"
	limitNode      = "zookeeper_limits"
	statNode       = "zookeeper_stats"
)

func quotaPath(p string) string { return quotaZookeeper + p }
func limitPath(p string) string { return quotaZookeeper + p + "/" + limitNode }
func statPath(p string) string  { return quotaZookeeper + p + "/" + statNode }

// statsTrack is ZooKeeper's StatsTrack: "count=1,bytes=-1" and, after an extra "=", the
// other keys sorted ("count=1,bytes=-1=;byteHardLimit=-1;countHardLimit=-1").
type statsTrack map[string]int64

func parseStatsTrack(b []byte) statsTrack {
	st := statsTrack{}
	for _, kv := range strings.FieldsFunc(string(b), func(r rune) bool { return r == ',' || r == ';' }) {
		parts := strings.Split(kv, "=")
		for len(parts) > 1 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		v := int64(-1)
		if len(parts) > 1 {
			v, _ = strconv.ParseInt(parts[1], 10, 64)
		}
		st[parts[0]] = v
	}
	return st
}

func (st statsTrack) get(k string) int64 {
	if v, ok := st[k]; ok {
		return v
	}
	return -1
}

func (st statsTrack) String() string {
	s := fmt.Sprintf("count=%d,bytes=%d", st.get("count"), st.get("bytes"))
	var keys []string
	for k := range st {
		if k != "count" && k != "bytes" {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		s += "="
		for _, k := range keys {
			s += ";" + k + "=" + strconv.FormatInt(st[k], 10)
		}
	}
	return s
}

// quotaGroup checks Commons CLI's option group of setquota and delquota: at most one of
// -n, -b, -N, -B (and, for setquota, at least one).
func quotaGroup(x *inv, required bool, hasArg bool) error {
	selected := ""
	for i := 1; i < len(x.args); i++ {
		t := x.args[i]
		if t == "--" {
			break
		}
		if len(t) < 2 || t[0] != '-' || !strings.ContainsRune("nbNB", rune(t[1])) {
			continue
		}
		name := t[1:2]
		if selected != "" && selected != name {
			return &cliError{msg: "org.apache.commons.cli.AlreadySelectedException: The option '" + name +
				"' was specified but an option from this group has already been selected: '" + selected + "'", exit: exitError}
		}
		selected = name
		if hasArg && len(t) == 2 {
			i++ // its value
		}
	}
	if required && selected == "" {
		return &cliError{msg: "org.apache.commons.cli.MissingOptionException: Missing required option: " +
			"[-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]", exit: exitError}
	}
	return nil
}

func runSetQuota(x *inv) error {
	if err := quotaGroup(x, true, true); err != nil {
		return err
	}
	if len(x.p.args) < 2 {
		return usageErr(commands["setquota"].usageLine("setquota"))
	}
	path := x.arg(1)
	if strings.HasPrefix(path, quotaZookeeper) {
		x.warn("cannot set a quota under the path: " + quotaZookeeper + "\n")
		return nil
	}
	quota := statsTrack{"count": -1, "bytes": -1, "countHardLimit": -1, "byteHardLimit": -1}
	for _, o := range []struct{ opt, key, msg string }{
		{"n", "count", "the num quota must be greater than zero"},
		{"b", "bytes", "the bytes quota must be greater than or equal to zero"},
		{"N", "countHardLimit", "the num quota must be greater than zero"},
		{"B", "byteHardLimit", "the bytes quota must be greater than or equal to zero"},
	} {
		if !x.p.has(o.opt) {
			continue
		}
		v, ok := parseJavaLong(x.p.value(o.opt), 10)
		if o.opt == "n" || o.opt == "N" {
			var v32 int32
			v32, ok = parseJavaInt(x.p.value(o.opt))
			v = int64(v32)
		}
		if !ok {
			x.warn("NumberFormatException happens when parsing the option value\n")
			return nil
		}
		if (o.opt == "n" || o.opt == "N") && v <= 0 || (o.opt == "b" || o.opt == "B") && v < 0 {
			x.warn(o.msg + "\n")
			return nil
		}
		quota[o.key] = v
	}
	if err := validatePath(path, false); err != nil {
		return err
	}
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	if err := createQuota(x, c, path, quota); err != nil {
		var ce *cliError
		if errors.As(err, &ce) {
			return ce
		}
		return x.wrap(err, path)
	}
	return nil
}

// createQuota is SetQuotaCommand.createQuota.
func createQuota(x *inv, c *client.Client, path string, quota statsTrack) error {
	ctx := x.ctx
	ok, _, err := c.Exists(ctx, path)
	if err != nil {
		return err
	}
	if !ok {
		return &cliError{msg: path + " does not exist.", exit: exitError}
	}
	// No quota on a descendant...
	var bad error
	visitErr := visitDFS(x, c, quotaPath(path), false, func(qp string) error {
		children, err := c.GetChildren(ctx, qp)
		if err != nil {
			return nil
		}
		for _, ch := range children {
			if qp != quotaPath(path) && ch == limitNode {
				bad = &cliError{msg: path + " has a child " + strings.TrimPrefix(qp, quotaZookeeper) + " which has a quota", exit: exitError}
				return bad
			}
		}
		return nil
	})
	if bad != nil {
		return bad
	}
	var ce *cliError
	if visitErr != nil && !(errors.As(visitErr, &ce) && ce.code == client.CodeOf(client.ErrNoNode)) {
		return visitErr
	}
	// ... nor on an ancestor.
	parts := strings.Split(path, "/")
	qp := quotaZookeeper
	for i := 1; i < len(parts)-1; i++ {
		qp += "/" + parts[i]
		children, err := c.GetChildren(ctx, qp)
		if errors.Is(err, client.ErrNoNode) {
			break
		}
		if err != nil {
			return err
		}
		if len(children) == 0 {
			break
		}
		for _, ch := range children {
			if qp != quotaPath(path) && ch == limitNode {
				return &cliError{msg: path + " has a parent " + strings.TrimPrefix(qp, quotaZookeeper) + " which has a quota", exit: exitError}
			}
		}
	}
	create := func(p string, data []byte) error {
		_, err := c.Create(ctx, p, data, client.ModePersistent, nil)
		if errors.Is(err, client.ErrNodeExists) {
			return nil
		}
		return err
	}
	if ok, _, err := c.Exists(ctx, quotaZookeeper); err != nil {
		return err
	} else if !ok {
		if err := create(procZookeeper, nil); err != nil {
			return err
		}
		if err := create(quotaZookeeper, nil); err != nil {
			return err
		}
	}
	qp = quotaZookeeper
	for _, part := range parts[1:] {
		if part == "" {
			continue
		}
		qp += "/" + part
		if ok, _, err := c.Exists(ctx, qp); err != nil {
			return err
		} else if !ok {
			if err := create(qp, nil); err != nil {
				return err
			}
		}
	}
	lp, sp := qp+"/"+limitNode, qp+"/"+statNode
	ok, _, err = c.Exists(ctx, lp)
	if err != nil {
		return err
	}
	if !ok {
		if _, err := c.Create(ctx, lp, []byte(quota.String()), client.ModePersistent, nil); err != nil {
			return err
		}
		if _, err := c.Create(ctx, sp, []byte(statsTrack{"count": 0, "bytes": 0}.String()), client.ModePersistent, nil); err != nil {
			return err
		}
	}
	ld, _, err := c.GetData(ctx, lp)
	if err != nil {
		return err
	}
	limits := parseStatsTrack(ld)
	if ok {
		for k, v := range quota {
			if v > -1 {
				limits[k] = v
			}
		}
	}
	sd, _, err := c.GetData(ctx, sp)
	if err != nil {
		return err
	}
	stats := parseStatsTrack(sd)
	if n := limits.get("count"); n > -1 && n < stats.get("count") || limits.get("countHardLimit") > -1 && limits.get("countHardLimit") < stats.get("count") {
		x.out(fmt.Sprintf("[Warning]: the count quota you create is less than the existing count:%d\n", stats.get("count")))
	}
	if n := limits.get("bytes"); n > -1 && n < stats.get("bytes") || limits.get("byteHardLimit") > -1 && limits.get("byteHardLimit") < stats.get("bytes") {
		x.out(fmt.Sprintf("[Warning]: the bytes quota you create is less than the existing bytes:%d\n", stats.get("bytes")))
	}
	if ok {
		if _, err := c.SetData(ctx, lp, []byte(limits.String()), client.AnyVersion); err != nil {
			return err
		}
	}
	return nil
}

func runListQuota(x *inv) error {
	path := x.arg(1)
	x.errOut("absolute path is " + limitPath(path) + "\n")
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	ld, _, err := c.GetData(x.ctx, limitPath(path))
	var sd []byte
	if err == nil {
		sd, _, err = c.GetData(x.ctx, statPath(path))
	}
	if errors.Is(err, client.ErrNoNode) {
		x.errOut("quota for " + path + " does not exist.\n")
		x.res.set("quota", nil)
		return nil
	}
	if err != nil {
		return x.wrap(err, path)
	}
	q, s := parseStatsTrack(ld), parseStatsTrack(sd)
	x.out("Output quota for " + path + " " + q.String() + "\n")
	x.out("Output stat for " + path + " " + s.String() + "\n")
	x.res.set("quota", map[string]int64(q))
	x.res.set("stat", map[string]int64(s))
	return nil
}

func runDelQuota(x *inv) error {
	if err := quotaGroup(x, false, false); err != nil {
		return err
	}
	path := x.arg(1)
	c, err := x.zk(path)
	if err != nil {
		return err
	}
	err = delQuota(x, c, path)
	if errors.Is(err, client.ErrNoNode) {
		x.errOut("quota for " + path + " does not exist.\n")
		return nil
	}
	if err != nil {
		return x.wrap(err, path)
	}
	return nil
}

// delQuota is DelQuotaCommand.delQuota: all of a path's quota, or the limits flagged.
func delQuota(x *inv, c *client.Client, path string) error {
	ctx := x.ctx
	ok, _, err := c.Exists(ctx, limitPath(path))
	if err != nil {
		return err
	}
	if !ok {
		x.out("Quota does not exist for " + path + "\n")
		return nil
	}
	ld, _, err := c.GetData(ctx, limitPath(path))
	if err != nil {
		return err
	}
	flagged := false
	limits := parseStatsTrack(ld)
	for opt, key := range map[string]string{"n": "count", "b": "bytes", "N": "countHardLimit", "B": "byteHardLimit"} {
		if x.p.has(opt) {
			flagged = true
			limits[key] = -1
		}
	}
	if flagged {
		_, err := c.SetData(ctx, limitPath(path), []byte(limits.String()), client.AnyVersion)
		return err
	}
	parent := quotaPath(path)
	children, err := c.GetChildren(ctx, parent)
	if err != nil {
		return err
	}
	for _, ch := range children {
		if err := c.Delete(ctx, parent+"/"+ch, client.AnyVersion); err != nil {
			return err
		}
	}
	// Remove the quota path's nodes left without children, up to /zookeeper/quota.
	for p := parent; p != quotaZookeeper && strings.HasPrefix(p, quotaZookeeper); p = p[:strings.LastIndexByte(p, '/')] {
		children, err := c.GetChildren(ctx, p)
		if err != nil {
			return err
		}
		if len(children) > 0 {
			break
		}
		if err := c.Delete(ctx, p, client.AnyVersion); err != nil {
			return err
		}
	}
	return nil
}
