#!/usr/bin/env bash
# Figure 3 (issue 5), against HAProxy: the keep-alive C client
# (tests/bench/bench_client.c --keepalive-unless-close, no Connection header)
# makes N sequential requests to the local server (tests/bench/bench_server.c)
#   A: through a local HAProxy with "option httpclose" (Debian package;
#      config from the template tests/bench/haproxy.cfg), no shim;
#   B: directly to the server, under the shim (LD_PRELOAD).
# Both end every connection after one exchange.  Variants alternate
# A B A B ... in one run, RUNS pairs.  Rows: latency per request (µs,
# ratio haproxy/shim) and requests per second (ratio shim/haproxy; target
# >= 1.5, no pass/fail here).
#
# Ports: haproxy can't bind 127.0.0.1:0 and tell us the port, so a python3
# one-liner binds 127.0.0.1:0 (once per run), prints the ports and closes
# them; they go into the config generated from the template and haproxy
# starts at once.  If haproxy fails to come up (a port taken in between),
# new ports are picked (at most 5 tries).
#
# haproxy is installed with apt-get (as root) when missing; if that fails a
# SKIP line is printed and the script exits 0.
# Output: FIG lines (TAB-separated) on stdout; progress on stderr.
# usage: tests/bench/fig_haproxy.sh          env: RUNS (5), QUICK=1, N, BENCH_CPU
set -eu
cd "$(dirname "$0")/../.."
lib=$PWD/shim/libforceclose.so
name_lat="against HAProxy, latency (µs/request, haproxy/shim)"
name_tput="against HAProxy, throughput (req/s, shim/haproxy)"
if [ "${QUICK:-0}" = 1 ]; then
	runs=${RUNS:-3} n=${N:-3000}
else
	runs=${RUNS:-5} n=${N:-10000}
fi

skip() {
	printf 'SKIP\t%s\t%s\n' "$name_lat" "$1"
	printf 'SKIP\t%s\t%s\n' "$name_tput" "$1"
	exit 0
}
if ! command -v haproxy >/dev/null; then
	echo "installing haproxy" >&2
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy >&2 ||
			{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy >&2; } || true
	fi
	command -v haproxy >/dev/null || skip "haproxy not installed and could not be installed"
fi
command -v python3 >/dev/null || skip "python3 (to pick a free port) not found"

. tests/bench/request_setup.sh

# Server ports: sports[0..runs] for the shim (warm-up, then one per run),
# the last 4 behind haproxy (round robin).  Fresh address pairs per run keep
# one run's TIME_WAIT sockets from slowing connect() in the next.
"$tmp/bench_server" "$tmp/port" $((runs + 5)) & pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "bench_server did not start" >&2; exit 1; }
mapfile -t sports <"$tmp/port"
server_lines=
for k in 1 2 3 4; do
	server_lines+=$'\t'"server s$k 127.0.0.1:${sports[runs + k]}"$'\n'
done

free_ports() { # N: N distinct free ports of 127.0.0.1, one a line
	python3 -c 'import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in ss))
for s in ss: s.close()' "$1"
}
hports=()
for try in 1 2 3 4 5; do
	mapfile -t fp < <(free_ports $((runs + 1)))
	binds=$(printf '127.0.0.1:%s,' "${fp[@]}")
	cfg=$(<tests/bench/haproxy.cfg)
	cfg=${cfg//@FRONT_BINDS@/${binds%,}}
	cfg=${cfg//@SERVER_LINES@/${server_lines%$'\n'}}
	printf '%s\n' "$cfg" >"$tmp/haproxy.cfg"
	haproxy -db -f "$tmp/haproxy.cfg" >&2 & hpid=$!
	pids+=("$hpid")
	for _ in $(seq 50); do
		kill -0 "$hpid" 2>/dev/null || break
		if "$tmp/bench_client" --send-close "${fp[-1]}" 1 >/dev/null 2>&1; then hports=("${fp[@]}"); break; fi
		sleep 0.1
	done
	[ ${#hports[@]} -gt 0 ] && break
	echo "haproxy did not come up on ports ${fp[*]} (try $try)" >&2
	kill "$hpid" 2>/dev/null || true
	wait "$hpid" 2>/dev/null || true
done
[ ${#hports[@]} -gt 0 ] || skip "haproxy did not start (see stderr)"
echo "bench_server on 127.0.0.1:${sports[*]}; haproxy $(haproxy -v | head -1 | cut -d' ' -f3) on 127.0.0.1:${hports[*]}; runs=$runs n=$n" >&2

# stats FILE: median min max of the numbers in FILE
stats() {
	sort -g "$1" | awk '{v[NR] = $1} END{m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%s %s %s\n", m, v[1], v[NR]}'
}
check_connects() { # VARIANT GOT WANT
	[ "$2" = "$3" ] || echo "WARNING: $1 made $2 connections for $3 requests" >&2
}

run_a() { "$tmp/bench_client" --keepalive-unless-close "${hports[$1]}" "$2"; }           # RUN N
run_b() { LD_PRELOAD=$lib "$tmp/bench_client" --keepalive-unless-close "${sports[$1]}" "$2"; }
run_a 0 $((n / 10)) >/dev/null; run_b 0 $((n / 10)) >/dev/null # warm-up
for f in ta tb la lb rt rl; do : >"$tmp/$f"; done
for i in $(seq "$runs"); do
	read -r ta la ca < <(run_a "$i" "$n")
	read -r tb lb cb < <(run_b "$i" "$n")
	check_connects "haproxy" "$ca" "$n"; check_connects "shim" "$cb" "$n"
	echo "$ta" >>"$tmp/ta"; echo "$tb" >>"$tmp/tb"
	echo "$la" >>"$tmp/la"; echo "$lb" >>"$tmp/lb"
	awk -v a="$ta" -v b="$tb" 'BEGIN{printf "%.4f\n", b / a}' >>"$tmp/rt"
	awk -v a="$la" -v b="$lb" 'BEGIN{printf "%.4f\n", a / b}' >>"$tmp/rl"
	echo "run $i: haproxy $ta req/s ($la µs), shim $tb req/s ($lb µs)" >&2
done
read -r lam _ _ < <(stats "$tmp/la"); read -r lbm _ _ < <(stats "$tmp/lb")
read -r tam _ _ < <(stats "$tmp/ta"); read -r tbm _ _ < <(stats "$tmp/tb")
read -r rlm rllo rlhi < <(stats "$tmp/rl"); read -r rtm rtlo rthi < <(stats "$tmp/rt")
printf 'FIG\t%s\t%s: %.1f µs\t%s: %.1f µs\t%.3f\t%.3f–%.3f\t%d\n' "$name_lat" \
	"A haproxy option httpclose" "$lam" "B shim, direct" "$lbm" "$rlm" "$rllo" "$rlhi" "$runs"
printf 'FIG\t%s\t%s: %.0f req/s\t%s: %.0f req/s\t%.3f\t%.3f–%.3f\t%d\n' "$name_tput" \
	"A haproxy option httpclose" "$tam" "B shim, direct" "$tbm" "$rtm" "$rtlo" "$rthi" "$runs"
