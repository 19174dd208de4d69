#!/usr/bin/env bash
# Figure 2e (issue 16): the preload ladder.  Where figure 2's target of
# 0.98 lies, measured beside the library with the same client and server:
#   (a)  the C client sends close itself, no preload (the floor);
#   (b)  the keep-alive client under the library;
#   (m)  the keep-alive client under tests/bench/minimal_preload.c, the
#        least a preload can do for this exchange;
#   (m+1k), (m+3k)  the same preload spinning 1,000 or 3,000 TSC cycles in
#        each recv(): what a preload's own cycles cost the exchange rate;
#   (m+200c), (m+200d)  the same preload running 200 jumps, each on a code
#        line of its own, or reading 200 data lines, in each recv(): what
#        a preload's footprint costs (its lines are cold after the
#        kernel's part of the exchange; figure 2f counts the library's).
# Many short rounds (N requests a run, every variant once a round, the
# order rotated each round), and each variant's ratio is taken against the
# floor of its own round: the host's drift, which makes long runs of
# figure 2 swing by ±5 %, falls on all variants alike.
# Output: FIG lines (ratio to (a), median and min–max over the rounds),
# then the derived cost of 1,000 cycles, of 100 code lines and of 100
# data lines, and the library's equivalent in cycles.
# usage: tests/bench/fig_preload_ladder.sh   env: RUNS (41), N (1000),
#        QUICK=1, BENCH_CPU (0; none), BENCH_LIB (another build)
set -eu
runs=${RUNS:-41} n=${N:-1000}	# (lib.sh sets RUNS)
. "$(dirname "$0")/lib.sh"
LIB=${BENCH_LIB:-$LIB}
[ "${QUICK:-0}" = 1 ] && { runs=5; n=${N:-500}; }
if [ "$(uname -m)" != x86_64 ]; then
	printf 'SKIP\t2e preload ladder\tnot x86-64 (rdtsc)\n'
	exit 0
fi
cpu=${BENCH_CPU:-0}
if [ "$cpu" != none ] && command -v taskset >/dev/null; then
	taskset -cp "$cpu" $$ >/dev/null
fi
[ -f "$LIB" ] || make -s -C "$ROOT" >&2
src=$ROOT/tests/bench
cc -O2 -o "$BTMP/bench_server" "$src/bench_server.c"
cc -O2 -o "$BTMP/bench_client" "$src/bench_client.c"
cc -O2 -shared -fPIC -o "$BTMP/m.so" "$src/minimal_preload.c" -ldl
cc -O2 -shared -fPIC -DBURN_CYCLES=1000 -o "$BTMP/m1k.so" "$src/minimal_preload.c" -ldl
cc -O2 -shared -fPIC -DBURN_CYCLES=3000 -o "$BTMP/m3k.so" "$src/minimal_preload.c" -ldl
cc -O2 -shared -fPIC -DBURN_CODE_LINES=200 -o "$BTMP/mc.so" "$src/minimal_preload.c" -ldl
cc -O2 -shared -fPIC -DBURN_DATA_LINES=200 -o "$BTMP/md.so" "$src/minimal_preload.c" -ldl
nports=256	# bench_server's most; runs past it reuse ports, far apart
"$BTMP/bench_server" "$BTMP/port" "$nports" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$BTMP"' EXIT
for _ in $(seq 50); do [ -s "$BTMP/port" ] && break; sleep 0.1; done
mapfile -t ports <"$BTMP/port"
[ "${#ports[@]}" = "$nports" ] || { echo "bench_server did not start" >&2; exit 1; }

names=(a b m m1k m3k m200c m200d)
preload=("" "$LIB" "$BTMP/m.so" "$BTMP/m1k.so" "$BTMP/m3k.so" "$BTMP/mc.so" "$BTMP/md.so")
nv=${#names[@]}
k=0
# one V COUNT: requests a second of variant V (index); fails unless every
# request had its own connection (the close reached the client)
one() {
	local port=${ports[k % nports]} out mode=--keepalive-unless-close
	k=$((k + 1))
	[ "$1" = 0 ] && mode=--send-close
	out=$(LD_PRELOAD=${preload[$1]} "$BTMP/bench_client" "$mode" "$port" "$2")
	set -- "$2" $out
	[ "$4" = "$1" ] || { echo "2e: ${names[$1]}: $4 connections for $1 requests" >&2; return 1; }
	echo "$2"
}
for ((v = 0; v < nv; v++)); do one "$v" 200 >/dev/null; done	# warm-up
for ((v = 1; v < nv; v++)); do : >"$BTMP/r$v"; done
for ((i = 0; i < runs; i++)); do
	declare -A rate=()
	for ((j = 0; j < nv; j++)); do
		v=$(((i + j) % nv))
		rate[$v]=$(one "$v" "$n")
	done
	line=""
	for ((v = 1; v < nv; v++)); do
		div "${rate[$v]}" "${rate[0]}" >>"$BTMP/r$v"; echo >>"$BTMP/r$v"
		line="$line ${names[$v]} ${rate[$v]}"
	done
	echo "  2e round $((i + 1)): a ${rate[0]}$line req/s" >&2
done
label=("" "(b) keep-alive client + library" "(m) + minimal preload"
	"(m+1k) minimal preload + 1,000 cycles a recv" "(m+3k) minimal preload + 3,000 cycles a recv"
	"(m+200c) minimal preload + 200 code lines a recv" "(m+200d) minimal preload + 200 data lines a recv")
for ((v = 1; v < nv; v++)); do
	mapfile -t r <"$BTMP/r$v"
	fig "2e preload ladder, C client req/s against (a) of the same round ($n requests a run)" \
		"(a) client sends close, no preload" "${label[$v]}" "${r[@]}"
done
mapfile -t rb <"$BTMP/r1"; mapfile -t rm <"$BTMP/r2"; mapfile -t r3 <"$BTMP/r4"
mapfile -t rc <"$BTMP/r5"; mapfile -t rd <"$BTMP/r6"
mb=$(median "${rb[@]}") mm=$(median "${rm[@]}") m3=$(median "${r3[@]}")
mc=$(median "${rc[@]}") md=$(median "${rd[@]}")
awk -v b="$mb" -v m="$mm" -v m3="$m3" -v runs="$runs" 'BEGIN {
	per = (m - m3) / 3	# ratio lost per 1,000 cycles
	eq = per > 0 ? (m - b) / per * 1000 : 0
	printf "FIG\t2e derived: what 1,000 cycles of a preload cost, and the library beyond the minimal preload in such cycles\t(m) - (m+3k), over 3: %.2f %% of the rate per 1,000 cycles\t(m) - (b): %.2f %%, as %.0f cycles an exchange\t%.4f\t-\t%d\n", per * 100, (m - b) * 100, eq, per, runs
}'
awk -v m="$mm" -v c="$mc" -v d="$md" -v runs="$runs" 'BEGIN {
	printf "FIG\t2e derived: what 100 cold lines of a preload cost\tcode: ((m) - (m+200c)) / 2: %.2f %% of the rate\tdata: ((m) - (m+200d)) / 2: %.2f %% of the rate\t%.4f\t-\t%d\n", (m - c) * 50, (m - d) * 50, (m - c) / 2, runs
}'
