#!/usr/bin/env bash
# Observe mode (issue 15): what following every exchange costs a program
# that keeps its connection alive.  Sequential requests on one reused
# connection to tests/bench/bench_server.c, two variants alternating in one
# run, the order swapped every other pair:
#   (a) no library;
#   (b) the library with FORCECLOSE_MODE=observe (the trackers follow each
#       request and response, the table counts them, nothing changes).
# Ratio: throughput (b)/(a), median and min-max over RUNS pairs.  The
# connection count is checked to be 1 in both (observe mode must not make
# the client reconnect).
# Output: FIG lines (TAB-separated) on stdout; progress on stderr.
# usage: tests/bench/fig_observe.sh     env: RUNS (5), QUICK=1, N, BENCH_CPU
set -eu
cd "$(dirname "$0")/../.."
lib=$PWD/shim/libforceclose.so
if [ "${QUICK:-0}" = 1 ]; then
	runs=${RUNS:-3} n=${N:-5000}
else
	runs=${RUNS:-7} n=${N:-20000}
fi
. tests/bench/request_setup.sh

"$tmp/bench_server" "$tmp/port" $((2 * runs + 2)) & pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "bench_server did not start" >&2; exit 1; }
mapfile -t ports <"$tmp/port"
echo "bench_server on 127.0.0.1:${ports[0]}..., runs=$runs n=$n" >&2

stats() {
	sort -g "$1" | awk '{v[NR] = $1} END{m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%s %s %s\n", m, v[1], v[NR]}'
}
client_a() { "$tmp/bench_client" --keepalive-unless-close "$1" "$2"; }
client_b() {
	LD_PRELOAD=$lib FORCECLOSE_MODE=observe FORCECLOSE_REPORT="$tmp/report.txt" \
		"$tmp/bench_client" --keepalive-unless-close "$1" "$2"
}
check_connects() { # VARIANT GOT
	[ "$2" = 1 ] || echo "WARNING: $1 made $2 connections (want 1)" >&2
}
client_a "${ports[0]}" $((n / 10)) >/dev/null; client_b "${ports[1]}" $((n / 10)) >/dev/null
: >"$tmp/a"; : >"$tmp/b"; : >"$tmp/r"
for i in $(seq "$runs"); do
	if [ $((i % 2)) = 1 ]; then
		read -r ra _ ca < <(client_a "${ports[2 * i]}" "$n")
		read -r rb _ cb < <(client_b "${ports[2 * i + 1]}" "$n")
	else
		read -r rb _ cb < <(client_b "${ports[2 * i + 1]}" "$n")
		read -r ra _ ca < <(client_a "${ports[2 * i]}" "$n")
	fi
	check_connects "(a)" "$ca"; check_connects "(b)" "$cb"
	echo "$ra" >>"$tmp/a"; echo "$rb" >>"$tmp/b"
	awk -v a="$ra" -v b="$rb" 'BEGIN{printf "%.4f\n", b / a}' >>"$tmp/r"
	echo "run $i: (a) $ra req/s, (b) $rb req/s" >&2
done
grep -q "requests $n " "$tmp/report.txt" || echo "WARNING: the observe report does not count $n requests" >&2
read -r am _ _ < <(stats "$tmp/a")
read -r bm _ _ < <(stats "$tmp/b")
read -r rm rlo rhi < <(stats "$tmp/r")
printf 'FIG\t%s\t%s: %.0f %s\t%s: %.0f %s\t%.3f\t%.3f–%.3f\t%d\n' \
	"observe mode, keep-alive C client (req/s, b/a)" "(a) no library" "$am" "req/s" \
	"(b) FORCECLOSE_MODE=observe" "$bm" "req/s" "$rm" "$rlo" "$rhi" "$runs"
