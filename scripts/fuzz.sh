#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 3s).
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-3s}
status=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(grep -h -o '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
	for f in $targets; do
		echo "fuzz: $pkg $f ($t)"
		if ! go test -run='^$' -fuzz="^${f}\$" -fuzztime="$t" "$pkg" >/tmp/paddock-fuzz.$$ 2>&1; then
			cat /tmp/paddock-fuzz.$$
			status=1
		fi
	done
done
rm -f /tmp/paddock-fuzz.$$
exit $status
