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
    gcc -O2 -static -o "$GOBIN/script_client" \
        "$ROOT/tests/engine/script_client.c" 2>/dev/null || true
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

# engine_script PHASE MODE RESPONSE... -- STEP...: one connection of the
# static script client (tests/engine/script_client.c) to
# tests/server/scripted_server.py; MODE: native, or engine (forceclose
# --engine=syscall).  The server records into $T/PHASE.got (wait for
# $SERVER_PID before reading it), the client's bytes read go to
# $T/PHASE.out.  GATE=1: the server holds each response after the first
# until $T/PHASE.gate exists (a step touch:$T/PHASE.gate makes it).
engine_script() {
    local phase="$1" mode="$2" resps=() pre=() gate=() i
    shift 2
    while [ "$1" != "--" ]; do resps+=("$1"); shift; done
    shift
    [ -n "${GATE:-}" ] && gate=(--gate "$T/$phase.gate")
    rm -f "$T/$phase.port" "$T/$phase.gate"
    python3 "$ROOT/tests/server/scripted_server.py" --port-file "$T/$phase.port" \
        --record "$T/$phase.got" "${gate[@]}" "${resps[@]}" 3>&- &
    SERVER_PID=$!
    echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/server.pids"
    # 10 s: the server binds port 0 at once; a loaded 2-core host is slow
    for (( i = 0; i < 100; i++ )); do
        [ -s "$T/$phase.port" ] && break
        sleep 0.1
    done
    [ -s "$T/$phase.port" ]
    [ "$mode" = engine ] && pre=("$FC" --engine=syscall --)
    run timeout 60 "${pre[@]}" "$GOBIN/script_client" \
        "$(cat "$T/$phase.port")" "$T/$phase.out" "$@"
    echo "$phase: status $status: $output"
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
    # the same with the close action: Go closes each socket itself, so
    # the engine's swap has nothing left to do, and nothing breaks
    set_phase close
    story_run "$FC" --engine=syscall --action close --stats "$T/stats-close.json" -- \
        "$GOBIN/story" "$SERVER_URL/submit" 600 new
    [ "$status" -eq 0 ]
    [ "$output" = "done 600 errors 0 sockets 0" ]
    run check_requests "$SERVER_LOG/close" --expect-close --count 600
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["teardowns"]["close"])' "$T/stats-close.json")" -eq 600 ]
}

@test "engine: --engine=preload leaves a static Go program unreached (the story still leaks)" {
    start_server keepalive
    story_run "$FC" --engine=preload -- "$GOBIN/story" \
        "$SERVER_URL/submit" 600 new
    [ "$status" -ne 0 ]
    [[ "$output" == *"too many open files"* ]]
}

@test "engine: --check verdicts - static and cgo Go, static C by the engine, a dynamic C program by the library" {
    run "$FC" --check "$GOBIN/story"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"yes - a Go program: the system-call engine reaches it"* ]]
    [[ "$output" == *"Go's HTTPS"* ]]
    if [ -x "$GOBIN/goget-cgo" ]; then
        run "$FC" --check "$GOBIN/goget-cgo"
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"yes - a Go program (cgo-linked): the system-call engine reaches it"* ]]
    fi
    if [ -x "$GOBIN/static_cat" ]; then
        run "$FC" --check "$GOBIN/static_cat"
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"yes - statically linked: the system-call engine reaches it"* ]]
        [[ "$output" == *"not if it installs its own seccomp listener"* ]]
    fi
    run "$FC" --check "$(command -v true)"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"yes - dynamically linked against glibc; LD_PRELOAD reaches it"* ]]
    run "$FC" --engine=bogus -- true
    [ "$status" -eq 2 ]
    [[ "$output" == *"bad --engine"* ]]
}

