#!/usr/bin/env bats
# The launcher's system-call engine (forceclose --engine=syscall, chosen by
# auto for Go and static programs): the Go client this project exists for,
# against a server that never says close.  Oracles: the recording server's
# bytes, the program's own exit status and descriptor count, the engine's
# FORCECLOSE_STATS line (which also proves the engine was there).

load lib/common
bats_require_minimum_version 1.5.0

FC="$ROOT/shim/forceclose"
GOBIN="$ROOT/build/go"

# Go builds once per run, into build/ (GOCACHE too): nothing outside the
# tree is written, nothing downloaded (standard library only).
setup_file() {
    command -v go >/dev/null 2>&1 || return 0
    export GOCACHE="$GOBIN/cache" GOPATH="$GOBIN/path" GO111MODULE=off \
        GOFLAGS= GOTOOLCHAIN=local
    mkdir -p "$GOBIN"
    CGO_ENABLED=0 go build -o "$GOBIN/story" "$ROOT/tests/engine/story.go"
    CGO_ENABLED=0 go build -o "$GOBIN/goget" "$ROOT/tests/engine/goget.go"
    CGO_ENABLED=1 go build -o "$GOBIN/goget-cgo" \
        "$ROOT/tests/engine/goget.go" 2>/dev/null || true
    gcc -O2 -static -o "$GOBIN/static_cat" \
        "$ROOT/tests/engine/static_cat.c" 2>/dev/null || true
    gcc -O2 -static -o "$GOBIN/static_client" \
        "$ROOT/tests/engine/static_client.c" 2>/dev/null || true
}

setup() {
    skip_unless_cmd go
    [ -x "$FC" ] || {
        echo "missing $FC: run make at the repo root" >&2
        return 1
    }
    unset LD_PRELOAD ${!FORCECLOSE_@}
    T="$BATS_TEST_TMPDIR"
    # marks the supervisors this test starts (they inherit the
    # environment), so they can be found and stopped by PID
    export FC_TEST_MARK="$T"
}

# sup_pids: the supervisors (comm forceclose-sup) started by this test.
sup_pids() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = forceclose-sup ] || continue
        { tr '\0' '\n' <"$p/environ"; } 2>/dev/null |
            grep -qx "FC_TEST_MARK=$T" && echo "${p#/proc/}"
    done
    return 0
}

teardown() {
    stop_pids "$T/client.pids"
    sup_pids >"$T/sup.pids"
    stop_pids "$T/sup.pids"
    stop_servers
}

# story_run ARGS...: the story program under `ulimit -n 256` (soft and
# hard: Go raises its soft limit to the hard one at start).
story_run() {
    run timeout 120 bash -c 'ulimit -n 256 && exec "$@"' story "$@"
    echo "status $status: $output"
}

# stat_of NAME: a counter from the engine's stats line.  The supervisor
# writes it once the last process under the filter has gone; `run` returns
# only after that, since the supervisor holds the captured stderr until it
# exits.
stat_of() {
    python3 -c 'import json,sys
d = json.loads(open(sys.argv[1]).readlines()[-1])
print(d["teardowns"]["shutdown"] if sys.argv[2] == "teardowns" else d[sys.argv[2]])' \
        "$T/stats.json" "$1"
}

@test "engine: the original story - shared Transport, chunked POSTs: every request says close, bodies as without, sockets bounded" {
    start_server keepalive
    set_phase base
    story_run "$GOBIN/story" "$SERVER_URL/submit" 400
    [ "$status" -eq 0 ]
    [[ "$output" == "done 400 errors 0 sockets "* ]]
    set_phase shim
    story_run "$FC" --stats "$T/stats.json" -- "$GOBIN/story" \
        "$SERVER_URL/submit" 400
    [ "$status" -eq 0 ]
    # one connection per request, each closed by the program once the
    # response said close: none left open
    [ "$output" = "done 400 errors 0 sockets 0" ]
    run check_requests "$SERVER_LOG/shim" --expect-close --count 400
    echo "$output"
    [ "$status" -eq 0 ]
    run check_requests "$SERVER_LOG/shim" --same-as "$SERVER_LOG/base" \
        --ignore-conn-split --count 400
    echo "$output"
    [ "$status" -eq 0 ]
    # the engine was there (auto chose it for a static Go binary)
    [ "$(stat_of connections_tracked)" -eq 400 ]
    [ "$(stat_of responses_rewritten)" -eq 400 ]
    [ "$(stat_of teardowns)" -eq 400 ]
    # and the supervisor went with the program
    [ -z "$(sup_pids)" ]
}

