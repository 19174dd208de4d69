#!/usr/bin/env bats
# Hardening (issue 17): the library runs inside root-owned services, so
# every file it opens and every byte it writes outside the program's own
# traffic must not be turnable against the host.  One test per problem,
# each seen from outside: the files planted links point at, the exit
# status and the bytes the recording server got, what a setuid program's
# children see, what forceclose --check prints and how long it takes, the
# stats file as python's json reads it.
#
# Runs need root: the planted links sit in a directory owned by nobody,
# and the secure-execution case needs a private mount namespace.

load lib/common
bats_require_minimum_version 1.5.0

# -q must come first: it makes curl ignore any ~/.curlrc.
CURL=(curl -q -sS --noproxy '*')
HARD="$ROOT/tests/hardening"
FC="$ROOT/shim/forceclose"
NOBODY=65534
unset LD_PRELOAD ${!FORCECLOSE_@}

setup_file() {
    # plain_client keeps SIGPIPE's default action and never writes to
    # stderr itself (see the file)
    mkdir -p "$ROOT/build/hardening"
    cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$ROOT/build/hardening/plain_client" \
        "$HARD/plain_client.c"
}

setup() {
    T="$BATS_TEST_TMPDIR"
    CLIENT="$ROOT/build/hardening/plain_client"
    [ "$(id -u)" = 0 ] || skip "needs root (files owned by another user)"
}

teardown() {
    stop_servers
    # directories made outside $T (mount points)
    if [ -f "$T/rm.dirs" ]; then
        while read -r d; do rm -rf "$d"; done <"$T/rm.dirs"
    fi
}

# refute CMD...: CMD fails (a bare "! CMD" never fails a bats test)
refute() {
    if "$@"; then
        echo "unexpectedly true: $*"
        return 1
    fi
}

# _run NAME yes|no [VAR=VALUE...] -- CMD...: CMD with the library
# preloaded (yes) or not and the VARs set; only CMD has the library.
# stdout, stderr and the exit status go to $T/NAME.out, .err, .rc.
_run() {
    local name="$1" shim="$2" vars=() rc=0
    shift 2
    [ "$shim" = yes ] && vars+=("LD_PRELOAD=$FC_PRELOAD")
    while [ "$1" != -- ]; do vars+=("$1"); shift; done
    shift
    timeout "$FC_TIMEOUT" env "${vars[@]}" "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
    echo "$rc" >"$T/$name.rc"
}

runfc() { _run "$1" yes "${@:2}"; }
runbase() { _run "$1" no -- "${@:2}"; }

# ok NAME: the run exited 0 (its stderr shown).
ok() {
    echo "$1: exit $(cat "$T/$1.rc"); stderr:"
    cat "$T/$1.err"
    [ "$(cat "$T/$1.rc")" = 0 ]
}

# closed DIR N: N requests in DIR, each saying close (the library was
# there and rewrote them).
closed() {
    run check_requests "$1" --expect-close --count "$2"
    echo "$output"
    [ "$status" -eq 0 ]
}

need_private_ns() {
    unshare -m --propagation private true 2>/dev/null ||
        skip "unshare -m is not permitted here"
}

# --- 1. log and stats files ----------------------------------------------

# fingerprint FILE: content hash, size, mode, owner, links, mtime
fingerprint() {
    echo "$(sha256sum <"$1") $(stat -c '%s %a %u %h %Y.%y' "$1")"
}

