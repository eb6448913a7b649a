package config

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Parse(strings.NewReader(text), "zoo.cfg")
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, text)
	}
	return c
}

func parseErr(t *testing.T, text string) error {
	t.Helper()
	c, err := Parse(strings.NewReader(text), "zoo.cfg")
	if err == nil {
		t.Fatalf("Parse succeeded, want an error:\n%s\n%s", text, c.Format())
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is a %T, not *Error", err, err)
	}
	return err
}

func TestDefault(t *testing.T) {
	c := Default()
	want := &Config{
		TickTime:                 2 * time.Second,
		DataDir:                  "./data",
		DataLogDir:               "./data",
		ClientPort:               2181,
		ClientPortAddress:        "127.0.0.1",
		MaxClientCnxns:           60,
		MinSessionTimeout:        4 * time.Second,
		MaxSessionTimeout:        40 * time.Second,
		GlobalOutstandingLimit:   1000,
		SnapCount:                100000,
		FsyncWarningThreshold:    time.Second,
		AutopurgeSnapRetainCount: 3,
		PreAllocSize:             64 << 20,
		FourLetterWords:          []string{"srvr"},
		Admin: Admin{EnableServer: true, ServerAddress: "0.0.0.0", ServerPort: 8080,
			CommandURL: "/commands", IdleTimeout: 30 * time.Second},
		Metrics:                Metrics{HTTPHost: "0.0.0.0", HTTPPort: 7000, ExportJVMInfo: true},
		StandaloneEnabled:      true,
		DigestEnabled:          true,
		JuteMaxBuffer:          0xfffff,
		ContainerCheckInterval: time.Minute,
		ContainerMaxPerMinute:  10000,
		Props: map[string]string{"tickTime": "2000", "dataDir": "./data", "clientPort": "2181",
			"clientPortAddress": "127.0.0.1"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Default() =\n%#v\nwant\n%#v", c, want)
	}
	if !c.Standalone() {
		t.Error("Default() is not standalone")
	}
	c.Props["x"] = "y"
	c.FourLetterWords[0] = "ruok"
	if d := Default(); d.Props["x"] != "" || d.FourLetterWords[0] != "srvr" {
		t.Error("Default() shares state between calls")
	}
}

// TestKeys covers every key family: the base text is a minimal valid
// standalone zoo.cfg and each case adds lines.
func TestKeys(t *testing.T) {
	type C = *Config
	tests := []struct {
		name, text string
		get        func(C) any
		want       any
	}{
		{"tickTime absent is 3000ms", "", func(c C) any { return c.TickTime }, 3 * time.Second},
		{"tickTime", "tickTime=2000", func(c C) any { return c.TickTime }, 2 * time.Second},
		{"session bounds from tick", "tickTime=1000", func(c C) any { return []time.Duration{c.MinSessionTimeout, c.MaxSessionTimeout} },
			[]time.Duration{2 * time.Second, 20 * time.Second}},
		{"session bounds explicit", "minSessionTimeout=1000\nmaxSessionTimeout=90000",
			func(c C) any { return []time.Duration{c.MinSessionTimeout, c.MaxSessionTimeout} },
			[]time.Duration{time.Second, 90 * time.Second}},
		{"session bound -1 means default", "tickTime=1000\nminSessionTimeout=-1",
			func(c C) any { return c.MinSessionTimeout }, 2 * time.Second},
		{"init and sync limits", "initLimit=10\nsyncLimit=5", func(c C) any { return []int{c.InitLimit, c.SyncLimit} }, []int{10, 5}},
		{"dataLogDir defaults to dataDir", "", func(c C) any { return c.DataLogDir }, "/d"},
		{"dataLogDir", "dataLogDir=/log", func(c C) any { return c.DataLogDir }, "/log"},
		{"clientPortAddress", "clientPortAddress=127.0.0.1", func(c C) any { return c.ClientPortAddress }, "127.0.0.1"},
		{"maxClientCnxns default", "", func(c C) any { return c.MaxClientCnxns }, 60},
		{"maxClientCnxns unlimited", "maxClientCnxns=0", func(c C) any { return c.MaxClientCnxns }, 0},
		{"maxCnxns", "maxCnxns=500", func(c C) any { return c.MaxCnxns }, 500},
		{"zookeeper.maxCnxns", "zookeeper.maxCnxns=0x10", func(c C) any { return c.MaxCnxns }, 16},
		{"globalOutstandingLimit", "globalOutstandingLimit=5000", func(c C) any { return c.GlobalOutstandingLimit }, 5000},
		{"snapCount", "snapCount=#10", func(c C) any { return c.SnapCount }, 16},
		{"fsync warning threshold", "fsync.warningthresholdms=250", func(c C) any { return c.FsyncWarningThreshold }, 250 * time.Millisecond},
		{"fsync warning threshold in hex", "fsync.warningthresholdms=0x10", func(c C) any { return c.FsyncWarningThreshold }, 16 * time.Millisecond},
		{"fsync warning threshold not a number", "fsync.warningthresholdms=soon",
			func(c C) any { return []any{c.FsyncWarningThreshold, c.Warnings} },
			[]any{time.Second, []string{`fsync.warningthresholdms="soon" is not a number of milliseconds; using 1000`}}},
		{"snapCount at least 2", "snapCount=1", func(c C) any { return []any{c.SnapCount, c.Warnings} },
			[]any{2, []string{"snapCount 1 is less than 2, using 2"}}},
		{"autopurge", "autopurge.snapRetainCount=5\nautopurge.purgeInterval=24",
			func(c C) any { return []any{c.AutopurgeSnapRetainCount, c.AutopurgePurgeInterval} }, []any{5, 24 * time.Hour}},
		{"autopurge retain at least 3", "autopurge.snapRetainCount=1",
			func(c C) any { return []any{c.AutopurgeSnapRetainCount, c.Warnings} },
			[]any{3, []string{"invalid autopurge.snapRetainCount: 1, defaulting to 3"}}},
		{"autopurge negative interval is off", "autopurge.purgeInterval=-1", func(c C) any { return c.AutopurgePurgeInterval }, time.Duration(0)},
		{"preAllocSize in KB", "preAllocSize=1024", func(c C) any { return c.PreAllocSize }, int64(1 << 20)},
		{"4lw default", "", func(c C) any { return c.FourLetterWords }, []string{"srvr"}},
		{"4lw list", "4lw.commands.whitelist=ruok, mntr,stat  conf", func(c C) any { return c.FourLetterWords },
			[]string{"conf", "mntr", "ruok", "srvr", "stat"}},
		{"4lw star", "4lw.commands.whitelist=ruok,*", func(c C) any { return c.FourLetterWords }, []string{"*"}},
		{"4lw with read-only", "readonlymode.enabled=true\n4lw.commands.whitelist=ruok",
			func(c C) any { return c.FourLetterWords }, []string{"isro", "ruok", "srvr"}},
		{"4lw system property spelling", "zookeeper.4lw.commands.whitelist=mntr", func(c C) any { return c.FourLetterWords },
			[]string{"mntr", "srvr"}},
		{"admin defaults", "", func(c C) any { return c.Admin },
			Admin{EnableServer: true, ServerAddress: "0.0.0.0", ServerPort: 8080, CommandURL: "/commands", IdleTimeout: 30 * time.Second}},
		{"admin", "admin.enableServer=false\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=9090\nadmin.commandURL=/c\nadmin.idleTimeout=5000",
			func(c C) any { return c.Admin },
			Admin{EnableServer: false, ServerAddress: "127.0.0.1", ServerPort: 9090, CommandURL: "/c", IdleTimeout: 5 * time.Second}},
		{"admin enableServer is lenient like Java", "admin.enableServer=yes", func(c C) any { return c.Admin.EnableServer }, false},
		{"metrics default", "", func(c C) any { return c.Metrics }, Metrics{HTTPHost: "0.0.0.0", HTTPPort: 7000, ExportJVMInfo: true}},
		{"metrics prometheus", "metricsProvider.className=" + PrometheusProvider +
			"\nmetricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort=7001\nmetricsProvider.exportJvmInfo=false",
			func(c C) any { return []any{c.Metrics, c.Ignored} },
			[]any{Metrics{ClassName: PrometheusProvider, Prometheus: true, HTTPHost: "127.0.0.1", HTTPPort: 7001}, []string(nil)}},
		{"metrics other provider is ignored", "metricsProvider.className=com.example.Metrics",
			func(c C) any { return []any{c.Metrics.Prometheus, c.Ignored} },
			[]any{false, []string{"metricsProvider.className=com.example.Metrics"}}},
		{"reconfig and standalone", "reconfigEnabled=true\nstandaloneEnabled=TRUE",
			func(c C) any { return []bool{c.ReconfigEnabled, c.StandaloneEnabled} }, []bool{true, true}},
		{"quorumListenOnAllIPs", "quorumListenOnAllIPs=true", func(c C) any { return c.QuorumListenOnAllIPs }, true},
		{"readonlymode", "readonlymode.enabled=true", func(c C) any { return c.ReadOnlyMode }, true},
		{"extendedTypesEnabled", "zookeeper.extendedTypesEnabled=true", func(c C) any { return c.ExtendedTypesEnabled }, true},
		{"extendedTypesEnabled zoo.cfg spelling", "extendedTypesEnabled=true", func(c C) any { return c.ExtendedTypesEnabled }, true},
		{"skipACL yes", "skipACL=yes", func(c C) any { return c.SkipACL }, true},
		{"skipACL only yes", "zookeeper.skipACL=true", func(c C) any { return c.SkipACL }, false},
		{"superDigest", "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
			func(c C) any { return c.SuperDigest }, "super:D/InIHSb7yEEbrWz8b9l71RjZJU="},
		{"superDigest property spelling", "zookeeper.DigestAuthenticationProvider.superDigest=super:x",
			func(c C) any { return c.SuperDigest }, "super:x"},
		{"digest.enabled", "digest.enabled=false", func(c C) any { return c.DigestEnabled }, false},
		{"jute.maxbuffer", "jute.maxbuffer=0x400000", func(c C) any { return c.JuteMaxBuffer }, 0x400000},
		{"jute.maxbuffer decimal", "jute.maxbuffer=4194304", func(c C) any { return c.JuteMaxBuffer }, 4194304},
		{"containers", "znode.container.checkIntervalMs=1000\nznode.container.maxPerMinute=5\nznode.container.maxNeverUsedIntervalMs=30000",
			func(c C) any {
				return []any{c.ContainerCheckInterval, c.ContainerMaxPerMinute, c.ContainerMaxNeverUsedInterval}
			},
			[]any{time.Second, 5, 30 * time.Second}},
		{"peerType", "peerType=observer", func(c C) any { return c.PeerType }, Observer},
		{"dynamicConfigFile kept relative by Parse", "dynamicConfigFile=zoo.cfg.dynamic.100000000",
			func(c C) any { return c.DynamicConfigFile }, "zoo.cfg.dynamic.100000000"},
		{"later line wins", "tickTime=1000\ntickTime=2000", func(c C) any { return c.TickTime }, 2 * time.Second},
		{"later spelling wins", "4lw.commands.whitelist=ruok\nzookeeper.4lw.commands.whitelist=mntr",
			func(c C) any {
				return []any{c.FourLetterWords, c.Props["zookeeper.4lw.commands.whitelist"], len(c.Props)}
			},
			[]any{[]string{"mntr", "srvr"}, "mntr", 3}},
		{"class keys are ignored", "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n" +
			"authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n" +
			"zookeeper.authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider\n" +
			"ssl.context.supplier.class=com.example.Supplier",
			func(c C) any { return []any{c.Ignored, c.Unknown} },
			[]any{[]string{
				"authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
				"serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
				"ssl.context.supplier.class=com.example.Supplier",
				"zookeeper.authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider",
			}, []string(nil)}},
		{"unknown keys", "frobnicate=1\nzookeeper.frob=2\nenforceQuota=true\nsyncEnabled=true\nsnapSizeLimitInKb=10",
			func(c C) any { return []any{c.Unknown, c.Props["frobnicate"], c.Props["zookeeper.frob"]} },
			[]any{[]string{"frobnicate", "zookeeper.frob"}, "1", "2"}},
		{"unsupported", "secureClientPort=2281\nsslQuorum=true\nlocalSessionsEnabled=false\nquorum.auth.enableSasl=true\noraclePath=/o",
			func(c C) any { return c.Unsupported },
			[]string{"oraclePath=/o", "quorum.auth.enableSasl=true", "secureClientPort=2281", "sslQuorum=true"}},
		{"electionAlg 3", "electionAlg=3", func(c C) any { return c.Unknown }, []string(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, "dataDir=/d\nclientPort=2181\n"+tt.text+"\n")
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestProp(t *testing.T) {
	c := mustParse(t, "dataDir=/d\nclientPort=2181\nenforceQuota=true\nzookeeper.emulate353TTLNodes=true\n")
	for _, name := range []string{"enforceQuota", "zookeeper.enforceQuota", "emulate353TTLNodes", "zookeeper.emulate353TTLNodes"} {
		if v, ok := c.Prop(name); !ok || v != "true" {
			t.Errorf("Prop(%q) = %q, %v", name, v, ok)
		}
	}
	if v, ok := c.Prop("dataDir"); !ok || v != "/d" {
		t.Errorf("Prop(dataDir) = %q, %v", v, ok)
	}
	if _, ok := c.Prop("nothing"); ok {
		t.Error("Prop(nothing) found")
	}
}

func TestFourLetterWordEnabled(t *testing.T) {
	c := mustParse(t, "dataDir=/d\nclientPort=2181\n4lw.commands.whitelist=ruok\n")
	for cmd, want := range map[string]bool{"ruok": true, "srvr": true, "mntr": false, "isro": false} {
		if got := c.FourLetterWordEnabled(cmd); got != want {
			t.Errorf("FourLetterWordEnabled(%q) = %v", cmd, got)
		}
	}
	c = mustParse(t, "dataDir=/d\nclientPort=2181\n4lw.commands.whitelist=*\n")
	if !c.FourLetterWordEnabled("wchp") {
		t.Error("* does not enable wchp")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
		is               error
	}{
		{"no dataDir", "clientPort=2181", "config: zoo.cfg: dataDir is not set", ErrDataDirNotSet},
		{"empty dataDir", "dataDir=\nclientPort=2181", "config: zoo.cfg: dataDir is not set", ErrDataDirNotSet},
		{"tickTime zero", "dataDir=/d\nclientPort=1\ntickTime=0", "config: zoo.cfg: tickTime is not set", ErrTickTimeNotSet},
		{"tickTime negative", "dataDir=/d\nclientPort=1\ntickTime=-5", "config: zoo.cfg: tickTime: out of range: -5 is negative", ErrOutOfRange},
		{"bad number", "dataDir=/d\nclientPort=2181\n\ntickTime = 2s", `config: zoo.cfg:4: tickTime: not a number: "2s"`, ErrNotANumber},
		{"int overflow", "dataDir=/d\nclientPort=2181\ninitLimit=3000000000", `config: zoo.cfg:3: initLimit: not a number: "3000000000"`, ErrNotANumber},
		{"bad clientPort", "dataDir=/d\nclientPort=x", `config: zoo.cfg:2: clientPort: not a number: "x"`, ErrNotANumber},
		{"clientPort range", "dataDir=/d\nclientPort=65536", "config: zoo.cfg:2: clientPort: port out of range:65536", nil},
		{"negative limit", "dataDir=/d\nclientPort=1\nmaxClientCnxns=-1", "config: zoo.cfg:3: maxClientCnxns: out of range: -1 is negative", ErrOutOfRange},
		{"bad boolean", "dataDir=/d\nclientPort=1\nstandaloneEnabled=yes",
			"config: zoo.cfg:3: standaloneEnabled: not a boolean: invalid option yes, choose 'true' or 'false'", ErrNotABoolean},
		{"bad hex", "dataDir=/d\nclientPort=1\njute.maxbuffer=0xZZ", `config: zoo.cfg:3: jute.maxbuffer: not a number: "0xZZ"`, ErrNotANumber},
		{"jute.maxbuffer zero", "dataDir=/d\nclientPort=1\njute.maxbuffer=0", `config: zoo.cfg:3: jute.maxbuffer: out of range: 0 is less than 1`, ErrOutOfRange},
		{"min > max", "dataDir=/d\nclientPort=1\nminSessionTimeout=5000\nmaxSessionTimeout=4000",
			"config: zoo.cfg: minSessionTimeout must not be larger than maxSessionTimeout", ErrSessionTimeouts},
		{"clientPortAddress without port", "dataDir=/d\nclientPortAddress=0.0.0.0\nserver.1=h:1:2;2181",
			"config: zoo.cfg: clientPortAddress is set but clientPort is not set", ErrClientPortAddressNoPort},
		{"no client port", "dataDir=/d", "config: zoo.cfg: clientPort is not set", ErrClientPortNotSet},
		{"initLimit", "dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2", "config: zoo.cfg: initLimit is not set", ErrInitLimitNotSet},
		{"syncLimit", "dataDir=/d\ninitLimit=5\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2", "config: zoo.cfg: syncLimit is not set", ErrSyncLimitNotSet},
		{"initLimit when standalone disabled", "dataDir=/d\nstandaloneEnabled=false\nserver.1=a:1:2;2181",
			"config: zoo.cfg: initLimit is not set", ErrInitLimitNotSet},
		{"peerType", "dataDir=/d\nclientPort=1\npeerType=leader", "config: zoo.cfg:3: peerType: unrecognised peertype: leader", nil},
		{"electionAlg", "dataDir=/d\nclientPort=1\nelectionAlg=1", "config: zoo.cfg:3: electionAlg: invalid electionAlg value 1, only 3 is supported", nil},
		{"servers with dynamic file", "dataDir=/d\nclientPort=1\ndynamicConfigFile=/dyn\nserver.1=a:1:2",
			"config: zoo.cfg:4: server.1: parameter: server.1 must be in a separate dynamic config file", nil},
		{"bad version", "dataDir=/d\nclientPort=1\nversion=xyz", `config: zoo.cfg:3: version: not a number: "xyz" (hexadecimal)`, ErrNotANumber},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parseErr(t, tt.text+"\n")
			if err.Error() != tt.want {
				t.Errorf("err = %q\nwant  %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) = false", tt.is)
			}
		})
	}
}

func TestSampleConfig(t *testing.T) {
	// Parse, not Load: Load would read /tmp/zookeeper/myid.
	f, err := os.Open("testdata/zoo_sample.cfg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := Parse(f, "zoo_sample.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if c.TickTime != 2*time.Second || c.InitLimit != 10 || c.SyncLimit != 5 || c.DataDir != "/tmp/zookeeper" ||
		c.ClientPort != 2181 || c.ClientPortAddress != "" || len(c.Unknown) != 0 || len(c.Ignored) != 0 {
		t.Errorf("sample config read as\n%s", c.Format())
	}
}

// TestFormatRoundTrip checks that Format is zoo.cfg that parses back to the
// same configuration.
func TestFormatRoundTrip(t *testing.T) {
	for _, text := range []string{
		"dataDir=/d\nclientPort=2181\n",
		"dataDir=/d\ndataLogDir=/l\ntickTime=1500\ninitLimit=5\nsyncLimit=2\nreconfigEnabled=true\n" +
			"4lw.commands.whitelist=ruok,mntr\nreadonlymode.enabled=true\nmetricsProvider.className=" + PrometheusProvider + "\n" +
			"jute.maxbuffer=0x400000\nzookeeper.skipACL=yes\nautopurge.purgeInterval=3\nsnapCount=5000\n" +
			"server.1=a:2888:3888;2181\nserver.2=[::2]:2888:3888;2181\nserver.3=c:2888:3888:observer\nserver.4=d:2888:3888\nversion=1f\n",
		"dataDir=/d\nserver.1=h:2888:3888;127.0.0.1:2181\n",
	} {
		c := mustParse(t, text)
		c2 := mustParse(t, c.Format())
		c.Props, c2.Props = nil, nil
		c.Warnings, c2.Warnings = nil, nil
		if !reflect.DeepEqual(c, c2) {
			t.Errorf("round trip of\n%s\ngave\n%s\nwant\n%s", text, c2.Format(), c.Format())
		}
	}
}

func TestFormatHidesSuperDigest(t *testing.T) {
	c := mustParse(t, "dataDir=/d\nclientPort=1\nDigestAuthenticationProvider.superDigest=super:secret\n")
	if strings.Contains(c.Format(), "secret") {
		t.Errorf("Format shows the super digest:\n%s", c.Format())
	}
}
