#!/usr/bin/env bats
# Descriptor life cycle under libforceclose.so (test program tests/c/fdlife.c):
# duplicates of a tracked socket keep rewriting, closing one duplicate keeps
# the other rewriting, a descriptor number that is closed and reused by a
# file / pipe / socketpair (close, close_range, dup2 over it, or a raw
# syscall the shim never saw) is never rewritten, fdopen() turns the
# connection into pass-through without losing or reordering bytes, and a
# fork()ed child's writes are rewritten.
#
# Every scenario runs twice against one sink server: without the shim
# (phase "base") and with it (phase "shim").  fdlife writes, per server
# connection, the exact bytes expected under the shim (requests with
# "Connection: close\r\n" added, or verbatim); the baseline must equal that
# with the added lines removed (so the test itself is right), the shim run
# must equal it byte for byte.  Bytes that went to files, pipes and
# socketpairs are checked by fdlife itself (exit status 1 on a difference).

load lib/common

B="$ROOT/build/tests"

setup() {
    need_programs fdlife
}

# fdlife_case SCENARIO
fdlife_case() {
    local sc="$1" t="$BATS_TEST_TMPDIR" n f k
    start_server sink
    mkdir -p "$t/base-exp" "$t/shim-exp"

    set_phase base
    run timeout "$FC_TIMEOUT" "$B/fdlife" "$sc" "127.0.0.1:$SERVER_PORT" "$t/base-exp"
    echo "baseline: status $status"; echo "$output"
    [ "$status" -ne 77 ] || skip "precondition did not hold: $output"
    [ "$status" -eq 0 ]
    n=$(ls "$t/base-exp" | grep -cE '^conn-.*\.(expected|prefix)$' || true)
    [ "$n" -ge 1 ]
    # the server picks the phase when its connection thread starts
    wait_closed "$n"

    set_phase shim
    run with_shim timeout "$FC_TIMEOUT" "$B/fdlife" "$sc" "127.0.0.1:$SERVER_PORT" "$t/shim-exp"
    echo "shim: status $status"; echo "$output"
    # exit 77 (a precondition that held without the library failed with
    # it) is a failure like any other: only the run without it may skip
    [ "$status" -eq 0 ]

    wait_closed $((2 * n))
    # the server numbers connections in its per-connection threads, so
    # conn-NNNN order is not reliably connect order: compare as multisets
    python3 - "$t/base-exp" "$SERVER_LOG/base" "$t/shim-exp" "$SERVER_LOG/shim" <<'EOF'
import glob, os, sys
def files(d, pat):
    return [open(f, "rb").read() for f in sorted(glob.glob(os.path.join(d, pat)))]
def check(label, exact, prefixes, got):
    """every exact expectation matched by one connection, every other
    connection a prefix of a distinct .prefix expectation"""
    rest = list(got)
    ok = True
    for want in exact:
        if want in rest:
            rest.remove(want)
        else:
            ok = False
    pre = list(prefixes)
    for g in list(rest):
        m = [p for p in pre if p.startswith(g)]
        if m:
            pre.remove(m[0])
            rest.remove(g)
    ok = ok and not rest and len(got) == len(exact) + len(prefixes)
    if not ok:
        print("%s: received bytes differ from the expected bytes" % label)
        for d in exact:
            print("  want exactly:      %r" % d)
        for d in prefixes:
            print("  want a prefix of:  %r" % d)
        for i, d in enumerate(got):
            print("  got connection %d:  %r" % (i + 1, d))
    return ok
strip = lambda l: [d.replace(b"Connection: close\r\n", b"") for d in l]
ok = check("baseline (the test's own expectation)",
           strip(files(sys.argv[1], "conn-*.expected")), strip(files(sys.argv[1], "conn-*.prefix")),
           files(sys.argv[2], "conn-*.raw"))
ok = check("shim", files(sys.argv[3], "conn-*.expected"), files(sys.argv[3], "conn-*.prefix"),
           files(sys.argv[4], "conn-*.raw")) and ok
sys.exit(0 if ok else 1)
EOF
}

@test "dup(): requests via the dup, the original, then the dup after closing the original: all rewritten" {
    fdlife_case dup
}

@test "dup2() to a chosen number: all rewritten" {
    fdlife_case dup2
}

@test "dup3(O_CLOEXEC): all rewritten" {
    fdlife_case dup3
}

@test "fcntl(F_DUPFD): all rewritten" {
    fdlife_case dupfd
}

@test "fcntl(F_DUPFD_CLOEXEC): all rewritten" {
    fdlife_case dupfd-cloexec
}

@test "closing the dup keeps the original rewriting" {
    fdlife_case dup-close-dup
}

@test "one head written half through the original, half through a dup: rewritten once" {
    fdlife_case dup-split-head
}

@test "dup2() of a regular file over the tracked number: file bytes exact" {
    fdlife_case dup2-file-over
}

@test "dup2() of a file over the tracked number after half a head: half reaches the connection, file exact" {
    fdlife_case dup2-file-over-mid-head
}

@test "close() after half a head: the half arrives exactly, nothing lost or invented" {
    fdlife_case close-mid-head
}

@test "close_range(fd, ~0U) after half a head: the half arrives exactly" {
    fdlife_case close_range-mid-head
}

@test "shutdown(SHUT_WR) after half a head: the half arrives exactly" {
    fdlife_case shutdown-mid-head
}

@test "exit() without close() after half a head: the half arrives exactly" {
    fdlife_case exit-mid-head
}

@test "close() then the number reused by socketpair(): untouched" {
    fdlife_case reuse-socketpair-close
}

@test "close_range(fd, fd) then the number reused by socketpair(): untouched" {
    fdlife_case reuse-socketpair-close_range
}

@test "close_range(fd, ~0U) then the number reused by socketpair(): untouched" {
    fdlife_case reuse-socketpair-close_range_all
}

@test "close() then the write end of a pipe() gets the number: untouched" {
    fdlife_case reuse-pipe-close
}

@test "close_range(fd, fd) then pipe(): untouched" {
    fdlife_case reuse-pipe-close_range
}

@test "close_range(fd, ~0U) then pipe(): untouched" {
    fdlife_case reuse-pipe-close_range_all
}

@test "close() then open() of a file gets the number: file bytes exact" {
    fdlife_case reuse-open-close
}

@test "close_range(fd, fd) then open(): file bytes exact" {
    fdlife_case reuse-open-close_range
}

@test "close_range(fd, ~0U) then open(): file bytes exact" {
    fdlife_case reuse-open-close_range_all
}

@test "fdopen() after a complete request: later stdio and write() bytes pass through verbatim" {
    fdlife_case fdopen-after-full
}

@test "fdopen() in the middle of a head: the whole stream verbatim and in order" {
    fdlife_case fdopen-mid-head
}

@test "fdopen() in the middle of a Content-Length body: head rewritten, rest verbatim, in order" {
    fdlife_case fdopen-mid-body
}

@test "raw SYS_close behind the shim's back, number reused by a SYS_socket/SYS_connect socket: not rewritten" {
    fdlife_case raw-close-reuse
}

@test "raw SYS_close with half a head held, number reused by an unseen socket: old bytes never reach the new connection" {
    fdlife_case raw-close-reuse-mid-head
}

@test "raw SYS_close behind the shim's back, number reused by SYS_openat: file bytes exact" {
    fdlife_case raw-close-reuse-file
}

@test "fork(): the child's writes on the inherited socket are rewritten, the parent's too" {
    fdlife_case fork
}