@test "engine: a Transport per request - too many open files without forceclose, 600 POSTs with it" {
    start_server keepalive
    set_phase base
    story_run "$GOBIN/story" "$SERVER_URL/submit" 600 new
    [ "$status" -ne 0 ]
    [[ "$output" == *"too many open files"* ]]
    set_phase shim
    story_run "$FC" --engine=syscall --stats "$T/stats.json" -- \
        "$GOBIN/story" "$SERVER_URL/submit" 600 new
    [ "$status" -eq 0 ]
    [ "$output" = "done 600 errors 0 sockets 0" ]
    run check_requests "$SERVER_LOG/shim" --expect-close --count 600
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(stat_of teardowns)" -eq 600 ]
}

@test "engine: --engine=preload leaves a static Go program unreached (the story still leaks)" {
    start_server keepalive
    story_run "$FC" --engine=preload -- "$GOBIN/story" \
        "$SERVER_URL/submit" 600 new
    [ "$status" -ne 0 ]
    [[ "$output" == *"too many open files"* ]]
}

@test "engine: --check says a static Go program is reached by the engine" {
    run "$FC" --check "$GOBIN/story"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"yes - a Go program: the system-call engine reaches it"* ]]
    [[ "$output" == *"Go's HTTPS"* ]]
    run "$FC" --engine=bogus -- true
    [ "$status" -eq 2 ]
    [[ "$output" == *"bad --engine"* ]]
}

@test "engine: a gcc -static C client, blocking sockets, every call family, SIGALRM every millisecond: each request once, torn down" {
    [ -x "$GOBIN/static_client" ] || skip "cannot link statically (libc.a)"
    start_server keepalive
    local m
    for m in write writev sendto sendmsg; do
        set_phase "$m"
        # the client reads once more after each response: only a teardown
        # answers that read (the server never closes)
        run timeout 60 "$FC" --stats "$T/stats.json" -- \
            "$GOBIN/static_client" "$SERVER_PORT" "$m" 40 signals
        echo "$m: status $status: $output"
        [ "$status" -eq 0 ]
        [ "$output" = "ok 40 eof 40" ]
        # framing checked by the server's own parser: a write done twice
        # or lost would break it or the count
        run check_requests "$SERVER_LOG/$m" --expect-close --count 40
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" == *" 0 problems"* ]]
        [ "$(stat_of teardowns)" -eq 40 ]
    done
}

@test "engine: Go GET/HEAD/POST, 100 goroutines, 2000 requests each, static and cgo builds: no socket left, every response torn down" {
    local bin m
    cc -O2 -o "$T/bench_server" "$ROOT/tests/bench/bench_server.c"
    "$T/bench_server" "$T/ports" 3>&- &
    echo $! >>"$BATS_TEST_TMPDIR/server.pids"
    # the server writes its port file once it listens (bounded: 10 s)
    for (( i = 0; i < 100; i++ )); do [ -s "$T/ports" ] && break; sleep 0.1; done
    local url="http://127.0.0.1:$(head -1 "$T/ports")"
    for bin in goget goget-cgo; do
        [ -x "$GOBIN/$bin" ] || { echo "no $bin (cgo build failed)"; continue; }
        for m in get head post; do
            run timeout 120 "$FC" --stats "$T/stats-$bin-$m.json" -- \
                "$GOBIN/$bin" "$url" 2000 "$m" 100
            echo "$bin $m: status $status: $output"
            [ "$status" -eq 0 ]
            [[ "$output" == "done 2000 errors 0 sockets 0 "* ]]
            cp "$T/stats-$bin-$m.json" "$T/stats.json"
            [ "$(stat_of connections_tracked)" -eq 2000 ]
            [ "$(stat_of responses_rewritten)" -eq 2000 ]
            # (this server answers a POST's head before its body is in:
            # then the teardown comes once the body is out)
            [ "$(stat_of teardowns)" -eq 2000 ]
        done
    done
    # without the engine the same run keeps its 100 connections
    run timeout 120 "$GOBIN/goget" "$url" 2000 get 100
    echo "native: $output"
    [ "$status" -eq 0 ]
    [[ "$output" == "done 2000 errors 0 sockets "* ]]
    [ "$(echo "$output" | awk '{print $6}')" -ge 50 ]
}

