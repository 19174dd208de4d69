#!/usr/bin/env bash
# make bench: runs every tests/bench/fig_*.sh, prints the results table and
# writes it to tests/bench/results.md.  QUICK=1 for a short smoke run.
set -u
cd "$(dirname "$0")/../.."
out=$(mktemp)
probe=$(mktemp)
trap 'rm -f "$out" "$probe"' EXIT
start=$(date +%s)
# the host's cost of one system call, for the header: figure 2's floor is
# mostly kernel time, so its rate follows it (tests/bench/syscall_cost.c)
syscall_ns=unknown
cc -O2 -o "$probe" tests/bench/syscall_cost.c && syscall_ns="$("$probe") ns"
for f in tests/bench/fig_passthrough.sh tests/bench/fig_request_path.sh \
	 tests/bench/fig_request_breakdown.sh tests/bench/fig_syscalls.sh \
	 tests/bench/fig_cycles.sh tests/bench/fig_preload_ladder.sh \
	 tests/bench/fig_footprint.sh \
	 tests/bench/fig_haproxy.sh \
	 tests/bench/fig_body.sh tests/bench/fig_scale.sh \
	 tests/bench/fig_headers.sh tests/bench/fig_engine.sh \
	 tests/bench/fig_tls.sh tests/bench/fig_observe.sh; do
	[ -x "$f" ] || continue
	echo "== $f" >&2
	bash "$f" | tee -a "$out" | grep -v '^FIG' >&2
done
{
	echo "# forceclose benchmark results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; kernel $(uname -r);" \
	     "a system call (getppid) $syscall_ns;" \
	     "$(cc --version | head -1)${QUICK:+; QUICK=$QUICK}; $(( $(date +%s) - start )) s"
	echo
	echo "| figure | variant A | variant B | median ratio | min–max | runs |"
	echo "|---|---|---|---|---|---|"
	grep '^FIG' "$out" | cut -f2- | sed 's/\t/ | /g; s/^/| /; s/$/ |/'
} >tests/bench/results.md
cat tests/bench/results.md
grep -q '^FIG' "$out"
