#!/usr/bin/env bats
# The response side seen through every way a C program reads a socket
# (tests/c/reader.c): read() one byte at a time, readv() with 64 one-byte
# iovecs, a one-byte recv(MSG_PEEK) before every read, edge-triggered epoll
# on a non-blocking socket (read until EAGAIN, 4 KiB), recv(), 64 KiB
# read().  reader parses every response itself and checks every body byte
# against the server's pattern; built with -D_FORTIFY_SOURCE=2, its reads go
# to __read_chk / __recv_chk as well as read / recv / readv.
#
# Against the keep-alive recording server (never closes, ignores "close"):
#   - without the shim, every mode reuses ONE connection for all requests,
#     every body verified, and while reader is still running (--linger) the
#     server still holds that connection open and ESTABLISHED: the
#     measurement below sees a kept connection when there is one;
#   - under the shim, every final response says "Connection: close" (and
#     equals the baseline head otherwise: tests/lib/resp_check.py), every body
#     is verified, the read after each response returns 0, write() then fails
#     with EPIPE without SIGPIPE (SIGPIPE is at its default: it would kill
#     reader), read() returns 0 again, close() returns 0; and while reader
#     still runs, the server has no open connection and ss shows nothing
#     ESTABLISHED on the port.
# tests/c/reader_server.c sends heads (and chunk framing) a few bytes per
# segment, so the shim meets partial heads in every read mode.
# FORCECLOSE_ACTION=close: a program that never closes its sockets keeps a
# bounded number open under the shim (CLOSE_BOUND; >= 250 of 300 without
# it), and one that closes its finished connections late still works.

load lib/common
load lib/resp

B="$ROOT/build/tests"
R="$B/reader"
SIZES=0,1,4095,70000,1048576
N=10

# ACTION=close may defer its close() by a window of later teardowns
# (CONN_CLOSE_WINDOW in shim/conn.h, if defined), so that a program closing
# its descriptor a little late never closes a reused number.  A program
# that never closes then holds at most the window plus the socket in use;
# without a window, at most 3.
CLOSE_WINDOW=$(sed -n 's/^#define CONN_CLOSE_WINDOW[[:space:]]*\([0-9]*\).*/\1/p' \
    "$ROOT/shim/conn.h" 2>/dev/null)
CLOSE_WINDOW=${CLOSE_WINDOW:-0}
# a fast program (300 requests in well under a second) reaches the queue's
# bound (CONN_CLOSE_QUEUE): closes also wait for a second to pass
CLOSE_QUEUE=$(sed -n 's/^#define CONN_CLOSE_QUEUE[[:space:]]*\([0-9]*\).*/\1/p' \
    "$ROOT/shim/conn.h")
CLOSE_QUEUE=${CLOSE_QUEUE:-$CLOSE_WINDOW}
CLOSE_BOUND=$(( CLOSE_QUEUE + 1 > 3 ? CLOSE_QUEUE + 1 : 3 ))

setup() {
    need_programs reader reader_server || return 1
    command -v ss >/dev/null || { echo "ss (iproute2) is required" >&2; return 1; }
}

teardown() {
    stop_pids "$BATS_TEST_TMPDIR/reader.pids"
    stop_servers
}

# bg_reader NAME [VAR=VALUE...] -- READER_ARGS...: start reader in the
# background with --linger (under the shim when any VAR=VALUE is given, or
# with the single word "shim"); output in $T/NAME.out, PID in RPID.
bg_reader() {
    local name="$1" envs=() shim=0
    shift
    while [ "$1" != "--" ]; do
        [ "$1" = shim ] || envs+=("$1")
        shim=1
        shift
    done
    shift
    if [ "$shim" = 1 ]; then
        envs+=("LD_PRELOAD=$FC_PRELOAD${LD_PRELOAD:+:$LD_PRELOAD}")
    fi
    # env execs reader: RPID is reader itself (a SIGUSR1 reaches it).
    # 3>&- : bats waits for fd 3 to close.
    env "${envs[@]}" "$R" --timeout "$FC_TIMEOUT" --linger 60 "$@" \
        >"$BATS_TEST_TMPDIR/$name.out" 2>&1 3>&- &
    RPID=$!
    echo "$RPID" >>"$BATS_TEST_TMPDIR/reader.pids"
}

