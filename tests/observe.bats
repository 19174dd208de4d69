#!/usr/bin/env bats
# Observe mode (FORCECLOSE_MODE=observe, forceclose --observe): the program
# runs as without the library, and the report it writes at exit, before an
# exec and every FORCECLOSE_REPORT_INTERVAL seconds says what the traffic
# did.  Every figure is checked against a ground truth from outside: the
# recording server's stats.json and raw bytes, the client's own count of
# its socket descriptors.  For every leaking client, the action the verdict
# names is then enforced and the leak is shown to stop.

load lib/common
load lib/syscalls

CURL=(curl -q -sS --noproxy '*')
PYLEAK="$ROOT/tests/lib/py_leak.py"
OCLIENT="$ROOT/tests/lib/observe_client.py"
OCHECK="$ROOT/tests/lib/observe_check.py"
N=20

setup() {
    T="$BATS_TEST_TMPDIR"
}

# observe NAME CMD...: CMD under the library in observe mode, the JSON
# report in $T/NAME.json, stdout in $T/NAME.json.out, stderr in .err.
observe() {
    local name="$1"
    shift
    run bash -c 'LD_PRELOAD="$0${LD_PRELOAD:+:$LD_PRELOAD}" FORCECLOSE_MODE=observe FORCECLOSE_REPORT="$1" timeout "$2" "${@:3}" >"$1.out" 2>"$1.err"' \
        "$FC_PRELOAD" "$T/$name.json" "$FC_TIMEOUT" "$@"
    echo "observe $name: status $status"
    cat "$T/$name.json.out" "$T/$name.json.err"
    [ "$status" -eq 0 ]
    # the library was there: its report names this run's process
    [ -s "$T/$name.json" ]
}

# base NAME CMD...: CMD without the library, stdout in $T/NAME.out.
base() {
    local name="$1"
    shift
    run timeout "$FC_TIMEOUT" "$@"
    echo "base $name: status $status"
    echo "$output"
    [ "$status" -eq 0 ]
    echo "$output" >"$T/$name.out"
}

ocheck() {
    run python3 "$OCHECK" "$@"
    echo "$output"
    [ "$status" -eq 0 ]
}

# same_wire A B: the server recorded the same connections with the same
# bytes in phase dirs A and B.
same_wire() {
    local a b n=0
    [ "$(cd "$1" && ls conn-*.raw)" = "$(cd "$2" && ls conn-*.raw)" ]
    for a in "$1"/conn-*.raw; do
        b="$2/$(basename "$a")"
        same_file "$a" "$b"
        n=$((n + 1))
    done
    echo "same bytes on $n connections"
    [ "$n" -gt 0 ]
}

# the action a leak verdict names first ("FORCECLOSE_ACTION=X")
named_action() {
    python3 -c '
import json, re, sys
d = json.load(open(sys.argv[1]))["destinations"][0]
print(re.search(r"FORCECLOSE_ACTION=(\w+)", d["verdicts"][0]).group(1))' "$1"
}

# wait_open DIR N: the server's phase DIR has N connections open (10 s:
# the server's threads log closes as they see each FIN).
wait_open() {
    local i
    for ((i = 0; i < 200; i++)); do
        python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["open"] != int(sys.argv[2]))' \
            "$1/stats.json" "$2" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "server: $(cat "$1/stats.json")"
    return 1
}

@test "leaky python client, stubborn server: figures match the server, same bytes, shutdown stops the leak" {
    start_server keepalive
    set_phase base
    base base python3 "$PYLEAK" leaky 127.0.0.1 "$SERVER_PORT" "$N" --stats "$SERVER_LOG/base"
    set_phase obs
    observe obs python3 "$PYLEAK" leaky 127.0.0.1 "$SERVER_PORT" "$N" --stats "$SERVER_LOG/obs"
    # the program saw what it sees without the library: no close, the
    # sockets piled up on both ends
    local out=$T/obs.json.out
    python3 "$ROOT/tests/lib/jcheck.py" "d['failed'] == 0 and d['close_seen'] == 0 and d['sockets_end'] == $N and d['server_open'] == $N" "$out"
    python3 "$ROOT/tests/lib/jcheck.py" "d['failed'] == 0 and d['close_seen'] == 0 and d['sockets_end'] == $N and d['server_open'] == $N" "$T/base.out"
    same_wire "$SERVER_LOG/base" "$SERVER_LOG/obs"
    wait_open "$SERVER_LOG/obs" 0
    local S="$SERVER_LOG/obs/stats.json"
    ocheck "$T/obs.json" "$S" "r['event'] == 'exit'" \
        "len(r['destinations']) == 1" "d['destination'] == '127.0.0.1:$SERVER_PORT'" \
        "d['hosts'] == ['127.0.0.1:$SERVER_PORT']" \
        "d['connections'] == s['connections'] == $N" "d['requests'] == s['requests'] == $N" \
        "d['requests_per_connection_max'] == max(s['requests_per_conn']) == 1" \
        "d['open_max'] == s['max_open'] == $N" "d['idle_max'] == $N" \
        "d['server_said_close'] == 0 and d['program_reused'] == 0 and d['program_said_close'] == 0" \
        "d['not_followed']['total'] == 0" "d['verdict'] == 'leak'" \
        "r['process']['descriptors_peak'] >= $N"
    grep -q 'the server never says close' "$T/obs.json"
    [ "$(named_action "$T/obs.json")" = shutdown ]
    # enforce what the verdict names: no pile-up on either end
    set_phase enforce
    run with_shim env FORCECLOSE_ACTION="$(named_action "$T/obs.json")" timeout "$FC_TIMEOUT" \
        python3 "$PYLEAK" leaky 127.0.0.1 "$SERVER_PORT" "$N" --stats "$SERVER_LOG/enforce"
    echo "$output"
    [ "$status" -eq 0 ]
    python3 "$ROOT/tests/lib/jcheck.py" "d['failed'] == 0 and d['sockets_end'] <= 3 and d['server_open'] == 0" <(echo "$output")
}

