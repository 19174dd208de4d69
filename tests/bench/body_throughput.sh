#!/usr/bin/env bash
# Body throughput: a 1 GiB response (Content-Length; chunked with 4 KiB and
# 1 MiB chunks) read in 64 KiB reads, without and with the shim, runs
# alternating A B A B.  Prints the median ratio (with/without) and min-max.
# usage: tests/bench/body_throughput.sh [RUNS] [BYTES]
set -eu
cd "$(dirname "$0")/../.."
runs=${1:-5}
bytes=${2:-1073741824}
lib=$PWD/shim/libforceclose.so
tmp=$(mktemp -d)
trap 'kill $spid 2>/dev/null; rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/read_body" tests/bench/read_body.c
python3 tests/bench/body_server.py "$tmp/port" 590 & spid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
for path in "/length/$bytes" "/chunked/$bytes/4096" "/chunked/$bytes/1048576"; do
	ratios=()
	for _ in $(seq "$runs"); do
		a=$("$tmp/read_body" "$port" "$path" | cut -d' ' -f2)
		b=$(LD_PRELOAD=$lib "$tmp/read_body" "$port" "$path" | cut -d' ' -f2)
		# throughput ratio with/without = time without / time with
		ratios+=("$(echo "scale=4; $a / $b" | bc)")
	done
	sorted=$(printf '%s\n' "${ratios[@]}" | sort -n)
	med=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
	printf '%-28s throughput ratio %s (min %s, max %s, %d runs)\n' "$path" \
		"$med" "$(echo "$sorted" | head -1)" "$(echo "$sorted" | tail -1)" "$runs"
done
