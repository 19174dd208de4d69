#!/usr/bin/env bash
# engine_ab.sh - compares builds of the launcher's engine (issue 12; not in
# make bench): the Go client of fig_engine.sh, N sequential GETs a run to
# bench_server, interleaved: natively with DisableKeepAlives, then under
# each FORCECLOSE binary given (--engine=syscall, keep-alive Transport).
# Every run under `perf stat -e task-clock,context-switches` (launcher,
# program and supervisor: its CPU time and switches per request).
# Prints one line per run and, per variant, the medians and the median of
# its per-run ratio to native.
# usage: tests/bench/engine_ab.sh N RUNS FORCECLOSE...
#   e.g. cp shim/forceclose /tmp/fc_before; (change, make);
#        tests/bench/engine_ab.sh 3000 11 /tmp/fc_before shim/forceclose
set -eu
cd "$(dirname "$0")/../.."
[ $# -ge 3 ] || { echo "usage: $0 N RUNS FORCECLOSE..." >&2; exit 2; }
n=$1 runs=$2
shift 2
bins=()
for b in "$@"; do bins+=("$(realpath "$b")"); done
. tests/bench/lib.sh
export GOCACHE=$PWD/build/go/cache GOPATH=$PWD/build/go/path GO111MODULE=off \
	GOFLAGS= GOTOOLCHAIN=local
mkdir -p build/go
CGO_ENABLED=0 go build -o "$BTMP/goget" tests/engine/goget.go
cc -O2 -o "$BTMP/bench_server" tests/bench/bench_server.c
np=$((runs * (1 + ${#bins[@]})))
# one port per run: TIME_WAIT sockets of one run never slow the next
"$BTMP/bench_server" "$BTMP/ports" "$np" 3>&- &
spid=$!
trap 'kill $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf "$BTMP"' EXIT
for _ in $(seq 100); do [ -s "$BTMP/ports" ] && [ "$(wc -l <"$BTMP/ports")" -ge "$np" ] && break; sleep 0.1; done
mapfile -t ports <"$BTMP/ports"
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
p=0
for ((r = 0; r < runs; r++)); do
	line="run $r"
	for v in native "${bins[@]}"; do
		url=http://127.0.0.1:${ports[p]}
		p=$((p + 1))
		if [ "$v" = native ]; then cmd=("$BTMP/goget" "$url" "$n" nokeepalive)
		else cmd=("$v" --engine=syscall -- "$BTMP/goget" "$url" "$n" get); fi
		t0=$(date +%s%N)
		perf stat -x, -e task-clock,context-switches -o "$BTMP/ps" -- "${cmd[@]}" >/dev/null
		t1=$(date +%s%N)
		line="$line | $v $(awk -F, -v n="$n" -v d=$((t1 - t0)) '
			/task-clock/ { tc = $1 } /context-switches/ { cs = $1 }
			END { printf "%.0f r/s %.1f us/req %.1f cs/req", n / (d / 1e9), tc * 1000 / n, cs / n }' "$BTMP/ps")"
	done
	echo "$line"
done | tee "$BTMP/lines"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
for v in native "${bins[@]}"; do
	col() { awk -F' [|] ' -v v="$v" -v f="$1" '{ for (i = 2; i <= NF; i++) { split($i, a, " ");
		if (i == 2) nat = a[2]; if (a[1] == v) print (f == 0 ? a[2] / nat : a[f]) } }' "$BTMP/lines"; }
	mapfile -t rps < <(col 2); mapfile -t us < <(col 4); mapfile -t cs < <(col 6); mapfile -t q < <(col 0)
	printf '%s: %s req/s, %s us CPU/req, %s switches/req, ratio to native %s (%s runs)\n' \
		"$v" "$(median "${rps[@]}")" "$(median "${us[@]}")" "$(median "${cs[@]}")" \
		"$(stats "${q[@]}")" "${#q[@]}"
done
