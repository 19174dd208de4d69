#!/usr/bin/env bash
# Figure 2, breakdown: where the C client's request-path gap goes.  The
# same client and server as fig_request_path.sh, five variants in turn in
# one run, each run starting one variant later (a b b1 b2 b3, b b1 b2 b3 a,
# ...), every variant's run on a fresh port:
#   (a)  the client sends "Connection: close" itself, no shim (the floor);
#   (b)  keep-alive client + shim, as shipped;
#   (b1) as (b), getsockopt(SO_TYPE) in connect() answered from memory;
#   (b2) as (b), every safety check answered from memory: SO_TYPE, the
#        descriptor identity (fstat) and the vfork guard (getpid);
#   (b3) as (b2), and the teardown's shutdown() not made either (the
#        client still closes each connection, as the response says close).
# (b1)-(b3) preload tests/bench/checks_from_memory.so after the shim: a
# measurement aid that removes system calls the shim needs; it is never a
# way to run the shim.  What (b3) still pays over (a) is the
# shim's user-space work (parsing and rewriting both heads, locks).
# BENCH_BASELINE_LIB=PATH adds (b0): (b) with that build of the library,
# for a before/after comparison in the same run.
# Rows: throughput of each (b) variant / (a), median and min-max.
# Output: FIG lines (TAB-separated) on stdout; progress on stderr.
# usage: tests/bench/fig_request_breakdown.sh   env: RUNS (5), QUICK=1, N, BENCH_CPU
set -eu
cd "$(dirname "$0")/../.."
lib=$PWD/shim/libforceclose.so
if [ "${QUICK:-0}" = 1 ]; then
	runs=${RUNS:-3} n=${N:-3000}
else
	runs=${RUNS:-5} n=${N:-10000}
fi
. tests/bench/lib.sh # stats helpers (its temporary directory is not used)
rmdir "$BTMP"
. tests/bench/request_setup.sh # replaces lib.sh's exit trap
cc -O2 -shared -fPIC -o "$tmp/checks_from_memory.so" \
	tests/bench/checks_from_memory.c -ldl
variants=(a b b1 b2 b3)
[ -n "${BENCH_BASELINE_LIB:-}" ] && variants+=(b0)
"$tmp/bench_server" "$tmp/port" $((${#variants[@]} * (runs + 1))) & pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "bench_server did not start" >&2; exit 1; }
mapfile -t ports <"$tmp/port"

# client VARIANT PORT N: prints "REQ_PER_S US_PER_REQ CONNECTS"
client() {
	local fake=$lib:$tmp/checks_from_memory.so
	case "$1" in
	a)  "$tmp/bench_client" --send-close "$2" "$3" ;;
	b)  LD_PRELOAD=$lib "$tmp/bench_client" --keepalive-unless-close "$2" "$3" ;;
	b0) LD_PRELOAD=$BENCH_BASELINE_LIB "$tmp/bench_client" --keepalive-unless-close "$2" "$3" ;;
	b1) LD_PRELOAD=$fake BENCH_FAKE=type "$tmp/bench_client" --keepalive-unless-close "$2" "$3" ;;
	b2) LD_PRELOAD=$fake BENCH_FAKE=type,identity,pid "$tmp/bench_client" --keepalive-unless-close "$2" "$3" ;;
	b3) LD_PRELOAD=$fake BENCH_FAKE=type,identity,pid,teardown \
		"$tmp/bench_client" --keepalive-unless-close "$2" "$3" ;;
	esac
}
p=0
for v in "${variants[@]}"; do # warm-up
	client "$v" "${ports[p]}" $((n / 10)) >/dev/null
	p=$((p + 1))
done
for v in "${variants[@]}"; do : >"$tmp/$v"; done
for i in $(seq "$runs"); do
	# each run starts one variant later: every variant takes each place in
	# the order once in as many runs as there are variants (so drift does
	# not always fall on the same one, see fig_request_path.sh)
	k=$(((i - 1) % ${#variants[@]}))
	for v in "${variants[@]:k}" "${variants[@]:0:k}"; do
		read -r rate _ conns < <(client "$v" "${ports[p]}" "$n")
		p=$((p + 1))
		[ "$conns" = "$n" ] || echo "WARNING: ($v) made $conns connections for $n requests" >&2
		echo "$rate" >>"$tmp/$v"
	done
	echo "run $i: $(for v in "${variants[@]}"; do printf '(%s) %s  ' "$v" "$(sed -n "${i}p" "$tmp/$v")"; done)" >&2
done

# row NAME VARIANT LABEL: throughput of VARIANT / (a), per run
row() {
	local ratios=() i a b
	for i in $(seq "$runs"); do
		a=$(sed -n "${i}p" "$tmp/a")
		b=$(sed -n "${i}p" "$tmp/$2")
		ratios+=("$(div "$b" "$a")")
	done
	fig "$1" "(a) client sends close, no shim: $(median $(cat "$tmp/a")) req/s" \
		"$3: $(median $(cat "$tmp/$2")) req/s" "${ratios[@]}"
}
row "2b breakdown, C client (req/s, b/a): as shipped" b "(b) shim"
row "2b breakdown: SO_TYPE check from memory" b1 "(b1) shim, no getsockopt"
row "2b breakdown: all safety checks from memory" b2 "(b2) shim, no getsockopt/fstat/getpid"
row "2b breakdown: checks from memory, no shutdown()" b3 "(b3) shim, no system call of its own"
if [ -n "${BENCH_BASELINE_LIB:-}" ]; then
	row "2b breakdown: baseline build ($BENCH_BASELINE_LIB)" b0 "(b0) baseline shim"
fi