@test "reusing clients (python http.client, curl with 3 URLs): no leak, figures match the server" {
    start_server keepalive
    set_phase base
    base pybase python3 "$PYLEAK" reuse 127.0.0.1 "$SERVER_PORT" "$N"
    set_phase obs
    observe py python3 "$PYLEAK" reuse 127.0.0.1 "$SERVER_PORT" "$N"
    same_wire "$SERVER_LOG/base" "$SERVER_LOG/obs"
    wait_open "$SERVER_LOG/obs" 0
    ocheck "$T/py.json" "$SERVER_LOG/obs/stats.json" \
        "d['connections'] == s['connections'] == 1" "d['requests'] == s['requests'] == $N" \
        "d['requests_per_connection_max'] == max(s['requests_per_conn']) == $N" \
        "d['program_reused'] == 1" "d['open_max'] == s['max_open'] == 1" \
        "d['ended']['program_closed'] == 1 and d['ended']['still_open'] == 0" \
        "d['verdict'] == 'no_leak'" "d['verdicts'][0].startswith('127.0.0.1:$SERVER_PORT: no leak: connections reused')"
    set_phase cbase
    base cbase "${CURL[@]}" "$SERVER_URL/c/1" "$SERVER_URL/c/2" "$SERVER_URL/c/3"
    set_phase cobs
    observe curl "${CURL[@]}" "$SERVER_URL/c/1" "$SERVER_URL/c/2" "$SERVER_URL/c/3"
    same_file "$T/cbase.out" "$T/curl.json.out"
    same_wire "$SERVER_LOG/cbase" "$SERVER_LOG/cobs"
    wait_open "$SERVER_LOG/cobs" 0
    ocheck "$T/curl.json" "$SERVER_LOG/cobs/stats.json" "r['program'] == 'curl'" \
        "d['connections'] == s['connections'] == 1" "d['requests'] == s['requests'] == 3" \
        "d['requests_per_connection_max'] == 3" "d['verdict'] == 'no_leak'"
}

@test "polite server (--honour-close): urllib asks for close, the server closes, no leak; the leaky loop still leaks and shutdown stops it" {
    start_server keepalive 127.0.0.1 --honour-close
    set_phase base
    base ubase python3 "$PYLEAK" urllib 127.0.0.1 "$SERVER_PORT" "$N"
    set_phase obs
    observe url python3 "$PYLEAK" urllib 127.0.0.1 "$SERVER_PORT" "$N"
    same_wire "$SERVER_LOG/base" "$SERVER_LOG/obs"
    wait_open "$SERVER_LOG/obs" 0
    ocheck "$T/url.json" "$SERVER_LOG/obs/stats.json" \
        "d['connections'] == s['connections'] == $N" "d['requests'] == s['requests'] == $N" \
        "d['program_said_close'] == $N" "all(c['end'] == 'server' for c in s['conns'].values())" \
        "d['idle_max'] <= 1" "d['verdict'] == 'no_leak'"
    set_phase leaky
    observe leaky python3 "$PYLEAK" leaky 127.0.0.1 "$SERVER_PORT" "$N" --stats "$SERVER_LOG/leaky"
    python3 "$ROOT/tests/lib/jcheck.py" "d['server_open'] == $N" "$T/leaky.json.out"
    wait_open "$SERVER_LOG/leaky" 0
    ocheck "$T/leaky.json" "$SERVER_LOG/leaky/stats.json" \
        "d['connections'] == s['connections'] == $N" "d['requests'] == s['requests'] == $N" \
        "d['open_max'] == s['max_open'] == $N" "d['verdict'] == 'leak'"
    set_phase enforce
    run with_shim env FORCECLOSE_ACTION="$(named_action "$T/leaky.json")" timeout "$FC_TIMEOUT" \
        python3 "$PYLEAK" leaky 127.0.0.1 "$SERVER_PORT" "$N" --stats "$SERVER_LOG/enforce"
    echo "$output"
    [ "$status" -eq 0 ]
    python3 "$ROOT/tests/lib/jcheck.py" "d['failed'] == 0 and d['sockets_end'] <= 3 and d['server_open'] == 0" <(echo "$output")
}

