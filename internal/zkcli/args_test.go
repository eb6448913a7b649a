package zkcli

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want Options
		cmd  []string
		err  error
	}{
		{nil, Options{Server: DefaultServer, Timeout: DefaultTimeout}, nil, nil},
		{[]string{"-server", "h:1,h:2/app", "-timeout", "5000", "-r", "-waitforconnection", "--json", "ls", "-s", "/"},
			Options{Server: "h:1,h:2/app", Timeout: 5 * time.Second, ReadOnly: true, WaitForConnection: true, JSON: true},
			[]string{"ls", "-s", "/"}, nil},
		{[]string{"--server=h:3", "-json", "get", "/a"}, Options{Server: "h:3", Timeout: DefaultTimeout, JSON: true}, []string{"get", "/a"}, nil},
		{[]string{"--", "-x"}, Options{Server: DefaultServer, Timeout: DefaultTimeout}, []string{"-x"}, nil},
		{[]string{"-server"}, Options{}, nil, ErrUsage},
		{[]string{"-timeout", "0"}, Options{}, nil, ErrUsage},
		{[]string{"-timeout", "ten"}, Options{}, nil, ErrUsage},
		{[]string{"-bogus", "ls"}, Options{}, nil, ErrUsage},
		{[]string{"-r=1"}, Options{}, nil, ErrUsage},
		{[]string{"-client-configuration", "zk.properties", "ls", "/"}, Options{Server: DefaultServer, Timeout: DefaultTimeout, ClientConfig: "zk.properties"}, []string{"ls", "/"}, nil},
		{[]string{"--client-configuration=c.properties"}, Options{Server: DefaultServer, Timeout: DefaultTimeout, ClientConfig: "c.properties"}, nil, nil},
		{[]string{"-client-configuration"}, Options{}, nil, ErrUsage},
		{[]string{"-h"}, Options{}, nil, ErrHelp},
	} {
		o, cmd, err := ParseArgs(tc.args)
		if !errors.Is(err, tc.err) {
			t.Errorf("ParseArgs(%q): error %v, want %v", tc.args, err, tc.err)
			continue
		}
		if err == nil && (!reflect.DeepEqual(o, tc.want) || !slices.Equal(cmd, tc.cmd)) {
			t.Errorf("ParseArgs(%q) = %+v %q, want %+v %q", tc.args, o, cmd, tc.want, tc.cmd)
		}
	}
}

