#!/usr/bin/env bash
# Figure 2 (issue 5), request path: sequential requests to a local keep-alive
# server (tests/bench/bench_server.c, ignores Connection: close, never closes
# first).  Two variants, alternating in one run, the order swapped every
# other pair (A B, B A, A B, ...):
#   (a) the client sends "Connection: close" itself, no shim, and closes
#       after each response: a new connection per request, the floor for
#       close-per-request;
#   (b) the client sends no Connection header (would keep alive) and runs
#       under the shim, which injects close and tears the connection down;
#       the client reconnects because the response says close.
# Ratio: throughput (b)/(a), median and min-max over RUNS pairs; target
# >= 0.98 (no pass/fail here).  Two clients, so the result is not an
# artefact of one: tests/bench/bench_client.c and curl.
#
# curl note: curl 7.88 keeps a connection for reuse even when its own
# request says "Connection: close" (the server does not close).  So that (a)
# really is one connection per request, every URL names a different host
# (h1.invalid, h2.invalid, ...) that --connect-to maps to the server, and
# curl can't reuse a connection.  Both variants use the same URL list; the
# number of connects (%{num_connects}) is checked to equal the requests.
#
# Output: FIG lines (TAB-separated) on stdout; progress on stderr.
# usage: tests/bench/fig_request_path.sh     env: RUNS (21), QUICK=1, N, CURL_N, BENCH_CPU, BENCH_LIB
set -eu
cd "$(dirname "$0")/../.."
lib=${BENCH_LIB:-$PWD/shim/libforceclose.so}  # BENCH_LIB: another build, for a before/after
if [ "${QUICK:-0}" = 1 ]; then
	runs=${RUNS:-3} n=${N:-3000} curl_n=${CURL_N:-1000}
else
	runs=${RUNS:-21} n=${N:-10000} curl_n=${CURL_N:-3000}
fi
. tests/bench/request_setup.sh

# Every run of every variant gets its own server port (a fresh address pair),
# so TIME_WAIT sockets left by one run never collide with another's.  The
# order is swapped every other pair, so that whatever drifts during a run
# (TIME_WAIT sockets pile up to the kernel's limit, the host's load) does
# not always fall on the same variant.
"$tmp/bench_server" "$tmp/port" $((4 * runs + 4)) & pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "bench_server did not start" >&2; exit 1; }
mapfile -t ports <"$tmp/port"
echo "bench_server on 127.0.0.1:${ports[0]}..., ${#ports[@]} ports; runs=$runs n=$n curl_n=$curl_n" >&2

# stats FILE: median min max of the numbers in FILE
stats() {
	sort -g "$1" | awk '{v[NR] = $1} END{m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%s %s %s\n", m, v[1], v[NR]}'
}

# fig NAME LABEL_A LABEL_B UNIT : print the FIG line from $tmp/{a,b,r}
fig() {
	read -r am _ _ < <(stats "$tmp/a")
	read -r bm _ _ < <(stats "$tmp/b")
	read -r rm rlo rhi < <(stats "$tmp/r")
	local f=%.0f
	[ "$4" = us ] && f=%.2f
	printf "FIG\t%s\t%s: $f %s\t%s: $f %s\t%.3f\t%.3f–%.3f\t%d\n" \
		"$1" "$2" "$am" "$4" "$3" "$bm" "$4" "$rm" "$rlo" "$rhi" "$runs"
}

check_connects() { # VARIANT GOT WANT
	[ "$2" = "$3" ] || echo "WARNING: $1 made $2 connections for $3 requests" >&2
}

# ---- C client -----------------------------------------------------------
# Each run's CPU time (user + system) goes to $tmp/cpu_a or cpu_b: on a
# host shared with other work the client's own CPU per request moves less
# than its wall-clock rate (second row).
TIMEFORMAT='%3U %3S'
client_a() { { time "$tmp/bench_client" --send-close "$1" "$2"; } 2>"$tmp/cpu_a"; }  # PORT N
client_b() { { time LD_PRELOAD=$lib "$tmp/bench_client" --keepalive-unless-close "$1" "$2"; } 2>"$tmp/cpu_b"; }
cpu() { awk '{ printf "%.3f\n", $1 + $2 }' "$tmp/cpu_$1"; }
client_a "${ports[0]}" $((n / 10)) >/dev/null; client_b "${ports[1]}" $((n / 10)) >/dev/null # warm-up
: >"$tmp/a"; : >"$tmp/b"; : >"$tmp/r"; : >"$tmp/ca"; : >"$tmp/cb"; : >"$tmp/cr"
for i in $(seq "$runs"); do
	# not "read < <(client)": the CPU time is written after the client's
	# last line, so the run must be over before its file is read
	if [ $((i % 2)) = 1 ]; then
		client_a "${ports[2 * i]}" "$n" >"$tmp/out_a"
		client_b "${ports[2 * i + 1]}" "$n" >"$tmp/out_b"
	else
		client_b "${ports[2 * i + 1]}" "$n" >"$tmp/out_b"
		client_a "${ports[2 * i]}" "$n" >"$tmp/out_a"
	fi
	read -r ra _ ca <"$tmp/out_a"
	read -r rb _ cb <"$tmp/out_b"
	check_connects "(a)" "$ca" "$n"; check_connects "(b)" "$cb" "$n"
	echo "$ra" >>"$tmp/a"; echo "$rb" >>"$tmp/b"
	awk -v a="$ra" -v b="$rb" 'BEGIN{printf "%.4f\n", b / a}' >>"$tmp/r"
	xa=$(cpu a) xb=$(cpu b)
	awk -v x="$xa" -v n="$n" 'BEGIN{printf "%.3f\n", x * 1e6 / n}' >>"$tmp/ca"
	awk -v x="$xb" -v n="$n" 'BEGIN{printf "%.3f\n", x * 1e6 / n}' >>"$tmp/cb"
	awk -v a="$xa" -v b="$xb" 'BEGIN{printf "%.4f\n", a / b}' >>"$tmp/cr"
	echo "C client run $i: (a) $ra req/s, $xa s CPU; (b) $rb req/s, $xb s CPU" >&2