# wait_summary NAME: bounded wait for reader's summary line (it then lingers)
wait_summary() {
    local f="$BATS_TEST_TMPDIR/$1.out" i
    for (( i = 0; i < 1200; i++ )); do
        grep -q '^summary ' "$f" 2>/dev/null && return 0
        kill -0 "$RPID" 2>/dev/null || break
        sleep 0.05
    done
    grep -q '^summary ' "$f" 2>/dev/null && return 0
    echo "reader $1 produced no summary:"
    tail -20 "$f"
    return 1
}

# finish_reader NAME: end the linger (SIGUSR1), collect the exit status;
# reader must exit 0.  Leaves the output in $output.
finish_reader() {
    local st=0
    kill -USR1 "$RPID"
    wait "$RPID" || st=$?
    sed -i "/^$RPID\$/d" "$BATS_TEST_TMPDIR/reader.pids"
    output="$(cat "$BATS_TEST_TMPDIR/$1.out")"
    echo "reader $1: status $st"
    grep -E '^(summary|ERROR|probe|interim|linger)' <<<"$output" | head -40
    [ "$st" -eq 0 ]
}

# field KEY: KEY's value on the summary line in $output
field() {
    sed -n 's/^summary .*\<'"$1"'=\([^ ]*\).*/\1/p' <<<"$output"
}

# expect KEY=VALUE...: summary fields
expect() {
    local kv ok=0
    for kv in "$@"; do
        if [ "$(field "${kv%%=*}")" != "${kv#*=}" ]; then
            echo "summary: expected ${kv}, got ${kv%%=*}=$(field "${kv%%=*}")"
            ok=1
        fi
    done
    return $ok
}

# established PORT: ESTABLISHED TCP sockets on either end of PORT
established() {
    ss -Htn state established "( sport = :$1 or dport = :$1 )" | wc -l
}

# wait_established PORT N: bounded wait until exactly N ESTABLISHED sockets
# (both ends counted) use PORT
wait_established() {
    local i n
    for (( i = 0; i < 200; i++ )); do
        n=$(established "$1")
        [ "$n" -eq "$2" ] && return 0
        sleep 0.05
    done
    echo "expected $2 ESTABLISHED sockets on port $1, found $n:"
    ss -tn "( sport = :$1 or dport = :$1 )" | head -20
    return 1
}

# alive: reader is still running (lingering), so what was checked happened
# while it lived, not at its exit
alive() {
    kill -0 "$RPID" 2>/dev/null || { echo "reader exited before the check"; return 1; }
}

# baseline_run MODE KIND SIZES N: no shim, one connection reused for all N
# requests, every body verified; while reader lingers the server holds the
# connection open (stats) and ss sees it ESTABLISHED at both ends.
baseline_run() {
    local mode="$1" kind="$2" sizes="$3" n="$4"
    set_phase base
    bg_reader base -- "--$mode" --kind "$kind" --sizes "$sizes" --count "$n" \
        --expect-reuse --heads "$BATS_TEST_TMPDIR/base.heads" "127.0.0.1:$SERVER_PORT"
    wait_summary base
    stat_wait "$SERVER_LOG/base" "open == 1 and connections == 1 and requests == $n"
    wait_established "$SERVER_PORT" 2
    alive
    finish_reader base
    expect requests_ok="$n" bodies_verified="$n" connections=1 reused=$((n - 1)) \
        close_responses=0 open_sockets=1 errors=0
    # reader's exit closed it: the server sees the end
    stat_wait "$SERVER_LOG/base" "open == 0"
    wait_established "$SERVER_PORT" 0
}

