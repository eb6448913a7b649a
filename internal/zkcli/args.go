package zkcli

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrUsage is wrapped by ParseArgs's errors about the verb's own flags.
var ErrUsage = errors.New("paddock cli: bad arguments")

// ErrHelp is returned by ParseArgs for -h and --help.
var ErrHelp = errors.New("paddock cli: help requested")

// DefaultServer and DefaultTimeout are zkCli.sh's defaults.
const (
	DefaultServer  = "localhost:2181"
	DefaultTimeout = 30 * time.Second
)

// ParseArgs parses `paddock cli`'s arguments the way zkCli.sh does: flags first (-server,
// -timeout in ms, -r, -waitforconnection, -client-configuration file, plus --json), each
// also accepted with two dashes and as -flag=value; the first argument that is not a flag
// starts the command, and everything after it belongs to the command. Unlike zkCli.sh it
// refuses flags it does not know (zkCli.sh ignores them). The client configuration file is
// read by Run, which reports a missing one as zkCli.sh does.
func ParseArgs(args []string) (Options, []string, error) {
	o := Options{Server: DefaultServer, Timeout: DefaultTimeout}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			return o, args[i:], nil
		}
		if a == "--" {
			return o, args[i+1:], nil
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		value := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("%w: no argument found for option %s", ErrUsage, a)
			}
			i++
			return args[i], nil
		}
		noValue := func() error {
			if hasVal {
				return fmt.Errorf("%w: option -%s takes no value", ErrUsage, name)
			}
			return nil
		}
		var err error
		switch name {
		case "server":
			o.Server, err = value()
			if err == nil && strings.TrimSpace(o.Server) == "" {
				err = fmt.Errorf("%w: -server: empty connect string", ErrUsage)
			}
		case "timeout":
			var v string
			if v, err = value(); err == nil {
				ms, perr := strconv.ParseInt(v, 10, 32)
				if perr != nil || ms <= 0 {
					err = fmt.Errorf("%w: -timeout %q: want a positive number of milliseconds", ErrUsage, v)
				}
				o.Timeout = time.Duration(ms) * time.Millisecond
			}
		case "r":
			err = noValue()
			o.ReadOnly = true
		case "waitforconnection":
			err = noValue()
			o.WaitForConnection = true
		case "json":
			err = noValue()
			o.JSON = true
		case "h", "help":
			return o, nil, ErrHelp
		case "client-configuration":
			o.ClientConfig, err = value()
		default:
			err = fmt.Errorf("%w: unknown flag %s", ErrUsage, a)
		}
		if err != nil {
			return o, nil, err
		}
	}
	return o, nil, nil
}

// Usage is the verb's usage text.
const Usage = `usage: paddock cli [-server host:port[,host:port...][/chroot]] [-timeout ms] [-r]
                   [-waitforconnection] [-client-configuration file] [--json] [cmd args...]

A command-line client for ZooKeeper-protocol servers, compatible with zkCli.sh: the same
flags, commands and output. With a command it runs that one command and exits 1 (127 for
an unknown command) when it fails, with the error on stderr; without one it reads commands
from stdin, with line editing, history (~/.paddock_cli_history) and tab completion of
commands and znode paths when stdin is a terminal. Type "help" for the commands.

flags:
  -server host:port[,...][/chroot]  servers to connect to (default localhost:2181)
  -timeout ms                       session timeout in milliseconds (default 30000)
  -r                                allow a read-only server
  -waitforconnection                wait until connected (up to the timeout) before the command
  -client-configuration file        ZooKeeper client settings (Java properties); jute.maxbuffer
                                    is applied, other ZooKeeper settings are ignored
  --json                            print one JSON object per command result (and watch event)
`

// argsPattern and the quote stripping below are zkCli's tokenizer
// (ZooKeeperMain.MyCommandOptions): a token is a run of non-space characters not starting
// with a quote, or a single- or double-quoted string, whose quotes are removed. An unmatched
// quote is skipped.
var argsPattern = regexp.MustCompile(`\s*([^"']\S*|"[^"]*"|'[^']*')\s*`)

// tokenize splits a command line as zkCli does.
func tokenize(line string) []string {
	var out []string
	for _, m := range argsPattern.FindAllStringSubmatch(line, -1) {
		v := m[1]
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out = append(out, v)
	}
	return out
}

// optSpec is one option of a command, as Apache Commons CLI's Options.addOption(name,
// hasArg, ...) declares it: every zkCli option is a "short" option, some with long names
// ("-file", "-members").
type optSpec struct {
	name   string
	hasArg bool
}

// parsed is a command line after option parsing (Commons CLI's CommandLine).
type parsed struct {
	args   []string          // non-option arguments, the command's name first
	opts   map[string]string // option name -> its first value ("" for flags)
	valued map[string]bool   // options that got their value
}

func (p *parsed) has(name string) bool { _, ok := p.opts[name]; return ok }

// value returns the option's first value.
func (p *parsed) value(name string) string { return p.opts[name] }

// parseError is a Commons CLI ParseException; zkCli prints its toString.
type parseError struct {
	class string // "UnrecognizedOptionException", "MissingArgumentException"
	msg   string
}

func (e *parseError) Error() string { return "org.apache.commons.cli." + e.class + ": " + e.msg }

