#!/usr/bin/env bats
# The fault matrix (docs/fault-matrix.md): what a program sees when the
# network, the server, its own threads or its environment misbehave must be
# what it sees without the shim - the same bytes, the same error class,
# nothing lost - and the shim's memory stays bounded.  Every case runs the
# same client without and with LD_PRELOAD="$FC_LIB" and compares what the
# client observed (bytes read, errno, exit status) and what the server
# recorded.  Cases other suites already cover are cited in the table, not
# repeated here.
#
# Helpers (tests/faults/, built into build/faults/ by setup_file):
#   fault_server.py  hostile server: resets, stalls, huge or ambiguous heads
#   fault_client.c   one GET, every read result recorded (+ VmRSS)
#   fault_writer.c   careful writer: short counts, EAGAIN, EINTR handled
#   fault_fds.c      threads and forks that close, replace or share a socket
#   faultinj.c       LD_PRELOADed under the shim: short counts, EAGAIN and
#                    EINTR placed exactly (a real socket gives them at random)

load lib/common
load lib/resp

F="$ROOT/build/faults"
FCFLAGS=(-std=gnu11 -O2 -Wall -Wextra -Werror -pthread)

setup_file() {
    local p
    mkdir -p "$F"
    # build to a temporary name, then rename: a concurrent run never sees
    # a half-written binary
    for p in fault_client fault_writer fault_fds; do
        cc "${FCFLAGS[@]}" -o "$F/$p.tmp.$$" "$ROOT/tests/faults/$p.c" && mv "$F/$p.tmp.$$" "$F/$p" || return 1
    done
    cc "${FCFLAGS[@]}" -shared -fPIC -fvisibility=hidden -o "$F/faultinj.so.tmp.$$" \
        "$ROOT/tests/faults/faultinj.c" -ldl && mv "$F/faultinj.so.tmp.$$" "$F/faultinj.so"
}

setup() {
    [ -f "$FC_LIB" ] || { echo "missing $FC_LIB (run make)" >&2; return 1; }
    T="$BATS_TEST_TMPDIR"
}

# start_fault_server [fault_server.py args...]: sets FS_PORT, FS_LOG, FS_ADDR
# and FS_RELEASE (the release file, not yet created); stopped by teardown.
start_fault_server() {
    local d i
    d=$(mktemp -d "$T/fs.XXXX")
    FS_RELEASE="$d/release"
    python3 "$ROOT/tests/faults/fault_server.py" --port-file "$d/port" --log-dir "$d/log" \
        --release-file "$FS_RELEASE" --max-seconds 120 "$@" >"$d/out" 2>&1 3>&- &
    echo "$!" >>"$T/server.pids"
    for (( i = 0; i < 100; i++ )); do
        [ -s "$d/port" ] && break
        sleep 0.1
    done
    [ -s "$d/port" ] || { cat "$d/out"; return 1; }
    FS_PORT=$(cat "$d/port")
    FS_LOG="$d/log"
    FS_ADDR="127.0.0.1:$FS_PORT"
}

# val FILE KEY: KEY's value in FILE's "key=value" words
val() {
    grep -o "\<$2=[^ ]*" "$1" | head -1 | cut -d= -f2-
}

# ---- writes ------------------------------------------------------------
# faultinj under the shim: LD_PRELOAD="$FC_PRELOAD:faultinj.so"; alone for the
# baseline.  The recording server (keep-alive) records each connection.

# inj_run PHASE MODE SHIM(0|1) fault_writer args...: one run into PHASE
inj_run() {
    local phase="$1" mode="$2" shim="$3" pre="$F/faultinj.so"
    shift 3
    [ "$shim" = 1 ] && pre="$FC_PRELOAD:$F/faultinj.so"
    set_phase "$phase"
    run timeout "$FC_TIMEOUT" env FAULT_PORT="$SERVER_PORT" FAULT_MODE="$mode" \
        FAULT_REPORT="$T/$phase.report" FORCECLOSE_ACTION=none LD_PRELOAD="$pre" \
        "$F/fault_writer" "$@" "127.0.0.1:$SERVER_PORT"
    echo "$phase ($mode): status $status: ${output##*$'\n'}"
    echo "injected: $(cat "$T/$phase.report" 2>/dev/null)"
    [ "$status" -eq 0 ]
}

