#!/usr/bin/env bash
# Does a snapshot taken under load raise the tail latency of concurrent reads? For paddock and,
# for comparison, Apache ZooKeeper (standalone, Debian's 3.8 jar), prints read p50/p99/p99.9
# without and with snapshots during the measured phase, and the ratio of the p99.9s.
#
#   scripts/bench-snapshot.sh                     # defaults below
#   PRELOAD=50000 DURATION=10s scripts/bench-snapshot.sh      # a quicker run
#   SERVERS=paddock RATE=10000 scripts/bench-snapshot.sh
#
# Each of the four runs (server × snapCount) starts the server on a fresh data directory
# under /tmp and then:
#   1. preloads a tree of $PRELOAD znodes (paddock bench --workload tree --keep), so that one
#      snapshot has a few tens of MB to write and takes measurable time;
#   2. starts a writer: paddock bench --workload set --rate $WRITE_RATE (open loop, 2
#      sessions), which runs until the reader is done;
#   3. once the writer is in its measured phase, runs the reader: paddock bench --workload get
#      --rate $RATE (open loop, latency from each request's scheduled time, so a stall is
#      charged to every request that should have been sent during it) for $WARMUP + $DURATION;
#   4. counts the snapshot files written while the reader was measuring (ZooKeeper's
#      version-2/snapshot.*, paddock's snap/<term>-<index>.snap; autopurge.snapRetainCount is
#      raised so that paddock keeps them all). The count starts at the reader's first progress
#      line in its measured phase, up to a second late.
# The runs use snapCount=$NOSNAP_COUNT (no snapshot during the run) and snapCount=$SNAP_COUNT
# (one every SNAP_COUNT writes for paddock; ZooKeeper snapshots after a random 50-100% of
# snapCount). Both snapCounts also apply during the preload. Writes of the writer and the
# reader's setup count towards snapCount; reads do not. paddock compresses its snapshots
# (zstd) and every value bench writes is the same 100 bytes, so paddock's files are far
# smaller than ZooKeeper's here; the encoding still walks every znode.
# The reader, the writer and the server share this machine's cores: pin them (taskset) or
# read the numbers as a comparison on one machine, not absolute figures.
# ZK_HEAP (default 1g, as Debian's service), PADDOCK_BIN and KEEP_WORK=1 as in bench-memory.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_NAME=bench-snapshot
RATE=${RATE:-5000}
WRITE_RATE=${WRITE_RATE:-1000}
PRELOAD=${PRELOAD:-200000}
SNAP_COUNT=${SNAP_COUNT:-5000}
NOSNAP_COUNT=${NOSNAP_COUNT:-2000000000}
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-5s}
ZK_HEAP=${ZK_HEAP:-1g}
SERVERS=${SERVERS:-"paddock zk"}
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

case " $SERVERS " in *" zk "*) needs_zk ;; esac
for s in $SERVERS; do
	case $s in zk | paddock) ;; *) die "SERVERS: unknown server $s (zk, paddock)" ;; esac
done
mkdir -p "$work/results"

# snapshots KIND DATADIR: the snapshot files there now.
snapshots() {
	case $1 in
	zk) find "$2" -type f -name 'snapshot.*' | wc -l ;;
	paddock) find "$2" -type f -name '*.snap' | wc -l ;;
	esac
}

# largest_snapshot_bytes DATADIR: the size of the largest snapshot file (0 if none), about
# one snapshot of the whole tree. Not the newest: the teardowns after the measured phase
# snapshot too, and stopping the server can cut ZooKeeper's last one short.
largest_snapshot_bytes() {
	find "$1" -type f \( -name 'snapshot.*' -o -name '*.snap' \) -printf '%s\n' | sort -n | tail -1 | awk '{print $1 + 0} END {if (NR == 0) print 0}'
}

# wait_run FILE PID WHAT: until the bench writing its progress to FILE is in its measured
# phase; dies if PID exits first.
wait_run() {
	local deadline=$((SECONDS + 300))
	until grep -q '^run ' "$1" 2>/dev/null; do
		alive "$2" || { cat "$1" >&2; die "$3 exited before its measured phase"; }
		[ $SECONDS -lt $deadline ] || die "$3 not in its measured phase after 300 s"
		sleep 0.1
	done
}

