// Package config owns paddock's server configuration: it turns a standard
// Apache ZooKeeper zoo.cfg, the official Docker image's ZOO_* environment
// variables, ZooKeeper's Java system properties given as -Dkey=value words in
// SERVER_JVMFLAGS and JVMFLAGS, and command-line flags into one validated
// Config. Precedence, lowest first: zoo.cfg (or the file generated from
// ZOO_*), -D properties, explicit flags.
//
// Keys are read as ZooKeeper 3.9 reads them (QuorumPeerConfig.parseProperties
// and the system properties the server consults). Keys that only name a Java
// class are recorded in Config.Ignored, ZooKeeper features paddock does not
// implement in Config.Unsupported, and unknown keys in Config.Unknown; none of
// them is fatal. Every raw property stays available through Config.Prop.
//
// The package uses the standard library only and has no global state; its
// functions are safe for concurrent use. A Config is a plain value: the caller
// owns it and its slices and map.
package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Role is a member's role in the ensemble.
type Role int

const (
	Participant Role = iota // votes; may lead
	Observer                // replicates without voting
)

func (r Role) String() string {
	if r == Observer {
		return "observer"
	}
	return "participant"
}

// Server is one server.N line: server.ID=Host:PeerPort:ElectionPort[:role][;[ClientHost:]ClientPort].
type Server struct {
	ID           int64
	Host         string // without the brackets of an IPv6 literal
	PeerPort     int    // ZooKeeper's quorum port (2888)
	ElectionPort int    // ZooKeeper's election port (3888)
	Role         Role
	ClientHost   string // "" when the line has no client part; "0.0.0.0" for a bare ;port
	ClientPort   int    // 0 when the line has no client part
}

// String formats s as ZooKeeper does in its dynamic configuration, without the
// "server.N=" prefix: host:peer:election:role[;clientHost:clientPort].
func (s Server) String() string {
	var b strings.Builder
	b.WriteString(bracketHost(s.Host))
	fmt.Fprintf(&b, ":%d:%d:%s", s.PeerPort, s.ElectionPort, s.Role)
	if s.ClientPort != 0 {
		fmt.Fprintf(&b, ";%s:%d", bracketHost(s.ClientHost), s.ClientPort)
	}
	return b.String()
}