@test "engine: a gcc -static C client, blocking and non-blocking sockets, every call family, SIGALRM every millisecond: each request once, torn down" {
    [ -x "$GOBIN/static_client" ] || skip "cannot link statically (libc.a)"
    start_server keepalive
    local m o
    for o in signals nonblock,signals; do
        for m in write writev sendto sendmsg; do
            set_phase "$m-${o%%,*}"
            # the client reads once more after each response: only a
            # teardown answers that read (the server never closes)
            run timeout 60 "$FC" --stats "$T/stats.json" -- \
                "$GOBIN/static_client" "$SERVER_PORT" "$m" 40 "$o"
            echo "$m $o: status $status: $output"
            [ "$status" -eq 0 ]
            [ "$output" = "ok 40 eof 40" ]
            # framing checked by the server's own parser: a write done
            # twice or lost would break it or the count
            run check_requests "$SERVER_LOG/$m-${o%%,*}" --expect-close \
                --count 40
            echo "$output"
            [ "$status" -eq 0 ]
            [[ "$output" == *" 0 problems"* ]]
            [ "$(stat_of teardowns)" -eq 40 ]
        done
    done
}

@test "engine: a program blocked on a server that never answers does not stop another one's requests (one supervisor)" {
    [ -x "$GOBIN/static_client" ] || skip "cannot link statically (libc.a)"
    local sink pid i
    start_server sink
    sink=$SERVER_PORT
    start_server keepalive
    set_phase served
    mkfifo "$T/go"
    # one launcher, so one supervisor: the first client's blocking read
    # waits in a worker for as long as the server stays silent; the
    # second one starts only once that read is pending
    timeout 120 "$FC" --engine=syscall -- bash -c '
        "$1" "$2" write 1 >"$4/blocked.out" 2>&1 &
        echo $! >"$4/blocked.pid"
        read -r _ <"$4/go"
        exec "$1" "$3" write 40' x "$GOBIN/static_client" "$sink" \
        "$SERVER_PORT" "$T" >"$T/served.out" 2>&1 3>&- &
    echo $! >>"$T/client.pids"
    for (( i = 0; i < 400; i++ )); do
        [ -s "$T/blocked.pid" ] && break
        sleep 0.05
    done
    pid=$(cat "$T/blocked.pid")
    echo "$pid" >>"$T/client.pids"
    # the first client sits in read(2) (number 0), trapped
    for (( i = 0; i < 400; i++ )); do
        [ "$(cut -d' ' -f1 "/proc/$pid/syscall" 2>/dev/null)" = 0 ] && break
        sleep 0.05
    done
    [ "$(cut -d' ' -f1 "/proc/$pid/syscall")" = 0 ]
    echo >"$T/go"
    for (( i = 0; i < 1200; i++ )); do
        [ -s "$T/served.out" ] && break
        sleep 0.05
    done
    cat "$T/served.out"
    [ "$(cat "$T/served.out")" = "ok 40 eof 40" ]
    # still waiting: its worker never gave up on it
    kill -0 "$pid"
    [ "$(cut -d' ' -f1 "/proc/$pid/syscall")" = 0 ]
}