// parseOptions parses tokens as Commons CLI 1.5's DefaultParser does with zkCli's options:
// options may come anywhere, "--" ends them, "-sw" bundles flags, "-v5" and "-v=5" carry a
// value, a negative number is a value, and an unknown option is an error.
func parseOptions(specs []optSpec, tokens []string) (*parsed, error) {
	p := &parsed{opts: map[string]string{}, valued: map[string]bool{}}
	find := func(name string) *optSpec {
		name = stripHyphens(name)
		for i := range specs {
			if specs[i].name == name {
				return &specs[i]
			}
		}
		return nil
	}
	var cur *optSpec // an option still waiting for its value
	skip := false
	missing := func() error {
		return &parseError{"MissingArgumentException", "Missing argument for option: " + cur.name}
	}
	handle := func(o *optSpec) error {
		if cur != nil {
			return missing()
		}
		if _, dup := p.opts[o.name]; !dup {
			p.opts[o.name] = ""
		}
		if o.hasArg {
			cur = o
		}
		return nil
	}
	setValue := func(v string) {
		if !p.valued[cur.name] {
			p.opts[cur.name], p.valued[cur.name] = v, true
		}
		cur = nil
	}
	unknown := func(tok string) error {
		if strings.HasPrefix(tok, "-") && len(tok) > 1 {
			return &parseError{"UnrecognizedOptionException", "Unrecognized option: " + tok}
		}
		p.args = append(p.args, tok)
		return nil
	}
	isOption := func(tok string) bool {
		if !strings.HasPrefix(tok, "-") || len(tok) == 1 {
			return false
		}
		name, _, _ := strings.Cut(tok[1:], "=")
		return find(name) != nil || (name != "" && find(name[:1]) != nil)
	}
	for _, tok := range tokens {
		var err error
		switch {
		case skip:
			p.args = append(p.args, tok)
		case tok == "--":
			skip = true
		case cur != nil && (!isOption(tok) || isJavaDouble(tok)):
			setValue(stripQuotes(tok))
		case strings.HasPrefix(tok, "--"):
			err = unknown(tok) // zkCli's options have no long names
		case strings.HasPrefix(tok, "-") && tok != "-":
			t := tok[1:]
			name, val, eq := strings.Cut(t, "=")
			switch {
			case len(t) == 1 || !eq && find(t) != nil:
				if o := find(t); o != nil {
					err = handle(o)
				} else {
					err = unknown(tok)
				}
			case !eq:
				err = concatenated(tok, find, handle, setValue, unknown, &cur)
			case len(name) == 1:
				if o := find(name); o != nil && o.hasArg {
					if err = handle(o); err == nil {
						setValue(val)
					}
				} else {
					err = unknown(tok)
				}
			default:
				err = unknown(tok)
			}
		default:
			err = unknown(tok)
		}
		if err != nil {
			return nil, err
		}
	}
	if cur != nil {
		return nil, missing()
	}
	return p, nil
}

// concatenated handles "-abc": flags a and b and c, or "-v5": option v with value 5.
func concatenated(tok string, find func(string) *optSpec, handle func(*optSpec) error,
	setValue func(string), unknown func(string) error, cur **optSpec) error {
	for i := 1; i < len(tok); i++ {
		o := find(tok[i : i+1])
		if o == nil {
			return unknown(tok)
		}
		if err := handle(o); err != nil {
			return err
		}
		if *cur != nil && i+1 < len(tok) {
			setValue(tok[i+1:])
			return nil
		}
	}
	return nil
}

// stripHyphens is Commons CLI's Util.stripLeadingHyphens: one "--" or one "-".
func stripHyphens(s string) string {
	if strings.HasPrefix(s, "--") {
		return s[2:]
	}
	return strings.TrimPrefix(s, "-")
}

// stripQuotes is Commons CLI's Util.stripLeadingAndTrailingQuotes for option values.
func stripQuotes(s string) string {
	if len(s) > 1 && s[0] == '"' && s[len(s)-1] == '"' && !strings.Contains(s[1:len(s)-1], `"`) {
		return s[1 : len(s)-1]
	}
	return s
}

// isJavaDouble approximates Java's Double.parseDouble, which Commons CLI uses to let a
// negative number be an option's value.
func isJavaDouble(s string) bool {
	s = strings.TrimSpace(s)
	if n := len(s); n > 1 && strings.ContainsRune("dDfF", rune(s[n-1])) {
		s = s[:n-1]
	}
	switch strings.TrimLeft(s, "+-") {
	case "NaN", "Infinity":
		return true
	case "":
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

// parseJavaInt is Integer.parseInt: an optional sign and decimal digits, within int32.
func parseJavaInt(s string) (int32, bool) {
	v, ok := parseJavaLong(s, 10)
	if !ok || v < -1<<31 || v > 1<<31-1 {
		return 0, false
	}
	return int32(v), true
}

// parseJavaLong is Long.parseLong: an optional sign and digits of base 10 or 16.
func parseJavaLong(s string, base int) (int64, bool) {
	digits := s
	if digits != "" && (digits[0] == '-' || digits[0] == '+') {
		digits = digits[1:]
	}
	if digits == "" || strings.ContainsAny(digits, "+-_xX") {
		return 0, false
	}
	v, err := strconv.ParseInt(s, base, 64)
	return v, err == nil
}

// decodeJavaInt is Integer.decode: decimal, 0x/0X/# hex, 0 octal, with a sign.
func decodeJavaInt(s string) (int, bool) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(s, "0x"), strings.HasPrefix(s, "0X"):
		base, s = 16, s[2:]
	case strings.HasPrefix(s, "#"):
		base, s = 16, s[1:]
	case strings.HasPrefix(s, "0") && len(s) > 1:
		base, s = 8, s[1:]
	}
	if s == "" || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		return 0, false
	}
	v, err := strconv.ParseInt(s, base, 64)
	if neg {
		v = -v
	}
	if err != nil || v < -1<<31 || v > 1<<31-1 {
		return 0, false
	}
	return int(v), true
}
