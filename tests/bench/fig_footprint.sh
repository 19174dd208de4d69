#!/usr/bin/env bash
# Figure 2f (issue 16): the footprint of one exchange, counted exactly.
# Figure 2e shows what an exchange under a preload costs is mostly its
# cold cache lines, not its instructions: each code line the preload runs
# is fetched again after the kernel's part of the exchange.  This figure
# counts them, with callgrind, for the C client's N sequential requests:
#   (a) the client sends close itself, no preload (the floor);
#   (m) the keep-alive client under tests/bench/minimal_preload.c;
#   (b) the keep-alive client under the library.
# For each: the instructions the client process runs per exchange, and
# the distinct 64-byte code lines it runs on every exchange (an
# instruction run at least N/2 times), in all its objects and in the
# preload alone; and the library's instructions of every exchange that
# lie in its cold code, which must be none (a profile, or an unlikely()
# misplaced, can put common code there, among lines no exchange needs).
# Deterministic: no quiet host needed, so a change to the
# request path can be judged by this figure before a long run of 2e.
# Output: FIG lines (the value, and beyond (a)).
# usage: tests/bench/fig_footprint.sh    env: N (1000), QUICK=1,
#        BENCH_LIB (another build of the library, for a before/after)
set -eu
. "$(dirname "$0")/lib.sh"
LIB=${BENCH_LIB:-$LIB}
n=${N:-1000}
[ "${QUICK:-0}" = 1 ] && n=${N:-300}
if ! command -v valgrind >/dev/null; then
	printf 'SKIP\t2f footprint per exchange\tno valgrind\n'
	exit 0
fi
[ -f "$LIB" ] || make -s -C "$ROOT" >&2
src=$ROOT/tests/bench
cc -O2 -o "$BTMP/bench_server" "$src/bench_server.c"
cc -O2 -o "$BTMP/bench_client" "$src/bench_client.c"
cc -O2 -shared -fPIC -o "$BTMP/m.so" "$src/minimal_preload.c" -ldl
"$BTMP/bench_server" "$BTMP/port" 3 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$BTMP"' EXIT
for _ in $(seq 50); do [ -s "$BTMP/port" ] && break; sleep 0.1; done
mapfile -t ports <"$BTMP/port"

# count NAME PRELOAD MODE PORT: "instructions lines preload_lines
# preload_cold", per exchange, of the client process (env execs it: the
# largest profile); preload_cold: the preload's instructions run on every
# exchange that lie in its cold code
count() {
	local d=$BTMP/cg.$1
	mkdir "$d"
	valgrind --tool=callgrind --dump-instr=yes --compress-pos=no \
		--compress-strings=no --trace-children=yes \
		--callgrind-out-file="$d/cg.%p" \
		env LD_PRELOAD="$2" "$BTMP/bench_client" "$3" "$4" "$n" \
		>"$d/out" 2>"$d/err" ||
		{ cat "$d/err" >&2; return 1; }
	# bench_client prints "RATE SECONDS CONNECTIONS"
	set -- "${2:-none}" $(cat "$d/out")
	[ "$4" = "$n" ] || { echo "2f: $4 connections for $n requests" >&2; return 1; }
	python3 - "$(ls -S "$d"/cg.* | head -1)" "$n" "$1" <<'PY'
import collections, os, subprocess, sys
path, n, preload = sys.argv[1], int(sys.argv[2]), os.path.basename(sys.argv[3])
# The preload's cold code: GNU ld puts every .text.unlikely input (the
# .cold parts GCC splits off, and the COLD functions) first in .text, so
# from the first .cold part to the end of the last one all is cold.
cold_lo = cold_hi = 0
if preload != 'none':
    nm = subprocess.run(['nm', '-S', '--defined-only', sys.argv[3]],
                        capture_output=True, text=True).stdout.split('\n')
    parts = [(int(f[0], 16), int(f[0], 16) + int(f[1], 16))
             for f in (l.split() for l in nm) if len(f) == 4 and '.cold' in f[3]]
    if parts:
        cold_lo, cold_hi = min(p[0] for p in parts), max(p[1] for p in parts)
ob, incall, total = None, False, 0
hits, mine = collections.Counter(), set()
for line in open(path):
    if line.startswith('ob='):
        ob = line[3:].strip()
    elif line.startswith('calls='):
        incall = True	# the next cost line is a call's inclusive cost
    elif line.startswith('0x'):
        if incall:
            incall = False
            continue
        addr, cost = line.split()[0], int(line.split()[-1])
        a = int(addr, 16)
        hits[a] += cost
        total += cost
        if ob and os.path.basename(ob) == preload:
            mine.add(a)
path_instr = [a for a, c in hits.items() if c >= n // 2]
lines = {a >> 6 for a in path_instr}
own = {a >> 6 for a in path_instr if a in mine}
cold = [a for a in path_instr if a in mine and cold_lo <= a < cold_hi]
print(total // n, len(lines), len(own), len(cold))
PY
}
read -r ia la _ _ <<<"$(count a "" --send-close "${ports[0]}")"
read -r im lm om _ <<<"$(count m "$BTMP/m.so" --keepalive-unless-close "${ports[1]}")"
read -r ib lb ob cb <<<"$(count b "$LIB" --keepalive-unless-close "${ports[2]}")"
name="2f footprint per exchange (callgrind, $n requests)"
row() { printf 'FIG\t%s\t%s\t%s\t%s\t-\t1\n' "$name" "$1" "$2" "$3"; }
row "(a) client sends close: $ia instructions, $la code lines" \
	"(m) minimal preload: instructions beyond (a)" "$((im - ia))"
row "(a)" "(m) minimal preload: code lines beyond (a) (its own: $om)" "$((lm - la))"
row "(a)" "(b) library: instructions beyond (a)" "$((ib - ia))"
row "(a)" "(b) library: code lines beyond (a) (its own: $ob)" "$((lb - la))"
# Round 11: the profile had put a path every exchange runs in a cold part
# (finish_head.cold), among code no exchange runs.  Expected: 0.
row "(a)" "(b) library: its instructions run on every exchange that lie in its cold code (.text.unlikely; expected 0)" "$cb"