done
fig "request path, C client (req/s, b/a)" "(a) client sends close, no shim" "(b) keep-alive client + shim" "req/s"
mv "$tmp/ca" "$tmp/a"; mv "$tmp/cb" "$tmp/b"; mv "$tmp/cr" "$tmp/r"
fig "request path, C client CPU per request (user+sys, a/b)" "(a) client sends close, no shim" "(b) keep-alive client + shim" "us"

# ---- curl ---------------------------------------------------------------
if ! command -v curl >/dev/null; then
	if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y curl >&2 || true; fi
fi
if ! command -v curl >/dev/null; then
	printf 'SKIP\trequest path, curl (req/s, b/a)\tcurl not installed and could not be installed\n'
	exit 0
fi
mkcfg() { # N FILE   (the server port is given per run with --connect-to)
	{
		printf '%s\n' 'write-out = "%{num_connects}\n"'
		for i in $(seq "$1"); do printf 'url = "http://h%d.invalid/"\noutput = "/dev/null"\n' "$i"; done
	} >"$2"
}
mkcfg "$curl_n" "$tmp/curl.cfg"
mkcfg $((curl_n / 10 + 1)) "$tmp/curl_warm.cfg"
# curl_run a|b CFG PORT: prints "REQ_PER_S CONNECTS"
curl_run() {
	local t0 t1 c
	t0=$(date +%s%N)
	if [ "$1" = a ]; then
		{ time curl -s --connect-to "::127.0.0.1:$3" -H 'Connection: close' -K "$2" >"$tmp/curl.out"; } 2>"$tmp/cpu_a"
	else
		{ time LD_PRELOAD=$lib curl -s --connect-to "::127.0.0.1:$3" -K "$2" >"$tmp/curl.out"; } 2>"$tmp/cpu_b"
	fi
	t1=$(date +%s%N)
	c=$(awk '{s += $1} END{print s}' "$tmp/curl.out")
	awk -v n="$(grep -c '^url' "$2")" -v ns=$((t1 - t0)) -v c="$c" 'BEGIN{printf "%.1f %s\n", n * 1e9 / ns, c}'
}
o=$((2 * runs + 2)) # curl's ports follow the C client's
curl_run a "$tmp/curl_warm.cfg" "${ports[o]}" >/dev/null; curl_run b "$tmp/curl_warm.cfg" "${ports[o + 1]}" >/dev/null
: >"$tmp/a"; : >"$tmp/b"; : >"$tmp/r"; : >"$tmp/ca"; : >"$tmp/cb"; : >"$tmp/cr"
for i in $(seq "$runs"); do
	if [ $((i % 2)) = 1 ]; then
		curl_run a "$tmp/curl.cfg" "${ports[o + 2 * i]}" >"$tmp/out_a"
		curl_run b "$tmp/curl.cfg" "${ports[o + 2 * i + 1]}" >"$tmp/out_b"
	else
		curl_run b "$tmp/curl.cfg" "${ports[o + 2 * i + 1]}" >"$tmp/out_b"
		curl_run a "$tmp/curl.cfg" "${ports[o + 2 * i]}" >"$tmp/out_a"
	fi
	read -r ra ca <"$tmp/out_a"
	read -r rb cb <"$tmp/out_b"
	check_connects "curl (a)" "$ca" "$curl_n"; check_connects "curl (b)" "$cb" "$curl_n"
	echo "$ra" >>"$tmp/a"; echo "$rb" >>"$tmp/b"
	awk -v a="$ra" -v b="$rb" 'BEGIN{printf "%.4f\n", b / a}' >>"$tmp/r"
	xa=$(cpu a) xb=$(cpu b)
	awk -v x="$xa" -v n="$curl_n" 'BEGIN{printf "%.3f\n", x * 1e6 / n}' >>"$tmp/ca"
	awk -v x="$xb" -v n="$curl_n" 'BEGIN{printf "%.3f\n", x * 1e6 / n}' >>"$tmp/cb"
	awk -v a="$xa" -v b="$xb" 'BEGIN{printf "%.4f\n", a / b}' >>"$tmp/cr"
	echo "curl run $i: (a) $ra req/s, $xa s CPU; (b) $rb req/s, $xb s CPU (one process, $curl_n URLs)" >&2
done
fig "request path, curl (req/s, b/a)" "(a) curl -H 'Connection: close', no shim" "(b) plain curl + shim" "req/s"
mv "$tmp/ca" "$tmp/a"; mv "$tmp/cb" "$tmp/b"; mv "$tmp/cr" "$tmp/r"
fig "request path, curl CPU per request (user+sys, a/b)" "(a) curl -H 'Connection: close', no shim" "(b) plain curl + shim" "us"