@test "files: symlinked, hard-linked and foreign log/stats paths in another user's directory are refused, once each; targets untouched; traffic still rewritten" {
    start_server keepalive
    local d="$T/app" u="$SERVER_URL"
    # the directory of a less privileged account (an app-owned
    # /var/log/legacy), in which that account planted links
    mkdir -p "$d" "$T/elsewhere"
    echo 'root-only data' >"$T/target"
    chmod 600 "$T/target"
    ln -s "$T/target" "$d/sym.log"
    ln -s "$T/target" "$d/sym.json"
    ln "$T/target" "$d/hard.log"
    ln "$T/target" "$d/hard.json"
    ln -s "$T/elsewhere" "$d/subdir"    # a directory in the path
    echo 'theirs' >"$d/theirs.log"      # files that are not ours
    echo 'theirs' >"$d/theirs.json"
    # theirs: the directory, the symbolic links, their own files (a hard
    # link is the target itself, which stays root's)
    chown -h "$NOBODY" "$d" "$d"/sym.* "$d"/subdir "$d"/theirs.*
    fingerprint "$T/target" >"$T/target.before"
    cat "$d"/theirs.* | sha256sum >"$T/theirs.before"

    set_phase base
    runbase base "${CURL[@]}" "$u/f/1" "$u/f/2"
    ok base
    local n=0 log stats
    for pair in sym.log:sym.json hard.log:hard.json subdir/x.log:subdir/x.json \
                theirs.log:theirs.json; do
        n=$((n + 1))
        log="$d/${pair%%:*}" stats="$d/${pair##*:}"
        echo "--- case $n: LOG=$log STATS=$stats"
        set_phase "c$n"
        # verbose 1 and two requests: two log lines attempted, each refused
        runfc "c$n" FORCECLOSE_VERBOSE=1 FORCECLOSE_LOG="$log" FORCECLOSE_STATS="$stats" -- \
            "${CURL[@]}" "$u/f/1" "$u/f/2"
        ok "c$n"
        same_file "$T/base.out" "$T/c$n.out"
        closed "$SERVER_LOG/c$n" 2
        # nothing written through the links or into their files
        fingerprint "$T/target" | diff -u "$T/target.before" -
        cat "$d"/theirs.* | sha256sum | diff -u "$T/theirs.before" -
        [ -z "$(ls -A "$T/elsewhere")" ]
        # one line for LOG (not one per log line), one for STATS
        [ "$(wc -l <"$T/c$n.err")" -eq 2 ]
        grep -q "^libforceclose: curl\[[0-9]*\]: FORCECLOSE_LOG \"$log\" refused (.*); nothing is written to it$" "$T/c$n.err"
        grep -q "^libforceclose: curl\[[0-9]*\]: FORCECLOSE_STATS \"$stats\" refused (.*); nothing is written to it$" "$T/c$n.err"
    done
    grep -q '(a symbolic link in the path)' "$T/c1.err"
    grep -q '(a file with more than one hard link)' "$T/c2.err"
    grep -q '(a symbolic link in the path)' "$T/c3.err"
    grep -q '(owned by another user)' "$T/c4.err"
}

@test "files: log and stats files are created with mode 0600, whatever the umask" {
    start_server keepalive
    local d="$T/logs"
    mkdir "$d"
    set_phase mode
    (umask 000 && runfc mode FORCECLOSE_VERBOSE=1 FORCECLOSE_LOG="$d/fc.log" \
        FORCECLOSE_STATS="$d/stats.json" -- "${CURL[@]}" "$SERVER_URL/m/1")
    ok mode
    [ ! -s "$T/mode.err" ]
    closed "$SERVER_LOG/mode" 1
    [ "$(stat -c '%a %u %h' "$d/fc.log")" = "600 0 1" ]
    [ "$(stat -c '%a %u %h' "$d/stats.json")" = "600 0 1" ]
    grep -q 'response complete, connection shut down$' "$d/fc.log"
    grep -q '"event":"exit"' "$d/stats.json"
    # a file the user made is appended to as it is (mode kept)
    install -m 640 /dev/null "$d/own.log"
    runfc own FORCECLOSE_VERBOSE=1 FORCECLOSE_LOG="$d/own.log" -- "${CURL[@]}" "$SERVER_URL/m/2"
    ok own
    [ ! -s "$T/own.err" ]
    [ "$(stat -c %a "$d/own.log")" = 640 ]
    [ "$(wc -l <"$d/own.log")" -eq 1 ]
}

# --- 2. log lines on stderr ----------------------------------------------

@test "stderr: a dead stderr pipe or socket at FORCECLOSE_VERBOSE=1: exit status as without the library" {
    start_server keepalive
    local kind
    for kind in pipe socket; do
        set_phase "base-$kind"
        run python3 "$HARD/dead_stderr.py" "$kind" "$CLIENT" "$SERVER_PORT" /d/1 "$T/base-$kind.body"
        echo "without the library ($kind): $output"
        [ "$status" -eq 0 ]
        [ "$output" = 0 ]
        set_phase "$kind"
        run python3 "$HARD/dead_stderr.py" "$kind" \
            env LD_PRELOAD="$FC_PRELOAD" FORCECLOSE_VERBOSE=1 \
            "$CLIENT" "$SERVER_PORT" /d/1 "$T/$kind.body"
        echo "with the library ($kind): $output (-13 is SIGPIPE)"
        [ "$status" -eq 0 ]
        [ "$output" = 0 ]
        same_file "$T/base-$kind.body" "$T/$kind.body"
        # the library was there: the request said close
        closed "$SERVER_LOG/$kind" 1
    done
}

