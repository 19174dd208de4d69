#!/usr/bin/env bash
# Figure 2d (issue 16): the library's own CPU cycles per exchange, by call,
# measured inside the process with the TSC (tests/bench/cycles_probe.c):
# the C client makes N sequential requests to the keep-alive bench_server,
# (b) without Connection, under the library, between the two copies of the
# probe; (a) sending close itself, the probe alone (its own cost, the
# calibration).  The value is (b) - (a) in cycles per exchange, not a
# ratio; the TSC rate is printed with it.  This is the figure the request
# path's ratio (figure 2) follows: at ~45 µs an exchange, 1 µs of the
# library's own time is ~2 % of the ratio.  A second row measures the same
# for tests/bench/minimal_preload.c, the least a preload can do for this
# exchange (both heads rewritten and the shutdown, nothing else): the
# floor of any preload, for scale.  x86-64 only.
# Output: FIG lines; each run's breakdown on stderr.
# usage: tests/bench/fig_cycles.sh    env: RUNS (9), QUICK=1, N (10000),
#        BENCH_LIB (another build of the library, for a before/after)
set -eu
runs=${RUNS:-9}	# before lib.sh, which sets RUNS (to 5)
. "$(dirname "$0")/lib.sh"
LIB=${BENCH_LIB:-$LIB}
n=${N:-10000}
[ "${QUICK:-0}" = 1 ] && { n=${N:-3000}; runs=3; }
if [ "$(uname -m)" != x86_64 ]; then
	printf 'SKIP\t2d library cycles per exchange\tnot x86-64 (rdtsc)\n'
	exit 0
fi
src=$ROOT/tests/bench
cc -O2 -o "$BTMP/bench_server" "$src/bench_server.c"
cc -O2 -o "$BTMP/bench_client" "$src/bench_client.c"
cc -O2 -shared -fPIC -DOUTER -o "$BTMP/probe_outer.so" "$src/cycles_probe.c" -ldl
cc -O2 -shared -fPIC -o "$BTMP/probe_inner.so" "$src/cycles_probe.c" -ldl
cc -O2 -shared -fPIC -o "$BTMP/minimal.so" "$src/minimal_preload.c" -ldl
"$BTMP/bench_server" "$BTMP/port" $((3 * runs + 3)) &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$BTMP"' EXIT
for _ in $(seq 50); do [ -s "$BTMP/port" ] && break; sleep 0.1; done
mapfile -t ports <"$BTMP/port"
LD_PRELOAD=$LIB "$BTMP/bench_client" --keepalive-unless-close "${ports[0]}" 500 >/dev/null # warm-up
mhz=$(awk '/^cpu MHz/ { print int($4); exit }' /proc/cpuinfo)

# probe PRELOAD MODE PORT: "socket S connect C send W recv R close X total T"
# (and fails unless the client made one connection a request: the preload
# made every response say close)
probe() {
	LD_PRELOAD="$1" "$BTMP/bench_client" "$2" "$3" "$n" 2>&1 >/dev/null |
		awk -v n="$n" '/^CYCLES/ { if ($3 != n) { print "2d: " $3 " connections for " n " requests" >"/dev/stderr"; exit 1 }
			$1 = $2 = $3 = ""; print }'
}
a=() b=() d=() m=() dm=()
for ((i = 0; i < runs; i++)); do
	ca=$(probe "$BTMP/probe_outer.so $BTMP/probe_inner.so" --send-close "${ports[3 * i + 1]}")
	cb=$(probe "$BTMP/probe_outer.so $LIB $BTMP/probe_inner.so" --keepalive-unless-close "${ports[3 * i + 2]}")
	cm=$(probe "$BTMP/probe_outer.so $BTMP/minimal.so $BTMP/probe_inner.so" --keepalive-unless-close "${ports[3 * i + 3]}")
	ta=${ca##* } tb=${cb##* } tm=${cm##* }
	a+=("$ta") b+=("$tb") d+=($((tb - ta))) m+=("$tm") dm+=($((tm - ta)))
	echo "  2d run $((i + 1)): probe alone:$ca; library:$cb; minimal preload:$cm" >&2
	echo "$cb" >>"$BTMP/calls"
	echo "$cm" >>"$BTMP/calls_minimal"
done
# per call, the median (the probe's own cost is ~100 a call)
by_call() {
	awk '{ for (i = 1; i < NF - 1; i += 2) v[$i] = v[$i] " " $(i + 1) }
	END { n = split("socket connect send recv close", order, " ")
	      for (i = 1; i <= n; i++) print order[i] v[order[i]] }' "$1" |
		while read -r k vals; do
			# shellcheck disable=SC2086
			printf '%s %s, ' "$k" "$(median $vals)"; done
}
calls=$(by_call "$BTMP/calls")
calls_minimal=$(by_call "$BTMP/calls_minimal")
fig "2d library's own cycles per exchange, C client (TSC at ${mhz} MHz; value: b - a in cycles, not a ratio)" \
	"(a) probe alone: $(median "${a[@]}")" "(b) library: $(median "${b[@]}") (${calls%, })" "${d[@]}"
fig "2d the same for a minimal preload, the floor of any (tests/bench/minimal_preload.c: the heads and the shutdown, nothing else; value: b - a in cycles, not a ratio)" \
	"(a) probe alone: $(median "${a[@]}")" "(b) minimal preload: $(median "${m[@]}") (${calls_minimal%, })" "${dm[@]}"
