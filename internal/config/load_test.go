package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "zoo.cfg", "tickTime=2000\ndataDir="+dir+"\nclientPort=2181\n"+
		"4lw.commands.whitelist=ruok\njute.maxbuffer=100\nreadonlymode.enabled=false\n")
	env := []string{
		`SERVER_JVMFLAGS=-Xmx1g -Dzookeeper.4lw.commands.whitelist=mntr -Djute.maxbuffer=200`,
		`JVMFLAGS=-Djute.maxbuffer=300 -Dreadonlymode.enabled=true "-Dzookeeper.DigestAuthenticationProvider.superDigest=super:abc=" -Dzookeeper.extendedTypesEnabled=true`,
	}
	flagDir := filepath.Join(dir, "flag")
	c, err := Load(LoadOptions{ConfigPath: cfg, Env: env, DataDir: flagDir, ClientPort: 3000, ClientPortAddress: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.FourLetterWords, []string{"isro", "mntr", "srvr"}; !reflect.DeepEqual(got, want) {
		t.Errorf("FourLetterWords = %q, want %q", got, want)
	}
	if c.JuteMaxBuffer != 300 || !c.ReadOnlyMode || c.SuperDigest != "super:abc=" || !c.ExtendedTypesEnabled {
		t.Errorf("-D properties not applied:\n%s", c.Format())
	}
	if c.DataDir != flagDir || c.DataLogDir != flagDir || c.ClientPort != 3000 || c.ClientPortAddress != "127.0.0.1" {
		t.Errorf("flags not applied:\n%s", c.Format())
	}
	if v, _ := c.Prop("4lw.commands.whitelist"); v != "mntr" {
		t.Errorf("Prop(4lw.commands.whitelist) = %q", v)
	}
	if c.Source != cfg {
		t.Errorf("Source = %q", c.Source)
	}
}

func TestLoadJVMFlags(t *testing.T) {
	env := []string{
		"JVMFLAGS=-Dzookeeper.frob=1 -Dlog4j.configuration=file:/x -Dzookeeper.log.dir=/logs " +
			"-Dzookeeper.serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory -Dcom.sun.management.jmxremote",
	}
	c, err := Load(LoadOptions{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Unknown, []string{"zookeeper.frob"}) {
		t.Errorf("Unknown = %q", c.Unknown)
	}
	if !reflect.DeepEqual(c.Ignored, []string{"zookeeper.serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory"}) {
		t.Errorf("Ignored = %q", c.Ignored)
	}
	if v, ok := c.Prop("log4j.configuration"); !ok || v != "file:/x" {
		t.Errorf("Prop(log4j.configuration) = %q, %v", v, ok)
	}

	_, err = Load(LoadOptions{Env: []string{"SERVER_JVMFLAGS=-Djute.maxbuffer=big"}})
	if err == nil || err.Error() != `config: SERVER_JVMFLAGS: jute.maxbuffer: not a number: "big"` {
		t.Errorf("err = %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.cfg")
	_, err := Load(LoadOptions{ConfigPath: path})
	var ce *Error
	if !errors.As(err, &ce) || ce.File != path || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

func TestLoadFlagPortRange(t *testing.T) {
	_, err := Load(LoadOptions{ClientPort: 70000})
	if err == nil || err.Error() != "config: flags: clientPort: port out of range:70000" {
		t.Errorf("err = %v", err)
	}
}

const ensemble = "tickTime=2000\ninitLimit=5\nsyncLimit=2\n" +
	"server.1=a:2888:3888;2181\nserver.2=b:2888:3888;127.0.0.1:2182\nserver.3=c:2888:3888\nserver.4=d:2888:3888:observer;2184\n"

func TestLoadMyID(t *testing.T) {
	tests := []struct {
		name, myid string // myid "" = no file
		env        []string
		extra      string
		wantID     int64
		wantPort   int
		wantAddr   string
		wantRole   Role
		err        string // with DIR for the data directory
	}{
		{name: "from file", myid: "2\n", wantID: 2, wantPort: 2182, wantAddr: "127.0.0.1"},
		{name: "blanks around", myid: " 1 \n\nignored", wantID: 1, wantPort: 2181, wantAddr: "0.0.0.0"},
		{name: "static clientPort", myid: "3", extra: "clientPort=2183\n", wantID: 3, wantPort: 2183},
		{name: "observer", myid: "4", wantID: 4, wantPort: 2184, wantAddr: "0.0.0.0", wantRole: Observer},
		{name: "observer whatever peerType says", myid: "4", extra: "peerType=participant\n", wantID: 4, wantPort: 2184,
			wantAddr: "0.0.0.0", wantRole: Observer},
		{name: "ZOO_MY_ID when no file", env: []string{"ZOO_MY_ID=2"}, wantID: 2, wantPort: 2182, wantAddr: "127.0.0.1"},
		{name: "file wins over ZOO_MY_ID", myid: "1", env: []string{"ZOO_MY_ID=2"}, wantID: 1, wantPort: 2181, wantAddr: "0.0.0.0"},
		{name: "missing", err: "config: DIR/myid: myid file is missing"},
		{name: "not a number", myid: "one", err: `config: DIR/myid: serverid "one" is not a number`},
		{name: "bad ZOO_MY_ID", env: []string{"ZOO_MY_ID=x"}, err: `config: ZOO_MY_ID: serverid "x" is not a number`},
		{name: "not in the list", myid: "9", err: "config: DIR/zoo.cfg: my id 9 not in the peer list"},
		{name: "out of range", myid: "300", err: "config: DIR/myid: server id must be between 1 and 255, not 300"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, dir, "zoo.cfg", "dataDir="+dir+"\n"+tt.extra+ensemble)
			if tt.myid != "" {
				writeFile(t, dir, "myid", tt.myid)
			}
			c, err := Load(LoadOptions{ConfigPath: cfg, Env: tt.env})
			if tt.err != "" {
				want := strings.ReplaceAll(tt.err, "DIR", dir)
				if err == nil || err.Error() != want {
					t.Errorf("err = %v\nwant  %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.MyID != tt.wantID || c.ClientPort != tt.wantPort || c.ClientPortAddress != tt.wantAddr || c.PeerType != tt.wantRole {
				t.Errorf("myid %d client %q:%d role %s", c.MyID, c.ClientPortAddress, c.ClientPort, c.PeerType)
			}
		})
	}
}

func TestLoadDynamicConfigFile(t *testing.T) {
	dir := t.TempDir()
	servers := "server.1=a:2888:3888;2181\nserver.2=b:2888:3888;2181\nserver.3=c:2888:3888;2181\n"
	writeFile(t, dir, "myid", "3")
	tests := []struct {
		name, cfgLine, file, text string
		version                   int64
		err                       string
	}{
		{name: "relative, version from the name", cfgLine: "dynamicConfigFile=zoo.cfg.dynamic.100000000",
			file: "zoo.cfg.dynamic.100000000", text: servers, version: 0x100000000},
		{name: "absolute, no version", cfgLine: "dynamicConfigFile=" + filepath.Join(dir, "dyn"),
			file: "dyn", text: servers},
		{name: "version line", cfgLine: "dynamicConfigFile=zoo.cfg.dynamic", file: "zoo.cfg.dynamic",
			text: servers + "version=2a\n", version: 0x2a},
		{name: "other keys refused", cfgLine: "dynamicConfigFile=d1", file: "d1", text: servers + "tickTime=1\n",
			err: "config: DIR/d1:4: tickTime: unrecognised parameter: tickTime"},
		{name: "missing", cfgLine: "dynamicConfigFile=nope", err: "config: DIR/nope: open DIR/nope: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.file != "" {
				writeFile(t, dir, tt.file, tt.text)
			}
			cfg := writeFile(t, dir, "zoo.cfg", "dataDir="+dir+"\ntickTime=2000\ninitLimit=5\nsyncLimit=2\n"+tt.cfgLine+"\n")
			c, err := Load(LoadOptions{ConfigPath: cfg})
			if tt.err != "" {
				want := strings.ReplaceAll(tt.err, "DIR", dir)
				if err == nil || err.Error() != want {
					t.Errorf("err = %v\nwant  %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Servers) != 3 || c.MyID != 3 || c.ClientPort != 2181 || c.ConfigVersion != tt.version ||
				c.DynamicConfigFile != filepath.Join(dir, tt.file) {
				t.Errorf("got\n%s\nversion %#x", c.Format(), c.ConfigVersion)
			}
			if v, _ := c.Prop("server.2"); v != "b:2888:3888;2181" {
				t.Errorf("Prop(server.2) = %q", v)
			}
		})
	}
}
