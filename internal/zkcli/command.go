package zkcli

import (
	"context"
	"errors"

	"github.com/paddock/paddock/client"
)

// A command is one of zkCli's CliCommands: its usage, its options, and what it does.
type command struct {
	usage   string    // what zkCli prints after the name in usage lines
	opts    []optSpec // its options; nil with noParse
	noParse bool      // takes its arguments as they are (close, whoami)
	minArgs int       // fewer arguments (the name included) is a usage error
	maxArgs int       // more is a usage error; 0 means no limit
	// compat is the deprecation warning of the old "cmd path watch" form; with rewrite the
	// third token becomes "-w", as zkCli's retainCompatibility does.
	compat  string
	rewrite bool
	help    string // printed for -? (only ls has it)
	hidden  bool   // accepted, but not in the usage list (3.9's exit)
	run     func(x *inv) error
}

// usageLine is zkCli's getUsageStr.
func (c *command) usageLine(name string) string { return name + " " + c.usage }

// exec parses args and runs the command.
func (c *command) exec(x *inv, args []string) error {
	name := args[0]
	x.args = args
	if c.noParse {
		x.p = &parsed{args: args, opts: map[string]string{}, valued: map[string]bool{}}
		return c.run(x)
	}
	p, err := parseOptions(c.opts, args)
	if err != nil {
		return &cliError{msg: err.Error(), exit: exitError}
	}
	if c.help != "" && p.has("?") {
		x.out(c.help)
	}
	if len(p.args) < c.minArgs || c.maxArgs > 0 && len(p.args) > c.maxArgs {
		return usageErr(c.usageLine(name))
	}
	if c.compat != "" && len(p.args) > 2 {
		x.warn(c.compat + "\n")
		tokens := append([]string(nil), args...)
		if c.rewrite {
			tokens[2] = "-w"
		}
		if p, err = parseOptions(c.opts, tokens); err != nil {
			return &cliError{msg: err.Error(), exit: exitError}
		}
		if len(p.args) < 2 {
			return usageErr(c.usageLine(name))
		}
	}
	x.p = p
	return c.run(x)
}

// commands is zkCli's command table (ZooKeeperMain.commandMapCli). init fills it: some
// commands print their own usage line from it, which would otherwise be an initialization
// cycle.
var commands map[string]*command

