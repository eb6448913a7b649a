package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// builder accumulates properties before the derived values are computed.
type builder struct {
	c *Config

	tickMS     int64 // -1 until set
	minSessMS  int64 // -1 = 2 ticks
	maxSessMS  int64 // -1 = 20 ticks
	snapRetain int64
	purgeHours int64
	whitelist  string
	hasList    bool
	multiAddr  bool

	servers []entry // server.N lines of the static file, in order
	version *entry  // version= of the static file
}

func newBuilder() *builder {
	return &builder{
		c: &Config{
			MaxClientCnxns:           60,
			GlobalOutstandingLimit:   1000,
			SnapCount:                100000,
			AutopurgeSnapRetainCount: 3,
			PreAllocSize:             64 << 20,
			Admin: Admin{
				EnableServer:  true,
				ServerAddress: "0.0.0.0",
				ServerPort:    8080,
				CommandURL:    "/commands",
				IdleTimeout:   30 * time.Second,
			},
			Metrics:                Metrics{HTTPHost: "0.0.0.0", HTTPPort: 7000, ExportJVMInfo: true},
			StandaloneEnabled:      true,
			DigestEnabled:          true,
			JuteMaxBuffer:          0xfffff,
			ContainerCheckInterval: 60 * time.Second,
			FsyncWarningThreshold:  time.Second,
			ContainerMaxPerMinute:  10000,
			Props:                  map[string]string{},
		},
		tickMS:     3000, // ZooKeeperServer.DEFAULT_TICK_TIME
		minSessMS:  -1,
		maxSessMS:  -1,
		snapRetain: 3,
	}
}

// canonical folds the two spellings of a property: ZooKeeper turns an unknown
// zoo.cfg key k into the system property zookeeper.k, so both name one setting.
func canonical(k string) string { return strings.TrimPrefix(k, "zookeeper.") }

// setProp records a raw property, dropping its other spelling.
func (b *builder) setProp(k, v string) {
	delete(b.c.Props, altSpelling(k))
	b.c.Props[k] = v
}

// add merges the static file's entries and then the -D entries (later wins)
// and interprets them. Interpretation runs in key order so that nothing
// depends on map order; values that depend on each other are derived later.
func (b *builder) add(file, jvm []entry) error {
	merged := map[string]entry{}
	for _, e := range file {
		b.setProp(e.key, e.value)
		switch {
		case strings.HasPrefix(e.key, "server."):
			b.servers = append(b.servers, e)
			continue
		case e.key == "version":
			v := e
			b.version = &v
			continue
		}
		merged[canonical(e.key)] = e
	}
	for _, e := range jvm {
		b.setProp(e.key, e.value)
		merged[canonical(e.key)] = e
	}
	for _, k := range sortedKeys(merged) {
		e := merged[k]
		if err := b.apply(k, e); err != nil {
			return &Error{File: e.src, Line: e.line, Key: e.key, Err: err}
		}
	}
	return nil
}

func (b *builder) apply(k string, e entry) error {
	if h, ok := handlers[k]; ok {
		return h(b, e.key, e.value)
	}
	switch {
	case isClassKey(k):
		b.c.Ignored = append(b.c.Ignored, e.key+"="+e.value)
	case strings.HasPrefix(k, "group.") || strings.HasPrefix(k, "weight."):
		if !e.jvm {
			b.c.Unsupported = append(b.c.Unsupported, e.key+"="+e.value)
		}
	case hasPrefix(k, quietPrefixes):
	default:
		if !e.jvm || strings.HasPrefix(e.key, "zookeeper.") {
			b.c.Unknown = append(b.c.Unknown, e.key)
		}
	}
	return nil
}