# shim_run ACTION MODE KIND SIZES N: under the shim, one connection per
# request, every response says close and is followed by EOF, write EPIPE,
# read 0, close 0 (shutdown: and the descriptor was still open before the
# program closed it); while reader lingers, every server connection has
# ended (by the client) and nothing is ESTABLISHED.
shim_run() {
    local action="$1" mode="$2" kind="$3" sizes="$4" n="$5" fdcheck=()
    [ "$action" = shutdown ] && fdcheck=(--fd-alive)
    set_phase "shim-$action"
    bg_reader "shim-$action" FORCECLOSE_ACTION="$action" -- "--$mode" --kind "$kind" \
        --sizes "$sizes" --count "$n" --expect-close --after-checks "${fdcheck[@]}" \
        --heads "$BATS_TEST_TMPDIR/shim-$action.heads" "127.0.0.1:$SERVER_PORT"
    wait_summary "shim-$action"
    stat_wait "$SERVER_LOG/shim-$action" "open == 0 and connections == $n and requests == $n \
and all(c['end'] == 'eof' and c['requests'] == 1 for c in conns.values())"
    wait_established "$SERVER_PORT" 0
    alive
    finish_reader "shim-$action"
    expect requests_ok="$n" bodies_verified="$n" connections="$n" reused=0 \
        close_responses="$n" eof_after_teardown="$n" after_checks_ok="$n" \
        open_sockets=0 errors=0
    run resp_check "$BATS_TEST_TMPDIR/base.heads" "$BATS_TEST_TMPDIR/shim-$action.heads" --final-close
    echo "$output"
    [ "$status" -eq 0 ]
    run check_requests "$SERVER_LOG/shim-$action" --expect-close --count "$n"
    echo "$output"
    [ "$status" -eq 0 ]
}

# mode_case MODE KIND [SIZES [N]]: baseline, then the default action
mode_case() {
    local sizes="${3:-$SIZES}" n="${4:-$N}"
    start_server keepalive
    baseline_run "$1" "$2" "$sizes" "$n"
    shim_run shutdown "$1" "$2" "$sizes" "$n"
}

@test "fortify: reader is built with -D_FORTIFY_SOURCE=2 and calls __read_chk and __recv_chk" {
    run nm -D "$R"
    echo "$output" | grep -E 'read|recv'
    grep -q ' U __read_chk@' <<<"$output"
    grep -q ' U __recv_chk@' <<<"$output"
    # and the plain entry points too (epoll-et, peek1's MSG_PEEK, readv1)
    grep -q ' U read@' <<<"$output"
    grep -q ' U recv@' <<<"$output"
    grep -q ' U readv@' <<<"$output"
    # the shim exports the fortified names, else they would bypass it
    run nm -D --defined-only "$FC_LIB"
    grep -q ' __read_chk' <<<"$output"
    grep -q ' __recv_chk' <<<"$output"
}

@test "bytewise read(): Content-Length bodies 0..1 MiB, baseline reuses, shim closes each" { mode_case bytewise plain; }
@test "readv() with 64 one-byte iovecs: Content-Length bodies 0..1 MiB" { mode_case readv1 plain; }
@test "recv(MSG_PEEK) of one byte before every read: Content-Length bodies 0..1 MiB" { mode_case peek1 plain; }
@test "edge-triggered epoll, non-blocking, 4 KiB reads until EAGAIN: Content-Length bodies 0..1 MiB" { mode_case epoll-et plain; }
@test "recv() 16 KiB: Content-Length bodies 0..1 MiB" { mode_case recv plain; }
@test "read() 64 KiB: Content-Length bodies 0..1 MiB" { mode_case big plain; }

