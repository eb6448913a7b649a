package zkcli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/paddock/paddock/internal/config"
)

// The cases are what java.util.Properties.load makes of them.
func TestParseJavaProperties(t *testing.T) {
	text := "# comment\n! also a comment\n\n" +
		"jute.maxbuffer=1024\n" +
		"  zookeeper.sasl.client : false  \n" +
		"key\\ with\\ spaces value here\n" +
		"cont=a\\\n    b\\\n c\n" +
		"esc=\\t\\u0041\\=x\\\\\n" +
		"empty\n" +
		"endcont=x\\\n\nafter=y\r\n" +
		"cr=1\rlast=2"
	want := []config.Property{
		{Key: "jute.maxbuffer", Value: "1024"},
		{Key: "zookeeper.sasl.client", Value: "false"},
		{Key: "key with spaces", Value: "value here"},
		{Key: "cont", Value: "abc"},
		{Key: "esc", Value: "A=x\\"}, // the tab is trimmed away, as ZKConfig trims values
		{Key: "empty", Value: ""},
		{Key: "endcont", Value: "x"},
		{Key: "after", Value: "y"},
		{Key: "cr", Value: "1"},
		{Key: "last", Value: "2"},
	}
	got, err := config.ParseProperties(text, "client.properties")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseProperties:\n got %q, %v\nwant %q", got, err, want)
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "client.properties")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadClientConfig(t *testing.T) {
	cs, err := loadClientConfig(writeConfig(t, "jute.maxbuffer=0x10\n"))
	if err == nil {
		t.Errorf("jute.maxbuffer=0x10 accepted (%+v); Integer.parseInt refuses it", cs)
	}
	cs, err = loadClientConfig(writeConfig(t, "jute.maxbuffer=2048\njute.maxbuffer=4096\n"+
		"zookeeper.sasl.client=false\nzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty\n"+
		"zookeeper.ssl.keyStore.location=/k\nzookeeper.jute.maxbuffer=1\nbogus.key=1\n"))
	if err != nil {
		t.Fatal(err)
	}
	// The last value wins; a reply of jute.maxbuffer bytes is already refused.
	if cs.maxBuffer != 4095 || !reflect.DeepEqual(cs.unknown, []string{"zookeeper.jute.maxbuffer", "bogus.key"}) {
		t.Errorf("settings %+v, want maxBuffer 4095 and unknown [zookeeper.jute.maxbuffer bogus.key]", cs)
	}
	note := cs.noteUnknown("f")
	if !strings.Contains(note, "ignoring zookeeper.jute.maxbuffer, which is not a ZooKeeper client setting (ZooKeeper's client reads jute.maxbuffer)\n") ||
		!strings.Contains(note, "ignoring bogus.key,") || strings.Count(note, "\n") != 2 {
		t.Errorf("note:\n%s", note)
	}
	for _, tc := range []struct{ text, msg string }{
		{"zookeeper.clientCnxnSocket=Bogus\n", "Couldn't instantiate Bogus"},
		{"zookeeper.client.secure=true\n", "TLS connections are not supported"},
	} {
		if _, err := loadClientConfig(writeConfig(t, tc.text)); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: error %v, want one saying %q", tc.text, err, tc.msg)
		}
	}
}

// TestShellClientConfig runs the shell with -client-configuration files: a missing or
// unreadable file and a bad value fail as zkCli.sh does, unknown keys get a note, and
// jute.maxbuffer bounds the replies the client accepts.
func TestShellClientConfig(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.properties")
	for _, tc := range []struct {
		path   string
		stderr string
		code   int
	}{
		{missing, "org.apache.zookeeper.server.quorum.QuorumPeerConfig$ConfigException: Error while processing " + missing +
			"\nCaused by: java.lang.IllegalArgumentException: " + missing + " file is missing\n", 2},
		{dir, "org.apache.zookeeper.server.quorum.QuorumPeerConfig$ConfigException: Error while processing " + dir +
			"\nCaused by: java.io.FileNotFoundException: " + dir + " (Is a directory)\n", 2},
		{writeConfig(t, "jute.maxbuffer=big\n"),
			`Exception in thread "main" java.io.IOException: Configured value big for property jute.maxbuffer can not be parsed to int` + "\n", 1},
	} {
		// No server is needed: the file is read before connecting.
		out, stderr, code := runShell(t, Options{Server: "127.0.0.1:1", ClientConfig: tc.path}, "", "ls", "/")
		if code != tc.code || stderr != tc.stderr || out != "Connecting to 127.0.0.1:1\n" {
			t.Errorf("%s: exit %d, stdout %q, stderr:\n%s\nwant exit %d, stderr:\n%s", tc.path, code, out, stderr, tc.code, tc.stderr)
		}
	}

	srv := startServer(t)
	big := strings.Repeat("x", 500)
	if _, stderr, code := runShell(t, Options{Server: srv.Addr()}, "", "create", "/big", big); code != 0 {
		t.Fatalf("create /big: exit %d: %s", code, stderr)
	}
	cfg := writeConfig(t, "# a reply to get /big is larger than this\njute.maxbuffer=300\nzookeeper.sasl.client=false\nno.such.key=1\n")
	out, stderr, code := runShell(t, Options{Server: srv.Addr(), ClientConfig: cfg}, "", "get", "/zookeeper")
	if code != 0 || stderr != "paddock cli: "+cfg+": ignoring no.such.key, which is not a ZooKeeper client setting\n" {
		t.Errorf("get /zookeeper with a small jute.maxbuffer: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	_, stderr, code = runShell(t, Options{Server: srv.Addr(), ClientConfig: cfg}, "", "get", "/big")
	if code != 1 || !strings.Contains(stderr, "KeeperErrorCode = ConnectionLoss") {
		t.Errorf("get /big with jute.maxbuffer=300: exit %d, stderr %q; want ConnectionLoss", code, stderr)
	}
	out, _, code = runShell(t, Options{Server: srv.Addr(), ClientConfig: writeConfig(t, "jute.maxbuffer=4096\n")}, "", "get", "/big")
	if code != 0 || !strings.Contains(out, big) {
		t.Errorf("get /big with jute.maxbuffer=4096: exit %d, stdout %q", code, out)
	}
}