@test "engine: Go against every kind of response - same bodies as without, each request says close" {
    start_server keepalive
    local t n=0
    for t in plain chunked chunked-bws trickle/chunked trickle/plain \
             ka ka-tokens hints/1 status/204 http10-keepalive; do
        n=$((n + 1))
        set_phase "base$n"
        run timeout 60 "$GOBIN/goget" "$SERVER_URL/$t" 8 get 2
        echo "$t native: $status $output"
        [ "$status" -eq 0 ]
        local base="${output#* bytes }"
        set_phase "shim$n"
        run timeout 60 "$FC" --stats "$T/stats.json" -- \
            "$GOBIN/goget" "$SERVER_URL/$t" 8 get 2
        echo "$t engine: $status $output"
        [ "$status" -eq 0 ]
        [[ "$output" == "done 8 errors 0 sockets 0 bytes $base" ]]
        run check_requests "$SERVER_LOG/shim$n" --expect-close --count 8
        echo "$output"
        [ "$status" -eq 0 ]
        [ "$(stat_of responses_rewritten)" -eq 8 ]
    done
}

@test "engine: a child the Go program runs (os/exec of curl) is reached too" {
    skip_unless_cmd curl
    start_server keepalive
    run timeout 60 "$FC" --engine=syscall --stats "$T/stats.json" -- \
        "$GOBIN/goget" "$SERVER_URL/child" 1 exec
    echo "$output"
    [ "$status" -eq 0 ]
    # curl (dynamic, but under the filter its parent installed) saw the
    # rewritten response and sent a rewritten request
    [[ "$output" == *"Connection: close"* ]]
    run check_requests "$SERVER_LOG" --expect-close --count 1
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(stat_of teardowns)" -eq 1 ]
}

@test "engine: file and pipe I/O of a static program unchanged (checksums), the engine present" {
    [ -x "$GOBIN/static_cat" ] || skip "cannot link statically (libc.a)"
    head -c $((32 << 20)) /dev/urandom >"$T/in"
    run bash -c '"$1" "$2/native.f" <"$2/in" | sha256sum' x "$GOBIN/static_cat" "$T"
    [ "$status" -eq 0 ]
    local native="$output"
    run bash -c '"$1" --stats "$2/stats.json" -- "$3" "$2/engine.f" <"$2/in" | sha256sum' \
        x "$FC" "$T" "$GOBIN/static_cat"
    [ "$status" -eq 0 ]
    [ "$output" = "$native" ]
    [ "$output" = "$(sha256sum <"$T/in")" ]
    cmp "$T/in" "$T/engine.f"
    # the engine ran it (the library cannot load into a static program)
    [ "$(stat_of connections_tracked)" -eq 0 ]
}