@test "a client that never closes, even after the server's end: report before exec shows them open; shutdown ends the connections, close the descriptors" {
    start_server keepalive
    local n=100
    set_phase obs
    # the report before exec: the sockets are still the program's then
    observe hold python3 "$OCLIENT" exec 127.0.0.1 "$SERVER_PORT" "$n"
    python3 "$ROOT/tests/lib/jcheck.py" "d['sockets_end'] == $n" "$T/hold.json.out"
    ocheck "$T/hold.json" "$SERVER_LOG/obs/stats.json" "r['event'] == 'exec'" \
        "d['connections'] == s['connections'] == $n" "d['requests'] == s['requests'] == $n" \
        "d['open_now'] == d['ended']['still_open'] == d['idle_now'] == $n" \
        "r['process']['sockets_open'] >= $n" "d['verdict'] == 'leak'" \
        "'if descriptors still grow, close' in d['verdicts'][0]"
    [ "$(named_action "$T/hold.json")" = shutdown ]
    # shutdown: the server sees every connection end, but this program
    # keeps every descriptor: the verdict's second step is needed
    set_phase shut
    run with_shim env FORCECLOSE_ACTION=shutdown timeout "$FC_TIMEOUT" \
        python3 "$OCLIENT" hold 127.0.0.1 "$SERVER_PORT" "$n"
    echo "$output"
    [ "$status" -eq 0 ]
    python3 "$ROOT/tests/lib/jcheck.py" "d['requests'] == $n and d['sockets_end'] == $n" <(echo "$output")
    wait_open "$SERVER_LOG/shut" 0
    set_phase close
    run with_shim env FORCECLOSE_ACTION=close timeout "$FC_TIMEOUT" \
        python3 "$OCLIENT" hold 127.0.0.1 "$SERVER_PORT" "$n"
    echo "$output"
    [ "$status" -eq 0 ]
    # at most CONN_CLOSE_QUEUE (64) descriptors wait for the library to close them
    python3 "$ROOT/tests/lib/jcheck.py" "d['requests'] == $n and d['sockets_end'] <= 65" <(echo "$output")
}

@test "could not follow: a request written with a raw syscall() gets that verdict" {
    start_server keepalive
    set_phase obs
    observe raw python3 "$OCLIENT" rawsys 127.0.0.1 "$SERVER_PORT"
    python3 "$ROOT/tests/lib/jcheck.py" "d['status'] == 'HTTP/1.1 200 OK'" "$T/raw.json.out"
    wait_open "$SERVER_LOG/obs" 0
    ocheck "$T/raw.json" "$SERVER_LOG/obs/stats.json" \
        "d['connections'] == s['connections'] == 1" "s['requests'] == 1 and d['requests'] == 0" \
        "d['not_followed']['total'] == 1 and d['not_followed']['unpaired_response'] == 1" \
        "d['verdict'] == 'not_followed'" "len(d['verdicts']) == 1" \
        "'could not follow 1 of 1 connection (' in d['verdicts'][0]" \
        "'raw system call' in d['verdicts'][0]"
}

@test "privacy: a secret in the query string, a header and a body never reaches the report" {
    start_server keepalive
    local secret=s3cr3t-Zq9
    set_phase obs
    observe sec python3 "$OCLIENT" secret 127.0.0.1 "$SERVER_PORT"
    # the secret went out: the server has it three times
    [ "$(cat "$SERVER_LOG"/obs/conn-*.raw | grep -o "$secret" | wc -l)" -eq 3 ]
    ocheck "$T/sec.json" - "d['requests'] == 2"
    refute grep -q "$secret" "$T/sec.json"
    refute grep -qi -e 'x-api-key' -e 'token' -e 'password' -e '/q' "$T/sec.json"
    # the text report too (to a log file)
    run with_shim env FORCECLOSE_MODE=observe FORCECLOSE_LOG="$T/log.txt" \
        timeout "$FC_TIMEOUT" python3 "$OCLIENT" secret 127.0.0.1 "$SERVER_PORT"
    [ "$status" -eq 0 ]
    grep -q '^libforceclose: observe report for python3' "$T/log.txt"
    grep -q "Host: 127.0.0.1:$SERVER_PORT" "$T/log.txt"
    refute grep -q "$secret" "$T/log.txt"
    refute grep -qi -e 'x-api-key' -e 'token' -e 'password' "$T/log.txt"
}

