#!/usr/bin/env bash
# Runs the whole suite (bats-core) and ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Every .bats file; TAP output so that each test is one line we can count.
# Files run two at a time when GNU parallel is there (bats --jobs needs
# it): most tests wait on a server or a timeout, so a second file uses the
# time.  Tests within one file stay in order.  FC_JOBS=1: one at a time.
jobs=${FC_JOBS:-2}
command -v parallel >/dev/null 2>&1 || jobs=1
if [ "$jobs" -gt 1 ]; then
	bats --tap --jobs "$jobs" --no-parallelize-within-files tests/*.bats |
		tee "$out"
else
	bats --tap tests/*.bats | tee "$out"
fi
passed=$(grep -c '^ok ' "$out")
failed=$(grep -c '^not ok ' "$out")
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
