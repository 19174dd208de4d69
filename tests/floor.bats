#!/usr/bin/env bats
# Issue 16: the request path at the floor.  A socket made by the library's
# socket() is connected, written, read and torn down with one system call
# of the library's own (the teardown's shutdown): its type is on record
# from socket(), the process id is in memory, and its number is vouched
# for by the calls the library sees (docs/internals.md, "What a descriptor
# number is").  These tests cover every place where a check with the
# kernel still runs or where the record must be dropped, and count the
# system calls (tests/c/floor.c runs its own loopback peers).  The
# "reuse:" tests close a tracked socket's number and make it again with
# inline system calls the library cannot see (tests/c/floor_reuse.c).

load lib/common
load lib/syscalls

B="$ROOT/build/tests"

setup() {
    need_programs floor
}

# floor_case SCENARIO EXPECT_UNDER_LIBRARY: the run without the library
# must see every byte exact (so the program is right), the run under it
# must see EXPECT; both print lib=0/1 and it must say which run it was.
floor_case() {
    local sc="$1" want="$2"
    run timeout "$FC_TIMEOUT" "$B/floor" "$sc" exact
    echo "without: status $status"; echo "$output"
    [ "$status" -ne 77 ] || skip "precondition did not hold: $output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "lib=0" ]
    run with_shim timeout "$FC_TIMEOUT" "$B/floor" "$sc" "$want"
    echo "with: status $status"; echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "lib=1" ]
}

x86_64_only() {
    [ "$(uname -m)" = x86_64 ] || skip "inline system calls are written for x86-64"
}

@test "control: a socket made under the library is rewritten and torn down" {
    floor_case made-tcp rewritten
}

@test "a clone(CLONE_VM) child closes the socket and opens a file on its number: the parent's connection is still rewritten" {
    floor_case clone-vm rewritten
}

@test "inherited: a stream socket made before the library was loaded (across exec) is checked, then rewritten" {
    # the parent runs without the library and execs itself with it
    run env FLOOR_BASE=1 FLOOR_PRELOAD="$FC_PRELOAD" timeout "$FC_TIMEOUT" "$B/floor" inherited-tcp exact
    echo "without: status $status"; echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[1]}" = "lib=0" ]
    run env FLOOR_PRELOAD="$FC_PRELOAD" timeout "$FC_TIMEOUT" "$B/floor" inherited-tcp rewritten
    echo "with: status $status"; echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "lib=0" ]
    [ "${lines[1]}" = "lib=1" ]
}

@test "inherited: a datagram socket made before the library was loaded is never rewritten" {
    run env FLOOR_BASE=1 FLOOR_PRELOAD="$FC_PRELOAD" timeout "$FC_TIMEOUT" "$B/floor" inherited-udp exact
    echo "without: status $status"; echo "$output"
    [ "$status" -eq 0 ]
    run env FLOOR_PRELOAD="$FC_PRELOAD" timeout "$FC_TIMEOUT" "$B/floor" inherited-udp exact
    echo "with: status $status"; echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[1]}" = "lib=1" ]
}

@test "raw syscall(SYS_socket) stream socket connected with libc: checked, then rewritten" {
    floor_case raw-tcp rewritten
}

@test "socket() closed with close(), number reused by an inline socket() for datagrams: never rewritten" {
    x86_64_only
    floor_case close-udp exact
}

@test "socket() closed with syscall(SYS_close), number reused by an inline socket() for datagrams: never rewritten" {
    x86_64_only
    floor_case raw-close-udp exact
}

@test "socket() closed by an inline system call, number reused by syscall(SYS_socket) datagram socket: never rewritten" {
    x86_64_only
    floor_case asm-close-udp exact
}

@test "fdopen()/fclose() of a tracked socket, number reused by tmpfile(): file bytes exact" {
    floor_case fclose-file exact
}

@test "fdopen()/fclose() of a tracked socket, number reused by an inline socket() for datagrams: never rewritten" {
    x86_64_only
    floor_case fclose-udp exact
}

