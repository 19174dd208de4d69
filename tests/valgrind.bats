#!/usr/bin/env bats
# memcheck over real clients under the shim: no invalid read or write, no
# use of uninitialised memory, and no definite leak whose stack passes
# through the library.  Runs are kept small: valgrind is ~20x slower.
# The library is FC_LIB itself, never the ASan build (tests/sanitize/asan.sh
# runs this file with the normal library).

load lib/common

B="$ROOT/build/tests"
# --error-exitcode=99: a memcheck error (definite leaks included, see
# memcheck below) is told apart from the client's own failure.
# --fullpath-after= prints frames of a -g build as /path/to/shim/FILE.c:N
# (without -g: "in .../libforceclose.so"), so the leak check sees both.
VG=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
    --show-leak-kinds=definite --num-callers=40 --fullpath-after=)

setup() {
    skip_unless_cmd valgrind
    need_programs reader
    # valgrind and the ASan runtime cannot share a process
    [ "$FC_PRELOAD" = "$FC_LIB" ] || skip "FC_PRELOAD is not FC_LIB alone (an ASan run)"
    [ -f "$FC_LIB" ] || { echo "missing $FC_LIB (run make)"; return 1; }
    T="$BATS_TEST_TMPDIR"
}

# memcheck NAME [--own-leaks] CMD...: CMD under valgrind with the library
# preloaded; the report goes to $T/NAME.vg.  Fails on a non-zero exit, any
# memcheck error, or a leak record whose stack mentions the library.
# --own-leaks: CMD does not free its own buffers at exit, so definite leaks
# are not errors; the record check below still catches the library's.
memcheck() {
    local log="$T/$1.vg" kinds=definite
    shift
    [ "$1" = --own-leaks ] && { kinds=none; shift; }
    run env LD_PRELOAD="$FC_LIB" timeout 600 "${VG[@]}" \
        --errors-for-leak-kinds="$kinds" --log-file="$log" "$@"
    echo "status $status"
    echo "$output" | tail -n 20
    grep -E 'ERROR SUMMARY|definitely lost|Invalid (read|write)' "$log" || true
    [ "$status" -eq 0 ]
    refute grep -qE 'Invalid (read|write|free)|uninitialised|Mismatched free' "$log"
    # every leak record (from "... are definitely lost" to the blank line
    # ending its stack) that mentions the library
    run awk '/are definitely lost in loss record/ { rec = $0; on = 1; next }
             on && /^==[0-9]+== *$/ { if (rec ~ /libforceclose|\/shim\/[a-z_]+\.[ch]:[0-9]/) print rec; on = 0; next }
             on { rec = rec "\n" $0 }' "$log"
    echo "$output"
    [ -z "$output" ]
}

@test "memcheck: curl, 20 requests on one keep-alive server, under the shim" {
    skip_unless_cmd curl
    start_server keepalive
    local i
    for ((i = 1; i <= 20; i++)); do
        echo "url = \"$SERVER_URL/vg/$i\""
        echo "output = /dev/null"
    done >"$T/urls.cfg"
    memcheck curl curl -sS -K "$T/urls.cfg"
    # the shim was active: every request asked for close
    run check_requests "$SERVER_LOG" --expect-close --count 20
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "memcheck: reader (recv(MSG_PEEK) before reads, readv), Content-Length and chunked" {
    start_server keepalive
    memcheck peek1 "$B/reader" --peek1 --sizes 0,1,4095,20000 --count 6 \
        --expect-close --after-checks "127.0.0.1:$SERVER_PORT"
    memcheck readv1 "$B/reader" --readv1 --kind chunked --sizes 0,1,4095 --count 4 \
        --expect-close --after-checks "127.0.0.1:$SERVER_PORT"
}

@test "memcheck: http_writer, requests byte by byte (writev) and pipelined (sendmsg)" {
    need_programs http_writer
    local reqs=(@get-ka @post-cl @post-chunked @lf-ka @http10-ka @proxy)
    start_server keepalive
    # ACTION=none: no teardown, so every response is read back (through the
    # shim's response side) and no request can be lost to a reset; the
    # teardown paths run under curl and reader above.  http_writer keeps its
    # request buffers to the end (tl_buf_add, main): --own-leaks.
    export FORCECLOSE_ACTION=none
    memcheck writev --own-leaks "$B/http_writer" --writev-bytes \
        "127.0.0.1:$SERVER_PORT" "${reqs[@]}"
    memcheck sendmsg --own-leaks "$B/http_writer" --pipelined --sendmsg --iov 7 \
        "127.0.0.1:$SERVER_PORT" "${reqs[@]}"
    # the shim was active: every request of both runs asked for close
    run check_requests "$SERVER_LOG" --expect-close --count 12
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "memcheck: threads that each make one request and exit leave no head buffer behind" {
    need_programs thread_requests
    start_server keepalive
    # each thread's rewritten head goes through the buffer a thread keeps
    # for its next head (conn_write.c), freed when the thread exits; the
    # program exits 1 unless every response came and ended the connection
    memcheck threads "$B/thread_requests" "127.0.0.1:$SERVER_PORT" 12
    # the library rewrote every head (so every thread had a head buffer)
    run check_requests "$SERVER_LOG" --expect-close --count 12
    echo "$output"
    [ "$status" -eq 0 ]
}