# socket_inodes PID: the socket inodes behind PID's descriptors, one a
# line, sorted, repeated once per descriptor.
socket_inodes() {
    local f
    for f in /proc/"$1"/fd/*; do readlink "$f"; done 2>/dev/null |
        sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | sort
}

# wait_line FILE TEXT: FILE has a line TEXT (bounded: 20 s).
wait_line() {
    local i
    for (( i = 0; i < 400; i++ )); do
        grep -qx "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "no line \"$2\" in $1:"; cat "$1"
    return 1
}

@test "engine: FORCECLOSE_ACTION=close - a program that never closes keeps its numbers, the sockets behind them are closed for it" {
    [ -x "$GOBIN/static_client" ] || skip "cannot link statically (libc.a)"
    start_server keepalive
    local a pid ino i
    for a in shutdown close; do
        set_phase "$a"
        # 5 requests, no close(): each read once more after its response
        # (0: torn down) and written once more (EPIPE, no SIGPIPE); then
        # the client waits to be killed
        FORCECLOSE_ACTION=$a "$FC" --engine=syscall --stats "$T/stats-$a.json" \
            -- "$GOBIN/static_client" "$SERVER_PORT" write 5 keep \
            >"$T/$a.out" 2>&1 3>&- &
        pid=$!
        echo "$pid" >>"$T/client.pids"
        wait_line "$T/$a.out" "ok 5 eof 5 epipe 5"
        socket_inodes "$pid" >"$T/$a.inodes"
        cat "$T/$a.inodes"
        [ "$(wc -l <"$T/$a.inodes")" -eq 5 ]
        if [ "$a" = shutdown ]; then
            # five TCP sockets, still the program's
            [ "$(uniq "$T/$a.inodes" | wc -l)" -eq 5 ]
            run grep -qwf "$T/$a.inodes" /proc/net/unix
            [ "$status" -eq 1 ]
        else
            # the five numbers hold one closed AF_UNIX placeholder: the
            # TCP sockets are gone
            [ "$(uniq "$T/$a.inodes" | wc -l)" -eq 1 ]
            ino=$(head -1 "$T/$a.inodes")
            awk '{print $7}' /proc/net/unix | grep -qx "$ino"
            ss -xap | grep "pid=$pid," | grep -qw "$ino"
        fi
        run check_requests "$SERVER_LOG/$a" --expect-close --count 5
        echo "$output"
        [ "$status" -eq 0 ]
        kill "$pid"
        wait "$pid" || true
    done
    # the supervisor writes its stats line once the program has gone
    for (( i = 0; i < 200; i++ )); do
        [ -s "$T/stats-close.json" ] && break
        sleep 0.05
    done
    cp "$T/stats-close.json" "$T/stats.json"
    [ "$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["teardowns"]["close"])' "$T/stats.json")" -eq 5 ]
}

@test "engine: the supervisor out of descriptors - new sockets are the program's own, sockets it cannot reach fail with ECONNRESET, no wrong bytes, no hang" {
    [ -x "$GOBIN/static_client" ] || skip "cannot link statically (libc.a)"
    skip_unless_cmd prlimit
    start_server keepalive
    set_phase base
    run timeout 60 bash -c 'echo x | "$1" "$2" write 5 wait' x \
        "$GOBIN/static_client" "$SERVER_PORT"
    echo "native: $status $output"
    [ "$status" -eq 0 ]
    mkfifo "$T/go"
    exec {w}<>"$T/go"
    local mode pid sup
    for mode in wait waitmid; do
        set_phase "$mode"
        # the client stops after its first response (wait) or request
        # (waitmid) until a byte arrives on its stdin
        "$FC" --engine=syscall -- "$GOBIN/static_client" "$SERVER_PORT" \
            write 5 "$mode" <"$T/go" >"$T/$mode.out" 2>"$T/$mode.err" 3>&- &
        pid=$!
        echo "$pid" >>"$T/client.pids"
        wait_line "$T/$mode.out" first
        sup=$(sup_pids)
        [ -n "$sup" ]
        # no descriptor left for the supervisor: 0, 1 and 2 are taken
        prlimit --pid "$sup" --nofile=3:3
        printf x >&"$w"	# one byte: the next client must wait too
        status=0
        wait "$pid" || status=$?
        echo "$mode: status $status: $(cat "$T/$mode.out" "$T/$mode.err")"
        grep -q "system-call engine is out of descriptors" "$T/$mode.err"
        if [ "$mode" = wait ]; then
            # the read after the first response fails (ECONNRESET, not
            # end of file); the four later sockets are the program's own,
            # untouched: the server has what the program sent
            [ "$status" -eq 0 ]
            grep -qx "ok 5 eof 0" "$T/$mode.out"
            run check_requests "$SERVER_LOG/$mode" --same-as "$SERVER_LOG/base" \
                --ignore-conn-split --count 5
            echo "$output"
            [ "$status" -eq 0 ]
            [ "$(grep -aci '^Connection: close' "$SERVER_LOG/$mode"/conn-*.raw |
                 awk -F: '{s += $2} END {print s}')" -eq 1 ]
        else
            # the first response cannot be read: an error, not bytes
            [ "$status" -eq 1 ]
            grep -qx "response 0 cut short" "$T/$mode.err"
        fi
    done
    exec {w}>&-
    # every connection ended, the supervisors with their programs
    # (bounded: 10 s)
    wait_closed 11
    local i
    for (( i = 0; i < 200; i++ )); do
        [ -z "$(sup_pids)" ] && break
        sleep 0.05
    done
    [ -z "$(sup_pids)" ]
}

@test "engine: --no-inherit - the program is reached, the child it runs is not" {
    skip_unless_cmd curl
    start_server keepalive
    set_phase child
    run timeout 60 "$FC" --engine=syscall --no-inherit --stats "$T/stats.json" -- \
        "$GOBIN/goget" "$SERVER_URL/child" 1 exec
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *"Connection: close"* ]]
    run bash -c 'cat "$1"/conn-*.raw | grep -aci "^Connection:"' x "$SERVER_LOG/child"
    [ "$output" = 0 ]
    [ "$(stat_of connections_tracked)" -eq 0 ]
    set_phase own
    run timeout 60 "$FC" --engine=syscall --no-inherit --stats "$T/stats.json" -- \
        "$GOBIN/goget" "$SERVER_URL/own" 3 get
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == "done 3 errors 0 sockets 0 "* ]]
    run check_requests "$SERVER_LOG/own" --expect-close --count 3
    [ "$status" -eq 0 ]
    [ "$(stat_of teardowns)" -eq 3 ]
}

@test "engine: nothing else on the machine is affected - a native client of the same server at the same time keeps its keep-alive" {
    local url i
    start_server keepalive
    url=$SERVER_URL
    start_server keepalive
    timeout 120 "$FC" --engine=syscall -- "$GOBIN/goget" "$url/engine" 400 get 4 \
        >"$T/engine.out" 2>&1 3>&- &
    echo $! >>"$T/client.pids"
    run timeout 120 "$GOBIN/goget" "$SERVER_URL/native" 400 get 4
    echo "native: $output"
    [ "$status" -eq 0 ]
    # keep-alive: connections left open, no Connection field added
    [ "$(echo "$output" | awk '{print $6}')" -ge 1 ]
    run bash -c 'cat "$1"/conn-*.raw | grep -aci "^Connection:"' x "$SERVER_LOG"
    [ "$output" = 0 ]
    for (( i = 0; i < 400; i++ )); do
        [ -s "$T/engine.out" ] && break
        sleep 0.05
    done
    cat "$T/engine.out"
    [[ "$(cat "$T/engine.out")" == "done 400 errors 0 sockets 0 "* ]]
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

@test "engine: a request left alone or given up on (NTLM, Upgrade, an invalid line) pipelined behind a GET - both responses reach the program as they came, no teardown" {
    [ -x "$GOBIN/script_client" ] || skip "cannot link statically (libc.a)"
    local kind mode second
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' >"$T/r1"
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nworld' >"$T/r2"
    cat "$T/r1" "$T/r2" >"$T/both"
    for kind in ntlm upgrade bad; do
        case $kind in
        ntlm) second='Authorization: NTLM TlRMTVNTUAABAAAA\r\n' ;;
        upgrade) second='Upgrade: websocket\r\nConnection: Upgrade\r\n' ;;
        bad) second='Bad Header: y\r\n' ;;
        esac
        printf "GET /b HTTP/1.1\r\nHost: x\r\n$second\r\n" >"$T/$kind.b"
        { printf 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n'; cat "$T/$kind.b"; } \
            >"$T/$kind.req"
        { printf 'GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
          cat "$T/$kind.b"; } >"$T/$kind.wire"
        for mode in native engine; do
            # both heads in one write; the server answers the second only
            # once the program has read the first (43 bytes as sent), so a
            # teardown after the first comes before the second arrives
            GATE=1 engine_script "$kind-$mode" "$mode" "$T/r1" "$T/r2" -- \
                "send:$T/$kind.req" read:43 "touch:$T/$kind-$mode.gate" \
                read:eof
            [ "$status" -eq 0 ]
            # both responses, neither rewritten (the give-up came first)
            cmp "$T/$kind-$mode.out" "$T/both"
            wait "$SERVER_PID"
        done
        cmp "$T/$kind-native.got" "$T/$kind.req"
        # the engine was there: the GET says close, the other is as written
        cmp "$T/$kind-engine.got" "$T/$kind.wire"
    done
}

@test "engine: after an ambiguous or invalid response (Content-Length with Transfer-Encoding, two lengths, an invalid line) the next request goes out unchanged" {
    [ -x "$GOBIN/script_client" ] || skip "cannot link statically (libc.a)"
    local kind mode
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' \
        >"$T/te"
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!' \
        >"$T/twocl"
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nBad Header: y\r\n\r\nhello' \
        >"$T/badline"
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nworld' >"$T/r2"
    printf 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/get1"
    printf 'GET /second HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/get2"
    cat "$T/get1" "$T/get2" >"$T/sent"
    { printf 'GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
      cat "$T/get2"; } >"$T/wire"
    for kind in te twocl badline; do
        cat "$T/$kind" "$T/r2" >"$T/$kind.both"
        for mode in native engine; do
            engine_script "$kind-$mode" "$mode" "$T/$kind" "$T/r2" -- \
                "send:$T/get1" "read:$(stat -c %s "$T/$kind")" \
                "send:$T/get2" read:eof
            [ "$status" -eq 0 ]
            cmp "$T/$kind-$mode.out" "$T/$kind.both"
            wait "$SERVER_PID"
        done
        cmp "$T/$kind-native.got" "$T/sent"
        # the first request says close (the engine was there); after the
        # response it gave up on, the second is the program's own
        cmp "$T/$kind-engine.got" "$T/wire"
    done
}

@test "engine: a peek after a partial read of a rewritten head shows the owed bytes and takes none" {
    [ -x "$GOBIN/script_client" ] || skip "cannot link statically (libc.a)"
    local mode n
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' >"$T/r1"
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello' \
        >"$T/r1.close"
    printf 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/get"
    for mode in native engine; do
        # 30 bytes: inside the head, so under the engine the rest of its
        # rewrite (57 bytes) is owed when the peek comes
        engine_script "$mode" "$mode" "$T/r1" -- "send:$T/get" readone:30 \
            peek:20 read:eof
        [ "$status" -eq 0 ]
        [[ "$output" == "readone 30"* ]]
        wait "$SERVER_PID"
        # the peek shows what the next read gives
        n=$(stat -c %s "$T/$mode.out.peek")
        [ "$n" -gt 0 ]
        cmp "$T/$mode.out.peek" <(tail -c +31 "$T/$mode.out" | head -c "$n")
    done
    [ "$n" -eq 20 ]
    cmp "$T/native.out" "$T/r1"
    # every byte once: the rewritten head (the engine was there), the body
    cmp "$T/engine.out" "$T/r1.close"
}

@test "engine: a request left alone while the response before it is still being read - no teardown after that response, the next one arrives" {
    [ -x "$GOBIN/script_client" ] || skip "cannot link statically (libc.a)"
    local mode first
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' >"$T/r1"
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello' \
        >"$T/r1.close"
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nworld' >"$T/r2"
    printf 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/get"
    printf 'GET /b HTTP/1.1\r\nHost: x\r\nAuthorization: NTLM TlRMTVNTUAABAAAA\r\n\r\n' \
        >"$T/ntlm"
    cat "$T/get" "$T/ntlm" >"$T/sent"
    { printf 'GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
      cat "$T/ntlm"; } >"$T/wire"
    cat "$T/r1" "$T/r2" >"$T/native.want"
    cat "$T/r1.close" "$T/r2" >"$T/engine.want"	# paired before the give-up
    for mode in native engine; do
        case $mode in
        native) first="$T/r1" ;;
        engine) first="$T/r1.close" ;;
        esac
        # the NTLM request goes while the first response is still being
        # read (20 bytes in); the server answers it only once the program
        # has read the first to its end, where the teardown would come
        GATE=1 engine_script "$mode" "$mode" "$T/r1" "$T/r2" -- \
            "send:$T/get" readone:20 "send:$T/ntlm" \
            "read:$(stat -c %s "$first")" \
            "touch:$T/$mode.gate" read:eof
        [ "$status" -eq 0 ]
        [ "$output" = "readone 20" ]
        cmp "$T/$mode.out" "$T/$mode.want"
        wait "$SERVER_PID"
    done
    cmp "$T/native.got" "$T/sent"
    cmp "$T/engine.got" "$T/wire"
}
