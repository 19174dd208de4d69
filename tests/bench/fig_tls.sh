#!/usr/bin/env bash
# HTTPS (issue 14): the library inside OpenSSL 3, against a local keep-alive
# TLS server (tests/bench/tls_server.py, ignores close, never closes first),
# with the OpenSSL test client tests/tls/ssl_client.c.  Alternating pairs,
# the order swapped every other pair.
#   request path: (a) the client sends "Connection: close" itself and closes
#       after each response, no library; (b) the client asks for keep-alive
#       and runs under the library, which adds close and tears down.  Both
#       make one TLS handshake per request.  Ratio: throughput (b)/(a),
#       target >= 0.98.
#   large download: one 256 MiB body over one connection, (a) without and
#       (b) with the library (the session is tracked; the body passes
#       straight into the program's buffer and is only counted).  Ratio:
#       throughput (b)/(a), target >= 0.99.
#   untracked session: one 1 GiB non-HTTP stream ("BULK N", the session
#       passes for good at its first write), (a) without and (b) with the
#       library: one table lookup per SSL_read_ex.  Ratio as above,
#       target >= 0.99.
#   against HAProxy: (a) the keep-alive client through a local HAProxy
#       terminating TLS with "option httpclose" in front of the same
#       server (a second TLS handshake per request, to the server), no
#       library; (b) the same client direct, under the library.  Ratio:
#       throughput (b)/(a), reported (no target).  Skipped without
#       haproxy (Debian package).
# Output: FIG lines on stdout; progress on stderr.
# usage: tests/bench/fig_tls.sh     env: RUNS (5), QUICK=1, N (300)
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
n=${N:-300}
[ "${QUICK:-0}" = 1 ] && n=${N:-100}
command -v openssl >/dev/null || { echo "fig_tls: no openssl" >&2; exit 0; }
cc -std=gnu11 -O2 -o "$BTMP/ssl_client" tests/tls/ssl_client.c -lssl -lcrypto ||
	{ echo "fig_tls: no libssl-dev" >&2; exit 0; }
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$BTMP/key.pem" \
	-out "$BTMP/cert.pem" 2>/dev/null
python3 tests/bench/tls_server.py "$BTMP/cert.pem" "$BTMP/key.pem" \
	"$BTMP/port" 3>&- & spid=$!
hpid=
trap 'kill $spid $hpid 2>/dev/null; wait $spid $hpid 2>/dev/null; rm -rf "$BTMP"' EXIT
for _ in $(seq 100); do [ -s "$BTMP/port" ] && break; sleep 0.1; done
port=$(cat "$BTMP/port")
mkdir -p "$BTMP/o"

# t MODE PATH N [lib|hap]: microseconds for one client run: wall clock,
# or with CPU=1 the client's user+system time (GNU time); lib: under the
# library; hap: to HAProxy's port
t() {
	local s e pre= p=$port
	[ "${4:-}" = lib ] && pre=$LIB
	[ "${4:-}" = hap ] && p=$hport
	if [ "${CPU:-0}" = 1 ]; then
		LD_PRELOAD=$pre /usr/bin/time -f "%U %S" -o "$BTMP/cpu" \
			"$BTMP/ssl_client" "$1" "$p" "$BTMP/cert.pem" "$2" \
			"$3" "$BTMP/o" >/dev/null
		awk '{ printf "%d\n", ($1 + $2) * 1000000 }' "$BTMP/cpu"
		return
	fi
	s=$(date +%s%N)
	LD_PRELOAD=$pre "$BTMP/ssl_client" "$1" "$p" "$BTMP/cert.pem" \
		"$2" "$3" "$BTMP/o" >/dev/null
	e=$(date +%s%N)
	echo "$(( (e - s) / 1000 ))"
}

# pairs NAME LABEL_A LABEL_B A-ARGS... -- B-ARGS...: RUNS alternating pairs
ratios=()
run_pairs() {
	local i ta tb
	ratios=()
	for ((i = 0; i < RUNS; i++)); do
		if ((i % 2)); then
			tb=$(t "${b_args[@]}"); ta=$(t "${a_args[@]}")
		else
			ta=$(t "${a_args[@]}"); tb=$(t "${b_args[@]}")
		fi
		ratios+=("$(div "$ta" "$tb")")	# throughput b/a = time a/time b
		echo "  pair $i: a ${ta} us, b ${tb} us" >&2
	done
}

echo "tls request path: $n requests per run, $RUNS pairs" >&2
a_args=(close /r "$n") b_args=(block /r "$n" lib)
run_pairs
fig "HTTPS request path (OpenSSL, ssl_client)" "client sends close, no library" \
	"keep-alive client under the library" "${ratios[@]}"

# The single-threaded Python server is the bottleneck of a download and
# the host is shared, so the wall clock mostly measures them: the client's
# own CPU time is what the library can change.
echo "tls large download: 256 MiB, $RUNS pairs, client CPU time" >&2
a_args=(block /size/268435456 1) b_args=(block /size/268435456 1 lib)
CPU=1 run_pairs
fig "HTTPS 256 MiB download, client CPU (tracked session; time a/b)" \
	"no library" "library" "${ratios[@]}"

echo "tls untracked session: 1 GiB not HTTP, $RUNS pairs, client CPU time" >&2
a_args=(raw /x 1073741824) b_args=(raw /x 1073741824 lib)
CPU=1 run_pairs
fig "TLS untracked session, 1 GiB not HTTP, client CPU (time a/b)" \
	"no library" "library" "${ratios[@]}"

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
echo "tls against haproxy (port $hport): $n requests per run, $RUNS pairs" >&2
a_args=(block /h "$n" hap) b_args=(block /h "$n" lib)
run_pairs
fig "HTTPS against HAProxy terminating TLS (option httpclose), throughput b/a" \
	"haproxy in front, no library" "direct, under the library" "${ratios[@]}"