# run_one KIND MODE SNAPCOUNT: one run; leaves results/KIND-MODE.{read,write}.json and
# results/KIND-MODE.info (snapshot count, newest snapshot size).
run_one() {
	local kind=$1 mode=$2 count=$3 dir=$work/$1-$2 port pid json errors wpid rpid n0 n1 lines
	port=$(free_port)
	lines=("snapCount=$count" "autopurge.snapRetainCount=1000000")
	case $kind in
	zk) start_zk "$dir" "$port" "$ZK_HEAP" "${lines[@]}" ;;
	paddock) start_paddock "$dir" "$port" "${lines[@]}" ;;
	esac
	pid=$server_pid
	wait_port "$port" "$pid"
	wait_serving "127.0.0.1:$port" "$pid"
	local addr=127.0.0.1:$port

	note "$kind, snapCount=$count: preloading $PRELOAD znodes"
	json=$("$BIN" bench --servers "$addr" --workload tree --znodes "$PRELOAD" --keep --json --quiet 2>"$dir/preload.err") ||
		{ cat "$dir/preload.err" >&2; die "$kind: the preload failed (log: $dir/log)"; }
	errors=$(json_get "$json" 'd["errors"]')
	[ "$errors" = 0 ] || die "$kind: $errors creates of the preload failed"

	"$BIN" bench --servers "$addr" --workload set --rate "$WRITE_RATE" --sessions 2 --inflight 16 \
		--warmup 0s --duration 24h --json >"$dir/write.json" 2>"$dir/write.err" &
	wpid=$!
	bench_pids+=("$wpid")
	wait_run "$dir/write.err" "$wpid" "the writer"

	"$BIN" bench --servers "$addr" --workload get --rate "$RATE" --warmup "$WARMUP" --duration "$DURATION" \
		--json >"$dir/read.json" 2>"$dir/read.err" &
	rpid=$!
	bench_pids+=("$rpid")
	wait_run "$dir/read.err" "$rpid" "the reader"
	n0=$(snapshots "$kind" "$dir/data")
	note "$kind, snapCount=$count: reading at $RATE/s, writing at $WRITE_RATE/s for $DURATION"
	wait "$rpid" || { cat "$dir/read.err" >&2; die "$kind: the reader failed"; }
	n1=$(snapshots "$kind" "$dir/data")

	kill -TERM "$wpid" # bench ends its measured phase, deletes its keys and prints the result
	wait "$wpid" || { cat "$dir/write.err" >&2; die "$kind: the writer failed"; }
	stop_server "$pid"

	cp "$dir/read.json" "$work/results/$kind-$mode.read.json"
	cp "$dir/write.json" "$work/results/$kind-$mode.write.json"
	echo "$count $((n1 - n0)) $(largest_snapshot_bytes "$dir/data") $n1" >"$work/results/$kind-$mode.info"
	note "$kind, snapCount=$count: $((n1 - n0)) snapshots while measuring ($n1 in all)"
}

for s in $SERVERS; do
	run_one "$s" nosnap "$NOSNAP_COUNT"
	run_one "$s" snap "$SNAP_COUNT"
done

machine_line
echo "reads: get, open loop at $RATE/s, 12 sessions, 96 in flight, $WARMUP warmup + $DURATION measured; writes: set, open loop at $WRITE_RATE/s, 2 sessions; preloaded tree of $PRELOAD znodes; ZooKeeper -Xmx$ZK_HEAP"
echo
# shellcheck disable=SC2086 # one argument per server
python3 - "$work/results" $SERVERS <<'EOF'
import json, os, sys
res, servers = sys.argv[1], sys.argv[2:]
name = {"zk": "ZooKeeper", "paddock": "paddock"}

def fmt(us):
    if us < 999.5:
        return f"{us:.0f} µs"
    if us < 999.5e3:
        return f"{us / 1e3:.2f} ms"
    return f"{us / 1e6:.2f} s"

def load(kind, mode):
    base = os.path.join(res, f"{kind}-{mode}")
    with open(base + ".read.json") as f:
        r = json.load(f)
    with open(base + ".write.json") as f:
        w = json.load(f)
    with open(base + ".info") as f:
        count, snaps, size, total = f.read().split()
    return r, w, int(count), int(snaps), int(size)

print("| server | snapCount | snapshots while measuring | largest snapshot | reads/s | read p50 | p99 | p99.9 | max | read errors | writes/s | write p99 | p99.9 |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
p999 = {}
for kind in servers:
    for mode in ("nosnap", "snap"):
        r, w, count, snaps, size = load(kind, mode)
        l, wl = r["latency_us"], w["latency_us"]
        p999[kind, mode] = l["p99.9"]
        print(f"| {name[kind]} | {count:,} | {snaps} | {size / 1048576:.1f} MiB | {r['ops_per_sec']:,.0f} | "
              f"{fmt(l['p50'])} | {fmt(l['p99'])} | {fmt(l['p99.9'])} | {fmt(l['max'])} | {r['errors']} | "
              f"{w['ops_per_sec']:,.0f} | {fmt(wl['p99'])} | {fmt(wl['p99.9'])} |")
print()
print("| server | read p99.9 without snapshots | with | ratio |")
print("|---|---|---|---|")
for kind in servers:
    a, b = p999[kind, "nosnap"], p999[kind, "snap"]
    print(f"| {name[kind]} | {fmt(a)} | {fmt(b)} | {b / a:.2f} |")
EOF
