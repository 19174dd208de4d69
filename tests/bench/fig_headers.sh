#!/bin/bash
# fig_headers.sh - figure 6: header work per request/response.
#
# Compiles tests/bench/header_bench.c against the pure parsers and runs it:
# requests with 5, 20 and 60 header lines and a 20-line response, each fed
# in one call (A) and byte by byte (B), alternating A B A B ... RUNS times.
# Prints one TAB-separated FIG line per row on stdout:
#   FIG  name  A  B  median ratio B/A  min-max  runs
#
#   RUNS=5 (default)   QUICK=1: 3 runs, short measurements (< 20 s)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	RUNS=${RUNS:-3}
	SECS=0.05
else
	RUNS=${RUNS:-5}
	SECS=0.3
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "fig_headers: compiling" >&2
cc -O2 -I"$ROOT/shim" -o "$TMP/header_bench" \
	"$ROOT/tests/bench/header_bench.c" "$ROOT/shim/http_fields.c" \
	"$ROOT/shim/http_head.c" "$ROOT/shim/http_request.c" \
	"$ROOT/shim/http_response.c" "$ROOT/shim/chunked.c"

echo "fig_headers: $RUNS runs, ${SECS}s per measurement" >&2
# (a bounded run: the benchmark has fixed iteration counts)
timeout 300 "$TMP/header_bench" "$RUNS" "$SECS"