# all_equal DIR N FILE: DIR holds N connections, each byte-identical to FILE
all_equal() {
    local n
    n=$(ls "$1" | grep -c '^conn-.*\.raw$' || true)
    [ "$n" -eq "$2" ] || { echo "$1: $n connections, expected $2"; return 1; }
    n=$(cd "$1" && sha256sum conn-*.raw | awk '{print $1}' | grep -cvx "$(sha256sum <"$3" | awk '{print $1}')" || true)
    [ "$n" -eq 0 ] || { echo "$1: $n of $2 connections differ from $3"; return 1; }
}

# reference: the program's bytes, and the shim's wire without faults, which
# must be the wire of the same run without the library (itself the
# program's bytes) apart from the connection fields
write_reference() {
    start_server keepalive
    "$F/fault_writer" --dump "$T/prog.raw"
    set_phase refbase
    run timeout "$FC_TIMEOUT" "$F/fault_writer" "127.0.0.1:$SERVER_PORT"
    echo "reference without the library: status $status: $output"
    [ "$status" -eq 0 ]
    set_phase ref
    run shim_env FORCECLOSE_ACTION=none "$F/fault_writer" "127.0.0.1:$SERVER_PORT"
    echo "reference with the library: status $status: $output"
    [ "$status" -eq 0 ]
    wait_closed 2
    cmp "$SERVER_LOG/refbase/conn-0001.raw" "$T/prog.raw"
    REF="$SERVER_LOG/ref/conn-0001.raw"
    run check_requests "$SERVER_LOG/ref" --expect-close --count 3 --same-as "$SERVER_LOG/refbase"
    echo "$output"; [ "$status" -eq 0 ]
}

@test "writes: a short count at every offset of the rewritten heads, the added Connection line included" {
    write_reference
    local lb ls
    lb=$(stat -c %s "$T/prog.raw")
    ls=$(stat -c %s "$REF")
    # connection n is cut before wire byte n: every offset, one per connection
    inj_run base sweep 0 --conns $((lb - 1))
    inj_run shim sweep 1 --conns $((ls - 1))
    [ "$(val "$T/base.report" split)" -eq $((lb - 1)) ]
    [ "$(val "$T/shim.report" split)" -eq $((ls - 1)) ]
    wait_closed $((lb + ls))
    all_equal "$SERVER_LOG/base" $((lb - 1)) "$T/prog.raw"
    all_equal "$SERVER_LOG/shim" $((ls - 1)) "$REF"
}

