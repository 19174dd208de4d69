#!/usr/bin/env bash
# Runs the whole suite (bats-core) and ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Every .bats file; TAP output so that each test is one line we can count.
bats --tap tests/*.bats | tee "$out"
passed=$(grep -c '^ok ' "$out")
failed=$(grep -c '^not ok ' "$out")
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
