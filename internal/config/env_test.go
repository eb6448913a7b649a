package config

import (
	"path/filepath"
	"testing"
	"time"
)

// The expected texts were checked against the output of the official image's
// docker-entrypoint.sh (3.9.4) for the same environments.
var generateTests = []struct {
	name string
	env  []string
	want string
}{
	{
		name: "image defaults",
		env:  []string{"PATH=/bin", "ZOO_MY_ID=1"},
		want: "dataDir=/data\n" +
			"dataLogDir=/datalog\n" +
			"tickTime=2000\n" +
			"initLimit=5\n" +
			"syncLimit=2\n" +
			"autopurge.snapRetainCount=3\n" +
			"autopurge.purgeInterval=0\n" +
			"maxClientCnxns=60\n" +
			"standaloneEnabled=true\n" +
			"admin.enableServer=true\n" +
			"server.1=localhost:2888:3888;2181\n",
	},
	{
		name: "every variable",
		env: []string{
			"ZOO_SERVERS=server.1=zoo1:2888:3888;2181 server.2=zoo2:2888:3888;2181\tserver.3=zoo3:2888:3888;2181\n",
			"ZOO_MY_ID=2", "ZOO_TICK_TIME=1000", "ZOO_INIT_LIMIT=10", "ZOO_SYNC_LIMIT=4",
			"ZOO_DATA_DIR=/var/zk", "ZOO_DATA_LOG_DIR=/var/zklog", "ZOO_MAX_CLIENT_CNXNS=0",
			"ZOO_STANDALONE_ENABLED=false", "ZOO_ADMINSERVER_ENABLED=false",
			"ZOO_AUTOPURGE_PURGEINTERVAL=24", "ZOO_AUTOPURGE_SNAPRETAINCOUNT=5",
			"ZOO_4LW_COMMANDS_WHITELIST=ruok, mntr",
			"ZOO_CFG_EXTRA=metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider  quorumListenOnAllIPs=true",
		},
		want: "dataDir=/var/zk\n" +
			"dataLogDir=/var/zklog\n" +
			"tickTime=1000\n" +
			"initLimit=10\n" +
			"syncLimit=4\n" +
			"autopurge.snapRetainCount=5\n" +
			"autopurge.purgeInterval=24\n" +
			"maxClientCnxns=0\n" +
			"standaloneEnabled=false\n" +
			"admin.enableServer=false\n" +
			"server.1=zoo1:2888:3888;2181\n" +
			"server.2=zoo2:2888:3888;2181\n" +
			"server.3=zoo3:2888:3888;2181\n" +
			"4lw.commands.whitelist=ruok, mntr\n" +
			"metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n" +
			"quorumListenOnAllIPs=true\n",
	},
	{
		// Docker's -e VAR= overrides the image's ENV with an empty value; the
		// script writes it as is. A blank ZOO_SERVERS is not empty for [[ -z ]].
		name: "set but empty",
		env:  []string{"ZOO_TICK_TIME=", "ZOO_SERVERS= ", "ZOO_4LW_COMMANDS_WHITELIST="},
		want: "dataDir=/data\n" +
			"dataLogDir=/datalog\n" +
			"tickTime=\n" +
			"initLimit=5\n" +
			"syncLimit=2\n" +
			"autopurge.snapRetainCount=3\n" +
			"autopurge.purgeInterval=0\n" +
			"maxClientCnxns=60\n" +
			"standaloneEnabled=true\n" +
			"admin.enableServer=true\n",
	},
}

func TestGenerateFromEnv(t *testing.T) {
	for _, tt := range generateTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := GenerateFromEnv(tt.env); got != tt.want {
				t.Errorf("GenerateFromEnv =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestLoadZooEnvGenerated(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	env := []string{"ZOO_CONF_DIR=" + dir, "ZOO_DATA_DIR=" + data, "ZOO_4LW_COMMANDS_WHITELIST=ruok"}
	c, err := Load(LoadOptions{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if c.Generated != GenerateFromEnv(env) || c.Source != filepath.Join(dir, "zoo.cfg")+" (generated from ZOO_* variables)" {
		t.Errorf("Source %q, Generated\n%s", c.Source, c.Generated)
	}
	// The entrypoint writes ${ZOO_MY_ID:-1} into $ZOO_DATA_DIR/myid.
	if c.MyID != 1 || !c.Standalone() || c.ClientPort != 2181 || c.ClientPortAddress != "0.0.0.0" ||
		c.TickTime != 2*time.Second || c.InitLimit != 5 || c.DataDir != data || c.DataLogDir != "/datalog" ||
		!c.FourLetterWordEnabled("ruok") {
		t.Errorf("got\n%s\nmyid=%d", c.Format(), c.MyID)
	}
}

func TestLoadZooEnvEnsemble(t *testing.T) {
	dir := t.TempDir()
	env := []string{
		"ZOO_CONF_DIR=" + dir, "ZOO_DATA_DIR=" + dir, "ZOO_MY_ID=2",
		"ZOO_SERVERS=server.1=zoo1:2888:3888;2181 server.2=zoo2:2888:3888;2181 server.3=zoo3:2888:3888;2181",
		"ZOO_CFG_EXTRA=quorumListenOnAllIPs=true",
		"JVMFLAGS=-Dzookeeper.4lw.commands.whitelist=*",
	}
	c, err := Load(LoadOptions{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	self, ok := c.Self()
	if c.MyID != 2 || !ok || self.Host != "zoo2" || c.Standalone() || len(c.Servers) != 3 ||
		c.ClientPort != 2181 || !c.QuorumListenOnAllIPs || !c.FourLetterWordEnabled("mntr") {
		t.Errorf("got\n%s\nmyid=%d", c.Format(), c.MyID)
	}
}

func TestLoadZooEnvExistingFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "zoo.cfg", "dataDir="+dir+"\nclientPort=2190\n")
	c, err := Load(LoadOptions{Env: []string{"ZOO_CONF_DIR=" + dir, "ZOO_TICK_TIME=1000"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Generated != "" || c.Source != filepath.Join(dir, "zoo.cfg") || c.ClientPort != 2190 || c.TickTime != 3*time.Second {
		t.Errorf("source %q, got\n%s", c.Source, c.Format())
	}
}

func TestLoadZooEnvEmptyTickTime(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(LoadOptions{Env: []string{"ZOO_CONF_DIR=" + dir, "ZOO_DATA_DIR=" + dir, "ZOO_TICK_TIME="}})
	want := `config: ` + filepath.Join(dir, "zoo.cfg") + ` (generated from ZOO_* variables):3: tickTime: not a number: ""`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}

func TestLoadWithoutZooVarsUsesDefaults(t *testing.T) {
	c, err := Load(LoadOptions{Env: []string{"HOME=/root", "ZOOKEEPER=1", "JVMFLAGS=-Dreadonlymode.enabled=true"}})
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if c.Source != "" || c.ClientPort != d.ClientPort || c.ClientPortAddress != d.ClientPortAddress ||
		c.DataDir != d.DataDir || !c.ReadOnlyMode || !c.FourLetterWordEnabled("isro") {
		t.Errorf("got\n%s", c.Format())
	}
}