@test "the destination table is bounded: 40 destinations, 32 by name, the rest in \"other\"" {
    observe many python3 "$OCLIENT" dests 127.0.0.1 0 40
    ocheck "$T/many.json" - "len(r['destinations']) == 33" \
        "r['destinations'][-1]['destination'] == 'other'" \
        "r['destinations'][-1]['connections'] == 8" \
        "sum(x['connections'] for x in r['destinations']) == 40" \
        "sum(x['requests'] for x in r['destinations']) == 40" \
        "len(set(x['destination'] for x in r['destinations'])) == 33"
}

@test "bad values of FORCECLOSE_MODE, _REPORT and _REPORT_INTERVAL: one line each, the program runs untouched" {
    start_server keepalive
    local v i=0
    for v in "FORCECLOSE_MODE=watch|enforce or observe" \
        "FORCECLOSE_REPORT=report.json|an absolute file path" \
        "FORCECLOSE_REPORT_INTERVAL=-1|a whole number of seconds from 0 (off) to 86400" \
        "FORCECLOSE_REPORT_INTERVAL=1s|a whole number of seconds" \
        "FORCECLOSE_REPORT_INTERVAL=86401|a whole number of seconds"; do
        i=$((i + 1))
        set_phase "bad$i"
        run with_shim env "${v%%|*}" "${CURL[@]}" -o /dev/null "$SERVER_URL/bad/$i"
        echo "$v: status $status: $output"
        [ "$status" -eq 0 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == "libforceclose: ${v%%=*}=\""* ]]
        [[ "$output" == *"accepted: ${v#*|}"* ]]
        [[ "$output" == *"; libforceclose stays inactive" ]]
        # inactive: the request went out as curl wrote it
        refute grep -qi '^connection:' "$SERVER_LOG/bad$i/conn-0001.raw"
    done
    # and the launcher refuses the same values before running anything
    run "$ROOT/shim/forceclose" --observe --report-interval 1s -- true
    echo "$output"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--report-interval \"1s\" is not valid"* ]]
}

@test "periodic report (FORCECLOSE_REPORT_INTERVAL=1) of a long-running program" {
    start_server keepalive
    local r="$T/periodic.txt" pid i n=0
    set_phase obs
    LD_PRELOAD="$FC_PRELOAD" FORCECLOSE_MODE=observe FORCECLOSE_REPORT="$r" FORCECLOSE_REPORT_INTERVAL=1 \
        timeout "$FC_TIMEOUT" python3 "$OCLIENT" periodic 127.0.0.1 "$SERVER_PORT" --stop "$T/stop" \
        >"$T/p.out" 2>&1 3>&- &
    pid=$!
    echo "$pid" >>"$BATS_TEST_TMPDIR/server.pids"
    # two periodic reports while it runs (bound 30 s: one is due every
    # second of a client making 20 requests a second)
    for ((i = 0; i < 600; i++)); do
        n=$(grep -c ', periodic, ' "$r" 2>/dev/null || true)
        [ "${n:-0}" -ge 2 ] && break
        sleep 0.05
    done
    touch "$T/stop"
    wait "$pid"
    cat "$r"
    [ "${n:-0}" -ge 2 ]
    # the reports grow with the traffic, and the last one is the exit's
    python3 - "$r" "$SERVER_LOG/obs/stats.json" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
s = json.load(open(sys.argv[2]))
kinds = re.findall(r"observe report for python3\[\d+\], (periodic|at exit),", text)
conns = [int(x) for x in re.findall(r"^    connections (\d+) ", text, re.M)]
print(kinds, conns, s["connections"])
assert kinds[-1] == "at exit" and kinds.count("periodic") >= 2
assert conns == sorted(conns) and conns[0] < conns[-1]
assert conns[-1] == s["connections"]
EOF
}

@test "forceclose --observe prints the report on the terminal's stderr, for a dynamic program and for a Go one (the system-call engine)" {
    start_server keepalive
    run "$ROOT/shim/forceclose" --observe -- python3 "$PYLEAK" leaky 127.0.0.1 "$SERVER_PORT" 5
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"libforceclose: observe report for python3"* ]]
    [[ "$output" == *"verdict: 127.0.0.1:$SERVER_PORT: 5 connections, 1 request each"*"-> try FORCECLOSE_ACTION=shutdown"* ]]
    go_build story "$ROOT/tests/engine/story.go"
    # auto: the engine, for a static Go binary
    run timeout "$FC_TIMEOUT" "$ROOT/shim/forceclose" --observe -- \
        "$T/story" "http://127.0.0.1:$SERVER_PORT/submit" 5 new
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"done 5 errors 0 sockets 5"* ]]
    [[ "$output" == *"libforceclose: observe report for story["* ]]
    [[ "$output" == *"verdict: 127.0.0.1:$SERVER_PORT: 5 connections, 1 request each"*"-> try FORCECLOSE_ACTION=shutdown"* ]]
}

