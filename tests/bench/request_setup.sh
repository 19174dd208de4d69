# tests/bench/request_setup.sh - sourced by fig_request_path.sh and
# fig_haproxy.sh (from the repository root, with $lib set): a temporary
# directory, processes stopped by PID on exit, CPU pinning, the server and
# client built.
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every process of the figure runs on one CPU (BENCH_CPU, default 0;
# BENCH_CPU=none to leave placement to the scheduler).  On this 2-core VM
# the scheduler otherwise puts client and server on the same core in some
# runs and on different cores in others, and cross-core wake-ups make a
# request 3-5x slower: the ratio then measures placement luck, not the shim.
cpu=${BENCH_CPU:-0}
if [ "$cpu" != none ] && command -v taskset >/dev/null; then
	taskset -cp "$cpu" $$ >/dev/null && echo "pinned to CPU $cpu (BENCH_CPU)" >&2
fi
[ -f "$lib" ] || make -s >&2
cc -O2 -o "$tmp/bench_server" tests/bench/bench_server.c
cc -O2 -o "$tmp/bench_client" tests/bench/bench_client.c