@test "stderr: a daemon that closed descriptor 2 gets no log byte on its connection" {
    start_server keepalive
    set_phase base
    runbase base "$CLIENT" --close-stderr "$SERVER_PORT" /daemon "$T/base.body"
    ok base
    set_phase shim
    # level 3 logs at connect, when the new socket already holds number 2
    runfc shim FORCECLOSE_VERBOSE=3 -- "$CLIENT" --close-stderr "$SERVER_PORT" /daemon "$T/shim.body"
    ok shim
    same_file "$T/base.body" "$T/shim.body"
    local raw
    raw=$(ls "$SERVER_LOG/shim"/conn-*.raw)
    [ "$(echo "$raw" | wc -l)" -eq 1 ]
    echo "first bytes: $(head -c 40 "$raw" | od -c | head -3)"
    [ "$(head -c 13 "$raw")" = "GET /daemon H" ]
    refute grep -aq libforceclose "$raw"
    # and otherwise only the connection field changed
    closed "$SERVER_LOG/shim" 1
    run check_requests "$SERVER_LOG/shim" --same-as "$SERVER_LOG/base" --count 1
    echo "$output"
    [ "$status" -eq 0 ]
    # a connection the library does not track (excluded by a filter, so
    # the "excluded" line is logged) on number 2: still no log byte
    set_phase excl
    runfc excl FORCECLOSE_VERBOSE=3 FORCECLOSE_EXCEPT=127.0.0.1 -- \
        "$CLIENT" --close-stderr "$SERVER_PORT" /daemon "$T/excl.body"
    ok excl
    same_file "$T/base.body" "$T/excl.body"
    run check_requests "$SERVER_LOG/excl" --same-bytes-as "$SERVER_LOG/base" --count 1
    echo "$output"
    [ "$status" -eq 0 ]
    # a stderr that stays open still gets the lines (the same program)
    set_phase open
    runfc open FORCECLOSE_VERBOSE=3 -- "$CLIENT" "$SERVER_PORT" /daemon "$T/open.body"
    ok open
    grep -q "^libforceclose: plain_client\[[0-9]*\]: 127\.0\.0\.1:$SERVER_PORT: tracking connection$" "$T/open.err"
    runfc open-excl FORCECLOSE_VERBOSE=3 FORCECLOSE_EXCEPT=127.0.0.1 -- \
        "$CLIENT" "$SERVER_PORT" /daemon "$T/open-excl.body"
    ok open-excl
    grep -q "^libforceclose: plain_client\[[0-9]*\]: 127\.0\.0\.1:$SERVER_PORT: .*exclu" "$T/open-excl.err"
}

# --- 3. secure execution -------------------------------------------------