# go_build NAME SOURCE: a static Go binary $T/NAME (the build cache is
# engine.bats's; concurrent builds share it safely)
go_build() {
    skip_unless_cmd go
    GOCACHE="$ROOT/build/go/cache" GOPATH="$ROOT/build/go/path" \
        GO111MODULE=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0 \
        go build -o "$T/$1" "$2"
}

# engine_observe NAME CMD...: CMD under forceclose --observe --engine
# syscall, the JSON report in $T/NAME.json, stdout and stderr in $output
engine_observe() {
    local name="$1"
    shift
    run env FORCECLOSE_REPORT="$T/$name.json" timeout "$FC_TIMEOUT" \
        "$ROOT/shim/forceclose" --observe --engine syscall -- "$@"
    echo "observe $name (engine): status $status: $output"
    [ "$status" -eq 0 ]
    [ -s "$T/$name.json" ]
}

@test "Go under the system-call engine: the story's leak (a Transport per request) and one Transport reused, stubborn server: figures match the server, same bytes, shutdown stops the leak" {
    go_build story "$ROOT/tests/engine/story.go"
    go_build goget "$ROOT/tests/engine/goget.go"
    start_server keepalive
    local url="http://127.0.0.1:$SERVER_PORT" S
    # the leak: without anything, then observed (the program sees the
    # same: every socket still open at its end)
    set_phase base
    run timeout "$FC_TIMEOUT" "$T/story" "$url/submit" "$N" new
    [ "$output" = "done $N errors 0 sockets $N" ]
    set_phase obs
    engine_observe story "$T/story" "$url/submit" "$N" new
    [[ "$output" == "done $N errors 0 sockets $N"* ]]
    same_wire "$SERVER_LOG/base" "$SERVER_LOG/obs"
    wait_open "$SERVER_LOG/obs" 0
    S="$SERVER_LOG/obs/stats.json"
    ocheck "$T/story.json" "$S" "r['event'] == 'exit'" "r['program'] == 'story'" \
        "len(r['destinations']) == 1" "d['destination'] == '127.0.0.1:$SERVER_PORT'" \
        "d['hosts'] == ['127.0.0.1:$SERVER_PORT']" \
        "d['connections'] == s['connections'] == $N" "d['requests'] == s['requests'] == $N" \
        "d['requests_per_connection_max'] == max(s['requests_per_conn']) == 1" \
        "d['open_max'] == s['max_open'] == $N" "d['open_now'] == $N" \
        "d['server_said_close'] == 0 and d['program_reused'] == 0 and d['program_said_close'] == 0" \
        "d['not_followed']['total'] == 0" "d['verdict'] == 'leak'" \
        "r['process']['descriptors_peak'] >= $N" "r['process']['descriptor_limit'] > 0"
    [ "$(named_action "$T/story.json")" = shutdown ]
    # enforce what the verdict names, under the same engine
    set_phase enforce
    run env FORCECLOSE_ACTION="$(named_action "$T/story.json")" timeout "$FC_TIMEOUT" \
        "$ROOT/shim/forceclose" --engine syscall -- "$T/story" "$url/submit" "$N" new
    echo "$output"
    [ "$output" = "done $N errors 0 sockets 0" ]
    wait_open "$SERVER_LOG/enforce" 0
    # reuse: one Transport, one connection, no leak
    set_phase rbase
    run timeout "$FC_TIMEOUT" "$T/goget" "$url/get" "$N" get
    [[ "$output" == "done $N errors 0 sockets 1 "* ]]
    set_phase robs
    engine_observe goget "$T/goget" "$url/get" "$N" get
    [[ "$output" == "done $N errors 0 sockets 1 "* ]]
    same_wire "$SERVER_LOG/rbase" "$SERVER_LOG/robs"
    ocheck "$T/goget.json" "$SERVER_LOG/robs/stats.json" \
        "d['connections'] == s['connections'] == 1" "d['requests'] == s['requests'] == $N" \
        "d['requests_per_connection_max'] == max(s['requests_per_conn']) == $N" \
        "d['program_reused'] == 1" "d['verdict'] == 'no_leak'"
}

@test "the report file is hardened like the log: a symbolic link is refused, the file is created 0600" {
    start_server keepalive
    ln -s "$T/target" "$T/link.json"
    run with_shim env FORCECLOSE_MODE=observe FORCECLOSE_REPORT="$T/link.json" \
        "${CURL[@]}" -o /dev/null "$SERVER_URL/h"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"FORCECLOSE_REPORT \"$T/link.json\" refused (a symbolic link in the path)"* ]]
    [ ! -e "$T/target" ]
    run with_shim env FORCECLOSE_MODE=observe FORCECLOSE_REPORT="$T/r.json" \
        "${CURL[@]}" -o /dev/null "$SERVER_URL/h"
    [ "$status" -eq 0 ]
    [ "$(stat -c %a "$T/r.json")" = 600 ]
}