func bracketHost(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// Admin configures the AdminServer (admin.* keys).
type Admin struct {
	EnableServer  bool          // admin.enableServer, true
	ServerAddress string        // admin.serverAddress, 0.0.0.0
	ServerPort    int           // admin.serverPort, 8080
	CommandURL    string        // admin.commandURL, /commands
	IdleTimeout   time.Duration // admin.idleTimeout, 30s
}

// PrometheusProvider is the metricsProvider.className that turns on the
// Prometheus endpoint.
const PrometheusProvider = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"

// Metrics configures the metrics provider (metricsProvider.* keys).
type Metrics struct {
	ClassName     string // metricsProvider.className as configured, "" when unset
	Prometheus    bool   // ClassName is PrometheusProvider
	HTTPHost      string // metricsProvider.httpHost, 0.0.0.0
	HTTPPort      int    // metricsProvider.httpPort, 7000
	ExportJVMInfo bool   // metricsProvider.exportJvmInfo, true
}

// Config is the validated configuration of one server.
type Config struct {
	// Source names where the configuration came from: the zoo.cfg path, a
	// description of the file generated from ZOO_* variables, or "" for the
	// built-in defaults.
	Source string
	// Generated is the zoo.cfg text generated from ZOO_* variables (see
	// GenerateFromEnv), "" when a file or the defaults were used.
	Generated string

	TickTime          time.Duration // tickTime; 3000ms when a zoo.cfg omits it
	InitLimit         int           // initLimit, in ticks; required in a quorum
	SyncLimit         int           // syncLimit, in ticks; required in a quorum
	DataDir           string        // dataDir; snapshots and myid
	DataLogDir        string        // dataLogDir, = DataDir when unset
	ClientPort        int           // clientPort or this server's ;port; 0 = no client listener (quorum only)
	ClientPortAddress string        // clientPortAddress or this server's ;host:port; "" = all interfaces
	MaxClientCnxns    int           // maxClientCnxns per client IP, 60; 0 = unlimited
	MaxCnxns          int           // maxCnxns in total, 0 = unlimited

	MinSessionTimeout time.Duration // minSessionTimeout, 2 ticks when unset
	MaxSessionTimeout time.Duration // maxSessionTimeout, 20 ticks when unset

	GlobalOutstandingLimit int // globalOutstandingLimit, 1000
	SnapCount              int // snapCount, 100000 (at least 2)
	// FsyncWarningThreshold is fsync.warningthresholdms (zookeeper.fsync.warningthresholdms),
	// 1 s: a log fsync slower than this is logged and counted.
	FsyncWarningThreshold    time.Duration
	AutopurgeSnapRetainCount int           // autopurge.snapRetainCount, 3 (at least 3)
	AutopurgePurgeInterval   time.Duration // autopurge.purgeInterval in whole hours; 0 = off
	PreAllocSize             int64         // preAllocSize in bytes (configured in KB), 64 MiB

	// FourLetterWords is the sorted 4lw.commands.whitelist. It always holds
	// "srvr", and "isro" when ReadOnlyMode is on; "*" means every command.
	// Use FourLetterWordEnabled to test a command.
	FourLetterWords []string

	Admin   Admin
	Metrics Metrics

	ReconfigEnabled      bool   // reconfigEnabled, false
	StandaloneEnabled    bool   // standaloneEnabled, true
	QuorumListenOnAllIPs bool   // quorumListenOnAllIPs, false
	DynamicConfigFile    string // dynamicConfigFile, resolved against the zoo.cfg directory
	ConfigVersion        int64  // version= of the server list (hex in files), 0 when unset

	ReadOnlyMode                  bool          // readonlymode.enabled
	ExtendedTypesEnabled          bool          // zookeeper.extendedTypesEnabled (TTL nodes)
	SkipACL                       bool          // zookeeper.skipACL=yes
	SuperDigest                   string        // zookeeper.DigestAuthenticationProvider.superDigest, "user:base64(sha1)"
	DigestEnabled                 bool          // zookeeper.digest.enabled, true
	JuteMaxBuffer                 int           // jute.maxbuffer, 0xfffff
	ContainerCheckInterval        time.Duration // znode.container.checkIntervalMs, 60s
	ContainerMaxPerMinute         int           // znode.container.maxPerMinute, 10000
	ContainerMaxNeverUsedInterval time.Duration // znode.container.maxNeverUsedIntervalMs, 0 = never

	// Servers are the server.N lines (from zoo.cfg or the dynamic file), sorted
	// by ID, as configured: this server's effective client address is
	// ClientPortAddress:ClientPort, which flags may have overridden.
	Servers []Server
	// MyID is this server's id from dataDir/myid (or ZOO_MY_ID); 0 = unknown.
	MyID int64
	// PeerType is this server's role; the server list wins over peerType.
	PeerType Role

	// Props holds every raw property under the spelling it was given (zoo.cfg
	// keys and -D names); when two spellings of one property (k and
	// zookeeper.k) were given, only the winning one is kept. Use Prop.
	Props map[string]string
	// Ignored lists "key=value" for keys that only name Java classes.
	Ignored []string
	// Unsupported lists "key=value" for ZooKeeper features paddock does not
	// implement (TLS ports, SASL quorum auth, hierarchical quorums, ...).
	Unsupported []string
	// Unknown lists keys ZooKeeper would turn into zookeeper.<key> system
	// properties that paddock does not know; -D words are listed only when
	// named zookeeper.*, since JVM flags carry many properties for the JVM.
	Unknown []string
	// Warnings are messages to log (values ZooKeeper corrects, odd ensembles).
	Warnings []string
	// MaxHeap is the last -Xmx of SERVER_JVMFLAGS and JVMFLAGS in bytes (0 = none), and
	// MaxHeapFrom the variable it came from.
	MaxHeap     int64
	MaxHeapFrom string
}

// Prop returns the raw value of property name, looking for name and for
// zookeeper.name (or name without its zookeeper. prefix), as ZooKeeper turns
// an unknown zoo.cfg key k into the system property zookeeper.k.
func (c *Config) Prop(name string) (string, bool) {
	if v, ok := c.Props[name]; ok {
		return v, true
	}
	if v, ok := c.Props[altSpelling(name)]; ok {
		return v, true
	}
	return "", false
}

func altSpelling(k string) string {
	if s, ok := strings.CutPrefix(k, "zookeeper."); ok {
		return s
	}
	return "zookeeper." + k
}

// FourLetterWordEnabled reports whether cmd is on the 4lw whitelist.
func (c *Config) FourLetterWordEnabled(cmd string) bool {
	for _, w := range c.FourLetterWords {
		if w == "*" || w == cmd {
			return true
		}
	}
	return false
}

// Standalone reports whether the server runs alone: standaloneEnabled and at
// most one participant, as ZooKeeper decides (QuorumPeerConfig.isDistributed).
func (c *Config) Standalone() bool {
	return c.StandaloneEnabled && c.participants() <= 1
}

func (c *Config) participants() int {
	n := 0
	for _, s := range c.Servers {
		if s.Role == Participant {
			n++
		}
	}
	return n
}

// Self returns this server's entry in Servers.
func (c *Config) Self() (Server, bool) {
	for _, s := range c.Servers {
		if s.ID == c.MyID && c.MyID != 0 {
			return s, true
		}
	}
	return Server{}, false
}

// DynamicConfig returns the server list as ZooKeeper stores it in
// /zookeeper/config: one server.N line per member, then version=<hex>.
func (c *Config) DynamicConfig() string {
	var b strings.Builder
	for _, s := range c.Servers {
		fmt.Fprintf(&b, "server.%d=%s\n", s.ID, s)
	}
	fmt.Fprintf(&b, "version=%x", c.ConfigVersion)
	return b.String()
}

// Format returns the effective configuration, one key=value per line, in
// zoo.cfg spelling, so that it can be parsed again. The super digest is never
// printed.
func (c *Config) Format() string {
	var b strings.Builder
	kv := func(k string, v any) { fmt.Fprintf(&b, "%s=%s\n", k, escapeValue(fmt.Sprint(v))) }
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	if c.ClientPort != 0 {
		kv("clientPort", c.ClientPort)
	}
	if c.ClientPortAddress != "" && c.ClientPort != 0 {
		kv("clientPortAddress", c.ClientPortAddress)
	}
	kv("dataDir", c.DataDir)
	kv("dataLogDir", c.DataLogDir)
	kv("tickTime", ms(c.TickTime))
	kv("maxClientCnxns", c.MaxClientCnxns)
	kv("minSessionTimeout", ms(c.MinSessionTimeout))
	kv("maxSessionTimeout", ms(c.MaxSessionTimeout))
	kv("initLimit", c.InitLimit)
	kv("syncLimit", c.SyncLimit)
	kv("peerType", c.PeerType)
	kv("standaloneEnabled", c.StandaloneEnabled)
	kv("reconfigEnabled", c.ReconfigEnabled)
	kv("quorumListenOnAllIPs", c.QuorumListenOnAllIPs)
	kv("maxCnxns", c.MaxCnxns)
	kv("globalOutstandingLimit", c.GlobalOutstandingLimit)
	kv("snapCount", c.SnapCount)
	kv("preAllocSize", c.PreAllocSize/1024)
	kv("fsync.warningthresholdms", ms(c.FsyncWarningThreshold))
	kv("autopurge.snapRetainCount", c.AutopurgeSnapRetainCount)
	kv("autopurge.purgeInterval", int64(c.AutopurgePurgeInterval/time.Hour))
	kv("4lw.commands.whitelist", strings.Join(c.FourLetterWords, ","))
	kv("admin.enableServer", c.Admin.EnableServer)
	kv("admin.serverAddress", c.Admin.ServerAddress)
	kv("admin.serverPort", c.Admin.ServerPort)
	kv("admin.commandURL", c.Admin.CommandURL)
	kv("admin.idleTimeout", ms(c.Admin.IdleTimeout))
	if c.Metrics.ClassName != "" {
		kv("metricsProvider.className", c.Metrics.ClassName)
	}
	kv("metricsProvider.httpHost", c.Metrics.HTTPHost)
	kv("metricsProvider.httpPort", c.Metrics.HTTPPort)
	kv("metricsProvider.exportJvmInfo", c.Metrics.ExportJVMInfo)
	kv("readonlymode.enabled", c.ReadOnlyMode)
	kv("zookeeper.extendedTypesEnabled", c.ExtendedTypesEnabled)
	kv("zookeeper.skipACL", map[bool]string{true: "yes", false: "no"}[c.SkipACL])
	kv("zookeeper.digest.enabled", c.DigestEnabled)
	kv("jute.maxbuffer", c.JuteMaxBuffer)
	kv("znode.container.checkIntervalMs", ms(c.ContainerCheckInterval))
	kv("znode.container.maxPerMinute", c.ContainerMaxPerMinute)
	kv("znode.container.maxNeverUsedIntervalMs", ms(c.ContainerMaxNeverUsedInterval))
	if c.DynamicConfigFile != "" {
		kv("dynamicConfigFile", c.DynamicConfigFile)
		return b.String()
	}
	for _, s := range c.Servers {
		kv("server."+strconv.FormatInt(s.ID, 10), s)
	}
	if len(c.Servers) > 0 || c.ConfigVersion != 0 {
		kv("version", strconv.FormatInt(c.ConfigVersion, 16))
	}
	return b.String()
}

// escapeValue escapes what java.util.Properties would otherwise read
// differently: backslashes and line or tab characters.
func escapeValue(s string) string {
	if !strings.ContainsAny(s, "\\\n\r\t\f") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\f", `\f`).Replace(s)
}

// String is Format.
func (c *Config) String() string { return c.Format() }

// sortedKeys returns m's keys in order, so nothing depends on map order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