@test "bytewise read(): chunked bodies (extensions, trailers) 0..1 MiB" { mode_case bytewise chunked; }
@test "readv() 64 one-byte iovecs: chunked bodies 0..1 MiB" { mode_case readv1 chunked; }
@test "recv(MSG_PEEK) before every read: chunked bodies 0..1 MiB" { mode_case peek1 chunked; }
@test "edge-triggered epoll: chunked bodies 0..1 MiB" { mode_case epoll-et chunked; }
@test "recv() 16 KiB: chunked bodies 0..1 MiB" { mode_case recv chunked; }
@test "read() 64 KiB: chunked bodies 0..1 MiB" { mode_case big chunked; }

# the server's own "Connection: keep-alive" + Keep-Alive, and 103 interim
# heads in front of the final one (left untouched)
@test "every mode: server says Connection: keep-alive / Keep-Alive" {
    local m
    for m in bytewise readv1 peek1 epoll-et recv big; do
        echo "--- $m"
        stop_servers
        mode_case "$m" ka 0,1,4095,70000 5
    done
}

@test "every mode: two 103 Early Hints before each final response" {
    local m
    for m in bytewise readv1 peek1 epoll-et recv big; do
        echo "--- $m"
        stop_servers
        mode_case "$m" hints 0,1,4095,70000 5
        # two 103 heads per response, seen by the program under the shim
        [ "$(grep -c '^interim .*status=103' "$BATS_TEST_TMPDIR/shim-shutdown.out")" -eq 10 ]
    done
}

# FORCECLOSE_ACTION=close: the shim closes the descriptor itself
close_case() {
    local mode="$1"
    start_server keepalive
    baseline_run "$mode" plain "$SIZES" "$N"
    shim_run close "$mode" plain "$SIZES" "$N"

    # a program that never closes: 300 requests, each on a new socket (a
    # fresh server: its stats file grows with every connection it has seen)
    stop_servers
    start_server keepalive
    set_phase never-base
    bg_reader never-base -- "--$mode" --never-close --count 300 --sizes 0,1,4095 \
        --min-sockets 250 "127.0.0.1:$SERVER_PORT"
    wait_summary never-base
    stat_wait "$SERVER_LOG/never-base" "open == 300 and connections == 300"
    alive
    finish_reader never-base
    expect requests_ok=300 bodies_verified=300 connections=300 open_sockets=300 errors=0
    stat_wait "$SERVER_LOG/never-base" "open == 0"

    set_phase never-shim
    bg_reader never-shim FORCECLOSE_ACTION=close -- "--$mode" --never-close --count 300 \
        --sizes 0,1,4095 --expect-close --after-checks --max-sockets "$CLOSE_BOUND" \
        "127.0.0.1:$SERVER_PORT"
    wait_summary never-shim
    stat_wait "$SERVER_LOG/never-shim" "open == 0 and connections == 300 and requests == 300 \
and all(c['end'] == 'eof' for c in conns.values())"
    wait_established "$SERVER_PORT" 0
    alive
    finish_reader never-shim
    expect requests_ok=300 bodies_verified=300 connections=300 close_responses=300 \
        eof_after_teardown=300 after_checks_ok=300 errors=0
    echo "sockets: open_sockets=$(field open_sockets) max_open_sockets=$(field max_open_sockets) bound=$CLOSE_BOUND"
    [ "$(field open_sockets)" -le "$CLOSE_BOUND" ]
    [ "$(field max_open_sockets)" -le "$CLOSE_BOUND" ]
}

@test "ACTION=close, bytewise read(): write EPIPE / read 0 / close 0; never-closing program keeps few sockets" { close_case bytewise; }
@test "ACTION=close, readv() 1-byte iovecs: after-teardown calls; never-closing program bounded" { close_case readv1; }
@test "ACTION=close, recv(MSG_PEEK) before reads: after-teardown calls; never-closing program bounded" { close_case peek1; }
@test "ACTION=close, edge-triggered epoll: after-teardown calls; never-closing program bounded" { close_case epoll-et; }
@test "ACTION=close, recv(): after-teardown calls; never-closing program bounded" { close_case recv; }
@test "ACTION=close, read() 64 KiB: after-teardown calls; never-closing program bounded" { close_case big; }