@test "secure execution (library in /etc/ld.so.preload): a setuid program run by nobody has the library loaded but inactive, and no FORCECLOSE_* reaches its children" {
    # the namespace's ld.so.preload names the library alone
    [ "$FC_PRELOAD" = "$FC_LIB" ] || skip "needs the library alone in LD_PRELOAD (ASan run)"
    need_private_ns
    skip_unless_cmd setpriv
    local mnt
    mnt=$(mktemp -d /tmp/fc-hard.XXXXXX)
    echo "$mnt" >>"$T/rm.dirs"
    chmod 755 "$mnt"
    mkdir -m 700 "$T/priv"   # only root can create files here
    start_server keepalive
    # what an unprivileged caller sets for the privileged program
    local vars=(FORCECLOSE_ACTION=close FORCECLOSE_VERBOSE=3
                FORCECLOSE_LOG="$T/priv/fc.log" FORCECLOSE_STATS="$T/priv/stats.json"
                FC_MARK=kept)
    local nobody=(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups)
    local ns=(timeout "$FC_TIMEOUT" unshare -m --propagation private
              "$HARD/preload_ns.sh" "$mnt" "$FC_LIB" --)
    set_phase base
    runbase base "${CURL[@]}" "$SERVER_URL/sec"
    ok base

    # 1. setuid curl run by nobody: the request goes out as without the
    # library, nothing is logged or written
    set_phase suid
    "${ns[@]}" "${nobody[@]}" env "${vars[@]}" "$mnt/curl" -q -sS "$SERVER_URL/sec" \
        >"$T/suid.out" 2>"$T/suid.err"
    cat "$T/suid.err"
    [ ! -s "$T/suid.err" ]
    same_file "$T/base.out" "$T/suid.out"
    run check_requests "$SERVER_LOG/suid" --same-bytes-as "$SERVER_LOG/base" --count 1
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$(ls -A "$T/priv")" ]

    # 2. ... although the library is loaded into it, and its environment
    # (what it passes on) has none of the variables
    "${ns[@]}" "${nobody[@]}" env "${vars[@]}" "$mnt/cat" /proc/self/maps >"$T/maps"
    grep -qF "$mnt/lib.so" "$T/maps"
    "${ns[@]}" "${nobody[@]}" env "${vars[@]}" "$mnt/env" >"$T/env.out"
    grep -qx 'FC_MARK=kept' "$T/env.out"
    refute grep -a '^FORCECLOSE_' "$T/env.out"

    # 3. a setuid program that switches to root for good, then runs a
    # shell and curl: they are not in secure execution, load the library
    # from ld.so.preload with its defaults, and see none of the caller's
    # variables: nothing logged, nothing written as root
    set_phase child
    "${ns[@]}" "${nobody[@]}" env "${vars[@]}" \
        "$mnt/setpriv" --reuid=0 --regid=0 --clear-groups -- \
        sh -c 'id -u; env; exec curl -q -sS --noproxy "*" "$0"' "$SERVER_URL/child" \
        >"$T/child.out" 2>"$T/child.err"
    cat "$T/child.err"
    [ ! -s "$T/child.err" ]
    [ "$(head -n 1 "$T/child.out")" = 0 ]
    grep -qx 'FC_MARK=kept' "$T/child.out"
    refute grep -a '^FORCECLOSE_' "$T/child.out"
    closed "$SERVER_LOG/child" 1
    [ -z "$(ls -A "$T/priv")" ]

    # 4. control: the same setuid curl run by root is not in secure
    # execution, and the same variables take effect
    set_phase plain
    "${ns[@]}" env "${vars[@]}" "$mnt/curl" -q -sS "$SERVER_URL/sec" \
        >"$T/plain.out" 2>"$T/plain.err"
    cat "$T/plain.err"
    closed "$SERVER_LOG/plain" 1
    [ -s "$T/priv/fc.log" ]
    [ -s "$T/priv/stats.json" ]
    # nothing left mounted or changed on the host
    [ -z "$(ls -A "$mnt")" ]
    [ ! -e /etc/ld.so.preload ] || refute grep -qF "$mnt" /etc/ld.so.preload
}

# --- 4. and 5. forceclose --check ----------------------------------------

# check_fc NAME ARGS...: forceclose ARGS, stdout/stderr in $T/NAME.out/.err,
# status in $T/NAME.rc; bounded by 20 s: a bounded check takes
# milliseconds, an unbounded one blocks forever (a FIFO) or reads for
# minutes (16 GiB).
check_fc() {
    local name="$1" rc=0
    shift
    timeout 20 "$FC" "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
    echo "$rc" >"$T/$name.rc"
    echo "--- $name: status $rc"
    cat "$T/$name.out" "$T/$name.err"
}

@test "--check: a FIFO, a device node and a 16 GiB sparse program are judged promptly, never opened if not regular files" {
    mkfifo "$T/fifo"
    # a device whose open fails (no driver for 0:0): an error naming the
    # open would show that it was opened
    mknod "$T/nodev" c 0 0 || skip "mknod is not permitted here"
    local f
    for f in "$T/fifo" "$T/nodev" /dev/null; do
        check_fc cmd "--check" "$f"
        [ "$(cat "$T/cmd.rc")" = 2 ]
        [ ! -s "$T/cmd.out" ]
        [ "$(cat "$T/cmd.err")" = "forceclose: --check: $f: not a regular file" ]
        # and named by a #! line
        printf '#!%s\n' "$f" >"$T/script"
        check_fc script --check "$T/script"
        [ "$(cat "$T/script.rc")" = 2 ]
        [ "$(cat "$T/script.err")" = "forceclose: --check: $T/script: script run by $f: not a regular file" ]
    done
    # a program without section table (the Go scan runs) made 16 GiB
    # sparse: the verdict of the program itself, in bounded time
    gcc -O1 -o "$T/hello" "$ROOT/tests/launcher/hello.c"
    printf '\0\0\0\0\0\0\0\0' | dd of="$T/hello" bs=1 seek=40 conv=notrunc status=none
    printf '\0\0' | dd of="$T/hello" bs=1 seek=60 conv=notrunc status=none
    check_fc small --check "$T/hello"
    [ "$(cat "$T/small.rc")" = 0 ]
    truncate -s 16G "$T/hello"
    check_fc huge --check "$T/hello"
    [ "$(cat "$T/huge.rc")" = 0 ]
    [ "$(cat "$T/huge.out")" = "$T/hello: yes - dynamically linked against glibc; LD_PRELOAD reaches it" ]
}