// The tokenizer's cases are what zkCli.sh does with them (ZooKeeperMain's ARGS_PATTERN).
func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"ls /", []string{"ls", "/"}},
		{"  ls   -s\t/a  ", []string{"ls", "-s", "/a"}},
		{`create /a "hello world"`, []string{"create", "/a", "hello world"}},
		{`create /a 'it''s'`, []string{"create", "/a", "it", "s"}},
		{`create /a ''`, []string{"create", "/a", ""}},
		{`create /a "x y`, []string{"create", "/a", "x", "y"}}, // an unmatched quote is skipped
		{`create /a b"c d"`, []string{"create", "/a", `b"c`, `d"`}},
		{`get "/w`, []string{"get", "/w"}},
		{"", nil},
	} {
		if got := tokenize(tc.line); !slices.Equal(got, tc.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

// The option parser's cases are Commons CLI 1.5 DefaultParser's behaviour, which zkCli's
// commands inherit.
func TestParseOptions(t *testing.T) {
	specs := []optSpec{{"s", false}, {"w", false}, {"v", true}, {"file", true}}
	for _, tc := range []struct {
		args string
		want string // args|opts, or the error
	}{
		{"set /a x", "[set /a x]|map[]"},
		{"set -s -v 3 /a x", "[set /a x]|map[s: v:3]"},
		{"set /a -v 3 x -s", "[set /a x]|map[s: v:3]"},
		{"get -sw /a", "[get /a]|map[s: w:]"},
		{"set -v5 /a", "[set /a]|map[v:5]"},
		{"set -sv5 /a", "[set /a]|map[s: v:5]"},
		{"set -v=5 /a", "[set /a]|map[v:5]"},
		{"set -v -1 /a", "[set /a]|map[v:-1]"},
		{"set -v 1 -v 2 /a", "[set /a]|map[v:1]"},
		{`set -v "7" /a`, "[set /a]|map[v:7]"},
		{"ls -- -s", "[ls -s]|map[]"},
		{"ls - /", "[ls - /]|map[]"},
		{"r -file x.cfg", "[r]|map[file:x.cfg]"},
		{"ls -x /", "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"},
		{"ls -sx /", "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -sx"},
		{"ls --s /", "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: --s"},
		{"ls -s= /", "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -s="},
		{"set /a -v", "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"},
		{"set -v -s /a", "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"},
		{"set -v -- /a", "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"},
	} {
		p, err := parseOptions(specs, strings.Fields(tc.args))
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = fmt.Sprintf("%v|%v", p.args, p.opts)
		}
		if got != tc.want {
			t.Errorf("parseOptions(%q) = %s, want %s", tc.args, got, tc.want)
		}
	}
}

func TestJavaNumbers(t *testing.T) {
	for s, want := range map[string]int{"0": 0, "12": 12, "-3": -3, "0x1f": 31, "#10": 16, "010": 8, "+4": 4} {
		if got, ok := decodeJavaInt(s); !ok || got != want {
			t.Errorf("decodeJavaInt(%q) = %d %v, want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "x", "0x", "1.5", "99999999999", "--1"} {
		if _, ok := decodeJavaInt(s); ok {
			t.Errorf("decodeJavaInt(%q) accepted", s)
		}
	}
	for s, want := range map[string]int32{"7": 7, "-1": -1, "+2": 2, "2147483647": 1<<31 - 1} {
		if got, ok := parseJavaInt(s); !ok || got != want {
			t.Errorf("parseJavaInt(%q) = %d %v, want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "-", "1e3", "0x10", "2147483648", " 1", "1_0"} {
		if _, ok := parseJavaInt(s); ok {
			t.Errorf("parseJavaInt(%q) accepted", s)
		}
	}
	if v, ok := parseJavaLong("1f", 16); !ok || v != 31 {
		t.Errorf("parseJavaLong(1f, 16) = %d %v", v, ok)
	}
	for s, want := range map[string]bool{"-1": true, "-1.5": true, "1e3": true, "2d": true, "-Infinity": true, "-v": false, "-": false, "x": false} {
		if got := isJavaDouble(s); got != want {
			t.Errorf("isJavaDouble(%q) = %v", s, got)
		}
	}
}

func TestCommandTable(t *testing.T) {
	// zkCli 3.8's usage, sorted as it prints it.
	want := []string{"addWatch", "addauth", "close", "config", "connect", "create", "delete", "deleteall",
		"delquota", "get", "getAcl", "getAllChildrenNumber", "getEphemerals", "history", "listquota", "ls",
		"printwatches", "quit", "reconfig", "redo", "removewatches", "set", "setAcl", "setquota", "stat",
		"sync", "version", "whoami"}
	if got := commandNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("commandNames() = %q\nwant %q", got, want)
	}
	for _, n := range []string{"exit", "help", "ls", "quit"} {
		if !isCommand(n) {
			t.Errorf("%s is not a command", n)
		}
	}
	if isCommand("lsx") {
		t.Error("lsx is a command")
	}
}

// FuzzParseCommand runs command lines through zkCli's tokenizer and every command's
// option parser: no panic, and what parses keeps the command name first.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"ls -s -w -R /", `create -s -e /a "b c" world:anyone:cdrwa`, "set -v5 /a x",
		"delete -v -1 /a", "reconfig -members server.1=h:1:2;3 -v 1f", "setquota -n 5 /q", "ls -- -s", `get '/a b`,
		"addWatch -m persistent /x", "removewatches /a -c -l"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		tokens := tokenize(line)
		if len(tokens) == 0 {
			return
		}
		for name, c := range commands {
			if c.noParse {
				continue
			}
			args := append([]string{name}, tokens...)
			p, err := parseOptions(c.opts, args)
			if err != nil {
				var pe *parseError
				if !errors.As(err, &pe) {
					t.Fatalf("%s: error %T %v", name, err, err)
				}
				continue
			}
			if len(p.args) == 0 || p.args[0] != name {
				t.Fatalf("%s %q: args %q", name, tokens, p.args)
			}
		}
	})
}