# reuse_case SCENARIO: tests/c/floor_reuse.c, where the number of a socket
# made by the library's socket() is closed and made again by inline
# system calls (unseen), then used through libc.  The program's calls
# must return, and the new file, pipe or peer must hold, exactly what
# they do without the library.
reuse_case() {
    x86_64_only
    need_programs floor_reuse
    run timeout "$FC_TIMEOUT" "$B/floor_reuse" "$1"
    echo "without: status $status"; echo "$output"
    [ "$status" -ne 77 ] || skip "precondition did not hold: $output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "lib=0" ]
    run with_shim env FORCECLOSE_VERBOSE=3 timeout "$FC_TIMEOUT" "$B/floor_reuse" "$1"
    echo "with: status $status"; echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "lib=1" ]
    # the library did follow the connection, and let the number go
    grep -F 'tracking connection' <<<"$output"
    grep -F 'pass-through from now on (moved)' <<<"$output"
}

@test "reuse: inline close, inline openat of a file at the number, then write() and read(): the file's bytes, no ENOTSOCK" {
    reuse_case file-write
}

@test "reuse: request sent, inline close, inline openat of a file holding a response: read() returns the file's bytes unchanged" {
    reuse_case file-read
}

@test "reuse: request sent, inline close, inline pipe2() whose read end takes the number: read() returns the pipe's bytes" {
    reuse_case pipe-read
}

@test "reuse: half a head written, inline close, inline connected datagram socket: the other half goes out as written" {
    reuse_case dgram-head
}

@test "reuse: request sent, inline close, inline connected datagram socket holding a response: recv(MSG_PEEK) and read() return the datagram exactly" {
    reuse_case peek-dgram
}

@test "reuse: torn down, inline close, inline openat of a file: write() and read() act on the file (no EPIPE)" {
    reuse_case down-file
    grep -F 'connection shut down' <<<"$output"
}

@test "reuse: Unix stream socket torn down, inline close, inline openat of a file: write() and read() act on the file" {
    reuse_case unix-down-file
    grep -F 'connection shut down' <<<"$output"
}

@test "reuse: torn down, inline close, inline openat of a file holding a response: read() returns it (not 0)" {
    reuse_case down-read
    grep -F 'connection shut down' <<<"$output"
}

@test "reuse: torn down, inline close, inline connected datagram socket: write() sends exactly the program's bytes" {
    reuse_case down-dgram
    grep -F 'connection shut down' <<<"$output"
}

@test "reuse: torn down, inline close, inline stream socket connected to another listener: write() and read() carry the program's bytes unchanged" {
    reuse_case down-stream
    grep -F 'connection shut down' <<<"$output"
}

