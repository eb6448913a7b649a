#!/usr/bin/env bash
# Runs paddock bench against Apache ZooKeeper (A) and paddock (B), side by side in one run,
# and prints one markdown row per workload for docs/benchmarks.md. Each side is a standalone
# server, or with MEMBERS=3 an ensemble of three members on loopback.
#
#   scripts/bench-compare.sh                      # create set get mix, 3 rounds of 5 s each
#   WORKLOADS="set get" ROUNDS=5 DURATION=10s scripts/bench-compare.sh
#   MEMBERS=3 scripts/bench-compare.sh            # two 3-member ensembles
#
# Both sides run on this machine with their data under one temporary directory (same disk),
# maxClientCnxns=0, and the load of paddock bench's defaults (12 sessions, 96 requests in
# flight, 100-byte values). Rounds alternate A B, B A, ... so neither is always first.
# ZooKeeper is Debian's (make deps installs it), with the heap its Debian service gets (-Xmx1g
# unless ZK_HEAP says otherwise), per member.
#
# An ensemble's members share one zoo.cfg but for their client port and dataDir/myid (ZooKeeper
# runs QuorumPeerMain, paddock reads the same server.N lines and myid), on free loopback
# ports. Benchmarking starts once each ensemble has a leader and every other member follows
# it (their srvr answers). The load's sessions go to all members, as go-zookeeper picks one
# per session; server CPU and RSS are the sums over the members' processes.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKLOADS=${WORKLOADS:-"create set get mix"}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-2s}
ZK_HEAP=${ZK_HEAP:-1g}
MEMBERS=${MEMBERS:-1}
ZK_JAR=/usr/share/java/zookeeper.jar

[[ $MEMBERS =~ ^[1-9][0-9]*$ ]] || { echo "bench-compare: MEMBERS=$MEMBERS is not a positive number" >&2; exit 2; }
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

# free_ports N prints N distinct TCP ports of 127.0.0.1 that were free a moment ago: all are
# bound at once, so none is handed out twice.
free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

