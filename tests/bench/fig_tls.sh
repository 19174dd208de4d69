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
trap 'kill $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf "$BTMP"' EXIT
for _ in $(seq 100); do [ -s "$BTMP/port" ] && break; sleep 0.1; done
port=$(cat "$BTMP/port")
mkdir -p "$BTMP/o"

# t MODE PATH N [preload]: microseconds for one client run: wall clock,
# or with CPU=1 the client's user+system time (GNU time)
t() {
	local s e pre=
	[ -n "${4:-}" ] && pre=$LIB
	if [ "${CPU:-0}" = 1 ]; then
		LD_PRELOAD=$pre /usr/bin/time -f "%U %S" -o "$BTMP/cpu" \
			"$BTMP/ssl_client" "$1" "$port" "$BTMP/cert.pem" "$2" \
			"$3" "$BTMP/o" >/dev/null
		awk '{ printf "%d\n", ($1 + $2) * 1000000 }' "$BTMP/cpu"
		return
	fi
	s=$(date +%s%N)
	LD_PRELOAD=$pre "$BTMP/ssl_client" "$1" "$port" "$BTMP/cert.pem" \
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
