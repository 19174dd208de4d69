#!/usr/bin/env bash
# HTTPS (issue 14): the library inside OpenSSL 3, against a local keep-alive
# TLS server (tests/bench/tls_server.py, ignores close, never closes first),
# with the OpenSSL test client tests/tls/ssl_client.c.  Interleaved pairs,
# the order swapped every other pair: RUNS (9) pairs for HAProxy; the
# request path and the CPU-time rows make shorter runs and more of them
# (2*RUNS+1 pairs, 4*RUNS+1 for the in-memory rows), so that the two runs
# of a pair share the host's state more often (a shared 2-core host swings
# +-20 % within a second).
# The single-threaded Python server is what the wall clock mostly measures
# (its handshakes, its sends), and the host is shared: the client's own
# CPU time (getrusage, microseconds, printed by the client) is what the
# library can change, so every row but throughput and HAProxy uses it.
#   request path (100 requests a run): (a) the client sends
#       "Connection: close" itself and closes
#       after each response, no library; (b) the client asks for keep-alive
#       and runs under the library, which adds close and tears down.  Both
#       make one TLS handshake per request.  Two rows from the same runs:
#       throughput (b)/(a), target >= 0.98, and client CPU time a/b.
#   large download: one 128 MiB body over one connection, (a) without and
#       (b) with the library (the session is tracked; the body passes
#       straight into the program's buffer and is only counted).  Client
#       CPU time a/b, target >= 0.99.
#   untracked sessions, 128 MiB each, (a) without and (b) with the library,
#       client CPU time a/b, target >= 0.99:
#       - not HTTP: the line "BULK N"; the session passes for good at its
#         first write;
#       - h2: ALPN h2 selected by the server, the connection preface as the
#         first write (what the library decides on: not a request line),
#         then DATA frames.
#       Each is first run once under the library with FORCECLOSE_STATS to
#       check that no session was tracked.
#   untracked per call: tests/bench/tls_micro.c, 10^6 one-byte SSL_read_ex
#       on an h2 session over a memory BIO pair (no socket), ns per call
#       (CPU time), (a) without and (b) with the library; time a/b.  And
#       the same with 16 KiB reads, one record each (64 MiB): the bulk
#       stream without the socket's and the server's noise, target >= 0.99.
#   against HAProxy (300 requests a run): (a) the keep-alive client through a local HAProxy
#       terminating TLS with "option httpclose" in front of the same
#       server (a second TLS handshake per request, to the server), no
#       library; (b) the same client direct, under the library.  Ratio:
#       throughput (b)/(a), reported (no target).  Skipped without
#       haproxy (Debian package).
# Output: FIG lines on stdout; progress on stderr.
# usage: tests/bench/fig_tls.sh   env: RUNS (9), QUICK=1 (3 pairs, smaller
#        sizes), N (requests per run: 100 for the request path, 300 for
#        HAProxy; 50 and 100 with QUICK)
set -eu
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-9}
. tests/bench/lib.sh
n=${N:-100} nh=${N:-300} big=134217728 bulk=134217728 calls=1000000 records=4096
[ "${QUICK:-0}" = 1 ] && n=${N:-50} nh=${N:-100} big=16777216 bulk=33554432 \
	calls=300000 records=1024
cpairs=$((2 * RUNS + 1))
command -v openssl >/dev/null || { echo "fig_tls: no openssl" >&2; exit 0; }
cc -std=gnu11 -O2 -o "$BTMP/ssl_client" tests/tls/ssl_client.c -lssl -lcrypto &&
	cc -std=gnu11 -O2 -o "$BTMP/tls_micro" tests/bench/tls_micro.c \
		-lssl -lcrypto ||
	{ echo "fig_tls: no libssl-dev" >&2; exit 0; }
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$BTMP/key.pem" \
	-out "$BTMP/cert.pem" 2>/dev/null
python3 tests/bench/tls_server.py "$BTMP/cert.pem" "$BTMP/key.pem" \
	"$BTMP/port" 3>&- & spid=$!
hpid=
# set -e holds in the trap too: the servers' SIGTERM status is not ours
trap 'kill $spid $hpid 2>/dev/null; wait $spid $hpid 2>/dev/null || :; rm -rf "$BTMP"' EXIT
for _ in $(seq 100); do [ -s "$BTMP/port" ] && break; sleep 0.1; done
port=$(cat "$BTMP/port")
mkdir -p "$BTMP/o"