# peer_case ADDR: requests written one call each before any response is
# read (the default action, so the socket stays a library-made one with no
# inode on record).  Every head after the first is checked against the
# address connect() was given (conn_verify_socket, compact in struct conn):
# a family whose address the check did not recognise would send those
# heads unrewritten.
peer_case() {
    local n=4
    run with_shim timeout "$FC_TIMEOUT" "$ROOT/build/tests/http_writer" \
        --whole --no-read --wait-eof "$1" @get-ka @get-te-ka @post-cl @get
    echo "$output"
    [ "$status" -eq 0 ]
    run python3 "$CHECK" "$SERVER_LOG" --expect-close --count "$n"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "identity at later heads: IPv4, IPv6 and Unix peers are each recognised as the socket connect() connected" {
    need_programs http_writer
    start_server keepalive
    peer_case "127.0.0.1:$SERVER_PORT"
    if start_server keepalive ::1; then
        peer_case "[::1]:$SERVER_PORT"
    else
        echo "no ::1 here: IPv6 not tried"
    fi
    local sock="$BATS_TEST_TMPDIR/p.sock"
    (( ${#sock} > 100 )) && sock="$(mktemp -d /tmp/fc.XXXXXX)/p.sock"
    start_server keepalive "unix:$sock"
    peer_case "unix:$sock"
}

# split_case ADDR: a head written in two pieces (the second write completes
# it, and its check asks the kernel) to a peer the kernel names otherwise
# than connect() was told.  Such a socket's identity is its inode (taken at
# connect); checked by the peer's name, the first piece, already reported
# written, was lost with a check that failed (found by review, 2026-12-04).
split_case() {
    set_phase base
    run timeout "$FC_TIMEOUT" "$ROOT/build/tests/http_writer" --split 20 "$1" @get
    echo "without: $output"
    [ "$status" -eq 0 ]
    set_phase shim
    run with_shim timeout "$FC_TIMEOUT" "$ROOT/build/tests/http_writer" \
        --split 20 "$1" @get
    echo "with: $output"
    [ "$status" -eq 0 ]
    run python3 "$CHECK" "$SERVER_LOG/shim" --expect-close \
        --same-as "$SERVER_LOG/base" --count 1
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "identity at a later head: a head in two writes to 0.0.0.0 arrives whole and rewritten" {
    need_programs http_writer
    start_server keepalive
    split_case "0.0.0.0:$SERVER_PORT"
}

@test "identity at a later head: a head in two writes to a Unix socket through a symlinked directory arrives whole and rewritten" {
    need_programs http_writer
    local d="$BATS_TEST_TMPDIR/u"
    (( ${#d} > 90 )) && d="$(mktemp -d /tmp/fc.XXXXXX)"
    mkdir -p "$d/real"
    ln -s real "$d/link"
    start_server keepalive "unix:$d/real/p.sock"
    split_case "unix:$d/link/p.sock"
}

@test "system calls per exchange, a socket made under the library: exactly one more than without (the shutdown)" {
    command -v strace >/dev/null || skip "strace not installed"
    cc -O2 -o "$BATS_TEST_TMPDIR/bench_server" "$ROOT/tests/bench/bench_server.c"
    "$BATS_TEST_TMPDIR/bench_server" "$BATS_TEST_TMPDIR/port" 3>&- &
    echo $! >>"$BATS_TEST_TMPDIR/server.pids"
    local i t="$BATS_TEST_TMPDIR"
    # 10 s: the server binds port 0 at once; a loaded 2-core host is slow
    for (( i = 0; i < 100; i++ )); do
        [ -s "$t/port" ] && break
        sleep 0.1
    done
    [ -s "$t/port" ]
    PORT=$(head -1 "$t/port")
    # the differences of runs of 200 and 100 exchanges leave start-up and
    # exit out; (b) minus (a) is what the library adds per exchange
    strace_counts "" "$B/floor" exchanges "$PORT" 100 >"$t/a1"
    strace_counts "" "$B/floor" exchanges "$PORT" 200 >"$t/a2"
    strace_counts "$FC_PRELOAD" "$B/floor" exchanges "$PORT" 100 >"$t/b1"
    strace_counts "$FC_PRELOAD" "$B/floor" exchanges "$PORT" 200 >"$t/b2"
    run per_exchange "$t"/{a1,a2,b1,b2}
    echo "$output"
    [ "$status" -eq 0 ]
    # the client's own calls happened in both runs (it made 100 more
    # connections in the longer run)
    grep -E '^connect +without  1\.00  with  1\.00' <<<"$output"
    grep -E '^read +without  1\.00  with  1\.00' <<<"$output"
    [ "${lines[-1]}" = "total 1.0" ]
    grep -F "extra per exchange: {'shutdown': 1.0}" <<<"$output"
}

@test "system calls per exchange when the read must wait for the response: still only the shutdown" {
    command -v strace >/dev/null || skip "strace not installed"
    local t="$BATS_TEST_TMPDIR"
    # floor's server thread answers once the client sleeps in its read;
    # its polling of /proc (pread64, sched_yield) and the two threads'
    # own wake-ups (futex: -0.01 to +0.02 a request, with and without the
    # library alike) vary from run to run.  The test above, one thread,
    # counts futex too.
    strace_counts "" "$B/floor" late 100 >"$t/a1"
    strace_counts "" "$B/floor" late 200 >"$t/a2"
    strace_counts "$FC_PRELOAD" "$B/floor" late 100 >"$t/b1"
    strace_counts "$FC_PRELOAD" "$B/floor" late 200 >"$t/b2"
    run per_exchange "$t"/{a1,a2,b1,b2} pread64 sched_yield futex
    echo "$output"
    [ "$status" -eq 0 ]
    # the client's read and the server thread's read of the request
    grep -E '^read +without  2\.00  with  2\.00' <<<"$output"
    [ "${lines[-1]}" = "total 1.0" ]
    grep -F "extra per exchange: {'shutdown': 1.0}" <<<"$output"
}
