#!/bin/bash
# fig_scale.sh - figure 5: 1,000 concurrent connections.
#
# An epoll client (scale_client.c) keeps CONC requests in flight against a
# local epoll server (scale_server.c) that ignores Connection: close and
# never closes first, for TOTAL requests.  Both variants make one
# connection per request:
#   A  without the shim: the client sends "Connection: close" and closes
#      after each response;
#   B  with the shim: no Connection field, the client reconnects when the
#      response says close (the shim's rewrite) or on EOF.
# A and B alternate, RUNS times.  Rows (TAB-separated FIG lines on stdout):
#   1  client CPU (user+sys) per request, ratio B/A
#   2  shim memory per tracked connection: CONC connections open and idle
#      (request sent, response unread), RSS growth with the shim minus RSS
#      growth without, / CONC, in bytes (target <= 1024)
#   3  RSS under the shim after TOTAL requests / after TOTAL/10 (target 1.00)
#
#   RUNS=5, TOTAL=100000, CONC=1000 by default;
#   QUICK=1: 3 runs, TOTAL=10000 (< 20 s)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	RUNS=${RUNS:-3}
	TOTAL=${TOTAL:-10000}
else
	RUNS=${RUNS:-5}
	TOTAL=${TOTAL:-100000}
fi
CONC=${CONC:-1000}
SHIM=$ROOT/shim/libforceclose.so

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CONC + 100)) ]; then
	echo "fig_scale: ulimit -n $(ulimit -n) is below $((CONC + 100))" >&2
	exit 1
fi

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! make -s -C "$ROOT" >&2; then
	echo "fig_scale: make failed" >&2
	[ -f "$SHIM" ] || exit 1
	echo "fig_scale: using the existing $SHIM" >&2
fi
cc -O2 -o "$TMP/scale_server" "$ROOT/tests/bench/scale_server.c"
cc -O2 -o "$TMP/scale_client" "$ROOT/tests/bench/scale_client.c"

"$TMP/scale_server" "$TMP/port" 900 &
SERVER_PID=$!
for _ in $(seq 100); do
	[ -s "$TMP/port" ] && break
	sleep 0.05
done
[ -s "$TMP/port" ] || { echo "fig_scale: server did not start" >&2; exit 1; }
PORT=$(cat "$TMP/port")
echo "fig_scale: server pid $SERVER_PID on 127.0.0.1:$PORT," \
     "$RUNS runs of $TOTAL requests, $CONC in flight" >&2

# key=value line -> value of key
get() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# median and min–max of the arguments
stats() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3f\t%.3f–%.3f\n", m, v[1], v[NR] }'
}
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

client() {	# [shim] args...
	if [ "$1" = shim ]; then
		shift
		env LD_PRELOAD="$SHIM" timeout 300 "$TMP/scale_client" "$@"
	else
		shift
		timeout 300 "$TMP/scale_client" "$@"
	fi
}

cpu_a=() cpu_b=() cpu_r=() usr_a=() usr_b=() rss10=() rss100=() rss_r=()
for i in $(seq "$RUNS"); do
	a=$(client plain "$PORT" run "$TOTAL" "$CONC" close)
	b=$(client shim "$PORT" run "$TOTAL" "$CONC" keep)
	echo "fig_scale: run $i/$RUNS without: $a" >&2
	echo "fig_scale: run $i/$RUNS with:    $b" >&2
	for v in "$a" "$b"; do
		if [ "$(get "$v" requests)" != "$TOTAL" ]; then
			echo "fig_scale: a client did not finish" >&2
			exit 1
		fi
	done
	if [ "$(get "$b" reuses)" != 0 ]; then
		echo "fig_scale: warning: the client reused connections" \
		     "under the shim ($(get "$b" reuses) times)" >&2
	fi
	ua=$(calc "$(get "$a" cpu_us) / $TOTAL")
	ub=$(calc "$(get "$b" cpu_us) / $TOTAL")
	usr_a+=("$(calc "$(get "$a" user_us) / $TOTAL")")
	usr_b+=("$(calc "$(get "$b" user_us) / $TOTAL")")
	cpu_a+=("$ua") cpu_b+=("$ub") cpu_r+=("$(calc "$ub / $ua")")
	m=$(get "$b" rss_mid_kb) e=$(get "$b" rss_end_kb)
	rss10+=("$m") rss100+=("$e") rss_r+=("$(calc "$e / $m")")
done

idle_a=() idle_b=() per_conn=()
for i in $(seq "$RUNS"); do
	a=$(client plain "$PORT" idle "$CONC" close)
	b=$(client shim "$PORT" idle "$CONC" keep)
	echo "fig_scale: idle $i/$RUNS without: $a" >&2
	echo "fig_scale: idle $i/$RUNS with:    $b" >&2
	for v in "$a" "$b"; do
		if [ "$(get "$v" sent)" != "$CONC" ]; then
			echo "fig_scale: not every idle request was sent" >&2
			exit 1
		fi
	done
	ia=$(get "$a" rss_idle_kb) ib=$(get "$b" rss_idle_kb)
	ga=$(( ia - $(get "$a" rss_base_kb) ))
	gb=$(( ib - $(get "$b" rss_base_kb) ))
	idle_a+=("$ia") idle_b+=("$ib")
	per_conn+=("$(calc "($gb - $ga) * 1024 / $CONC")")
done

tab=$'\t'
echo "FIG${tab}fig5 scale: client CPU (user+sys) per request, $CONC in flight, $TOTAL requests, one connection per request${tab}without shim: $(median "${cpu_a[@]}") us/request (user $(median "${usr_a[@]}"))${tab}with shim: $(median "${cpu_b[@]}") us/request (user $(median "${usr_b[@]}"))${tab}$(stats "${cpu_r[@]}")${tab}$RUNS"
echo "FIG${tab}fig5 scale: shim memory per tracked connection, $CONC open and idle (bytes per connection = (RSS growth with - RSS growth without) / $CONC; target <= 1024)${tab}without shim: $(median "${idle_a[@]}") kB RSS${tab}with shim: $(median "${idle_b[@]}") kB RSS${tab}$(stats "${per_conn[@]}")${tab}$RUNS"
echo "FIG${tab}fig5 scale: RSS under the shim after $TOTAL requests vs after $((TOTAL / 10)) (target 1.00)${tab}after $((TOTAL / 10)): $(median "${rss10[@]}") kB${tab}after $TOTAL: $(median "${rss100[@]}") kB${tab}$(stats "${rss_r[@]}")${tab}$RUNS"
