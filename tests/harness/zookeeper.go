package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Where Debian's zookeeper packages (installed by `make deps`) put things.
const (
	// ZooKeeperJar is the server and Java client jar; its manifest's Class-Path names its
	// dependencies under /usr/share/java.
	ZooKeeperJar = "/usr/share/java/zookeeper.jar"
	// ZkCli is the Java command-line client script.
	ZkCli = "/usr/share/zookeeper/bin/zkCli.sh"
	// CliMT is the C client's multi-threaded shell.
	CliMT = "/usr/lib/zookeeper/bin/cli_mt"

	standaloneMain = "org.apache.zookeeper.server.ZooKeeperServerMain"
	quorumMain     = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
)

// zkExtraJars complete the class path that zookeeper.jar's manifest starts: an SLF4J
// binding to log4j 1.2 (Debian's jar lists none), so logs reach the server's log file
// through the generated log4j.properties, and the servlet API the admin server's Jetty
// needs. Each is used when present.
var zkExtraJars = []string{
	"/usr/share/java/slf4j-log4j12.jar",
	"/usr/share/java/log4j-1.2.jar",
	"/usr/share/java/servlet-api.jar",
}

// zkJVMFlags keep the JVM small and quick to start on a two-core machine.
var zkJVMFlags = []string{
	"-Xms32m", "-Xmx256m",
	"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
	"-Djava.net.preferIPv4Stack=true",
	"-Dzookeeper.jmx.log4j.disable=true",
}

const zkLog4j = `log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
`

// ZKOptions configures StartZooKeeper. The zero value is a standalone server with
// ZooKeeper's defaults.
type ZKOptions struct {
	// TickTime is zoo.cfg's tickTime; 0 means 2 s, so sessions may last 4 s to 40 s.
	TickTime time.Duration
	// Config holds extra zoo.cfg lines ("key=value"). They come after the generated ones,
	// so they override them.
	Config []string
	// Properties are Java system properties (-Dkey=value), for example
	// "zookeeper.extendedTypesEnabled": "true". They are also written to zoo.cfg, in the
	// spelling ZooKeeper reads there ("extendedTypesEnabled=true").
	Properties map[string]string
	// AdminServer enables the admin HTTP server on an ephemeral port (Server.AdminAddr).
	AdminServer bool
	// Quorum runs QuorumPeerMain, the Debian service's main class, instead of
	// ZooKeeperServerMain. With no server.N lines both run a standalone server.
	Quorum bool
	// JVMFlags are appended to the harness's java flags, so they override them.
	JVMFlags []string
	// StartTimeout bounds the wait for readiness; 0 means 30 s.
	StartTimeout time.Duration
}

// StartZooKeeper starts Apache ZooKeeper 3.8 in a fresh t.TempDir on an ephemeral loopback
// port and returns once it answers ruok with imok and grants a session. A t.Cleanup kills
// it. It skips the test when java or the ZooKeeper jar is missing, and fails it, with the
// server's log, when the server does not come up.
func StartZooKeeper(t testing.TB, opts ZKOptions) *Server {
	t.Helper()
	java := requireZooKeeper(t)
	s := newServer(t, "zookeeper", opts.TickTime, opts.StartTimeout, opts.Config, opts.Properties, opts.AdminServer)

	log4j := filepath.Join(s.dir, "log4j.properties")
	if err := os.WriteFile(log4j, []byte(zkLog4j), 0o644); err != nil {
		t.Fatalf("harness: %v", err)
	}
	cp := []string{ZooKeeperJar}
	for _, j := range zkExtraJars {
		if _, err := os.Stat(j); err == nil {
			cp = append(cp, j)
		}
	}
	main := standaloneMain
	if opts.Quorum {
		main = quorumMain
	}
	args := append([]string(nil), zkJVMFlags...)
	args = append(args,
		"-Dlog4j.configuration=file:"+log4j,
		"-Dzookeeper.log.dir="+s.dir,
		"-Djava.io.tmpdir="+s.dir,
	)
	args = append(args, s.cfg.jvmProps()...)
	args = append(args, opts.JVMFlags...)
	args = append(args, "-cp", strings.Join(cp, ":"), main, s.cfgPath)
	s.command = func() *exec.Cmd { return exec.Command(java, args...) }

	s.startOrFail()
	return s
}

// requireZooKeeper returns the java binary, or skips the test when ZooKeeper cannot run.
func requireZooKeeper(t testing.TB) string {
	t.Helper()
	java, err := exec.LookPath("java")
	if err != nil {
		t.Skip("Apache ZooKeeper not installed: run make deps (no java in PATH)")
	}
	if _, err := os.Stat(ZooKeeperJar); err != nil {
		t.Skipf("Apache ZooKeeper not installed: run make deps (%v)", err)
	}
	return java
}
