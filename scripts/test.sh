#!/usr/bin/env bash
# Runs every Go test with the race detector, prints one line per package, the output of any
# failure, and a closing count of tests: "test: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
go test -race -count=1 -timeout 45m -v ./... >"$log" 2>&1
status=$?
grep -E '^(ok |FAIL|\?   |panic:)' "$log"
if [ $status -ne 0 ]; then
	echo "---- failures ----"
	grep -v -E '^\s*(=== (RUN|PAUSE|CONT|NAME)|--- (PASS|SKIP))' "$log" | tail -n 400
fi
passed=$(grep -c -E '^\s*--- PASS' "$log")
failed=$(grep -c -E '^\s*--- FAIL' "$log")
skipped=$(grep -c -E '^\s*--- SKIP' "$log")
echo "test: $passed passed, $failed failed, $skipped skipped"
exit $status
