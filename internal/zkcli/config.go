package zkcli

import (
	"bufio"
	"errors"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/paddock/paddock/client"
)

func runConfig(x *inv) error {
	c, err := x.zk("")
	if err != nil {
		return err
	}
	var data []byte
	var st client.Stat
	if x.p.has("w") {
		var ch <-chan client.WatchEvent
		data, st, ch, err = c.GetConfigW(x.ctx)
		if err == nil {
			x.sh.watches.addOneShot(wData, client.ConfigPath, ch)
		}
	} else {
		data, st, err = c.GetConfig(x.ctx)
	}
	if err != nil {
		return x.wrap(err, "")
	}
	text := "null"
	if data != nil {
		text = javaString(data)
	}
	if x.p.has("c") {
		cs := clientConfig(text)
		x.out(cs + "\n")
		x.res.set("connectString", cs)
	} else {
		x.out(text + "\n")
	}
	x.res.setData(data)
	if x.p.has("s") {
		x.stat(st)
	}
	return nil
}

// clientConfig is ConfigUtils.getClientConfigStr: the configuration's version, a space, and
// the client addresses of its servers ("host:port,..."), here in server id order.
func clientConfig(cfg string) string {
	props := parseProperties(cfg)
	type srv struct {
		id   int64
		addr string
	}
	var servers []srv
	for k, v := range props {
		idStr, ok := strings.CutPrefix(k, "server.")
		if !ok {
			continue
		}
		id, _ := strconv.ParseInt(idStr, 10, 64)
		_, client, found := strings.Cut(v, ";")
		if !found {
			servers = append(servers, srv{id, ""})
			continue
		}
		client = strings.TrimSpace(client)
		host, port := "0.0.0.0", client
		if i := strings.LastIndexByte(client, ':'); i >= 0 {
			host, port = client[:i], client[i+1:]
		}
		servers = append(servers, srv{id, host + ":" + port})
	}
	sort.Slice(servers, func(i, j int) bool { return servers[i].id < servers[j].id })
	addrs := make([]string, len(servers))
	for i, s := range servers {
		addrs[i] = s.addr
	}
	return props["version"] + " " + strings.Join(addrs, ",")
}

// parseProperties reads "key=value" lines (Java properties, simply: no escapes or
// continuations), trimming both.
func parseProperties(s string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == '!' {
			continue
		}
		k, v, _ := strings.Cut(l, "=")
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

func runReconfig(x *inv) error {
	p := x.p
	if !p.has("file") && !p.has("members") && !p.has("add") && !p.has("remove") {
		return usageErr(commands["reconfig"].usageLine("reconfig"))
	}
	version := int64(-1)
	if p.has("v") {
		v, ok := parseJavaLong(p.value("v"), 16)
		if !ok {
			return usageErr("-v must be followed by a long (configuration version)")
		}
		version = v
	}
	if (p.has("file") || p.has("members")) && (p.has("add") || p.has("remove")) {
		return usageErr("Can't use -file or -members together with -add or -remove (mixing incremental and non-incremental modes is not allowed)")
	}
	if p.has("file") && p.has("members") {
		return usageErr("Can't use -file and -members together (conflicting non-incremental modes)")
	}
	split := func(s string) []string { return strings.Split(strings.ToLower(s), ",") }
	var joining, leaving, members []string
	if p.has("add") {
		joining = split(p.value("add"))
	}
	if p.has("remove") {
		leaving = split(p.value("remove"))
	}
	if p.has("members") {
		members = split(p.value("members"))
	}
	if p.has("file") {
		b, err := os.ReadFile(p.value("file"))
		if err != nil {
			return usageErr("Error processing " + p.value("file") + javaIOError(p.value("file"), err))
		}
		props := parseProperties(string(b))
		keys := make([]string, 0, len(props))
		for k := range props {
			if strings.HasPrefix(k, "server.") || strings.HasPrefix(k, "group.") || strings.HasPrefix(k, "weight.") {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			return usageErr("Error processing " + p.value("file") + "no server.N lines")
		}
		sort.Strings(keys)
		for _, k := range keys {
			members = append(members, k+"="+props[k])
		}
	}
	c, err := x.zk("")
	if err != nil {
		return err
	}
	data, st, err := c.Reconfig(x.ctx, joining, leaving, members, version)
	if err != nil {
		return x.wrap(err, "")
	}
	x.out("Committed new configuration:\n" + javaString(data) + "\n")
	x.res.setData(data)
	if p.has("s") {
		x.stat(st)
	}
	return nil
}

// javaIOError is the message of Java's FileNotFoundException for a file that cannot be
// opened: "/a/b (No such file or directory)".
func javaIOError(name string, err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return name + " (" + err.Error() + ")"
	}
	msg := errno.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return name + " (" + msg + ")"
}