wait_port() {
	for _ in $(seq 1 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "bench-compare: nothing listens on port $1" >&2
	return 1
}

# wait_leader NAME PORT... polls the members' srvr four-letter word until one says
# "Mode: leader" and every other one "Mode: follower", for up to two minutes.
wait_leader() {
	python3 - "$@" <<'EOF' >&2
import socket, sys, time
name, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
def mode(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(2)
            s.sendall(b"srvr")
            out = b""
            while chunk := s.recv(4096):
                out += chunk
    except OSError as e:
        return "error: %s" % e
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("Mode: "):
            return line[len("Mode: "):].strip()
    return "no Mode line: %r" % out[:80]
deadline = time.monotonic() + 120
while True:
    modes = [mode(p) for p in ports]
    if modes.count("leader") == 1 and modes.count("follower") == len(ports) - 1:
        sys.exit(0)
    if time.monotonic() > deadline:
        sys.exit("bench-compare: %s has no leader: %s" % (name, ", ".join("%d %s" % (p, m) for p, m in zip(ports, modes))))
    time.sleep(0.2)
EOF
}

join() { local IFS=,; echo "$*"; }

cat >"$work/log4j.properties" <<'EOF'
log4j.rootLogger=WARN, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p %m%n
EOF
cp=$ZK_JAR
for j in /usr/share/java/slf4j-log4j12.jar /usr/share/java/log4j-1.2.jar; do [ -f "$j" ] && cp=$cp:$j; done

zk_addrs=() zk_pids=() zk_ports=()
pd_addrs=() pd_pids=() pd_ports=()

if [ "$MEMBERS" = 1 ]; then
	read -r zk_port pd_port <<<"$(free_ports 2)"
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
	cat >"$work/paddock/zoo.cfg" <<EOF
tickTime=2000
dataDir=$work/paddock/data
clientPort=$pd_port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
EOF
	java "-Xmx$ZK_HEAP" -Dlog4j.configuration="file:$work/log4j.properties" -Dzookeeper.admin.enableServer=false \
		-cp "$cp" org.apache.zookeeper.server.ZooKeeperServerMain "$work/zk/zoo.cfg" >"$work/zk/log" 2>&1 &
	pids+=("$!") zk_pids+=("$!") zk_ports+=("$zk_port")
	"$BIN" server --config "$work/paddock/zoo.cfg" >"$work/paddock/log" 2>&1 &
	pids+=("$!") pd_pids+=("$!") pd_ports+=("$pd_port")
	wait_port "$zk_port"
	wait_port "$pd_port"
	setup="standalone: one server per side"
else
	# Per side and member: a client port, a peer port and an election port.
	read -r -a ports <<<"$(free_ports $((6 * MEMBERS)))"
	# ensemble_cfg SIDE OFFSET writes SIDE/N/zoo.cfg and SIDE/N/data/myid for each member,
	# its ports taken from ports[OFFSET...], and fills the side's client ports.
	ensemble_cfg() {
		local side=$1 off=$2 i servers=""
		for ((i = 1; i <= MEMBERS; i++)); do
			servers+="server.$i=127.0.0.1:${ports[off + 3 * (i - 1) + 1]}:${ports[off + 3 * (i - 1) + 2]}"$'\n'
		done
		for ((i = 1; i <= MEMBERS; i++)); do
			mkdir -p "$work/$side/$i/data"
			echo "$i" >"$work/$side/$i/data/myid"
			cat >"$work/$side/$i/zoo.cfg" <<EOF
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$work/$side/$i/data
clientPort=${ports[off + 3 * (i - 1)]}
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
$servers
EOF
		done
	}
	ensemble_cfg zk 0
	ensemble_cfg paddock $((3 * MEMBERS))
	for ((i = 1; i <= MEMBERS; i++)); do
		zk_ports+=("${ports[3 * (i - 1)]}")
		pd_ports+=("${ports[3 * MEMBERS + 3 * (i - 1)]}")
		java "-Xmx$ZK_HEAP" -Dlog4j.configuration="file:$work/log4j.properties" -Dzookeeper.admin.enableServer=false \
			-cp "$cp" org.apache.zookeeper.server.quorum.QuorumPeerMain "$work/zk/$i/zoo.cfg" >"$work/zk/$i/log" 2>&1 &
		pids+=("$!") zk_pids+=("$!")
		"$BIN" server --config "$work/paddock/$i/zoo.cfg" >"$work/paddock/$i/log" 2>&1 &
		pids+=("$!") pd_pids+=("$!")
	done
	wait_leader ZooKeeper "${zk_ports[@]}" || { tail -n 20 "$work"/zk/*/log >&2; exit 1; }
	wait_leader paddock "${pd_ports[@]}" || { tail -n 20 "$work"/paddock/*/log >&2; exit 1; }
	setup="$MEMBERS members per side on loopback: sessions spread over the members, server CPU and RSS summed over them"
fi
for p in "${zk_ports[@]}"; do zk_addrs+=("127.0.0.1:$p"); done
for p in "${pd_ports[@]}"; do pd_addrs+=("127.0.0.1:$p"); done

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg); $(java -version 2>&1 | head -1); paddock $(git rev-parse --short HEAD)"
echo "servers: $setup"
echo
echo "| workload | ZooKeeper ops/s | paddock ops/s | ratio | server CPU µs/op ZK | paddock | ratio | p99 ZK | paddock | ratio | RSS ZK | paddock |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for w in $WORKLOADS; do
	json=$("$BIN" bench --servers "$(join "${zk_addrs[@]}")" --pid "$(join "${zk_pids[@]}")" \
		--compare "$(join "${pd_addrs[@]}")" --compare-pid "$(join "${pd_pids[@]}")" \
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