# a client that closes a finished connection only after opening the next
# one(s): a pool that connects the replacement first, or closes in batches
@test "late close (after 1 and after CLOSE_WINDOW new connections): every mode and action keeps working" {
    local m a lag lags=1 extra
    [ "$CLOSE_WINDOW" -gt 1 ] && lags="1 $CLOSE_WINDOW"
    start_server keepalive
    for m in bytewise readv1 peek1 epoll-et recv big; do
        for lag in $lags; do
            for a in shutdown close; do
                set_phase "lag-$m-$lag-$a"
                run env FORCECLOSE_ACTION="$a" LD_PRELOAD="$FC_PRELOAD" timeout "$FC_TIMEOUT" "$R" \
                    "--$m" --sizes 0,1,4095,70000 --count 20 --close-lag "$lag" \
                    --expect-close --after-checks "127.0.0.1:$SERVER_PORT"
                echo "$m lag $lag ACTION=$a: status $status"
                grep -E '^(reuse|summary|ERROR)' <<<"$output" | head -5
                [ "$status" -eq 0 ]
                # the program never found a new connection under an old number
                refute grep -q '^reuse ' <<<"$output"
                expect requests_ok=20 bodies_verified=20 connections=20 eof_after_teardown=20 \
                    after_checks_ok=20 open_sockets=0 errors=0
                stat_wait "$SERVER_LOG/lag-$m-$lag-$a" "open == 0 and connections == 20"
            done
        done
    done
}

@test "ACTION=shutdown, never-closing program: descriptors stay the program's, connections end anyway" {
    local m
    for m in bytewise readv1 peek1 epoll-et recv big; do
        echo "--- $m"
        stop_servers
        start_server keepalive
        set_phase "never-$m"
        bg_reader "never-$m" FORCECLOSE_ACTION=shutdown -- "--$m" --never-close --count 300 \
            --sizes 0,1,4095 --expect-close --after-checks --fd-alive --min-sockets 300 \
            "127.0.0.1:$SERVER_PORT"
        wait_summary "never-$m"
        # 300 descriptors held by reader, not one connection left open
        stat_wait "$SERVER_LOG/never-$m" "open == 0 and connections == 300 and requests == 300"
        wait_established "$SERVER_PORT" 0
        alive
        finish_reader "never-$m"
        expect requests_ok=300 bodies_verified=300 eof_after_teardown=300 after_checks_ok=300 \
            open_sockets=300 errors=0
    done
}

@test "ACTION=none, client that ignores close: every mode keeps one connection, heads rewritten, all bodies right" {
    local m k
    start_server keepalive
    for k in plain chunked; do
        for m in bytewise readv1 peek1 epoll-et recv big; do
            echo "--- $m $k"
            set_phase "none-$m-$k"
            bg_reader "none-$m-$k" FORCECLOSE_ACTION=none -- "--$m" --kind "$k" \
                --sizes "$SIZES" --count "$N" --ignore-close --expect-close --expect-reuse \
                "127.0.0.1:$SERVER_PORT"
            wait_summary "none-$m-$k"
            # nothing tore the connection down
            stat_wait "$SERVER_LOG/none-$m-$k" "open == 1 and connections == 1 and requests == $N"
            alive
            finish_reader "none-$m-$k"
            expect requests_ok="$N" bodies_verified="$N" connections=1 close_responses="$N" \
                eof_after_teardown=0 errors=0
            stat_wait "$SERVER_LOG/none-$m-$k" "open == 0"
        done
    done
}

@test "ACTION=none, client that believes close: closes by itself, nothing to tear down" {
    local m
    start_server keepalive
    for m in bytewise readv1 peek1 epoll-et recv big; do
        set_phase "none-$m"
        run env FORCECLOSE_ACTION=none LD_PRELOAD="$FC_PRELOAD" timeout "$FC_TIMEOUT" "$R" "--$m" \
            --sizes 0,1,4095,70000 --count 8 --expect-close --no-eof-check "127.0.0.1:$SERVER_PORT"
        echo "$m: status $status"
        grep -E '^(summary|ERROR)' <<<"$output"
        [ "$status" -eq 0 ]
        expect requests_ok=8 bodies_verified=8 connections=8 close_responses=8 errors=0
        stat_wait "$SERVER_LOG/none-$m" "open == 0 and connections == 8"
    done
}

