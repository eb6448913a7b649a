package config

import "strings"

// envMap turns os.Environ-style pairs into a map; the last pair wins.
func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}

func envOr(env map[string]string, k, def string) string {
	if v, ok := env[k]; ok {
		return v
	}
	return def
}

func hasZooVars(env map[string]string) bool {
	for k := range env {
		if strings.HasPrefix(k, "ZOO_") {
			return true
		}
	}
	return false
}

// zooDefaults are the official image's Dockerfile ENV values.
var zooDefaults = map[string]string{
	"ZOO_DATA_DIR":                  "/data",
	"ZOO_DATA_LOG_DIR":              "/datalog",
	"ZOO_TICK_TIME":                 "2000",
	"ZOO_INIT_LIMIT":                "5",
	"ZOO_SYNC_LIMIT":                "2",
	"ZOO_AUTOPURGE_SNAPRETAINCOUNT": "3",
	"ZOO_AUTOPURGE_PURGEINTERVAL":   "0",
	"ZOO_MAX_CLIENT_CNXNS":          "60",
	"ZOO_STANDALONE_ENABLED":        "true",
	"ZOO_ADMINSERVER_ENABLED":       "true",
}

// GenerateFromEnv returns the zoo.cfg text that the official Docker image's
// docker-entrypoint.sh writes for environment env (os.Environ style), with the
// image's defaults for unset variables. A variable set to the empty string is
// written empty, as the script does. ZOO_SERVERS and ZOO_CFG_EXTRA are split
// at blanks, one line per word.
func GenerateFromEnv(env []string) string {
	m := envMap(env)
	get := func(k string) string { return envOr(m, k, zooDefaults[k]) }
	var b strings.Builder
	line := func(k, v string) { b.WriteString(k + "=" + v + "\n") }
	line("dataDir", get("ZOO_DATA_DIR"))
	line("dataLogDir", get("ZOO_DATA_LOG_DIR"))
	line("tickTime", get("ZOO_TICK_TIME"))
	line("initLimit", get("ZOO_INIT_LIMIT"))
	line("syncLimit", get("ZOO_SYNC_LIMIT"))
	line("autopurge.snapRetainCount", get("ZOO_AUTOPURGE_SNAPRETAINCOUNT"))
	line("autopurge.purgeInterval", get("ZOO_AUTOPURGE_PURGEINTERVAL"))
	line("maxClientCnxns", get("ZOO_MAX_CLIENT_CNXNS"))
	line("standaloneEnabled", get("ZOO_STANDALONE_ENABLED"))
	line("admin.enableServer", get("ZOO_ADMINSERVER_ENABLED"))
	servers := m["ZOO_SERVERS"]
	if servers == "" {
		servers = "server.1=localhost:2888:3888;2181"
	}
	for _, s := range ifsFields(servers) {
		b.WriteString(s + "\n")
	}
	if w := m["ZOO_4LW_COMMANDS_WHITELIST"]; w != "" {
		line("4lw.commands.whitelist", w)
	}
	for _, s := range ifsFields(m["ZOO_CFG_EXTRA"]) {
		b.WriteString(s + "\n")
	}
	return b.String()
}

// ifsFields splits as bash's default IFS does (space, tab, newline).
func ifsFields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' })
}
