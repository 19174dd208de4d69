#!/usr/bin/env bash
# Figure 4, body throughput: a 1 GiB response read through a tracked
# connection in 64 KiB reads, Content-Length and chunked (4 KiB and 1 MiB
# chunks), without (A) and with (B) the shim, alternating.
# Ratio: throughput with / without (= time without / time with).
set -eu
. "$(dirname "$0")/lib.sh"
bytes=1073741824
[ "${QUICK:-0}" = 1 ] && bytes=67108864
cc -O2 -o "$BTMP/read_body" "$ROOT/tests/bench/read_body.c"
python3 "$ROOT/tests/bench/body_server.py" "$BTMP/port" 590 &
spid=$!
trap 'kill $spid 2>/dev/null; rm -rf "$BTMP"' EXIT
for _ in $(seq 100); do [ -s "$BTMP/port" ] && break; sleep 0.1; done
port=$(cat "$BTMP/port")
for path in "/length/$bytes" "/chunked/$bytes/4096" "/chunked/$bytes/1048576"; do
	ta=() tb=() r=()
	for ((i = 0; i < RUNS; i++)); do
		a=$("$BTMP/read_body" "$port" "$path" | cut -d' ' -f2)
		b=$(LD_PRELOAD=$LIB "$BTMP/read_body" "$port" "$path" | cut -d' ' -f2)
		ta+=("$a") tb+=("$b") r+=("$(div "$a" "$b")")
		echo "  $path: without $a ns, with $b ns" >&2
	done
	mb() { awk -v t="$1" -v b="$bytes" 'BEGIN { printf "%.0f MB/s", b / t * 1000 }'; }
	fig "4 body $path, 64 KiB reads (throughput B/A)" \
		"without: $(mb "$(median "${ta[@]}")")" "with: $(mb "$(median "${tb[@]}")")" "${r[@]}"
done
