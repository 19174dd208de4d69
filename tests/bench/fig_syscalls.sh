#!/usr/bin/env bash
# Figure 2c (issue 16): system calls per exchange, under the library minus
# without it, counted with strace -c (a count, not a time).  Each client
# makes N and then 2N sequential requests, one new connection each, to the
# keep-alive bench_server; the difference of the two runs leaves start-up
# and exit out.  (a) the client sends "Connection: close" itself (C client)
# or is the same program without the library (the others); (b) keep-alive
# client under the library.  The value column is (b) - (a) per exchange,
# not a ratio; for a socket made by the library's socket() the goal is 1:
# the teardown's shutdown().
#   floor     tests/c/floor.c exchanges: polls until the response is there,
#             then reads it (the same calls of its own in both runs);
#   C client  tests/bench/bench_client.c: reads at once, so when the
#             response is not there yet the library's read waits as the
#             program's read would (a non-blocking try, a wait, the read);
#             how often depends on scheduling, strace's included;
#   curl      N different host names (no reuse), as in fig_request_path.sh.
# The library sends with send() where the program wrote with write() and
# reads with recv() where it read with read(): those count as the same call.
# Output: FIG lines; per-call differences on stderr.
# usage: tests/bench/fig_syscalls.sh    env: RUNS (3), QUICK=1, N (200)
set -eu
runs=${RUNS:-3}	# before lib.sh, which sets RUNS (to 5)
. "$(dirname "$0")/lib.sh"
n=${N:-200}
[ "${QUICK:-0}" = 1 ] && { n=${N:-100}; runs=1; }
if ! command -v strace >/dev/null; then
	printf 'SKIP\t2c system calls per exchange\tstrace not installed\n'
	exit 0
fi
cc -O2 -o "$BTMP/bench_server" "$ROOT/tests/bench/bench_server.c"
cc -O2 -o "$BTMP/bench_client" "$ROOT/tests/bench/bench_client.c"
cc -O2 -I"$ROOT/tests/c" -o "$BTMP/floor" "$ROOT/tests/c/floor.c"
"$BTMP/bench_server" "$BTMP/port" 1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$BTMP"' EXIT
for _ in $(seq 50); do [ -s "$BTMP/port" ] && break; sleep 0.1; done
port=$(head -1 "$BTMP/port")
curl_cfg() { # N FILE
	for i in $(seq "$1"); do printf 'url = "http://h%d.invalid/"\noutput = "/dev/null"\n' "$i"; done >"$2"
}
curl_cfg "$n" "$BTMP/c1.cfg"
curl_cfg $((2 * n)) "$BTMP/c2.cfg"

# count PRELOAD CLIENT K: total system calls of the client making K requests
# ("name count" lines, send/recv folded into write/read)
count() {
	local pre=$1 client=$2 k=$3 out="$BTMP/strace.out" cmd
	case $client in
	floor) cmd=("$BTMP/floor" exchanges "$port" "$k") ;;
	c) if [ -n "$pre" ]; then mode=--keepalive-unless-close; else mode=--send-close; fi
	   cmd=("$BTMP/bench_client" "$mode" "$port" "$k") ;;
	curl) cmd=(curl -s --connect-to "::127.0.0.1:$port" -K "$BTMP/c$((k / n)).cfg") ;;
	esac
	if [ -n "$pre" ]; then
		strace -f -c -o "$out" -E LD_PRELOAD="$pre" "${cmd[@]}" >/dev/null
	else
		strace -f -c -o "$out" "${cmd[@]}" >/dev/null
	fi
	awk 'NF >= 5 && $1 ~ /^[0-9.]+$/ && $NF != "total" {
		n = $NF
		if (n ~ /^(recvfrom|recvmsg|readv)$/) n = "read"
		if (n ~ /^(sendto|sendmsg|writev)$/) n = "write"
		print n, $4 }' "$out"
}

# per_exchange CLIENT: prints "A B DELTA DETAIL" for one run
per_exchange() {
	local c=$1
	count "" "$c" "$n" >"$BTMP/a1"; count "" "$c" $((2 * n)) >"$BTMP/a2"
	count "$LIB" "$c" "$n" >"$BTMP/b1"; count "$LIB" "$c" $((2 * n)) >"$BTMP/b2"
	awk -v n="$n" '
		FILENAME ~ /a1$/ { a[$1] -= $2 } FILENAME ~ /a2$/ { a[$1] += $2 }
		FILENAME ~ /b1$/ { b[$1] -= $2 } FILENAME ~ /b2$/ { b[$1] += $2 }
		END {
			for (k in a) ta += a[k]; for (k in b) tb += b[k]
			for (k in b) if (b[k] != a[k]) d = d sprintf(" %s %+.2f", k, (b[k] - a[k]) / n)
			for (k in a) if (!(k in b) && a[k]) d = d sprintf(" %s %+.2f", k, -a[k] / n)
			split("shutdown getpid getsockopt newfstatat fstat statx", own, " ")
			for (i in own) o += b[own[i]] - a[own[i]]
			printf "%.2f %.2f %.2f %.2f%s\n", ta / n, tb / n, (tb - ta) / n, o / n, d
		}' "$BTMP/a1" "$BTMP/a2" "$BTMP/b1" "$BTMP/b2"
}

# row CLIENT LABEL total|own: the value is the whole difference, or only
# the calls the library makes of its own (shutdown, getpid, getsockopt,
# fstat), for a client whose own calls vary from run to run (curl's poll
# loop)
row() {
	local d=() a=() b=() i x y z o rest
	for ((i = 0; i < runs; i++)); do
		read -r x y z o rest < <(per_exchange "$1")
		a+=("$x") b+=("$y")
		if [ "$3" = own ]; then d+=("$o"); else d+=("$z"); fi
		echo "  2c $2 run $((i + 1)): without $x, with $y system calls per exchange; differences:$rest" >&2
	done
	fig "2c system calls per exchange, $2 (strace -c; value: $4, not a ratio)" \
		"(a) without: $(median "${a[@]}")" "(b) with: $(median "${b[@]}")" "${d[@]}"
}
row floor "floor client (polls, then reads)" total "b - a"
row c "C client (reads at once)" total "b - a"
if command -v curl >/dev/null; then
	row curl "curl" own "the library's shutdown/getpid/getsockopt/fstat"
fi
