package zkcli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/paddock/paddock/internal/config"
)

// -client-configuration names a Java properties file of client settings, which zkCli.sh
// reads into a ZKClientConfig before it connects. Of ZooKeeper's client settings paddock cli
// applies those its client has an equivalent for; it ignores the others (SASL, Kerberos, the
// Java socket class, ...) as zkCli.sh ignores keys nothing reads, and it notes on stderr the
// keys that ZooKeeper itself would not know, since those are likely typing mistakes.

// clientSettings are the settings a client configuration file gave.
type clientSettings struct {
	maxBuffer int      // jute.maxbuffer: bound of a reply frame, 0 for the default
	unknown   []string // keys ZooKeeper's client does not know, in file order
}

// knownClientKeys are the keys ZooKeeper 3.8's client reads from its ZKClientConfig (and the
// common ZKConfig), besides those under knownClientPrefixes.
var knownClientKeys = map[string]bool{
	"jute.maxbuffer":                              true,
	"zookeeper.kinit":                             true,
	"sun.security.jgss.native":                    true,
	"zookeeper.sasl.client":                       true,
	"zookeeper.sasl.clientconfig":                 true,
	"zookeeper.sasl.client.username":              true,
	"zookeeper.sasl.client.canonicalize.hostname": true,
	"zookeeper.server.realm":                      true,
	"zookeeper.server.principal":                  true,
	"zookeeper.disableAutoWatchReset":             true,
	"zookeeper.clientCnxnSocket":                  true,
	"zookeeper.client.secure":                     true,
	"zookeeper.request.timeout":                   true,
}

// knownClientPrefixes are families of ZooKeeper client keys: the TLS settings of X509Util.
var knownClientPrefixes = []string{"zookeeper.ssl."}

// clientSockets are the values of zookeeper.clientCnxnSocket the Java client can instantiate.
var clientSockets = map[string]bool{
	"org.apache.zookeeper.ClientCnxnSocketNIO":   true,
	"org.apache.zookeeper.ClientCnxnSocketNetty": true,
}

// configError is a failure to use a client configuration, reported as zkCli.sh reports it
// (the Java exception's message and its cause, without the stack trace), with its exit code.
type configError struct {
	msg  string
	exit int
}

func (e *configError) Error() string { return e.msg }

// loadClientConfig reads a client configuration file as zkCli.sh does. A file that cannot
// be read fails as ZKConfig's ConfigException does (exit 2, INVALID_INVOCATION); a value the
// Java client could not use fails as its constructor's IOException does (exit 1).
func loadClientConfig(path string) (clientSettings, *configError) {
	var cs clientSettings
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	configErr := func(cause string) *configError {
		return &configError{
			msg:  "org.apache.zookeeper.server.quorum.QuorumPeerConfig$ConfigException: Error while processing " + abs + "\nCaused by: " + cause,
			exit: 2,
		}
	}
	text, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return cs, configErr("java.lang.IllegalArgumentException: " + path + " file is missing")
		}
		return cs, configErr("java.io.FileNotFoundException: " + path + " (" + javaIOReason(err) + ")")
	}
	props, err := config.ParseProperties(string(text), path)
	if err != nil {
		return cs, configErr("java.lang.IllegalArgumentException: " + err.Error())
	}
	// The last occurrence of a key wins, as in java.util.Properties.
	last := map[string]string{}
	for _, p := range props {
		if !knownClientKey(p.Key) {
			cs.unknown = append(cs.unknown, p.Key)
		}
		last[p.Key] = p.Value
	}
	ioErr := func(msg string) *configError {
		return &configError{msg: `Exception in thread "main" java.io.IOException: ` + msg, exit: 1}
	}
	if v, ok := last["zookeeper.clientCnxnSocket"]; ok && !clientSockets[v] {
		return cs, ioErr("Couldn't instantiate " + v)
	}
	if v, ok := last["jute.maxbuffer"]; ok {
		n, ok := parseJavaInt(v)
		if !ok {
			return cs, ioErr("Configured value " + v + " for property jute.maxbuffer can not be parsed to int")
		}
		// The Java client refuses a reply of jute.maxbuffer bytes or more.
		cs.maxBuffer = max(int(n)-1, 1)
	}
	if strings.EqualFold(last["zookeeper.client.secure"], "true") {
		// Connecting in the clear when TLS was asked for would be worse than not connecting.
		return cs, &configError{msg: "paddock cli: zookeeper.client.secure=true: TLS connections are not supported", exit: 1}
	}
	return cs, nil
}

func knownClientKey(k string) bool {
	if knownClientKeys[k] {
		return true
	}
	for _, p := range knownClientPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// javaIOReason is the reason a FileInputStream gives when it cannot open a file.
func javaIOReason(err error) string {
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrPermission):
		return "Permission denied"
	case errors.As(err, &errno) && errno == syscall.EISDIR:
		return "Is a directory"
	case errors.As(err, &errno):
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

func (cs *clientSettings) noteUnknown(path string) string {
	if len(cs.unknown) == 0 {
		return ""
	}
	var b strings.Builder
	for _, k := range cs.unknown {
		fmt.Fprintf(&b, "paddock cli: %s: ignoring %s, which is not a ZooKeeper client setting", path, k)
		if short, ok := strings.CutPrefix(k, "zookeeper."); ok && knownClientKey(short) {
			fmt.Fprintf(&b, " (ZooKeeper's client reads %s)", short)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
