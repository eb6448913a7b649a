#!/usr/bin/env bash
# Memory and restart time with a large tree: Apache ZooKeeper (A) against paddock (B),
# standalone, one after the other on this machine. Prints one markdown row for
# docs/benchmarks.md.
#
#   scripts/bench-memory.sh                       # 1,000,000 znodes of 100 bytes
#   ZNODES=100000 scripts/bench-memory.sh         # a quicker run
#   SERVERS=paddock scripts/bench-memory.sh       # one side only ("zk", "paddock" or both)
#
# For each server, on a fresh data directory under /tmp:
#   1. `paddock bench --workload tree --znodes $ZNODES --keep --pid PID` creates the tree
#      (1000 znodes per parent, 100-byte values; the default snapCount of 100,000, so the
#      data directory then holds snapshots and the log after the last one);
#   2. RSS loaded = the server's VmRSS (/proc/PID/status) when the last create has been
#      answered;
#   3. SIGTERM, wait for the exit, start the same server on the same data directory;
#   4. restart-to-serving = from the exec of the new process until `paddock cli stat` of the
#      last znode created succeeds (polled; each attempt is a new client process, so the
#      figure is an upper bound by up to ~0.1 s). Both servers rebuild the tree from their
#      newest snapshot plus the log after it. The data files are in the page cache (just
#      written), so this is a warm restart for both;
#   5. RSS after restart = VmRSS at that moment.
# ZooKeeper is Debian's 3.8 jar with -Xmx$ZK_HEAP (default 4g: a 1M-znode tree does not fit
# the Debian service's 1g); its RSS is the JVM's, garbage included. Ratios are paddock/ZK.
# ZK_SNAPCOUNT and PADDOCK_SNAPCOUNT override snapCount; PADDOCK_BIN runs a prebuilt binary;
# KEEP_WORK=1 keeps the data directories and logs.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_NAME=bench-memory
ZNODES=${ZNODES:-1000000}
ZK_HEAP=${ZK_HEAP:-4g}
SERVERS=${SERVERS:-"zk paddock"}
RESTART_TIMEOUT=${RESTART_TIMEOUT:-600}
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

case " $SERVERS " in *" zk "*) needs_zk ;; esac
for s in $SERVERS; do
	case $s in zk | paddock) ;; *) die "SERVERS: unknown server $s (zk, paddock)" ;; esac
done

declare -A rss_loaded rss_restart hwm_restart restart_s load_rate disk snaps

# start KIND DIR PORT [zoo.cfg lines...]
start() {
	local kind=$1
	shift
	case $kind in
	zk) start_zk "$1" "$2" "$ZK_HEAP" "${@:3}" ;;
	paddock) start_paddock "$@" ;;
	esac
}