@test "engine: the program killed in the middle of a request - the supervisor ends, the server sees the connection close" {
    [ -x "$GOBIN/static_client" ] || skip "cannot link statically (libc.a)"
    start_server sink
    "$FC" -- "$GOBIN/static_client" "$SERVER_PORT" write 1 \
        >"$T/client.out" 2>&1 3>&- &
    local pid=$! i sup
    echo "$pid" >"$T/client.pids"
    # the request is at the server: the client now waits in read(), a
    # supervisor worker waits for the socket on its behalf (bounded: 10 s)
    for (( i = 0; i < 200; i++ )); do
        [ -s "$(ls "$SERVER_LOG"/conn-*.raw 2>/dev/null | head -1)" ] && break
        sleep 0.05
    done
    [ -s "$(ls "$SERVER_LOG"/conn-*.raw | head -1)" ]
    sup=$(sup_pids)
    [ -n "$sup" ]
    kill -KILL "$pid"
    wait "$pid" || true
    # the supervisor sees no process left under its filter and exits
    # (bounded: 10 s; it is woken at once)
    for (( i = 0; i < 200; i++ )); do
        [ -z "$(sup_pids)" ] && break
        sleep 0.05
    done
    [ -z "$(sup_pids)" ]
    wait_closed 1
}

@test "engine: FORCECLOSE_EXCEPT and -v apply as in the library (same settings, same log lines)" {
    start_server keepalive
    run timeout 60 "$FC" --except 127.0.0.1 -vvv --stats "$T/stats.json" -- \
        "$GOBIN/goget" "$SERVER_URL/x" 5 get
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"127.0.0.1:$SERVER_PORT: excluded by filter"* ]]
    [ "$(stat_of connections_excluded)" -ge 1 ]
    [ "$(stat_of requests_rewritten)" -eq 0 ]
    # untouched: the requests carry no Connection field, the connection
    # is reused as without the engine
    run grep -ail '^Connection:' "$SERVER_LOG"/conn-*.raw
    [ "$status" -eq 1 ]
    run timeout 60 "$FC" --only 127.0.0.1 -vv -- "$GOBIN/goget" "$SERVER_URL/y" 2 get
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"libforceclose: goget["*"]: 127.0.0.1:$SERVER_PORT: GET request rewritten (Connection: close added)"* ]]
    [[ "$output" == *"response complete, connection shut down"* ]]
}

@test "engine: auto never runs a set-user-ID program under the engine (no_new_privs would drop its privileges)" {
    [ -x "$GOBIN/static_cat" ] || skip "cannot link statically (libc.a)"
    cp "$GOBIN/static_cat" "$T/suid"
    chmod u+s "$T/suid"
    run bash -c 'echo hello | "$1" --stats "$2/stats.json" -- "$2/suid"' x "$FC" "$T"
    [ "$status" -eq 0 ]
    [ "$output" = hello ]
    # no supervisor wrote a stats line: the engine did not run
    [ ! -e "$T/stats.json" ]
    # the same copy without the set-ID bit does go to the engine
    chmod u-s "$T/suid"
    run bash -c 'echo hello | "$1" --stats "$2/stats.json" -- "$2/suid"' x "$FC" "$T"
    [ "$status" -eq 0 ]
    [ "$output" = hello ]
    [ "$(stat_of connections_tracked)" -eq 0 ]
}

@test "engine: a server that resets - the program sees the same error as without the engine" {
    python3 "$ROOT/tests/engine/reset_server.py" "$T/rport" 3>&- &
    echo $! >>"$BATS_TEST_TMPDIR/server.pids"
    local i
    # bounded: 10 s for python to start and listen
    for (( i = 0; i < 100; i++ )); do [ -s "$T/rport" ] && break; sleep 0.1; done
    local url="http://127.0.0.1:$(cat "$T/rport")/x"
    run timeout 60 "$GOBIN/goget" "$url" 2 get
    echo "native: $status $output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"read: connection reset by peer"* ]]
    run timeout 60 "$FC" --engine=syscall --stats "$T/stats.json" -- \
        "$GOBIN/goget" "$url" 2 get
    echo "engine: $status $output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"done 0 errors 2 sockets 0"* ]]
    [[ "$output" == *"read: connection reset by peer"* ]]
    [ "$(stat_of connections_tracked)" -eq 2 ]
}
