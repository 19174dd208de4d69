#!/usr/bin/env bash
# Figure 4 (issue 12), the system-call engine (forceclose --engine=syscall):
#  - Go client (tests/engine/goget.go), N sequential GETs to the local
#    server (tests/bench/bench_server.c):
#      A: natively with DisableKeepAlives (Go closes every connection
#         itself: the same TCP work, no engine);
#      B: under the engine, keep-alive Transport (the engine's rewrite makes
#         Go close).  Ratio: throughput B/A (target >= 0.8).
#  - A static program's file and pipe phase (tests/engine/static_cat.c):
#    SIZE bytes from a file through read()/write() into a pipe, natively
#    (A) and under the engine (B).  Ratio: throughput B/A (target >= 0.97).
#  - The Go workload again, A: through a local HAProxy with option httpclose
#    (tests/bench/haproxy.cfg; installed by fig_haproxy.sh, skipped when
#    missing), B: direct under the engine.  Ratio B/A (target >= 1.3).
# Variants alternate A B A B ..., RUNS pairs.  Output: FIG lines on stdout.
# usage: tests/bench/fig_engine.sh     env: RUNS (5), QUICK=1, N, SIZE_MB
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
name_go="engine: Go sequential GETs (req/s, engine/native DisableKeepAlives)"
name_io="engine: static program, file+pipe I/O (MB/s, engine/native)"
name_hap="engine: Go sequential GETs (req/s, engine/HAProxy option httpclose)"
if [ "${QUICK:-0}" = 1 ]; then n=${N:-2000} mb=${SIZE_MB:-256}; else n=${N:-5000} mb=${SIZE_MB:-1024}; fi
FC=$PWD/shim/forceclose
if ! command -v go >/dev/null; then
	printf 'SKIP\t%s\t%s\n' "$name_go" "go is not installed"
	printf 'SKIP\t%s\t%s\n' "$name_io" "go is not installed"
	exit 0
fi
export GOCACHE=$PWD/build/go/cache GOPATH=$PWD/build/go/path GO111MODULE=off \
	GOFLAGS= GOTOOLCHAIN=local
mkdir -p build/go
CGO_ENABLED=0 go build -o "$BTMP/goget" tests/engine/goget.go
gcc -O2 -static -o "$BTMP/static_cat" tests/engine/static_cat.c
cc -O2 -o "$BTMP/bench_server" tests/bench/bench_server.c
# one port per run: TIME_WAIT sockets of one run never slow the next
"$BTMP/bench_server" "$BTMP/ports" $((3 * RUNS + 1)) 3>&- &
spid=$! hpid=
trap 'kill $spid $hpid 2>/dev/null; wait $spid $hpid 2>/dev/null; rm -rf "$BTMP"' EXIT
for _ in $(seq 100); do [ -s "$BTMP/ports" ] && [ "$(wc -l <"$BTMP/ports")" -ge $((3 * RUNS + 1)) ] && break; sleep 0.1; done
mapfile -t ports <"$BTMP/ports"
# HAProxy in front of the last port (a free port picked by binding 0)
if command -v haproxy >/dev/null; then
	hport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cfg=$(<tests/bench/haproxy.cfg)
	cfg=${cfg//@FRONT_BINDS@/127.0.0.1:$hport}
	cfg=${cfg//@SERVER_LINES@/$'\t'server s1 127.0.0.1:${ports[3 * RUNS]}}
	printf '%s\n' "$cfg" >"$BTMP/haproxy.cfg"
	haproxy -db -f "$BTMP/haproxy.cfg" >&2 3>&- &
	hpid=$!
	# up once it answers (bounded: 5 s)
	for _ in $(seq 50); do "$BTMP/goget" "http://127.0.0.1:$hport" 1 get >/dev/null 2>&1 && break; sleep 0.1; done
fi

ns() { date +%s%N; }
go_ratios=() io_ratios=() go_a=() go_b=() io_a=() io_b=()
hap_ratios=() hap_a=() hap_b=()
head -c $((mb << 20)) /dev/zero >"$BTMP/file"
for ((r = 0; r < RUNS; r++)); do
	t0=$(ns)
	"$BTMP/goget" "http://127.0.0.1:${ports[2 * r]}" "$n" nokeepalive >/dev/null
	t1=$(ns)
	"$FC" --engine=syscall -- "$BTMP/goget" "http://127.0.0.1:${ports[2 * r + 1]}" "$n" get >/dev/null
	t2=$(ns)
	a=$(div "$n" "$(div $((t1 - t0)) 1000000000)")
	b=$(div "$n" "$(div $((t2 - t1)) 1000000000)")
	go_a+=("$a") go_b+=("$b") go_ratios+=("$(div "$b" "$a")")
	echo "go run $r: native ${a} req/s, engine ${b} req/s" >&2
	t0=$(ns)
	"$BTMP/static_cat" <"$BTMP/file" | cat >/dev/null
	t1=$(ns)
	"$FC" --engine=syscall -- "$BTMP/static_cat" <"$BTMP/file" | cat >/dev/null
	t2=$(ns)
	a=$(div "$mb" "$(div $((t1 - t0)) 1000000000)")
	b=$(div "$mb" "$(div $((t2 - t1)) 1000000000)")
	io_a+=("$a") io_b+=("$b") io_ratios+=("$(div "$b" "$a")")
	echo "io run $r: native ${a} MB/s, engine ${b} MB/s" >&2
	[ -n "$hpid" ] || continue
	t0=$(ns)
	"$BTMP/goget" "http://127.0.0.1:$hport" "$n" get >/dev/null
	t1=$(ns)
	"$FC" --engine=syscall -- "$BTMP/goget" "http://127.0.0.1:${ports[2 * RUNS + r]}" "$n" get >/dev/null
	t2=$(ns)
	a=$(div "$n" "$(div $((t1 - t0)) 1000000000)")
	b=$(div "$n" "$(div $((t2 - t1)) 1000000000)")
	hap_a+=("$a") hap_b+=("$b") hap_ratios+=("$(div "$b" "$a")")
	echo "haproxy run $r: haproxy ${a} req/s, engine ${b} req/s" >&2
done
fig "$name_go" "native $(median "${go_a[@]}") req/s" "engine $(median "${go_b[@]}") req/s" "${go_ratios[@]}"
fig "$name_io" "native $(median "${io_a[@]}") MB/s" "engine $(median "${io_b[@]}") MB/s" "${io_ratios[@]}"
if [ -n "$hpid" ]; then
	fig "$name_hap" "haproxy $(median "${hap_a[@]}") req/s" "engine $(median "${hap_b[@]}") req/s" "${hap_ratios[@]}"
else
	printf 'SKIP\t%s\t%s\n' "$name_hap" "haproxy is not installed"
fi
