#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 3s).
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline exceeded" at
# the end of -fuzztime when a worker is still busy (go.dev/issue/75804, fixed in Go 1.27):
# nothing was found and no input was written. Such a run is tried again, at most twice; a
# failure that wrote a failing input, panicked or says anything else fails at once.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-3s}
out=/tmp/paddock-fuzz.$$
trap 'rm -f "$out"' EXIT

# deadline_only reports whether the failed run in $out is the coordinator's deadline race.
deadline_only() {
	grep -q 'context deadline exceeded' "$out" &&
		! grep -q -e 'Failing input written to' -e 'panic:' -e '_test.go:[0-9]' "$out"
}

status=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(grep -h -o '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
	for f in $targets; do
		echo "fuzz: $pkg $f ($t)"
		for attempt in 1 2 3; do
			if go test -run='^$' -fuzz="^${f}\$" -fuzztime="$t" "$pkg" >"$out" 2>&1; then
				break
			fi
			if [ "$attempt" -lt 3 ] && deadline_only; then
				echo "fuzz: $f: the fuzz coordinator's deadline race (go.dev/issue/75804), nothing found; again"
				continue
			fi
			cat "$out"
			status=1
			break
		done
	done
done
exit $status
