#!/usr/bin/env bash
# Pass-through cost: 10 million 1-byte write()s to /dev/null without and
# with the shim, alternating A B A B; prints the median ratio (with /
# without) and its min-max.  usage: tests/bench/passthrough.sh [RUNS] [N]
set -eu
cd "$(dirname "$0")/../.."
runs=${1:-7}
n=${2:-10000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/small_writes" tests/bench/small_writes.c
ratios=()
for _ in $(seq "$runs"); do
	a=$("$tmp/small_writes" "$n")
	b=$(LD_PRELOAD=$PWD/shim/libforceclose.so "$tmp/small_writes" "$n")
	ratios+=("$(echo "scale=4; $b / $a" | bc)")
	echo "without ${a} ns, with ${b} ns" >&2
done
sorted=$(printf '%s\n' "${ratios[@]}" | sort -n)
printf '%d x write(1 byte) to /dev/null: time ratio with/without %s (min %s, max %s, %d runs)\n' \
	"$n" "$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")" \
	"$(echo "$sorted" | head -1)" "$(echo "$sorted" | tail -1)" "$runs"
