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
	# A failing test may dump a server's log after its message: the test lines of each failed
	# package again, alone (go test prints a package's output as one block, ending with its
	# ok or FAIL line).
	echo "---- failed tests and their messages ----"
	awk '/^(ok|FAIL)([ \t]|$)/ { if ($1 == "FAIL") printf "%s", buf; buf = ""; next }
		/^[ \t]*--- FAIL|^[ \t]+[A-Za-z0-9_]+_test\.go:[0-9]+: / { buf = buf $0 "\n" }' "$log" | tail -n 200
fi
passed=$(grep -c -E '^\s*--- PASS' "$log")
failed=$(grep -c -E '^\s*--- FAIL' "$log")
skipped=$(grep -c -E '^\s*--- SKIP' "$log")
echo "test: $passed passed, $failed failed, $skipped skipped"
exit $status