@test "--check: hostile PT_INTERP and #! bytes are printed escaped, one line" {
    gcc -O1 -o "$T/hello" "$ROOT/tests/launcher/hello.c"
    # PT_INTERP: a forged verdict line, a terminal title, CR, ESC, DEL
    local forged="$T/x: yes - dynamically linked against glibc; LD_PRELOAD reaches it"
    local bytes
    bytes=$(printf '/lib/ld-musl-x86_64.so.1\n%s\033]0;owned\007\r\033[2K\177' "$forged" | od -An -tx1 | tr -d ' \n')
    python3 "$HARD/hostile_elf.py" "$T/hello" "$T/elf" "$bytes"
    check_fc elf --check "$T/elf"
    [ "$(cat "$T/elf.rc")" = 1 ]
    [ "$(wc -l <"$T/elf.out")" -eq 1 ]
    [[ "$(cat "$T/elf.out")" == "$T/elf: no - linked against musl libc (loader /lib/ld-musl-x86_64.so.1?$forged?]0;owned???[2K?), not glibc: "* ]]
    python3 "$HARD/printable.py" "$T/elf.out" "$T/elf.err"
    # a #! line: CR, ESC and BEL in the interpreter's name, and in the
    # name env looks up
    printf '#!/nowhere\033]0;owned\007\r\033[2K x\n' >"$T/s1"
    check_fc s1 --check "$T/s1"
    [ "$(cat "$T/s1.rc")" = 2 ]
    [ "$(cat "$T/s1.err")" = "forceclose: --check: $T/s1: script run by /nowhere?]0;owned???[2K: No such file or directory" ]
    printf '#!/usr/bin/env fc-no\033[31mpe\r\n' >"$T/s2"
    check_fc s2 --check "$T/s2"
    [ "$(cat "$T/s2.rc")" = 2 ]
    [[ "$(cat "$T/s2.err")" == *"fc-no?[31mpe is not in PATH" ]]
    python3 "$HARD/printable.py" "$T"/s1.* "$T"/s2.*
}

# --- 6. stats records ----------------------------------------------------

@test "stats: a 4 KiB argv[0] still gives one valid JSON line per record" {
    start_server keepalive
    local name i
    # 4 KiB that JSON escaping makes up to 6 times longer: quotes,
    # backslashes, control bytes, UTF-8, and bytes that are not UTF-8
    name=$(python3 -c 'import sys; sys.stdout.buffer.write((b"ab\"\\\x01\xc3\xbc\xff" * 600)[:4096])')
    [ "${#name}" -ge 3000 ]
    for i in 1 2; do
        set_phase "s$i"
        # bash records an "exec" line, then curl (argv[0] NAME) its "exit"
        runfc "s$i" FORCECLOSE_STATS="$T/stats.json" -- \
            bash -c 'exec -a "$0" curl -q -sS --noproxy "*" "$1"' "$name" "$SERVER_URL/st/$i"
        ok "s$i"
        closed "$SERVER_LOG/s$i" 1
    done
    run python3 "$ROOT/tests/config/json_expect.py" "$T/stats.json" 'len(lines) == 4' \
        "[l['event'] for l in lines] == ['exec', 'exit', 'exec', 'exit']" \
        "lines[1]['program'].startswith('ab\"\\\\\\x01\\u00fc?ab')" \
        "lines[1]['program'].endswith('...')" \
        "all(len(l['program']) <= 512 for l in lines)" \
        "counters(lines[1], connections_tracked=1, requests_rewritten=1, close_added=1, responses_rewritten=1, teardowns_shutdown=1)"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(wc -l <"$T/stats.json")" -eq 4 ]
    [ "$(tail -c 1 "$T/stats.json" | od -An -c | tr -d ' ')" = '\n' ]
}