@test "writes: the kernel takes 1, 3 or 7 bytes per call (whole writes and 1- and 11-byte writes)" {
    write_reference
    local m c k=0
    for m in cap=1:0 cap=3:1 cap=7:11; do
        c=${m#*:}
        inj_run "base$k" "${m%:*}" 0 --conns 2 --chunk "$c"
        inj_run "shim$k" "${m%:*}" 1 --conns 2 --chunk "$c"
        [ "$(val "$T/shim$k.report" capped)" -gt 0 ]
        k=$((k + 1))
    done
    wait_closed $((2 + 4 * k))
    for (( k = 0; k < 3; k++ )); do
        all_equal "$SERVER_LOG/base$k" 2 "$T/prog.raw"
        all_equal "$SERVER_LOG/shim$k" 2 "$REF"
    done
}

@test "writes: EAGAIN storm on a non-blocking socket (3 EAGAINs after every send, 5-byte sends)" {
    write_reference
    inj_run base cap=5,eagain=3 0 --nonblock --conns 3 --chunk 64
    [ "$(val "$T/base.report" eagain)" -gt 0 ]
    inj_run shim cap=5,eagain=3 1 --nonblock --conns 3 --chunk 64
    [ "$(val "$T/shim.report" eagain)" -gt 0 ]
    inj_run base2 eagain=1 0 --nonblock --conns 3 --chunk 20
    inj_run shim2 eagain=1 1 --nonblock --conns 3 --chunk 20
    [ "$(val "$T/shim2.report" eagain)" -gt 0 ]
    wait_closed 14
    all_equal "$SERVER_LOG/base" 3 "$T/prog.raw"
    all_equal "$SERVER_LOG/shim" 3 "$REF"
    all_equal "$SERVER_LOG/base2" 3 "$T/prog.raw"
    all_equal "$SERVER_LOG/shim2" 3 "$REF"
}

@test "writes: EINTR storm (2 EINTRs after every send, 3-byte sends), blocking and non-blocking" {
    write_reference
    inj_run base cap=3,eintr=2 0 --conns 2 --chunk 50
    inj_run shim cap=3,eintr=2 1 --conns 2 --chunk 50
    [ "$(val "$T/shim.report" eintr)" -gt 0 ]
    inj_run base2 eintr=1 0 --nonblock --conns 2 --chunk 20
    inj_run shim2 eintr=1 1 --nonblock --conns 2 --chunk 20
    [ "$(val "$T/shim2.report" eintr)" -gt 0 ]
    wait_closed 10
    all_equal "$SERVER_LOG/base" 2 "$T/prog.raw"
    all_equal "$SERVER_LOG/shim" 2 "$REF"
    all_equal "$SERVER_LOG/base2" 2 "$T/prog.raw"
    all_equal "$SERVER_LOG/shim2" 2 "$REF"
}

# fs_closed N: the fault server has logged N ended connections (bounded)
fs_closed() {
    local i
    for (( i = 0; i < 200; i++ )); do
        [ "$(grep -c '^closed ' "$FS_LOG/connections.log" 2>/dev/null)" -ge "$1" ] && return 0
        sleep 0.05
    done
    echo "fault server: fewer than $1 connections ended"
    return 1
}

# big_head HOW: fault_writer --big-head HOW, without and with the shim,
# against a server that reads nothing until the writer creates the release
# file (or 30 s have passed: far beyond the writer's 1 s signal and 10 s
# "blocked" bound, so only the release file ends the stall).  Both runs
# must complete (exit 0: the writer also fails on a call that returns more
# than it was asked); then the server's bytes are compared.
big_head() {
    local v st=()
    start_fault_server --mode noread --stall 30
    for v in base shim; do
        rm -f "$FS_RELEASE"
        echo "$v" >"$FS_LOG/phase"
        if [ "$v" = base ]; then
            run timeout "$FC_TIMEOUT" "$F/fault_writer" --big-head "$1" --release "$FS_RELEASE" "$FS_ADDR"
        else
            run shim_env FORCECLOSE_STATS="$T/big.stats" "$F/fault_writer" --big-head "$1" --release "$FS_RELEASE" "$FS_ADDR"
        fi
        echo "$v: status $status: $output"
        echo "$output" >"$T/big.$v"
        st+=("$status")
        fs_closed "${#st[@]}"
    done
    [ "${st[0]}" -eq 0 ]
    [ "${st[1]}" -eq 0 ]
    run check_requests "$FS_LOG/shim" --expect-close --same-as "$FS_LOG/base" --count 1
    echo "$output"; [ "$status" -eq 0 ]
    # a head given back and written again is counted once
    jcheck 'd["requests_rewritten"] == 1 and d["close_added"] == 1' "$T/big.stats"
}

# fill HOW: fault_writer --fill HOW (a server that reads nothing, a socket
# filled with complete GETs), without and with the shim: both must complete
# and print the same probe_write; the server's bytes are then checked.  Only
# the run without the library may skip (exit 77: the kernel did not give
# the precondition); under the library that is a failure.
fill() {
    local v
    start_fault_server --mode noread --stall 30
    for v in base shim; do
        rm -f "$FS_RELEASE"
        echo "$v" >"$FS_LOG/phase"
        if [ "$v" = base ]; then
            run timeout "$FC_TIMEOUT" "$F/fault_writer" --fill "$1" --release "$FS_RELEASE" "$FS_ADDR"
            echo "$v: status $status: $output"
            [ "$status" -ne 77 ] || skip "precondition: $output"
        else
            run shim_env "$F/fault_writer" --fill "$1" --release "$FS_RELEASE" "$FS_ADDR"
            echo "$v: status $status: $output"
        fi
        [ "$status" -eq 0 ]
        echo "$output" >"$T/fill.$v"
        fs_closed "$([ "$v" = base ] && echo 1 || echo 2)"
    done
    [ "$(val "$T/fill.shim" probe_write)" = "$(val "$T/fill.base" probe_write)" ]
    run check_requests "$FS_LOG/base"
    echo "$output"; [ "$status" -eq 0 ]
    run check_requests "$FS_LOG/shim" --expect-close
    echo "$output"; [ "$status" -eq 0 ]
}

@test "writes: a socket already full of requests, one more GET on the non-blocking socket: EAGAIN at once" {
    fill nonblock
    [ "$(val "$T/fill.base" probe_write)" = EAGAIN ]
}

@test "writes: a socket already full of requests, one more GET on the blocking socket, a signal: EINTR" {
    fill signal
    [ "$(val "$T/fill.base" probe_write)" = interrupted ]
}

@test "writes: a blocked send() of a head, interrupted by a signal, returns at the signal (EINTR or a short count)" {
    big_head signal
    [ "$(val "$T/big.base" first_write)" = interrupted ]
    [ "$(val "$T/big.shim" first_write)" = interrupted ]
}

@test "writes: a non-blocking write() of a head the socket cannot take returns at once" {
    big_head nonblock
    [ "$(val "$T/big.base" first_write)" = short ]
    [ "$(val "$T/big.shim" first_write)" = short ]
}

@test "writes: the server resets while the request body is being sent: the write fails as without the shim (EPIPE/ECONNRESET)" {
    start_fault_server
    local i
    for i in 1 2 3; do
        run timeout "$FC_TIMEOUT" "$F/fault_writer" --post /rst-now "$FS_ADDR"
        echo "base: $output"; [ "$status" -eq 0 ]; [ "$output" = write_error=broken ]
        run shim_env "$F/fault_writer" --post /rst-now "$FS_ADDR"
        echo "shim: $output"; [ "$status" -eq 0 ]; [ "$output" = write_error=broken ]
    done
}

# ---- reads -------------------------------------------------------------

# fetch NAME TARGET [fault_client args]: fault_client without and with the
# shim (FETCH_ENV: extra VAR=VALUE for the shim run); summaries in
# $T/NAME.{base,shim}, bytes read in $T/NAME.{base,shim}.bytes
fetch() {
    local name="$1" target="$2" v
    shift 2
    for v in base shim; do
        if [ "$v" = base ]; then
            # under tests/sanitize/asan.sh: with the ASan runtime, without
            # the library, so that the RSS bound compares like with like
            local asan=()
            [ "$FC_PRELOAD" = "$FC_LIB" ] || asan=(env LD_PRELOAD="${FC_PRELOAD%:"$FC_LIB"}")
            run timeout "$FC_TIMEOUT" "${asan[@]}" "$F/fault_client" --out "$T/$name.$v.bytes" "$@" "$FS_ADDR" "$target"
        else
            run shim_env ${FETCH_ENV:-} "$F/fault_client" --out "$T/$name.$v.bytes" "$@" "$FS_ADDR" "$target"
        fi
        echo "$name $v: status $status: $output"
        [ "$status" -eq 0 ] || return 1
        echo "$output" >"$T/$name.$v"
    done
}

# curl_both NAME URL: curl -i --raw without and with the shim: the same exit
# status and message; output in $T/NAME.curl.{base,shim}
curl_both() {
    local rb=0 rs=0
    timeout "$FC_TIMEOUT" "${CURL[@]}" -i --raw "$2" >"$T/$1.curl.base" 2>"$T/$1.curl.base.err" || rb=$?
    shim_env "${CURL[@]}" -i --raw "$2" >"$T/$1.curl.shim" 2>"$T/$1.curl.shim.err" || rs=$?
    echo "curl $1: base $rb ($(cat "$T/$1.curl.base.err")) / shim $rs ($(cat "$T/$1.curl.shim.err"))"
    [ "$rb" -eq "$rs" ] || return 1
    diff "$T/$1.curl.base.err" "$T/$1.curl.shim.err"
}

@test "reads: reset (RST) in the middle of the head: the bytes before it, then ECONNRESET, as without the shim" {
    skip_unless_cmd curl
    start_fault_server
    local n rs bad=0
    for n in 1 17 40 83; do
        for rs in 1 4096; do
            fetch "h$n-$rs" "/rst-head/$n" --read-size "$rs"
            echo "  /rst-head/$n read($rs): base '$(cat "$T/h$n-$rs.base")' shim '$(cat "$T/h$n-$rs.shim")'"
            if ! cmp -s "$T/h$n-$rs.base" "$T/h$n-$rs.shim" ||
               ! cmp -s "$T/h$n-$rs.base.bytes" "$T/h$n-$rs.shim.bytes"; then
                bad=$((bad + 1))
            fi
        done
        [ "$(val "$T/h$n-4096.base" end)" = ECONNRESET ]
        curl_both "h$n" "http://$FS_ADDR/rst-head/$n" || bad=$((bad + 1))
        cmp "$T/h$n.curl.base" "$T/h$n.curl.shim" || bad=$((bad + 1))
    done
    echo "$bad differences"
    [ "$bad" -eq 0 ]
}

@test "reads: FIN in the middle of the head: the bytes before it, then end of file, as without the shim" {
    start_fault_server
    local n rs
    for n in 1 17 40 83; do
        for rs in 1 4096; do
            fetch "f$n-$rs" "/fin-head/$n" --read-size "$rs"
            cmp "$T/f$n-$rs.base" "$T/f$n-$rs.shim"
            cmp "$T/f$n-$rs.base.bytes" "$T/f$n-$rs.shim.bytes"
        done
        [ "$(val "$T/f$n-1.base" end)" = eof ]
    done
}

@test "reads: reset in a Content-Length body, in a chunked body, right after the head: same bytes, then ECONNRESET" {
    skip_unless_cmd curl
    start_fault_server
    local t rs k=0
    for t in /rst-body/0 /rst-body/1 /rst-body/5000 /rst-chunked/1 /rst-chunked/3000; do
        for rs in 1 4096 --nonblock; do
            k=$((k + 1))
            if [ "$rs" = --nonblock ]; then fetch "b$k" "$t" --nonblock; else fetch "b$k" "$t" --read-size "$rs"; fi
            [ "$(val "$T/b$k.base" end)" = ECONNRESET ]
            [ "$(val "$T/b$k.shim" end)" = "$(val "$T/b$k.base" end)" ]
            [ "$(val "$T/b$k.shim" after)" = "$(val "$T/b$k.base" after)" ]
            run resp_check "$T/b$k.base.bytes" "$T/b$k.shim.bytes" --stream
            echo "$output"; [ "$status" -eq 0 ]
        done
        curl_both "c$k" "http://$FS_ADDR$t"
        run resp_check "$T/c$k.curl.base" "$T/c$k.curl.shim" --stream
        echo "$output"; [ "$status" -eq 0 ]
    done
}

@test "reads: hostile heads then 16 MiB (16 MiB header line, garbage, 17-digit chunk size, Content-Length -1, two Content-Lengths, CL with TE): untouched, shim gives up, RSS bounded" {
    start_fault_server
    local k b s
    for k in huge-line garbage chunk17 cl-neg two-cl cl-te; do
        FETCH_ENV="FORCECLOSE_STATS=$T/$k.stats" fetch "$k" "/hostile/$k/16777216" --rss --read-size 65536
        b=$(val "$T/$k.base" max_rss_kb)
        s=$(val "$T/$k.shim" max_rss_kb)
        echo "  $k: VmRSS max ${b} kB without, ${s} kB with the shim"
        # a shim holding the 16 MiB line (or a body) would add 16384 kB
        [ "$s" -lt $((b + 4096)) ]
        [ "$(val "$T/$k.shim" end)" = eof ]
        [ "$(val "$T/$k.shim" after)" = eof ]
        if [ "$k" = chunk17 ]; then
            # the head is valid (rewritten); the chunk size shows only after it
            run resp_check "$T/$k.base.bytes" "$T/$k.shim.bytes" --stream
            echo "$output"; [ "$status" -eq 0 ]
            jcheck 'd["given_up"]["bad_response"] == 1 and sum(d["teardowns"].values()) == 0' "$T/$k.stats"
        else
            cmp "$T/$k.base.bytes" "$T/$k.shim.bytes"
            jcheck 'd["given_up"]["bad_response"] == 1 and sum(d["teardowns"].values()) == 0' "$T/$k.stats"
        fi
    done
    # the same line met by a program reading 7 bytes at a time (the shim's
    # peek-and-hold path rather than the in-place one)
    fetch line7 /hostile/huge-line/1048576 --rss --read-size 7
    cmp "$T/line7.base.bytes" "$T/line7.shim.bytes"
    [ "$(val "$T/line7.shim" max_rss_kb)" -lt $(( $(val "$T/line7.base" max_rss_kb) + 4096 )) ]
}

@test "reads: curl and a 16 MiB header line / a garbage status line: the same error as without the shim" {
    skip_unless_cmd curl
    start_fault_server
    curl_both line "http://$FS_ADDR/hostile/huge-line/16777216"
    cmp "$T/line.curl.base" "$T/line.curl.shim"
    curl_both garbage "http://$FS_ADDR/hostile/garbage/1000"
    cmp "$T/garbage.curl.base" "$T/garbage.curl.shim"
}

@test "reads: the head stops half-way: a blocking read() after poll() returns the bytes that are there" {
    start_fault_server --stall 30
    # the server sends the rest only after the client's PING, which it sends
    # once its first read has returned: a read that waits for the rest of
    # the head never returns (bounded: 10 s, exit 3; a busy machine delays
    # a read that returns by far less, and the server's stall, 30 s, must
    # stay above it or the rest would come anyway)
    local rs bad=0
    for rs in 1 4096; do
        if fetch "st$rs" /stall-head/30 --first-guard 10 --ping --read-size "$rs"; then
            run resp_check "$T/st$rs.base.bytes" "$T/st$rs.shim.bytes" --stream
            echo "$output"; [ "$status" -eq 0 ] || bad=$((bad + 1))
        else
            bad=$((bad + 1))
        fi
    done
    [ "$bad" -eq 0 ]
}

@test "reads: the head stops half-way, non-blocking program: the bytes that are there, EAGAIN until the rest comes, then the same stream" {
    # the rest of the head follows after 1 s (no PING needed)
    start_fault_server --stall 1
    local rs
    for rs in 1 4096; do
        fetch "nb$rs" /stall-head/30 --nonblock --read-size "$rs"
        run resp_check "$T/nb$rs.base.bytes" "$T/nb$rs.shim.bytes" --stream
        echo "$output"; [ "$status" -eq 0 ]
        [ "$(val "$T/nb$rs.shim" end)" = eof ]
    done
}

@test "reads: nothing stranded for a poll() reader taking 1 or 5 bytes a read: 204, 304, Content-Length 0, chunked, 1xx then the final head" {
    # A keep-alive server never closes, so the reader's poll() wakes only
    # for bytes in the kernel's queue.  If the shim took a whole head and
    # delivered it a byte a read, nothing would be left in the kernel to
    # wake the reader for the rest (or for the EOF of the teardown): it
    # waits forever.  The shim keeps a head's last byte in the kernel for
    # that (conn_read.c, rout_tail_queued).
    start_server keepalive
    local t k=0 rs bad=()
    for t in /status/204 /status/304 /size/0 /chunked/size/0 /chunked/size/20 /hints/1/size/0 /hints/2/size/0; do
        k=$((k + 1))
        # without the library: every byte, then nothing; 3 s of quiet ends
        # the stream (the server sends the response at once; 3 s is far
        # beyond any scheduling gap between its sends)
        run timeout "$FC_TIMEOUT" "$F/fault_client" --nonblock --read-size 1 --idle 3000 \
            --out "$T/s$k.base.bytes" "127.0.0.1:$SERVER_PORT" "$t"
        echo "$t base: status $status: $output"
        [ "$status" -eq 0 ]
        [ "$(val <(echo "$output") end)" = idle ]
        [ -s "$T/s$k.base.bytes" ]
        for rs in 1 5; do
            # with it: every byte, then the teardown's EOF.  A reader left
            # waiting on held bytes hangs; --timeout 10 (exit 3) bounds
            # that hang, for an exchange that takes milliseconds
            run shim_env "$F/fault_client" --nonblock --read-size "$rs" --timeout 10 \
                --out "$T/s$k.$rs.shim.bytes" "127.0.0.1:$SERVER_PORT" "$t"
            echo "$t shim, $rs-byte reads: status $status: $output"
            echo "$output" >"$T/s$k.$rs.shim"
            if [ "$status" -ne 0 ] || [ "$(val "$T/s$k.$rs.shim" end)" != eof ] ||
               [ "$(val "$T/s$k.$rs.shim" eagain)" != 0 ] ||
               ! resp_check "$T/s$k.base.bytes" "$T/s$k.$rs.shim.bytes" --stream; then
                bad+=("$t/$rs")
            fi
        done
    done
    echo "failed: ${bad[*]}"
    [ "${#bad[@]}" -eq 0 ]
}

# ---- descriptors ---------------------------------------------------------

# fds_pair NAME fault_fds args...: both runs; outputs must be identical
fds_pair() {
    local name="$1"
    shift
    rm -f "$FS_RELEASE"
    run timeout "$FC_TIMEOUT" "$F/fault_fds" "$@"
    echo "$name base: status $status"; echo "$output"
    [ "$status" -ne 77 ] || skip "precondition did not hold: $output"
    [ "$status" -eq 0 ]
    echo "$output" >"$T/$name.base"
    rm -f "$FS_RELEASE"
    run shim_env "$F/fault_fds" "$@"
    echo "$name shim: status $status"; echo "$output"
    # exit 77 under the library (a precondition that held without it) is a
    # failure, caught by the status check below
    echo "$output" >"$T/$name.shim"
    diff -u "$T/$name.base" "$T/$name.shim"
    [ "$status" -eq 0 ]
}

@test "descriptors: another thread closes the socket during a blocked 1-byte read(), a socketpair gets the number: the read gets the old socket's byte, the socketpair keeps its own" {
    # the server holds the response until fault_fds releases it; 30 s is
    # only the bound if it never does (a busy machine must not end the
    # stall before the close it is waiting for)
    start_fault_server --stall 30
    fds_pair rcr1 read-close-reuse 1 "$FS_RELEASE" "$FS_ADDR"
}

@test "descriptors: the same with a 4 KiB read() (the response completes in it): the socketpair is left working" {
    start_fault_server --stall 30   # see above
    fds_pair rcr4k read-close-reuse 4096 "$FS_RELEASE" "$FS_ADDR"
}

@test "descriptors: another thread calls shutdown(SHUT_RDWR) during a blocked write(): it returns and ends the write" {
    # the server reads nothing until fault_fds releases it: the write stays
    # blocked until the other thread's shutdown/close (30 s: only if never)
    start_fault_server --mode noread --stall 30
    fds_pair wsd write-abort shutdown "$FS_RELEASE" "$FS_ADDR"
}

@test "descriptors: another thread calls close() during a blocked write(): close returns at once" {
    start_fault_server --mode noread --stall 30   # see above
    fds_pair wcl write-abort close "$FS_RELEASE" "$FS_ADDR"
}

@test "descriptors: dup2() of a file over a socket whose unfinished head the shim may hold: reads give the file's bytes" {
    start_fault_server --stall 3
    printf 'file bytes\n' >"$T/file"
    fds_pair hd held-dup2 "$T/file" "$FS_ADDR"
    grep -qx 'read=file bytes\\x0a' "$T/hd.shim"
}

@test "descriptors: close_range() of a socket whose unfinished head the shim may hold, number reused by a socketpair" {
    start_fault_server --stall 3
    fds_pair hcr held-close_range "$FS_ADDR"
    grep -qx 'read=PAIR-BYTES\\x0a' "$T/hcr.shim"
}

@test "descriptors: fork, the parent writes the request, the child reads the response: the child's bytes as without the shim" {
    start_fault_server
    echo base >"$FS_LOG/phase"
    run timeout "$FC_TIMEOUT" "$F/fault_fds" fork-read "$T/child.base" "$FS_ADDR"
    echo "$output"; [ "$status" -eq 0 ]; [ "$output" = child_status=0 ]
    echo shim >"$FS_LOG/phase"
    run shim_env "$F/fault_fds" fork-read "$T/child.shim" "$FS_ADDR"
    echo "$output"; [ "$status" -eq 0 ]; [ "$output" = child_status=0 ]
    same_bytes "$T/child.base" "$T/child.shim"
    # the parent's request was rewritten all the same
    grep -aqx $'Connection: close\r' "$FS_LOG/shim/conn-0001.raw"
}

@test "descriptors: fork, parent and child write 200 requests each on the shared socket at once: all arrive whole, each rewritten once" {
    start_server sink
    set_phase base
    run timeout "$FC_TIMEOUT" "$F/fault_fds" fork-write 200 "127.0.0.1:$SERVER_PORT"
    [ "$status" -eq 0 ]
    # the server picks the phase when it accepts: wait until the base
    # connection is closed (hence was accepted) before switching
    wait_closed 1
    set_phase shim
    run shim_env "$F/fault_fds" fork-write 200 "127.0.0.1:$SERVER_PORT"
    [ "$status" -eq 0 ]
    wait_closed 2
    run check_requests "$SERVER_LOG/shim" --expect-close --count 400
    echo "$output"; [ "$status" -eq 0 ]
    run python3 "$ROOT/tests/faults/same_requests.py" "$SERVER_LOG/base" "$SERVER_LOG/shim" 400
    echo "$output"; [ "$status" -eq 0 ]
}

# ---- hostile configuration -----------------------------------------------
# tests/config.bats checks each variable's validation in detail; here one
# loop over every variable the shim reads (from shim/settings.c).

@test "configuration: every FORCECLOSE_* variable garbage or 100 KB: one stderr line, program and wire as without the shim; empty: no line, program unaffected" {
    skip_unless_cmd curl
    start_server keepalive
    local vars v val k=0 huge garbage all=() urls
    vars=$(grep -o '^[[:space:]]*{ "FORCECLOSE_[A-Z_]*"' "$ROOT/shim/settings.c" | grep -o 'FORCECLOSE_[A-Z_]*' | sort -u)
    echo "variables:" $vars
    [ "$(wc -w <<<"$vars")" -ge 8 ]
    huge=$(head -c 102400 /dev/zero | tr '\0' 'x')
    garbage=$'gar\x01bage\nsecond line \xff'
    urls=("$SERVER_URL/a" --next "$SERVER_URL/chunked/b")
    set_phase base
    timeout "$FC_TIMEOUT" "${CURL[@]}" "${urls[@]}" >"$T/curl.base"
    for v in $vars; do
        all+=("$v=$garbage")
        for val in "$garbage" "/$huge" ""; do
            k=$((k + 1))
            set_phase "c$k"
            shim_env "$v=$val" "${CURL[@]}" "${urls[@]}" >"$T/out.$k" 2>"$T/err.$k" || {
                echo "$v (${#val} bytes): curl failed"; cat "$T/err.$k"; return 1; }
            cmp "$T/curl.base" "$T/out.$k"
            if [ -z "$val" ]; then
                # empty counts as unset: the shim is active and says nothing
                [ ! -s "$T/err.$k" ] || { echo "$v empty: stderr"; cat "$T/err.$k"; return 1; }
                continue
            fi
            echo "$v (${#val} bytes): $(cat "$T/err.$k")"
            [ "$(wc -l <"$T/err.$k")" -eq 1 ]
            [ "$(wc -c <"$T/err.$k")" -lt 1024 ]
            grep -q "$v" "$T/err.$k"
            # the shim stayed out of the way: the wire is the program's own
            run check_requests "$SERVER_LOG/c$k" --same-bytes-as "$SERVER_LOG/base" --count 2
            [ "$status" -eq 0 ] || { echo "$output"; return 1; }
        done
    done
    # all of them bad at once: still one line
    shim_env "${all[@]}" "${CURL[@]}" "${urls[@]}" >"$T/out.all" 2>"$T/err.all"
    cmp "$T/curl.base" "$T/out.all"
    [ "$(wc -l <"$T/err.all")" -eq 1 ]
}
