#!/usr/bin/env bash
# forceclose demo (`make demo`): a leaky python client against a server that
# ignores "Connection: close": first observed (FORCECLOSE_MODE=observe, the
# report), then without the library, then with it.
# Everything runs on 127.0.0.1 and is cleaned up on exit.
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LIB="${FC_LIB:-$ROOT/shim/libforceclose.so}"
N="${DEMO_REQUESTS:-300}"

if [ ! -f "$LIB" ]; then
    echo "demo: $LIB is missing; run make first" >&2
    exit 1
fi
command -v python3 >/dev/null || { echo "demo: python3 is required" >&2; exit 1; }

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
TMP="$(mktemp -d "${TMPDIR:-/tmp}/forceclose-demo.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 "$ROOT/tests/server/recording_server.py" --mode keepalive --max-seconds 120 \
    --port-file "$TMP/port" --log-dir "$TMP/log" >"$TMP/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    [ -s "$TMP/port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.out" >&2; exit 1; }
    sleep 0.1
done
[ -s "$TMP/port" ] || { echo "demo: the server did not start" >&2; exit 1; }
PORT="$(cat "$TMP/port")"

cat <<EOF
forceclose demo
  server: 127.0.0.1:$PORT, answers with keep-alive, ignores "Connection: close",
          never closes a connection itself
  client: python3 http.client, a new HTTPConnection for each of $N requests
          (GET, HEAD, POST), every one kept referenced and never closed

EOF

# run PHASE [LD_PRELOAD value]: the leaky client's JSON report in $TMP/PHASE.json
run_client() {
    local phase="$1" pre="${2:-}"
    echo "$phase" >"$TMP/log/phase"
    printf '  running the client %s the shim ...\n' "$phase"
    timeout 60 env ${pre:+LD_PRELOAD="$pre"} python3 "$ROOT/tests/lib/py_leak.py" leaky \
        127.0.0.1 "$PORT" "$N" --prefix /demo --stats "$TMP/log/$phase" >"$TMP/$phase.json"
}
# First, observe: the library changes nothing and reports what it saw.
echo observe >"$TMP/log/phase"
printf '  observing the client (FORCECLOSE_MODE=observe: nothing is changed) ...\n\n'
timeout 60 env LD_PRELOAD="$LIB" FORCECLOSE_MODE=observe FORCECLOSE_REPORT="$TMP/observe.txt" \
    python3 "$ROOT/tests/lib/py_leak.py" leaky 127.0.0.1 "$PORT" "$N" --prefix /demo \
    --stats "$TMP/log/observe" >"$TMP/observe.json"
sed 's/^/  /' "$TMP/observe.txt"
grep -q 'FORCECLOSE_ACTION=shutdown' "$TMP/observe.txt" ||
    { echo "demo: the observe report names no action" >&2; exit 1; }
echo

run_client without
run_client with "$LIB"

python3 - "$TMP/without.json" "$TMP/with.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
rows = [("requests made", "requests"),
        ("requests failed", "failed"),
        ("bodies verified", "verified"),
        ("connections the server still holds", "server_open"),
        ("client socket descriptors at the end", "sockets_end")]
print()
print("  %-38s %14s %14s" % ("", "without shim", "with shim"))
for label, key in rows:
    print("  %-38s %14s %14s" % (label, a.get(key), b.get(key)))
print()
ok = (b["failed"] == 0 and b["verified"] == b["requests"]
      and b["server_open"] == 0 and b["sockets_end"] <= 1)
if ok:
    print("  With LD_PRELOAD=libforceclose.so every response ended its connection:")
    print("  no idle sockets pile up on either side, and every body arrived intact.")
else:
    print("  Unexpected result with the shim: see the numbers above.")
sys.exit(0 if ok else 1)
EOF

# Act two: the Go service this project was started for.  Go makes its own
# system calls, so the library cannot reach it; the launcher's system-call
# engine can.  Needs go (Debian's golang-go); built into build/go.
if ! command -v go >/dev/null; then
    echo
    echo "  (act two skipped: go is not installed)"
    exit 0
fi
FC="$ROOT/shim/forceclose"
[ -x "$FC" ] || { echo "demo: $FC is missing; run make first" >&2; exit 1; }
GO_N="${DEMO_GO_REQUESTS:-600}"
mkdir -p "$ROOT/build/go"
GOCACHE="$ROOT/build/go/cache" GOPATH="$ROOT/build/go/path" GO111MODULE=off \
    GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0 \
    go build -o "$TMP/story" "$ROOT/tests/engine/story.go"
cat <<EOF2

Act two: a Go client, the one that started this project
  client: Go net/http, a new http.Client and Transport for each of $GO_N
          POSTs of an io.Reader body (chunked), defer resp.Body.Close(),
          the body read; ulimit -n 256
  with:   forceclose -- ./story (a static Go binary: the launcher's
          system-call engine, since no preloaded library sees Go's calls)

EOF2
go_run() {
    echo "go-$1" >"$TMP/log/phase"
    printf '  running the Go client %s forceclose ...\n' "$1" >&2
    shift
    (ulimit -n 256 && timeout 300 "$@" "http://127.0.0.1:$PORT/story" "$GO_N" new) \
        2>&1 | tail -2 || true
}
without=$(go_run without "$TMP/story" | head -1)
with=$(go_run with "$FC" -- "$TMP/story" | head -1)
python3 - "$without" "$with" <<'EOF2'
import sys
def parse(line):
    w = line.split()
    try:
        s = int(w[5])
        return {"done": int(w[1]), "errors": int(w[3]),
                "sockets": s if s >= 0 else "all fds used"}
    except (IndexError, ValueError):
        return {"done": "?", "errors": "?", "sockets": "?"}
a, b = parse(sys.argv[1]), parse(sys.argv[2])
print()
print("  %-38s %14s %14s" % ("", "without", "with forceclose"))
for label, key in (("POSTs completed", "done"), ("errors", "errors"),
                   ("sockets open at the end", "sockets")):
    print("  %-38s %14s %14s" % (label, a[key], b[key]))
print()
ok = b["errors"] == 0 and b["sockets"] == 0
print("  " + ("Without it the client hits \"too many open files\"; with it every POST\n"
              "  completes and no connection is left behind." if ok else
              "Unexpected result under the engine: see the numbers above."))
sys.exit(0 if ok else 1)
EOF2