@test "a unix-socket destination is named unix:PATH, with its Host" {
    start_server keepalive "unix:$T/s.sock"
    set_phase obs
    observe ux "${CURL[@]}" --unix-socket "$T/s.sock" http://localhost/u/1 http://localhost/u/2
    wait_open "$SERVER_LOG/obs" 0
    ocheck "$T/ux.json" "$SERVER_LOG/obs/stats.json" "d['destination'] == 'unix:$T/s.sock'" \
        "d['hosts'] == ['localhost']" "d['connections'] == s['connections'] == 1" \
        "d['requests'] == s['requests'] == 2" "d['verdict'] == 'no_leak'"
}

@test "reads are the program's own: a whole response waiting in the kernel comes in one read(), as without the library" {
    start_server keepalive
    set_phase base
    base rbase python3 "$OCLIENT" oneread 127.0.0.1 "$SERVER_PORT" 5
    set_phase obs
    observe rd python3 "$OCLIENT" oneread 127.0.0.1 "$SERVER_PORT" 5
    # each read returned the whole response, the same count in both runs
    python3 "$ROOT/tests/lib/jcheck.py" "len(d['reads']) == 5 and all(q == r for q, r in d['reads'])" "$T/rbase.out"
    python3 "$ROOT/tests/lib/jcheck.py" "len(d['reads']) == 5 and all(q == r for q, r in d['reads'])" "$T/rd.json.out"
    [ "$(cat "$T/rbase.out")" = "$(cat "$T/rd.json.out")" ]
    same_wire "$SERVER_LOG/base" "$SERVER_LOG/obs"
    ocheck "$T/rd.json" - "d['requests'] == 5" "d['idle_max'] == 1" "d['verdict'] == 'no_leak'"
}