func hasPrefix(k string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// isClassKey reports keys whose value names a Java class.
func isClassKey(k string) bool {
	return k == "serverCnxnFactory" || k == "clientCnxnSocket" ||
		strings.HasPrefix(k, "authProvider.") ||
		strings.HasSuffix(k, ".class") || strings.HasSuffix(k, "className")
}

// quietPrefixes are families of ZooKeeper (and JVM logging) properties that
// are known and have no effect here, so they are neither unknown nor worth a
// log line; they remain readable through Prop.
var quietPrefixes = []string{
	"admin.", "metricsProvider.", "ssl.", "log.", "root.logger", "jmx.",
	"znode.container.", "jvm.pause.", "multiAddress.", "quorum.",
	"enforce", "emulate353TTLNodes", "maxResponseCacheSize",
	"maxGetChildrenResponseCacheSize", "request_throttle", "throttled_op",
	"DigestAuthenticationProvider.", "sasl", "allowSaslFailedClients",
	"kerberos.", "snapSizeLimitInKb", "syncEnabled", "connectToLearnerMasterLimit",
	"clientPortListenBacklog", "observerMasterPort", "electionPortBindRetry",
	"commitLogCount", "txnLogSizeLimitInKb",
	"forceSync", "leaderServes", "cnxTimeout", "flushDelay", "maxBatchSize",
	"observer.", "learner.", "leader.", "follower.", "digest.", "audit.",
	"serializeLastProcessedZxid", "snapshot.", "purgeTxnLog", "netty.",
	"nio.", "client.", "server.", "4lw.", "jute.", "readonlymode.",
}

type handler func(b *builder, key, v string) error

// handlers interpret the keys that have a typed field or need validation,
// under their canonical (zookeeper.-less) names.
var handlers = map[string]handler{
	"dataDir":           func(b *builder, _, v string) error { b.c.DataDir = v; return nil },
	"dataLogDir":        func(b *builder, _, v string) error { b.c.DataLogDir = v; return nil },
	"clientPortAddress": func(b *builder, _, v string) error { b.c.ClientPortAddress = v; return nil },
	"clientPort": func(b *builder, _, v string) error {
		n, err := parsePort(v)
		b.c.ClientPort = n
		return err
	},
	"tickTime":          intTo(func(b *builder, n int64) { b.tickMS = n }),
	"minSessionTimeout": intTo(func(b *builder, n int64) { b.minSessMS = n }),
	"maxSessionTimeout": intTo(func(b *builder, n int64) { b.maxSessMS = n }),
	"initLimit":         nonNegInt(func(b *builder, n int64) { b.c.InitLimit = int(n) }),
	"syncLimit":         nonNegInt(func(b *builder, n int64) { b.c.SyncLimit = int(n) }),
	"maxClientCnxns":    nonNegInt(func(b *builder, n int64) { b.c.MaxClientCnxns = int(n) }),
	"peerType": func(b *builder, _, v string) error {
		r, err := parseRole(v)
		b.c.PeerType = r
		return err
	},
	"dynamicConfigFile":         func(b *builder, _, v string) error { b.c.DynamicConfigFile = v; return nil },
	"autopurge.snapRetainCount": intTo(func(b *builder, n int64) { b.snapRetain = n }),
	"autopurge.purgeInterval":   intTo(func(b *builder, n int64) { b.purgeHours = n }),
	"standaloneEnabled":         boolTo(func(b *builder, v bool) { b.c.StandaloneEnabled = v }),
	"reconfigEnabled":           boolTo(func(b *builder, v bool) { b.c.ReconfigEnabled = v }),
	"quorumListenOnAllIPs":      boolTo(func(b *builder, v bool) { b.c.QuorumListenOnAllIPs = v }),
	"electionAlg": func(b *builder, _, v string) error {
		n, err := parseJavaInt(v, 32)
		if err == nil && n != 3 {
			err = fmt.Errorf("invalid electionAlg value %d, only 3 is supported", n)
		}
		return err
	},
	"syncEnabled":                           boolTo(nil),
	"localSessionsUpgradingEnabled":         boolTo(nil),
	"sslQuorumReloadCertFiles":              boolTo(nil),
	"jvm.pause.monitor":                     boolTo(nil),
	"multiAddress.reachabilityCheckEnabled": boolTo(nil),
	"multiAddress.enabled":                  boolTo(func(b *builder, v bool) { b.multiAddr = v }),
	"localSessionsEnabled":                  unsupportedIfTrue,
	"sslQuorum":                             unsupportedIfTrue,
	"portUnification":                       unsupportedIfTrue,
	"quorum.auth.enableSasl":                unsupportedIfTrue,
	"quorum.auth.serverRequireSasl":         unsupportedIfTrue,
	"quorum.auth.learnerRequireSasl":        unsupportedIfTrue,
	"secureClientPort": func(b *builder, k, v string) error {
		n, err := parsePort(v)
		if err == nil && n != 0 {
			b.unsupported(k, v)
		}
		return err
	},
	"secureClientPortAddress":                 unsupported,
	"oraclePath":                              unsupported,
	"observerMasterPort":                      intTo(nil),
	"clientPortListenBacklog":                 intTo(nil),
	"connectToLearnerMasterLimit":             intTo(nil),
	"quorum.cnxn.threads.size":                intTo(nil),
	"multiAddress.reachabilityCheckTimeoutMs": intTo(nil),

	"metricsProvider.className": func(b *builder, k, v string) error {
		b.c.Metrics.ClassName = v
		b.c.Metrics.Prometheus = v == PrometheusProvider
		if !b.c.Metrics.Prometheus {
			b.c.Ignored = append(b.c.Ignored, k+"="+v)
		}
		return nil
	},
	"metricsProvider.httpHost":      func(b *builder, _, v string) error { b.c.Metrics.HTTPHost = v; return nil },
	"metricsProvider.httpPort":      portTo(func(b *builder, n int) { b.c.Metrics.HTTPPort = n }),
	"metricsProvider.exportJvmInfo": func(b *builder, _, v string) error { b.c.Metrics.ExportJVMInfo = javaBool(v); return nil },

	// System properties (zookeeper.<key> unless noted). Java reads these with
	// Boolean.parseBoolean and Integer.getInteger, so booleans are lenient and
	// numbers may be hex; a bad number is an error here rather than silently
	// the default.
	"4lw.commands.whitelist": func(b *builder, _, v string) error { b.whitelist, b.hasList = v, true; return nil },
	"admin.enableServer":     func(b *builder, _, v string) error { b.c.Admin.EnableServer = javaBool(v); return nil },
	"admin.serverAddress":    func(b *builder, _, v string) error { b.c.Admin.ServerAddress = v; return nil },
	"admin.serverPort":       portTo(func(b *builder, n int) { b.c.Admin.ServerPort = n }),
	"admin.commandURL":       func(b *builder, _, v string) error { b.c.Admin.CommandURL = v; return nil },
	"admin.idleTimeout":      decodeTo(32, 0, func(b *builder, n int64) { b.c.Admin.IdleTimeout = ms(n) }),
	"maxCnxns":               decodeTo(32, 0, func(b *builder, n int64) { b.c.MaxCnxns = int(n) }),
	"globalOutstandingLimit": decodeTo(32, 0, func(b *builder, n int64) { b.c.GlobalOutstandingLimit = int(n) }),
	"snapCount": decodeTo(32, math.MinInt32, func(b *builder, n int64) {
		if n < 2 {
			b.warn(fmt.Sprintf("snapCount %d is less than 2, using 2", n))
			n = 2
		}
		b.c.SnapCount = int(n)
	}),
	"preAllocSize": func(b *builder, _, v string) error {
		n, err := parseJavaInt(v, 64)
		if err == nil && (n <= 0 || n > math.MaxInt64>>10) {
			err = fmt.Errorf("%w: %d", ErrOutOfRange, n)
		}
		b.c.PreAllocSize = n << 10
		return err
	},
	// ZooKeeper reads it with Long.getLong: a value that does not parse leaves the default.
	"fsync.warningthresholdms": func(b *builder, k, v string) error {
		n, err := decodeJavaInt(v, 64)
		if err != nil || n < 0 {
			b.warn(fmt.Sprintf("%s=%q is not a number of milliseconds; using %d", k, v, b.c.FsyncWarningThreshold.Milliseconds()))
			return nil
		}
		b.c.FsyncWarningThreshold = ms(n)
		return nil
	},
	"jute.maxbuffer": decodeTo(32, 1, func(b *builder, n int64) { b.c.JuteMaxBuffer = int(n) }),
	"readonlymode.enabled": func(b *builder, _, v string) error {
		b.c.ReadOnlyMode = javaBool(v)
		return nil
	},
	"extendedTypesEnabled": func(b *builder, _, v string) error { b.c.ExtendedTypesEnabled = javaBool(v); return nil },
	"skipACL":              func(b *builder, _, v string) error { b.c.SkipACL = v == "yes"; return nil },
	"digest.enabled":       func(b *builder, _, v string) error { b.c.DigestEnabled = javaBool(v); return nil },
	"DigestAuthenticationProvider.superDigest": func(b *builder, _, v string) error {
		b.c.SuperDigest = v
		return nil
	},
	"znode.container.checkIntervalMs":        decodeTo(32, 1, func(b *builder, n int64) { b.c.ContainerCheckInterval = ms(n) }),
	"znode.container.maxPerMinute":           decodeTo(32, 1, func(b *builder, n int64) { b.c.ContainerMaxPerMinute = int(n) }),
	"znode.container.maxNeverUsedIntervalMs": msTo(func(b *builder, d time.Duration) { b.c.ContainerMaxNeverUsedInterval = d }),
}

// ms converts milliseconds; callers keep n small enough not to overflow.
func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// msTo parses a Long.decode number of milliseconds that fits a Duration.
func msTo(set func(*builder, time.Duration)) handler {
	return func(b *builder, _, v string) error {
		n, err := decodeJavaInt(v, 64)
		if err == nil && (n < 0 || n > math.MaxInt64/int64(time.Millisecond)) {
			err = fmt.Errorf("%w: %d", ErrOutOfRange, n)
		}
		if err == nil {
			set(b, ms(n))
		}
		return err
	}
}

func (b *builder) warn(s string) { b.c.Warnings = append(b.c.Warnings, s) }

func (b *builder) unsupported(k, v string) {
	b.c.Unsupported = append(b.c.Unsupported, k+"="+v)
}

func unsupported(b *builder, k, v string) error {
	b.unsupported(k, v)
	return nil
}

func unsupportedIfTrue(b *builder, k, v string) error {
	on, err := parseBool(v)
	if on {
		b.unsupported(k, v)
	}
	return err
}

// intTo parses a decimal Java int (Integer.parseInt).
func intTo(set func(*builder, int64)) handler {
	return func(b *builder, _, v string) error {
		n, err := parseJavaInt(v, 32)
		if err == nil && set != nil {
			set(b, n)
		}
		return err
	}
}

func nonNegInt(set func(*builder, int64)) handler {
	return func(b *builder, _, v string) error {
		n, err := parseJavaInt(v, 32)
		if err == nil && n < 0 {
			err = fmt.Errorf("%w: %d is negative", ErrOutOfRange, n)
		}
		if err == nil {
			set(b, n)
		}
		return err
	}
}

// decodeTo parses a number as Integer.decode/Long.decode (decimal, 0x, #, 0
// octal) and requires it to be at least min.
func decodeTo(bits int, min int64, set func(*builder, int64)) handler {
	return func(b *builder, _, v string) error {
		n, err := decodeJavaInt(v, bits)
		if err == nil && n < min {
			err = fmt.Errorf("%w: %d is less than %d", ErrOutOfRange, n, min)
		}
		if err == nil {
			set(b, n)
		}
		return err
	}
}

func portTo(set func(*builder, int)) handler {
	return func(b *builder, _, v string) error {
		n, err := parsePort(v)
		if err == nil {
			set(b, n)
		}
		return err
	}
}

// boolTo parses a QuorumPeerConfig boolean, which must be true or false.
func boolTo(set func(*builder, bool)) handler {
	return func(b *builder, _, v string) error {
		on, err := parseBool(v)
		if err == nil && set != nil {
			set(b, on)
		}
		return err
	}
}

// parseJavaInt is Integer.parseInt / Long.parseLong: optional sign, decimal.
func parseJavaInt(v string, bits int) (int64, error) {
	n, err := strconv.ParseInt(v, 10, bits)
	if err != nil || strings.Contains(v, "_") {
		return 0, fmt.Errorf("%w: %q", ErrNotANumber, v)
	}
	return n, nil
}

// decodeJavaInt is Integer.decode / Long.decode.
func decodeJavaInt(v string, bits int) (int64, error) {
	s, neg := v, false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		base, s = 16, s[2:]
	case strings.HasPrefix(s, "#"):
		base, s = 16, s[1:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if s == "" || s[0] == '-' || s[0] == '+' {
		return 0, fmt.Errorf("%w: %q", ErrNotANumber, v)
	}
	u, err := strconv.ParseUint(s, base, 64)
	if err != nil || strings.Contains(s, "_") {
		return 0, fmt.Errorf("%w: %q", ErrNotANumber, v)
	}
	limit := uint64(1)<<(bits-1) - 1
	if neg {
		limit++
	}
	if u > limit {
		return 0, fmt.Errorf("%w: %q", ErrNotANumber, v)
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

func parsePort(v string) (int, error) {
	n, err := parseJavaInt(v, 32)
	if err != nil {
		return 0, err
	}
	if n < 0 || n > 65535 {
		return 0, fmt.Errorf("port out of range:%d", n)
	}
	return int(n), nil
}

// parseBool is QuorumPeerConfig.parseBoolean.
func parseBool(v string) (bool, error) {
	switch {
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, fmt.Errorf("%w: invalid option %s, choose 'true' or 'false'", ErrNotABoolean, v)
}

// javaBool is Boolean.parseBoolean: "true" in any case, anything else false.
func javaBool(v string) bool { return strings.EqualFold(v, "true") }

func parseRole(v string) (Role, error) {
	switch strings.ToLower(trimJava(v)) {
	case "participant":
		return Participant, nil
	case "observer":
		return Observer, nil
	}
	return Participant, fmt.Errorf("unrecognised peertype: %s", v)
}

// finish derives the values that depend on other keys and checks the static
// part of the configuration. src names the source for errors.
func (b *builder) finish(src string) error {
	c := b.c
	fail := func(err error) error { return &Error{File: src, Err: err} }
	if b.tickMS == 0 {
		return fail(ErrTickTimeNotSet)
	}
	if b.tickMS < 0 {
		return &Error{File: src, Key: "tickTime", Err: fmt.Errorf("%w: %d is negative", ErrOutOfRange, b.tickMS)}
	}
	c.TickTime = ms(b.tickMS)
	if b.minSessMS == -1 {
		b.minSessMS = 2 * b.tickMS
	}
	if b.maxSessMS == -1 {
		b.maxSessMS = 20 * b.tickMS
	}
	if b.minSessMS > b.maxSessMS {
		return fail(ErrSessionTimeouts)
	}
	if b.minSessMS < 0 {
		return &Error{File: src, Key: "minSessionTimeout", Err: fmt.Errorf("%w: %d is negative", ErrOutOfRange, b.minSessMS)}
	}
	c.MinSessionTimeout, c.MaxSessionTimeout = ms(b.minSessMS), ms(b.maxSessMS)

	if b.snapRetain < 3 {
		b.warn(fmt.Sprintf("invalid autopurge.snapRetainCount: %d, defaulting to 3", b.snapRetain))
		b.snapRetain = 3
	}
	c.AutopurgeSnapRetainCount = int(b.snapRetain)
	c.AutopurgePurgeInterval = time.Duration(min(max(b.purgeHours, 0), math.MaxInt64/int64(time.Hour))) * time.Hour

	if c.DataDir == "" {
		return fail(ErrDataDirNotSet)
	}
	if c.DataLogDir == "" {
		c.DataLogDir = c.DataDir
	}
	if c.ClientPort == 0 && c.ClientPortAddress != "" {
		return fail(ErrClientPortAddressNoPort)
	}
	c.FourLetterWords = fourLetterWords(b.whitelist, c.ReadOnlyMode)

	sort.Strings(c.Ignored)
	sort.Strings(c.Unsupported)
	sort.Strings(c.Unknown)
	return nil
}

// fourLetterWords is FourLetterCommands.isEnabled's list: the configured words
// (comma or blank separated), srvr always, isro in read-only mode, and "*"
// alone when every command is allowed.
func fourLetterWords(list string, readOnly bool) []string {
	set := map[string]bool{"srvr": true}
	if readOnly {
		set["isro"] = true
	}
	// Words are separated by commas; as Java's String.trim does around each, every control
	// character and space counts as a separator too.
	for _, w := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r <= ' ' || unicode.IsSpace(r) }) {
		if w == "*" {
			return []string{"*"}
		}
		set[w] = true
	}
	return sortedKeys(set)
}