func init() {
	commands = map[string]*command{
		"ls": {usage: "[-s] [-w] [-R] path", opts: flags("?", "s", "w", "R"), minArgs: 2, run: runLs,
			compat: "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead.", rewrite: true,
			help: "usage: ls [options] path\n -?   help\n -R   recurse\n -s   stat\n -w   watch\n"},
		"create": {usage: "[-s] [-e] [-c] [-t ttl] path [data] [acl]", opts: append(flags("e", "s", "c"), optSpec{"t", true}),
			minArgs: 2, run: runCreate},
		"get": {usage: "[-s] [-w] path", opts: flags("s", "w", "b", "x"), minArgs: 2, run: runGet,
			compat: "'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead.", rewrite: true},
		"set": {usage: "[-s] [-v version] path data", opts: append(flags("s", "b"), optSpec{"v", true}), minArgs: 3, run: runSet},
		"delete": {usage: "[-v version] path", opts: []optSpec{{"v", true}}, minArgs: 2, run: runDelete,
			compat: "'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead."},
		"deleteall": {usage: "path [-b batch size]", opts: []optSpec{{"b", true}}, minArgs: 2, run: runDeleteAll},
		"stat": {usage: "[-w] path", opts: flags("w"), minArgs: 2, run: runStat,
			compat: "'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead.", rewrite: true},
		"getAcl": {usage: "[-s] path", opts: flags("s"), minArgs: 2, run: runGetACL},
		"setAcl": {usage: "[-s] [-v version] [-R] path acl", opts: append(flags("s", "R"), optSpec{"v", true}),
			minArgs: 3, run: runSetACL},
		"addauth":              {usage: "scheme auth", opts: []optSpec{}, minArgs: 2, run: runAddAuth},
		"whoami":               {usage: "", noParse: true, run: runWhoAmI},
		"sync":                 {usage: "path", opts: []optSpec{}, minArgs: 2, run: runSync},
		"getEphemerals":        {usage: "path", opts: []optSpec{}, run: runGetEphemerals},
		"getAllChildrenNumber": {usage: "path", opts: []optSpec{}, minArgs: 2, run: runGetAllChildrenNumber},
		"addWatch": {usage: "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE",
			opts: []optSpec{{"m", true}}, minArgs: 2, maxArgs: 2, run: runAddWatch},
		"removewatches": {usage: "path [-c|-d|-a] [-l]", opts: flags("c", "d", "p", "r", "a", "l"), minArgs: 2, run: runRemoveWatches},
		"config":        {usage: "[-c] [-w] [-s]", opts: flags("s", "w", "c"), run: runConfig},
		"reconfig": {usage: "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]",
			opts: append(flags("s"), optSpec{"v", true}, optSpec{"file", true}, optSpec{"members", true}, optSpec{"add", true}, optSpec{"remove", true}),
			run:  runReconfig},
		"close":     {usage: "", noParse: true, run: runClose},
		"version":   {usage: "", opts: []optSpec{}, maxArgs: 1, run: runVersion},
		"setquota":  {usage: "-n|-b|-N|-B val path", opts: []optSpec{{"n", true}, {"b", true}, {"N", true}, {"B", true}}, run: runSetQuota},
		"listquota": {usage: "path", opts: []optSpec{}, minArgs: 2, run: runListQuota},
		"delquota":  {usage: "[-n|-b|-N|-B] path", opts: flags("n", "b", "N", "B"), minArgs: 2, run: runDelQuota},
	}
}

func flags(names ...string) []optSpec {
	out := make([]optSpec, len(names))
	for i, n := range names {
		out[i] = optSpec{name: n}
	}
	return out
}

// inv is one invocation of a command: its arguments, its context, and the output it
// collects (printed once it is done, after the watch events that came before its reply).
type inv struct {
	sh       *shell
	ctx      context.Context
	progress func()   // a reply came: the command is not stuck
	args     []string // as typed, the name first
	p        *parsed
	res      *object // the --json result
	segs     []seg
}

// out prints command output on stdout (not with --json, where res carries it).
func (x *inv) out(s string) {
	if !x.sh.opts.JSON {
		x.segs = append(x.segs, seg{s: s})
	}
}

// errOut prints command output that zkCli prints on stderr ("Created /a"), not with --json.
func (x *inv) errOut(s string) {
	if !x.sh.opts.JSON {
		x.segs = append(x.segs, seg{toErr: true, s: s})
	}
}

// warn prints a diagnostic on stderr, with --json too.
func (x *inv) warn(s string) { x.segs = append(x.segs, seg{toErr: true, s: s}) }

// stat prints a Stat block and puts it in the result.
func (x *inv) stat(st client.Stat) {
	x.out(formatStat(st))
	x.res.set("stat", statJSON(st))
}

// zk returns the session's client, waiting for the connection; the error is zkCli's
// ConnectionLoss for path.
func (x *inv) zk(path string) (*client.Client, error) {
	c, err := x.sh.sess.client(x.ctx)
	if err != nil {
		return nil, x.wrap(err, path)
	}
	return c, nil
}

// wrap is CliWrapperException for an error of a call on path; a call cut short by Ctrl-C
// says so.
func (x *inv) wrap(err error, path string) error {
	if errors.Is(context.Cause(x.ctx), errInterrupted) {
		return &cliError{msg: "Interrupted", exit: exitError}
	}
	return wrapErr(err, path)
}

func (x *inv) arg(i int) string { return x.p.args[i] }