# --- responses cut into small segments (tests/c/reader_server.c) ---------

# start_dribble HEAD_PIECE BODY_PIECE [more reader_server args]
start_dribble() {
    local d="$BATS_TEST_TMPDIR/dribble" i
    mkdir -p "$d"
    rm -f "$d/port" "$d/log"
    "$B/reader_server" --port-file "$d/port" --log "$d/log" --head-piece "$1" \
        --body-piece "$2" --pause-us 200 --timeout 300 "${@:3}" >"$d/out" 2>&1 3>&- &
    echo "$!" >>"$BATS_TEST_TMPDIR/server.pids"
    DPID=$!
    for (( i = 0; i < 100; i++ )); do
        [ -s "$d/port" ] && break
        sleep 0.05
    done
    DPORT="$(cat "$d/port")"
    DLOG="$d/log"
}

# wait_ends N: the dribble server has seen N connections ended by the client
# (EOF) and no error
wait_ends() {
    local i c=0
    for (( i = 0; i < 200; i++ )); do
        c=$(grep -c ' eof requests=' "$DLOG" || true)
        [ "$c" -ge "$1" ] && break
        sleep 0.05
    done
    if [ "$c" -ne "$1" ] || grep -q ' error' "$DLOG"; then
        echo "dribble server: $c connections ended, $1 expected"
        tail -20 "$DLOG"
        return 1
    fi
}

# dribble_case KIND HEAD_PIECE BODY_PIECE [SIZES]: every mode without the
# shim (one connection reused), then under each action
dribble_case() {
    local kind="$1" hp="$2" bp="$3" sizes="${4:-0,1,100,5000}" m a ends=0 extra n=8
    start_dribble "$hp" "$bp"
    for m in bytewise readv1 peek1 epoll-et recv big; do
        echo "--- $m baseline"
        run timeout "$FC_TIMEOUT" "$R" "--$m" --kind "$kind" --sizes "$sizes" --count "$n" \
            --expect-reuse "127.0.0.1:$DPORT"
        grep -E '^(summary|ERROR)' <<<"$output"
        [ "$status" -eq 0 ]
        ends=$((ends + 1))
        wait_ends "$ends"
        for a in shutdown close none; do
            echo "--- $m ACTION=$a"
            extra=(--expect-close --after-checks)
            [ "$a" = none ] && extra=(--expect-close --ignore-close --expect-reuse)
            run env FORCECLOSE_ACTION="$a" LD_PRELOAD="$FC_PRELOAD" timeout "$FC_TIMEOUT" "$R" \
                "--$m" --kind "$kind" --sizes "$sizes" --count "$n" "${extra[@]}" \
                "127.0.0.1:$DPORT"
            grep -E '^(summary|ERROR)' <<<"$output"
            [ "$status" -eq 0 ]
            expect requests_ok="$n" bodies_verified="$n" close_responses="$n" errors=0
            if [ "$a" = none ]; then
                ends=$((ends + 1))
            else
                expect eof_after_teardown="$n" after_checks_ok="$n"
                ends=$((ends + n))
            fi
            wait_ends "$ends"
        done
    done
}

@test "heads sent one byte per segment: every mode and action" { dribble_case plain 1 0; }
@test "heads 3 bytes per segment, chunked framing one byte per segment: every mode and action" { dribble_case chunked 3 1 0,1,120,300; }
@test "103 interim heads and the final head one byte per segment: every mode and action" { dribble_case hints 1 0; }
@test "Connection: keep-alive head 2 bytes per segment, body 7: every mode and action" { dribble_case ka 2 7; }