# measure KIND: the whole sequence for one server; fills the arrays above under KIND.
measure() {
	local kind=$1 dir=$work/$1 port pid json root errors last t0 t1 deadline
	port=$(free_port)
	local extra=()
	case $kind in
	zk) [ -z "${ZK_SNAPCOUNT:-}" ] || extra+=("snapCount=$ZK_SNAPCOUNT") ;;
	paddock) [ -z "${PADDOCK_SNAPCOUNT:-}" ] || extra+=("snapCount=$PADDOCK_SNAPCOUNT") ;;
	esac
	start "$kind" "$dir" "$port" ${extra[@]+"${extra[@]}"}
	pid=$server_pid
	wait_port "$port" "$pid"
	wait_serving "127.0.0.1:$port" "$pid"

	note "$kind: loading $ZNODES znodes"
	json=$("$BIN" bench --servers "127.0.0.1:$port" --workload tree --znodes "$ZNODES" \
		--keep --pid "$pid" --json --quiet 2>"$dir/bench.err") ||
		{ cat "$dir/bench.err" >&2; die "$kind: the tree workload failed (log: $dir/log)"; }
	# The same moment as the result's rss end (bench samples it when the last create is
	# answered); read here so that the row does not depend on the JSON's server fields.
	rss_loaded[$kind]=$(rss_bytes "$pid")
	echo "$json" >"$dir/tree.json"
	root=$(json_get "$json" 'd["root"]')
	errors=$(json_get "$json" 'd["errors"]')
	[ "$errors" = 0 ] || die "$kind: $errors creates failed: $(json_get "$json" 'd.get("error_kinds")')"
	load_rate[$kind]=$(json_get "$json" 'round(d["ops_per_sec"])')
	last=$(printf '%s/t/d%04d/n%d' "$root" $(((ZNODES - 1) / 1000)) $((ZNODES - 1)))
	serves "127.0.0.1:$port" "$last" || die "$kind: $last does not exist after the load"

	note "$kind: loaded at ${load_rate[$kind]} creates/s, RSS $((rss_loaded[$kind] >> 20)) MiB; restarting"
	stop_server "$pid"
	disk[$kind]=$(du -sb "$dir/data" | cut -f1)
	snaps[$kind]=$(find "$dir/data" -type f \( -name 'snapshot.*' -o -name '*.snap' \) | wc -l)

	start "$kind" "$dir" "$port"
	pid=$server_pid
	t0=$server_start_ns
	deadline=$((SECONDS + RESTART_TIMEOUT))
	until serves "127.0.0.1:$port" "$last"; do
		alive "$pid" || die "$kind: the server exited during the restart (log: $dir/log)"
		[ $SECONDS -lt $deadline ] || die "$kind: not serving $last ${RESTART_TIMEOUT}s after the restart"
		sleep 0.05
	done
	t1=$(now_ns)
	rss_restart[$kind]=$(rss_bytes "$pid")
	hwm_restart[$kind]=$(hwm_bytes "$pid")
	restart_s[$kind]=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
	note "$kind: serving ${restart_s[$kind]} s after the restart, RSS $((rss_restart[$kind] >> 20)) MiB"
	stop_server "$pid"
}

for s in $SERVERS; do
	measure "$s"
done
# bash carries on after some expansion errors despite set -e: never print a partial row.
for s in $SERVERS; do
	[ -n "${restart_s[$s]:-}" ] || die "$s: no result (see the errors above)"
done

machine_line
echo "ZooKeeper -Xmx$ZK_HEAP; $ZNODES znodes of 100 bytes, 1000 per parent, created by paddock bench (12 sessions, 96 in flight)"
echo
python3 - "$ZNODES" \
	"${rss_loaded[zk]:-}" "${rss_loaded[paddock]:-}" \
	"${restart_s[zk]:-}" "${restart_s[paddock]:-}" \
	"${rss_restart[zk]:-}" "${rss_restart[paddock]:-}" \
	"${load_rate[zk]:-}" "${load_rate[paddock]:-}" \
	"${disk[zk]:-}" "${disk[paddock]:-}" \
	"${snaps[zk]:-}" "${snaps[paddock]:-}" \
	"${hwm_restart[zk]:-}" "${hwm_restart[paddock]:-}" <<'EOF'
import sys
n, *v = sys.argv[1:]
num = [float(x) if x else None for x in v]
(lz, lp, rz, rp, az, ap, cz, cp, dz, dp, sz, sp, hz, hp) = num
mib = lambda b: "-" if b is None else f"{b / 1048576:,.0f} MiB"
sec = lambda s: "-" if s is None else f"{s:.2f} s"
ratio = lambda a, b: "-" if a is None or b is None or a == 0 else f"{b / a:.2f}"
cnt = lambda c: "-" if c is None else f"{c:,.0f}"
print("| znodes | RSS loaded ZK | paddock | ratio | restart-to-serving ZK | paddock | ratio | RSS after restart ZK | paddock |")
print("|---|---|---|---|---|---|---|---|---|")
print(f"| {int(n):,} | {mib(lz)} | {mib(lp)} | {ratio(lz, lp)} | {sec(rz)} | {sec(rp)} | {ratio(rz, rp)} | {mib(az)} | {mib(ap)} |")
print()
print(f"load: ZK {cnt(cz)} creates/s, paddock {cnt(cp)} creates/s; data dir before the restart: "
      f"ZK {mib(dz)} ({cnt(sz)} snapshot files), paddock {mib(dp)} ({cnt(sp)} snapshot files); "
      f"peak RSS (VmHWM) after the restart: ZK {mib(hz)}, paddock {mib(hp)}")
EOF
