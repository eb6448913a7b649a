#!/usr/bin/env bash
# Runs paddock bench against Apache ZooKeeper (A) and paddock (B), standalone, side by side in
# one run, and prints one markdown row per workload for docs/benchmarks.md.
#
#   scripts/bench-compare.sh                      # create set get mix, 3 rounds of 5 s each
#   WORKLOADS="set get" ROUNDS=5 DURATION=10s scripts/bench-compare.sh
#
# Both servers run on this machine with their data under one temporary directory (same
# disk), maxClientCnxns=0, and the load of paddock bench's defaults (12 sessions, 96 requests
# in flight, 100-byte values). Rounds alternate A B, B A, ... so neither is always first.
# ZooKeeper is Debian's (make deps installs it), with the heap its Debian service gets (-Xmx1g
# unless ZK_HEAP says otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."

WORKLOADS=${WORKLOADS:-"create set get mix"}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-2s}
ZK_HEAP=${ZK_HEAP:-1g}
ZK_JAR=/usr/share/java/zookeeper.jar

command -v java >/dev/null && [ -f "$ZK_JAR" ] || { echo "bench-compare: Apache ZooKeeper is not installed (make deps)" >&2; exit 1; }
make -s build
BIN=$PWD/bin/paddock

work=$(mktemp -d /tmp/paddock-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_port() {
	for _ in $(seq 1 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "bench-compare: nothing listens on port $1" >&2
	return 1
}

zk_port=$(free_port)
pd_port=$(free_port)
mkdir -p "$work/zk" "$work/paddock"
cat >"$work/zk/zoo.cfg" <<EOF
tickTime=2000
dataDir=$work/zk/data
clientPort=$zk_port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
EOF
cat >"$work/zk/log4j.properties" <<'EOF'
log4j.rootLogger=WARN, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p %m%n
EOF
cat >"$work/paddock/zoo.cfg" <<EOF
tickTime=2000
dataDir=$work/paddock/data
clientPort=$pd_port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
EOF

cp=$ZK_JAR
for j in /usr/share/java/slf4j-log4j12.jar /usr/share/java/log4j-1.2.jar; do [ -f "$j" ] && cp=$cp:$j; done
java "-Xmx$ZK_HEAP" -Dlog4j.configuration="file:$work/zk/log4j.properties" -Dzookeeper.admin.enableServer=false \
	-cp "$cp" org.apache.zookeeper.server.ZooKeeperServerMain "$work/zk/zoo.cfg" >"$work/zk/log" 2>&1 &
zk_pid=$!
pids+=("$zk_pid")
"$BIN" server --config "$work/paddock/zoo.cfg" >"$work/paddock/log" 2>&1 &
pd_pid=$!
pids+=("$pd_pid")
wait_port "$zk_port"
wait_port "$pd_port"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg); $(java -version 2>&1 | head -1); paddock $(git rev-parse --short HEAD)"
echo
echo "| workload | ZooKeeper ops/s | paddock ops/s | ratio | server CPU µs/op ZK | paddock | ratio | p99 ZK | paddock | ratio | RSS ZK | paddock |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for w in $WORKLOADS; do
	json=$("$BIN" bench --servers "127.0.0.1:$zk_port" --pid "$zk_pid" \
		--compare "127.0.0.1:$pd_port" --compare-pid "$pd_pid" \
		--workload "$w" --duration "$DURATION" --warmup "$WARMUP" --rounds "$ROUNDS" --quiet --json)
	python3 - "$w" "$json" <<'EOF'
import json, sys
w, doc = sys.argv[1], json.loads(sys.argv[2])
m = {row["name"]: row for row in doc["metrics"]}
def pair(name): return m[name]["a"], m[name]["b"]
ops, cpu, p99, rss = pair("ops/s"), pair("cpu µs/op"), pair("p99"), pair("rss end")
print("| {} | {:,.0f} | {:,.0f} | {:.2f} | {:.1f} | {:.1f} | {:.2f} | {:.1f} ms | {:.1f} ms | {:.2f} | {:.0f} MiB | {:.0f} MiB |".format(
    w, ops[0], ops[1], ops[1] / ops[0], cpu[0], cpu[1], cpu[1] / cpu[0],
    p99[0] / 1000, p99[1] / 1000, p99[1] / p99[0], rss[0] / 1048576, rss[1] / 1048576))
EOF
done
