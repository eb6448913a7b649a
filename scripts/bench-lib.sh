# shellcheck shell=bash disable=SC2034 # its variables are for the sourcing script
# Shared by scripts/bench-memory.sh and scripts/bench-snapshot.sh (sourced, not run): starting
# Apache ZooKeeper (Debian's 3.8 jar) and paddock standalone under one temporary directory,
# stopping them, and reading their memory from /proc.
#
# The sourcing script sets BENCH_NAME (for messages) before sourcing. Afterwards:
#   $BIN         the paddock binary: $PADDOCK_BIN, or bin/paddock built by `make build`
#   $work        a fresh directory under /tmp, deleted on exit (KEEP_WORK=1 keeps it)
#   start_zk DIR PORT HEAP [zoo.cfg lines...]   and   start_paddock DIR PORT [zoo.cfg lines...]
#                start a server with its data in DIR/data and its log in DIR/log, and set
#                $server_pid and $server_start_ns (the clock just before the exec)
#   stop_server PID   SIGTERM, then wait for it to exit (SIGKILL after STOP_TIMEOUT seconds)
# Every server started here is stopped by the exit trap.

ZK_JAR=/usr/share/java/zookeeper.jar
STOP_TIMEOUT=${STOP_TIMEOUT:-60}

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
note() { echo "$BENCH_NAME: $*" >&2; }

command -v python3 >/dev/null || die "python3 is needed (free ports, JSON)"

# needs_zk fails unless Java and Debian's ZooKeeper jar are there.
needs_zk() {
	if command -v java >/dev/null && [ -f "$ZK_JAR" ]; then return 0; fi
	die "Apache ZooKeeper is not installed (make deps)"
}

if [ -n "${PADDOCK_BIN:-}" ]; then
	BIN=$PADDOCK_BIN
else
	make -s build || die "make build failed (PADDOCK_BIN=path runs an already built binary)"
	BIN=$PWD/bin/paddock
fi
[ -x "$BIN" ] || die "no paddock binary at $BIN"

work=$(mktemp -d /tmp/paddock-bench.XXXXXX)
bench_pids=()
bench_cleanup() {
	local p
	for p in "${bench_pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [ "${KEEP_WORK:-0}" = 1 ]; then
		note "kept $work"
	else
		rm -rf "$work"
	fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# alive PID: the process exists and is not a zombie (kill -0 succeeds on an unreaped child).
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# wait_port PORT PID: until something listens on PORT, failing if PID dies first.
wait_port() {
	local deadline=$((SECONDS + 120))
	while [ $SECONDS -lt $deadline ]; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		alive "$2" || die "the server (pid $2) exited before listening on port $1"
		sleep 0.05
	done
	die "nothing listens on port $1"
}

# wait_serving ADDR PID: until the server at ADDR grants a session and answers a stat of "/"
# (listening is not enough: ZooKeeper accepts connections before its database is loaded),
# failing if PID dies first.
wait_serving() {
	local deadline=$((SECONDS + 180))
	until serves "$1" /; do
		alive "$2" || die "the server (pid $2) exited before serving on $1"
		[ $SECONDS -lt $deadline ] || die "the server on $1 grants no session after 180 s"
		sleep 0.1
	done
}

# rss_bytes PID and hwm_bytes PID: VmRSS and VmHWM of PID.
rss_bytes() { awk '/^VmRSS:/ {printf "%d\n", $2 * 1024}' "/proc/$1/status"; }
hwm_bytes() { awk '/^VmHWM:/ {printf "%d\n", $2 * 1024}' "/proc/$1/status"; }

machine_line() {
	echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg); $(java -version 2>&1 | head -1); paddock $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+dirty')"
}

# zk_cfg DIR PORT [lines...] writes DIR/zoo.cfg and DIR/log4j.properties for ZooKeeper.
zk_cfg() {
	local dir=$1 port=$2
	shift 2
	mkdir -p "$dir/data"
	{
		cat <<EOF
tickTime=2000
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
EOF
		local l
		for l in "$@"; do echo "$l"; done
	} >"$dir/zoo.cfg"
	cat >"$dir/log4j.properties" <<'EOF'
log4j.rootLogger=WARN, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p %m%n
EOF
}

# paddock_cfg DIR PORT [lines...] writes DIR/zoo.cfg for paddock.
paddock_cfg() {
	local dir=$1 port=$2
	shift 2
	mkdir -p "$dir/data"
	{
		cat <<EOF
tickTime=2000
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
EOF
		local l
		for l in "$@"; do echo "$l"; done
	} >"$dir/zoo.cfg"
}

server_pid=
server_start_ns=

# start_zk DIR PORT HEAP [zoo.cfg lines...]: writes the configuration unless DIR/zoo.cfg
# exists (a restart), starts ZooKeeper, returns at once.
start_zk() {
	local dir=$1 port=$2 heap=$3
	shift 3
	[ -f "$dir/zoo.cfg" ] || zk_cfg "$dir" "$port" "$@"
	local cp=$ZK_JAR j
	for j in /usr/share/java/slf4j-log4j12.jar /usr/share/java/log4j-1.2.jar; do [ -f "$j" ] && cp=$cp:$j; done
	server_start_ns=$(now_ns)
	java "-Xmx$heap" -Dlog4j.configuration="file:$dir/log4j.properties" -Dzookeeper.admin.enableServer=false \
		-cp "$cp" org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" >>"$dir/log" 2>&1 &
	server_pid=$!
	bench_pids+=("$server_pid")
}

# start_paddock DIR PORT [zoo.cfg lines...]: as start_zk, for paddock.
start_paddock() {
	local dir=$1 port=$2
	shift 2
	[ -f "$dir/zoo.cfg" ] || paddock_cfg "$dir" "$port" "$@"
	server_start_ns=$(now_ns)
	"$BIN" server --config "$dir/zoo.cfg" >>"$dir/log" 2>&1 &
	server_pid=$!
	bench_pids+=("$server_pid")
}

# stop_server PID: SIGTERM and wait for the exit; SIGKILL if it takes over STOP_TIMEOUT s.
stop_server() {
	local pid=$1 deadline=$((SECONDS + STOP_TIMEOUT))
	kill -TERM "$pid" 2>/dev/null || true
	while alive "$pid"; do
		if [ $SECONDS -ge $deadline ]; then
			note "pid $pid still runs ${STOP_TIMEOUT}s after SIGTERM; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		sleep 0.05
	done
	wait "$pid" 2>/dev/null || true
}

# serves ADDR PATH: one attempt to stat PATH on ADDR; succeeds when the znode is there.
serves() {
	timeout 10 "$BIN" cli -server "$1" -timeout 5000 -waitforconnection stat "$2" >/dev/null 2>&1
}

# json_get JSON EXPR: evaluates the Python expression EXPR on the parsed JSON (as d).
json_get() { python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