# t MODE PATH N [lib|hap]: one client run; prints "WALL CPU", the wall
# clock and the client's own user+system time, in microseconds.  lib:
# under the library; hap: to HAProxy's port.
t() {
	local s e pre= p=$port
	[ "${4:-}" = lib ] && pre=$LIB
	[ "${4:-}" = hap ] && p=$hport
	s=$(date +%s%N)
	LD_PRELOAD=$pre "$BTMP/ssl_client" "$1" "$p" "$BTMP/cert.pem" \
		"$2" "$3" "$BTMP/o" >"$BTMP/out"
	e=$(date +%s%N)
	echo "$(( (e - s) / 1000 )) $(awk '$1 == "cpu-us" { print $2 }' "$BTMP/out")"
}

# run_pairs [PAIRS]: PAIRS (RUNS) pairs of t "${a_args[@]}" and
# t "${b_args[@]}"; ratios: throughput b/a (= wall a/wall b), cratios: CPU
# time a/b
ratios=() cratios=()
run_pairs() {
	local i ta tb
	ratios=() cratios=()
	for ((i = 0; i < ${1:-$RUNS}; i++)); do
		if ((i % 2)); then
			tb=$(t "${b_args[@]}"); ta=$(t "${a_args[@]}")
		else
			ta=$(t "${a_args[@]}"); tb=$(t "${b_args[@]}")
		fi
		ratios+=("$(div "${ta% *}" "${tb% *}")")
		cratios+=("$(div "${ta#* }" "${tb#* }")")
		echo "  pair $i: a ${ta% *} us (cpu ${ta#* }), b ${tb% *} us (cpu ${tb#* })" >&2
	done
}

# untracked_check MODE SIZE: one run under the library; the library must
# have tracked no session (FORCECLOSE_STATS), else the figure is wrong.
untracked_check() {
	rm -f "$BTMP/stats"
	FORCECLOSE_STATS=$BTMP/stats LD_PRELOAD=$LIB "$BTMP/ssl_client" "$1" \
		"$port" "$BTMP/cert.pem" /x "$2" "$BTMP/o" >"$BTMP/out"
	grep -q '"sessions_tracked":0,' "$BTMP/stats" || {
		echo "fig_tls: the $1 session was tracked" >&2; exit 1; }
}

echo "tls request path: $n requests per run, $cpairs pairs" >&2
a_args=(close /r "$n") b_args=(block /r "$n" lib)
run_pairs "$cpairs"
fig "HTTPS request path (OpenSSL, ssl_client), throughput b/a" \
	"client sends close, no library" "keep-alive client under the library" \
	"${ratios[@]}"
fig "HTTPS request path, client CPU (time a/b)" \
	"client sends close, no library" "keep-alive client under the library" \
	"${cratios[@]}"

echo "tls large download: $big bytes, $cpairs pairs, client CPU time" >&2
a_args=(block /size/$big 1) b_args=(block /size/$big 1 lib)
run_pairs "$cpairs"
fig "HTTPS $((big >> 20)) MiB download, client CPU (tracked session; time a/b)" \
	"no library" "library" "${cratios[@]}"

echo "tls untracked session: $bulk bytes not HTTP, $cpairs pairs, client CPU time" >&2
untracked_check raw "$bulk"
a_args=(raw /x "$bulk") b_args=(raw /x "$bulk" lib)
run_pairs "$cpairs"
fig "TLS untracked session, $((bulk >> 20)) MiB not HTTP, client CPU (time a/b)" \
	"no library" "library" "${cratios[@]}"

echo "tls untracked session: $bulk bytes over h2, $cpairs pairs, client CPU time" >&2
untracked_check h2 "$bulk"
grep -qx "alpn h2" "$BTMP/out"
a_args=(h2 /x "$bulk") b_args=(h2 /x "$bulk" lib)
run_pairs "$cpairs"
fig "TLS untracked h2 session (ALPN h2), $((bulk >> 20)) MiB, client CPU (time a/b)" \
	"no library" "library" "${cratios[@]}"

# m CALLS SIZE [lib]: ns per SIZE-byte SSL_read_ex on an untracked (h2)
# session over a memory BIO pair
m() {
	LD_PRELOAD=${3:+$LIB} "$BTMP/tls_micro" "$BTMP/cert.pem" \
		"$BTMP/key.pem" "$1" "$2" | awk '$1 == "ns-per-call" { print $2 }'
}
# micro_pairs CALLS SIZE: mpairs pairs; mr (time a/b), ma, mb (ns)
mpairs=$((4 * RUNS + 1))
micro_pairs() {
	local i ta tb
	mr=() ma=() mb=()
	for ((i = 0; i < mpairs; i++)); do
		if ((i % 2)); then
			tb=$(m "$1" "$2" lib); ta=$(m "$1" "$2")
		else
			ta=$(m "$1" "$2"); tb=$(m "$1" "$2" lib)
		fi
		ma+=("$ta") mb+=("$tb") mr+=("$(div "$ta" "$tb")")
		echo "  pair $i: a $ta ns, b $tb ns" >&2
	done
}
rm -f "$BTMP/stats"
FORCECLOSE_STATS=$BTMP/stats LD_PRELOAD=$LIB "$BTMP/tls_micro" \
	"$BTMP/cert.pem" "$BTMP/key.pem" 1000 >/dev/null
grep -q '"sessions_tracked":0,' "$BTMP/stats" || {
	echo "fig_tls: the micro session was tracked" >&2; exit 1; }
echo "tls untracked per call: $calls one-byte SSL_read_ex, $mpairs pairs" >&2
micro_pairs "$calls" 1
fig "TLS untracked h2 session, one-byte SSL_read_ex in memory (time a/b)" \
	"no library: $(median "${ma[@]}") ns a call" \
	"library: $(median "${mb[@]}") ns a call" "${mr[@]}"
echo "tls untracked in memory: $records 16 KiB SSL_read_ex, $mpairs pairs" >&2
micro_pairs "$records" 16384
fig "TLS untracked h2 session, $((records >> 6)) MiB in 16 KiB SSL_read_ex in memory (time a/b)" \
	"no library: $(median "${ma[@]}") ns a record" \
	"library: $(median "${mb[@]}") ns a record" "${mr[@]}"

# HAProxy terminating TLS with option httpclose, re-encrypting to the same
# server.  It cannot bind port 0 and say which port it got: a free port is
# picked first (as in fig_haproxy.sh), retried if haproxy does not come up.
command -v haproxy >/dev/null || {
	printf 'SKIP\t%s\t%s\n' "HTTPS against HAProxy" "haproxy not installed"
	exit 0
}
cat "$BTMP/cert.pem" "$BTMP/key.pem" >"$BTMP/both.pem"
hport=
for _ in 1 2 3 4 5; do
	fp=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
	printf '%s\n' global '	nbthread 1' '	maxconn 4096' defaults \
		'	mode http' '	option httpclose' '	timeout connect 5s' \
		'	timeout client 30s' '	timeout server 30s' frontend\ fe \
		"	bind 127.0.0.1:$fp ssl crt $BTMP/both.pem" \
		'	default_backend be' backend\ be \
		"	server s1 127.0.0.1:$port ssl verify none" >"$BTMP/haproxy.cfg"
	haproxy -db -f "$BTMP/haproxy.cfg" >&2 & hpid=$!
	for _ in $(seq 50); do
		kill -0 "$hpid" 2>/dev/null || break
		if "$BTMP/ssl_client" close "$fp" "$BTMP/cert.pem" /w 1 "$BTMP/o" >/dev/null 2>&1; then
			hport=$fp
			break
		fi
		sleep 0.1
	done
	[ -n "$hport" ] && break
	kill "$hpid" 2>/dev/null || true
	wait "$hpid" 2>/dev/null || true
	hpid=
done
[ -n "$hport" ] || {
	printf 'SKIP\t%s\t%s\n' "HTTPS against HAProxy" "haproxy did not start"
	exit 0
}
echo "tls against haproxy (port $hport): $nh requests per run, $RUNS pairs" >&2
a_args=(block /h "$nh" hap) b_args=(block /h "$nh" lib)
run_pairs
fig "HTTPS against HAProxy terminating TLS (option httpclose), throughput b/a" \
	"haproxy in front, no library" "direct, under the library" "${ratios[@]}"