# observed CMD...: CMD without the library (phase base) and in observe mode
# (phase obs) against the server already started: the same bytes on the
# wire, and every figure of the report's destination against the server's
# stats.json.  Extra ocheck expressions in OBS_EXTRA.
observed() {
    local name="${1##*/}"
    [ "$name" = env ] && name=${4##*/}
    set_phase base
    base "$name-base" "$@"
    set_phase obs
    observe "$name" "$@"
    same_wire "$SERVER_LOG/base" "$SERVER_LOG/obs"
    wait_open "$SERVER_LOG/obs" 0
    local ends="[c['end'] for c in s['conns'].values()]"
    ocheck "$T/$name.json" "$SERVER_LOG/obs/stats.json" "len(r['destinations']) == 1" \
        "d['destination'] == '127.0.0.1:$SERVER_PORT'" "d['hosts'] == ['127.0.0.1:$SERVER_PORT']" \
        "d['connections'] == s['connections']" "d['requests'] == s['requests']" \
        "d['requests_per_connection_max'] == max(s['requests_per_conn'])" \
        "d['requests_per_connection_mean'] == round(s['requests'] / s['connections'] + 1e-9, 1)" \
        "d['open_max'] == s['max_open']" \
        "d['ended']['server_closed'] == $ends.count('server')" \
        "d['ended']['program_closed'] + d['ended']['still_open'] == $ends.count('eof')" \
        "d['ended']['lost_sight'] == 0 and d['not_followed']['total'] == 0" \
        "d['program_reused'] == sum(1 for n in s['requests_per_conn'] if n >= 2)" \
        "d['server_said_close'] == 0" "${OBS_EXTRA[@]}"
}

# (ab -k is not here: it sends HTTP/1.0 keep-alive and, with no
# "Keep-Alive" in the response, reads to the end of the stream, which this
# server never sends without the library; leak.bats runs it enforced.)
@test "every other real client of the suite (perl, java, node, wget), stubborn and polite server: figures match the server, same bytes" {
    local n=12 mode i W=(wget --no-config --no-proxy -q --tries=1 --timeout=10)
    command -v perl || command -v javac || command -v node || command -v wget ||
        skip "none of perl, javac, node, wget is installed"
    command -v javac >/dev/null 2>&1 && javac -d "$T" "$ROOT/tests/lib/JavaLeak.java"
    for mode in "" --honour-close; do
        OBS_EXTRA=("d['verdict'] == 'no_leak'" "d['program_reused'] >= 1" "d['idle_max'] <= 1")
        if command -v perl >/dev/null 2>&1; then
            start_server keepalive 127.0.0.1 $mode
            # perl orders header fields by its hash seed: fixed, the
            # two runs write the same bytes
            observed env PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 perl "$ROOT/tests/lib/perl_leak.pl" 127.0.0.1 "$SERVER_PORT" "$n"
        fi
        if command -v javac >/dev/null 2>&1; then
            start_server keepalive 127.0.0.1 $mode
            observed java -cp "$T" JavaLeak 127.0.0.1 "$SERVER_PORT" "$n"
        fi
        if command -v node >/dev/null 2>&1; then
            start_server keepalive 127.0.0.1 $mode
            observed node "$ROOT/tests/lib/node_http.js" leak 127.0.0.1 "$SERVER_PORT" "$n"
        fi
        if command -v wget >/dev/null 2>&1; then
            start_server keepalive 127.0.0.1 $mode
            for ((i = 0; i < n; i++)); do echo "$SERVER_URL/o/wget/$i"; done >"$T/w.list"
            observed "${W[@]}" -O - -i "$T/w.list"
        fi
    done
}

@test "no system call per request from observe mode: on a kept-alive connection only the tracker's identity check (one fstat, as in enforcement) is added" {
    skip_unless_cmd strace
    start_server keepalive
    local k
    for k in 100 200; do
        set_phase "a$k"
        strace_counts "" python3 "$PYLEAK" reuse 127.0.0.1 "$SERVER_PORT" "$k" >"$T/a$k"
        set_phase "b$k"
        FORCECLOSE_MODE=observe FORCECLOSE_REPORT="$T/b$k.json" \
            strace_counts "$FC_PRELOAD" python3 "$PYLEAK" reuse 127.0.0.1 "$SERVER_PORT" "$k" >"$T/b$k"
        # observe mode was on and followed every request on one connection
        ocheck "$T/b$k.json" - "d['requests'] == $k" "d['connections'] == 1"
    done
    run per_exchange "$T/a100" "$T/a200" "$T/b100" "$T/b200"
    echo "$output"
    [ "$status" -eq 0 ]
    # one fstat per request; anything else well below one call a request
    # (python's own odd read at start-up or exit)
    python3 - "${lines[-2]#extra per exchange: }" <<'EOF2'
import ast, sys
d = ast.literal_eval(sys.argv[1])
f = {k: v for k, v in d.items() if "fstat" in k}
assert len(f) == 1 and abs(list(f.values())[0] - 1) < 0.1, d
assert all(abs(v) < 0.1 for k, v in d.items() if k not in f), d
EOF2
}

# tls_server: a TLS recording server (stubborn: keep-alive, ignores close)
# with a certificate made now; $T/cert.pem is the CA file for clients.
tls_server() {
    skip_unless_cmd openssl
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
    start_server keepalive 127.0.0.1 --tls "$T/cert.pem" "$T/key.pem" "$@"
}

@test "HTTPS: curl over OpenSSL is followed like plain HTTP ($N URLs, one connection reused, Host named); node's built-in OpenSSL is could-not-follow (TLS); outputs and bytes unchanged" {
    tls_server
    local url="https://127.0.0.1:$SERVER_PORT"
    set_phase base
    base cbase "${CURL[@]}" --cacert "$T/cert.pem" "$url/t/[1-$N]"
    set_phase obs
    observe ctls "${CURL[@]}" --cacert "$T/cert.pem" "$url/t/[1-$N]"
    same_file "$T/cbase.out" "$T/ctls.json.out"
    same_wire "$SERVER_LOG/base" "$SERVER_LOG/obs"
    wait_open "$SERVER_LOG/obs" 0
    ocheck "$T/ctls.json" "$SERVER_LOG/obs/stats.json" "r['program'] == 'curl'" \
        "d['destination'] == '127.0.0.1:$SERVER_PORT'" "d['hosts'] == ['127.0.0.1:$SERVER_PORT']" \
        "d['connections'] == s['connections'] == 1" "d['tls_followed'] == 1" \
        "d['requests'] == s['requests'] == $N" \
        "d['requests_per_connection_max'] == max(s['requests_per_conn']) == $N" \
        "d['program_reused'] == 1" "d['open_max'] == s['max_open'] == 1" "d['idle_max'] == 1" \
        "d['server_said_close'] == 0 and d['program_said_close'] == 0" \
        "d['ended']['program_closed'] == 1 and d['ended']['still_open'] == 0" \
        "d['not_followed']['total'] == d['not_followed']['tls'] == 0" \
        "d['verdict'] == 'no_leak'" "len(d['verdicts']) == 1" \
        "d['verdicts'][0].startswith('127.0.0.1:$SERVER_PORT: no leak: connections reused (up to $N requests')"
    command -v node >/dev/null 2>&1 || return 0
    set_phase nbase
    base nbase node "$ROOT/tests/tls/node_client.js" "$url/n" "$T/cert.pem" 5
    set_phase nobs
    observe ntls node "$ROOT/tests/tls/node_client.js" "$url/n" "$T/cert.pem" 5
    same_file "$T/nbase.out" "$T/ntls.json.out"
    wait_open "$SERVER_LOG/nobs" 0
    ocheck "$T/ntls.json" "$SERVER_LOG/nobs/stats.json" "s['requests'] == 5" \
        "d['connections'] == s['connections']" "d['requests'] == 0" "d['tls_followed'] == 0" \
        "d['not_followed']['total'] == d['not_followed']['tls'] == s['connections']" \
        "d['verdict'] == 'not_followed'" \
        "'TLS the library cannot read' in d['verdicts'][-1]"
}

@test "HTTPS from Go under the system-call engine (crypto/tls inside the binary): could-not-follow (TLS), output and bytes unchanged" {
    go_build go_tls "$ROOT/tests/tls/go_tls.go"
    tls_server
    local url="https://127.0.0.1:$SERVER_PORT"
    set_phase base
    base gbase "$T/go_tls" "$url/g" "$T/cert.pem" 5
    set_phase obs
    engine_observe gtls "$T/go_tls" "$url/g" "$T/cert.pem" 5
    [ "$output" = "$(cat "$T/gbase.out")" ]
    wait_open "$SERVER_LOG/obs" 0
    ocheck "$T/gtls.json" "$SERVER_LOG/obs/stats.json" "s['requests'] == 5" \
        "r['program'] == 'go_tls'" "d['connections'] == s['connections']" \
        "d['requests'] == 0" "d['tls_followed'] == 0" \
        "d['not_followed']['total'] == d['not_followed']['tls'] == s['connections']" \
        "d['verdict'] == 'not_followed'" \
        "'TLS the library cannot read' in d['verdicts'][-1]"
}

@test "HTTPS through GnuTLS: wget's URLs on one connection are followed, output and bytes unchanged" {
    skip_unless_cmd wget
    tls_server
    local urls=() i
    for ((i = 1; i <= 5; i++)); do urls+=("https://127.0.0.1:$SERVER_PORT/w/$i"); done
    set_phase base
    base wbase wget -q --no-proxy --ca-certificate="$T/cert.pem" -O - "${urls[@]}"
    set_phase obs
    observe wget wget -q --no-proxy --ca-certificate="$T/cert.pem" -O - "${urls[@]}"
    same_file "$T/wbase.out" "$T/wget.json.out"
    same_wire "$SERVER_LOG/base" "$SERVER_LOG/obs"
    wait_open "$SERVER_LOG/obs" 0
    ocheck "$T/wget.json" "$SERVER_LOG/obs/stats.json" "r['program'] == 'wget'" \
        "d['connections'] == s['connections'] == d['tls_followed'] == 1" \
        "d['requests'] == s['requests'] == 5" \
        "d['requests_per_connection_max'] == max(s['requests_per_conn']) == 5" \
        "d['hosts'] == ['127.0.0.1:$SERVER_PORT']" \
        "d['not_followed']['total'] == 0" "d['verdict'] == 'no_leak'"
}

@test "HTTPS: leaky python http.client (a new connection per request, never closed) over OpenSSL: figures match the TLS server, same bytes, the named action stops the leak" {
    tls_server
    local tls=(--tls "$T/cert.pem")
    set_phase base
    base base python3 "$PYLEAK" leaky 127.0.0.1 "$SERVER_PORT" "$N" --stats "$SERVER_LOG/base" "${tls[@]}"
    set_phase obs
    observe obs python3 "$PYLEAK" leaky 127.0.0.1 "$SERVER_PORT" "$N" --stats "$SERVER_LOG/obs" "${tls[@]}"
    local ok="d['failed'] == 0 and d['close_seen'] == 0 and d['sockets_end'] == $N and d['server_open'] == $N"
    python3 "$ROOT/tests/lib/jcheck.py" "$ok" "$T/base.out"
    python3 "$ROOT/tests/lib/jcheck.py" "$ok" "$T/obs.json.out"
    same_wire "$SERVER_LOG/base" "$SERVER_LOG/obs"
    wait_open "$SERVER_LOG/obs" 0
    ocheck "$T/obs.json" "$SERVER_LOG/obs/stats.json" "r['event'] == 'exit'" \
        "len(r['destinations']) == 1" "d['destination'] == '127.0.0.1:$SERVER_PORT'" \
        "d['hosts'] == ['127.0.0.1:$SERVER_PORT']" \
        "d['connections'] == s['connections'] == d['tls_followed'] == $N" \
        "d['requests'] == s['requests'] == $N" \
        "d['requests_per_connection_max'] == max(s['requests_per_conn']) == 1" \
        "d['open_max'] == s['max_open'] == $N" "d['idle_max'] == $N" \
        "d['server_said_close'] == 0 and d['program_reused'] == 0 and d['program_said_close'] == 0" \
        "d['not_followed']['total'] == 0" "d['verdict'] == 'leak'"
    grep -q 'the server never says close' "$T/obs.json"
    [ "$(named_action "$T/obs.json")" = shutdown ]
    set_phase enforce
    run with_shim env FORCECLOSE_ACTION="$(named_action "$T/obs.json")" timeout "$FC_TIMEOUT" \
        python3 "$PYLEAK" leaky 127.0.0.1 "$SERVER_PORT" "$N" --stats "$SERVER_LOG/enforce" "${tls[@]}"
    echo "$output"
    [ "$status" -eq 0 ]
    python3 "$ROOT/tests/lib/jcheck.py" "d['failed'] == 0 and d['sockets_end'] <= 3 and d['server_open'] == 0" <(echo "$output")
}