# readv() may be given empty iovecs; the kernel skips them.  Here the first
# 64 are empty and the 65th is the buffer.
@test "readv() with 64 empty iovecs before the buffer: bodies arrive as without the shim" {
    local k a extra
    start_server keepalive
    for k in plain chunked; do
        set_phase "sparse-base-$k"
        run timeout "$FC_TIMEOUT" "$R" --readv-sparse --kind "$k" --sizes 0,1,4095,70000 --count 8 \
            --expect-reuse "127.0.0.1:$SERVER_PORT"
        echo "$k baseline: status $status"
        grep -E '^(summary|ERROR)' <<<"$output" | head -5
        [ "$status" -eq 0 ]
        for a in shutdown none; do
            extra=(--expect-close --after-checks)
            [ "$a" = none ] && extra=(--expect-close --ignore-close --expect-reuse)
            set_phase "sparse-$a-$k"
            run env FORCECLOSE_ACTION="$a" LD_PRELOAD="$FC_PRELOAD" timeout "$FC_TIMEOUT" "$R" \
                --readv-sparse --kind "$k" --sizes 0,1,4095,70000 --count 8 "${extra[@]}" \
                "127.0.0.1:$SERVER_PORT"
            echo "$k ACTION=$a: status $status"
            grep -E '^(summary|ERROR)' <<<"$output" | head -5
            [ "$status" -eq 0 ]
            expect requests_ok=8 bodies_verified=8 errors=0
        done
    done
}

# --- the checks themselves bite -----------------------------------------

@test "self-check: a corrupted body byte is reported in every mode" {
    local m
    start_dribble 64 0 --corrupt 4000
    for m in bytewise readv1 peek1 epoll-et recv big; do
        run timeout "$FC_TIMEOUT" "$R" "--$m" --sizes 4095 --count 1 "127.0.0.1:$DPORT"
        echo "$m: status $status"; echo "$output"
        [ "$status" -eq 1 ]
        grep -q 'body differs from the pattern at offset 4000' <<<"$output"
    done
}

@test "self-check: a missing teardown (ACTION=none) is reported, not waited out" {
    local m
    start_server keepalive
    for m in bytewise readv1 peek1 epoll-et recv big; do
        run env FORCECLOSE_ACTION=none LD_PRELOAD="$FC_PRELOAD" timeout "$FC_TIMEOUT" "$R" "--$m" \
            --sizes 10 --count 1 --expect-close --guard 1 "127.0.0.1:$SERVER_PORT"
        echo "$m: status $status"; echo "$output"
        [ "$status" -eq 1 ]
        grep -q 'the connection was not torn down' <<<"$output"
        expect eof_after_teardown=0
    done
}

@test "teardown inside the read that delivers the last byte, every reader style: the kernel's TCP state right after that read" {
    # reader --torn-in-read: getsockopt(TCP_INFO), which the library does
    # not hook, right after the read that completed each response and
    # before any other call on the socket, must show the client's shutdown
    # (FIN_WAIT1 and later), not ESTABLISHED: a teardown left for the
    # program's next call fails here
    start_server keepalive
    local m k bad=()
    for m in bytewise readv1 peek1 epoll-et recv big readv-sparse recvmsg; do
        for k in plain chunked hints; do
            set_phase "torn-$m-$k"
            run shim_env FORCECLOSE_ACTION=shutdown "$R" "--$m" --kind "$k" --sizes 0,1,4095,70000 \
                --count 4 --expect-close --torn-in-read "127.0.0.1:$SERVER_PORT"
            echo "$m $k: status $status"
            grep -E '^(torn_in_read|summary|ERROR)' <<<"$output" | head -5
            if [ "$status" -ne 0 ] || ! grep -qx 'torn_in_read=4 of 4' <<<"$output"; then
                bad+=("$m/$k")
            fi
        done
    done
    echo "failed: ${bad[*]}"
    [ "${#bad[@]}" -eq 0 ]
}
