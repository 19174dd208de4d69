# Helpers for the response-side suites (responses.bats, leak.bats): load it
# after lib/common.

HOLD="$ROOT/tests/lib/hold_client.py"
PYLEAK="$ROOT/tests/lib/py_leak.py"
PYRESP="$ROOT/tests/lib/py_resp.py"
NODEHTTP="$ROOT/tests/lib/node_http.js"
# -q must come first: it makes curl ignore any ~/.curlrc.
CURL=(curl -q -sS --noproxy '*')

# jcheck EXPR FILE: EXPR over the JSON line(s) in FILE (d: last, ds: all).
jcheck() {
    python3 "$ROOT/tests/lib/jcheck.py" "$@"
}

# stat_wait DIR EXPR: bounded wait (10 s) for DIR/stats.json to satisfy EXPR.
stat_wait() {
    python3 "$ROOT/tests/lib/stats.py" "$1" "$2" --wait 10
}

# stat_now DIR EXPR: check once.
stat_now() {
    python3 "$ROOT/tests/lib/stats.py" "$1" "$2" --wait 0
}

resp_check() {
    python3 "$ROOT/tests/lib/resp_check.py" "$@"
}

# same_bytes A B: A and B identical; else show both (escaped, first 2000 bytes).
same_bytes() {
    # curl creates no -o file for an empty body
    if [ ! -e "$1" ] && [ ! -e "$2" ]; then return 0; fi
    if cmp -s "$1" "$2"; then return 0; fi
    echo "files differ: $1 ($(stat -c %s "$1") bytes) vs $2 ($(stat -c %s "$2") bytes)"
    cmp "$1" "$2" || true
    python3 -c 'import sys
for p in sys.argv[1:]:
    print(p, repr(open(p, "rb").read()[:2000]))' "$1" "$2"
    return 1
}

# shim_env VAR=VALUE... CMD...: run CMD with the library preloaded into CMD
# alone, bounded by timeout (which itself runs without the library, so a
# diagnostic the library prints comes from CMD only).
shim_env() {
    local envs=()
    while [[ "${1:-}" == *=* ]]; do envs+=("$1"); shift; done
    [ -f "$FC_LIB" ] || { echo "missing $FC_LIB (run make at the repo root)" >&2; return 1; }
    timeout "$FC_TIMEOUT" env "${envs[@]}" LD_PRELOAD="$FC_PRELOAD${LD_PRELOAD:+:$LD_PRELOAD}" "$@"
}

# curl_pair NAME URL [curl args...]: run curl without the shim (phase
# NAME-base) and with it (phase NAME-shim), each dumping every response head
# to $T/NAME.{base,shim}.heads and the raw body (--raw: chunk framing and
# trailers kept) to $T/NAME.{base,shim}.body.  Both must exit 0; then the
# bodies must be byte-identical and the heads must pass resp_check
# --final-close.  The shim phase must have seen one request per connection
# and, once curl is gone, no open connection.
curl_pair() {
    local name="$1" url="$2" T="$BATS_TEST_TMPDIR"
    shift 2
    local v
    for v in base shim; do
        set_phase "$name-$v"
        local pre=()
        [ "$v" = shim ] && pre=(with_shim)
        run "${pre[@]}" timeout "$FC_TIMEOUT" "${CURL[@]}" --raw -D "$T/$name.$v.heads" \
            -o "$T/$name.$v.body" "$@" "$url"
        echo "curl $v: status $status"
        echo "$output"
        [ "$status" -eq 0 ]
    done
    if [[ " $* " == *" -I "* ]]; then
        # curl -I writes the head to the -o file as well
        run resp_check "$T/$name.base.body" "$T/$name.shim.body" --final-close
        echo "$output"
        [ "$status" -eq 0 ]
    else
        same_bytes "$T/$name.base.body" "$T/$name.shim.body"
    fi
    run resp_check "$T/$name.base.heads" "$T/$name.shim.heads" --final-close
    echo "$output"
    [ "$status" -eq 0 ]
    run stat_wait "$SERVER_LOG/$name-shim" 'open == 0 and connections >= 1 and all(r == 1 for r in requests_per_conn)'
    echo "$output"
    [ "$status" -eq 0 ]
}

# hold_pair NAME [ENV=VALUE...] [hold_client args...] METHOD:TARGET
# hold_client.py without the shim (phase NAME-base, --after none), then with
# it (phase NAME-shim, --after probe): bodies byte-identical, heads pass
# resp_check --final-close, and after the response, with the client still
# holding its socket, the server sees the connection closed, read() gives
# EOF, write() fails with EPIPE (and raises no SIGPIPE: hold_client dies of
# it), close() succeeds.  JSON report in $T/NAME.shim.json.
hold_pair() {
    local name="$1" T="$BATS_TEST_TMPDIR" envs=()
    shift
    while [[ "${1:-}" == *=* ]]; do envs+=("$1"); shift; done
    set_phase "$name-base"
    run timeout "$FC_TIMEOUT" python3 "$HOLD" "$HOLD_ADDR" --out "$T/$name.base" --after none "$@"
    echo "hold base: status $status"
    echo "$output"
    [ "$status" -eq 0 ]
    echo "$output" >"$T/$name.base.json"
    jcheck '"error" not in d' "$T/$name.base.json"
    set_phase "$name-shim"
    run shim_env "${envs[@]}" python3 "$HOLD" "$HOLD_ADDR" --out "$T/$name.shim" --after probe \
        --stats "$SERVER_LOG/$name-shim/stats.json" "$@"
    echo "hold shim (${envs[*]}): status $status"
    echo "$output"
    [ "$status" -eq 0 ]
    echo "$output" >"$T/$name.shim.json"
    jcheck '"error" not in d' "$T/$name.shim.json"
    same_bytes "$T/$name.base.body" "$T/$name.shim.body"
    run resp_check "$T/$name.base.heads" "$T/$name.shim.heads" --final-close
    echo "$output"
    [ "$status" -eq 0 ]
    jcheck 'd["server_closed"] is True' "$T/$name.shim.json"
    jcheck 'd["read_after"] == "eof"' "$T/$name.shim.json"
    jcheck 'd["write_after"] == "error:EPIPE"' "$T/$name.shim.json"
    jcheck 'd["close"] == "ok"' "$T/$name.shim.json"
    # the client ended it (FIN, not a reset)
    run stat_wait "$SERVER_LOG/$name-shim" 'open == 0 and requests_per_conn == [1] and [c["end"] for c in conns.values()] == ["eof"]'
    echo "$output"
    [ "$status" -eq 0 ]
}

# never_truncate KIND [ENV=VALUE...]: the deliberately ambiguous response
# /bad/KIND.  hold_client (--after pong) without and with the shim: the bytes
# it receives are identical and complete, and afterwards the connection is
# still open both ways (its PING gets the server's PONG; the server still
# counts the connection open).  Then curl -i (bounded by --max-time): same
# output bytes and exit status with and without the shim.
# For the kinds whose head is valid and whose problem lies in the body
# (chunk*), the head may have been rewritten before the problem could be
# seen: there the head is identical or passes --final-close, and every byte
# after it is identical (resp_check --stream).
never_truncate() {
    local kind="$1" T="$BATS_TEST_TMPDIR" envs=() v cmp_mode=same
    shift
    envs=("$@")
    [[ "$kind" == chunk* ]] && cmp_mode=stream
    start_server keepalive
    HOLD_ADDR="127.0.0.1:$SERVER_PORT"
    for v in base shim; do
        set_phase "nt-$v"
        if [ "$v" = base ]; then
            run timeout "$FC_TIMEOUT" python3 "$HOLD" "$HOLD_ADDR" --out "$T/nt.$v" --after pong \
                --stats "$SERVER_LOG/nt-$v/stats.json" "GET:/bad/$kind"
        else
            run shim_env "${envs[@]}" python3 "$HOLD" "$HOLD_ADDR" --out "$T/nt.$v" --after pong \
                --stats "$SERVER_LOG/nt-$v/stats.json" "GET:/bad/$kind"
        fi
        echo "hold $v: status $status"
        echo "$output"
        [ "$status" -eq 0 ]
        echo "$output" >"$T/nt.$v.json"
        [ "$v" = shim ] && [ "$cmp_mode" = stream ] || jcheck 'd["raw_complete"] is True' "$T/nt.$v.json"
        jcheck 'd["pong"] is True and d["server_open_after_pong"] == 1' "$T/nt.$v.json"
    done
    nt_compare "$cmp_mode" "$T/nt.base.raw" "$T/nt.shim.raw"
    run stat_wait "$SERVER_LOG/nt-shim" 'open == 0 and requests_per_conn == [1] and [c["pongs"] for c in conns.values()] == [1]'
    echo "$output"
    [ "$status" -eq 0 ]

    # curl waits for a close that never comes (the server keeps the
    # connection) until --max-time, and both runs must have received every
    # byte by then.  3 s is plenty on an idle machine (the server sends at
    # once); if the two runs differ (one got less: a busy machine), both are
    # repeated once with 20 s before the difference counts.
    local rb rs mt
    for mt in 3 20; do
        set_phase nt-curl-base
        timeout "$FC_TIMEOUT" "${CURL[@]}" -i --max-time "$mt" "$SERVER_URL/bad/$kind" \
            >"$T/curl.base.out" 2>"$T/curl.base.err" && rb=0 || rb=$?
        set_phase nt-curl-shim
        shim_env "${envs[@]}" "${CURL[@]}" -i --max-time "$mt" "$SERVER_URL/bad/$kind" \
            >"$T/curl.shim.out" 2>"$T/curl.shim.err" && rs=0 || rs=$?
        echo "curl base (--max-time $mt): status $rb: $(cat "$T/curl.base.err")"
        echo "curl shim (--max-time $mt): status $rs: $(cat "$T/curl.shim.err")"
        if [ "$rb" -eq "$rs" ] && nt_compare "$cmp_mode" "$T/curl.base.out" "$T/curl.shim.out" >/dev/null; then
            break
        fi
    done
    [ "$rb" -eq "$rs" ]
    nt_compare "$cmp_mode" "$T/curl.base.out" "$T/curl.shim.out"

    # control: the same library and settings do rewrite a valid response,
    # so the checks above did not pass merely because the shim was inactive
    set_phase nt-control
    # (to stdout: with FORCECLOSE_ACTION=close an output file curl opens after
    # the teardown is a separate matter, tested on its own)
    shim_env "${envs[@]}" "${CURL[@]}" -i "$SERVER_URL/control" >"$T/control.out"
    grep -aiq '^Connection: *close' "$T/control.out"
}

nt_compare() {
    if [ "$1" = same ]; then
        same_bytes "$2" "$3"
    else
        run resp_check "$2" "$3" --stream
        echo "$output"
        [ "$status" -eq 0 ]
    fi
}

# --- scripted peers: responses the recording server does not send -------
# (tests/server/scripted_server.py answers each request head with the next
# file's bytes, exactly; tests/lib/script_client.py follows its steps)

# scripted_run PHASE LIB RESPONSES... -- STEPS...: one connection, the
# server recording into $T/PHASE.got, the client's bytes read in
# $T/PHASE.out; LIB: "shim" runs the client under the library.
# SCRIPTED_TLS="CERT KEY": the same inside TLS (tests/tls.bats).
scripted_run() {
    local phase="$1" lib="$2" resps=() t="$BATS_TEST_TMPDIR" i pid tls=() ctls=()
    shift 2
    while [ "$1" != "--" ]; do resps+=("$1"); shift; done
    shift
    if [ -n "${SCRIPTED_TLS:-}" ]; then
        read -ra tls <<<"$SCRIPTED_TLS"
        ctls=(--tls "${tls[0]}")
        tls=(--tls "${tls[@]}")
    fi
    rm -f "$t/$phase.port"
    python3 "$ROOT/tests/server/scripted_server.py" --port-file "$t/$phase.port" \
        --record "$t/$phase.got" "${tls[@]}" "${resps[@]}" 3>&- &
    pid=$!
    echo "$pid" >>"$t/server.pids"
    # 10 s: the server binds port 0 at once; a loaded 2-core host is slow
    for (( i = 0; i < 100; i++ )); do
        [ -s "$t/$phase.port" ] && break
        sleep 0.1
    done
    [ -s "$t/$phase.port" ]
    if [ "$lib" = shim ]; then
        run with_shim timeout "$FC_TIMEOUT" python3 "$ROOT/tests/lib/script_client.py" \
            "${ctls[@]}" "$(cat "$t/$phase.port")" "$t/$phase.out" "$@"
    else
        run timeout "$FC_TIMEOUT" python3 "$ROOT/tests/lib/script_client.py" \
            "${ctls[@]}" "$(cat "$t/$phase.port")" "$t/$phase.out" "$@"
    fi
    echo "$phase client: status $status"; echo "$output"
    [ "$status" -eq 0 ]
    wait "$pid"	# the server ends once the client has closed
}

# with_close IN OUT: IN's head (one request) with "Connection: close" added
# before its blank line, as the library adds it
with_close() {
    python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); i = d.index(b"\r\n\r\n") + 2
open(sys.argv[2], "wb").write(d[:i] + b"Connection: close\r\n" + d[i:])' "$1" "$2"
}

# ambiguous_then_next: a response with Content-Length and Transfer-Encoding
# (the library gives it up), then a second request on the connection: it
# must go out unchanged (pass-through for good), and the program must read
# both responses as sent.  Leaves $T/r0.req and $T/r0-close.req (the
# first request as the library sends it) for the caller.
ambiguous_then_next() {
    local t="$BATS_TEST_TMPDIR" n0
    printf 'GET /0 HTTP/1.1\r\nHost: x\r\n\r\n' >"$t/r0.req"
    printf 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\n' >"$t/r1.req"
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' >"$t/r0.resp"
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' >"$t/r1.resp"
    cat "$t/r0.resp" "$t/r1.resp" >"$t/both.resp"
    n0=$(stat -c %s "$t/r0.resp")
    scripted_run base base "$t/r0.resp" "$t/r1.resp" -- "send:$t/r0.req" "read:$n0" "send:$t/r1.req" read:eof
    cmp "$t/base.out" "$t/both.resp"
    scripted_run shim shim "$t/r0.resp" "$t/r1.resp" -- "send:$t/r0.req" "read:$n0" "send:$t/r1.req" read:eof
    cmp "$t/shim.out" "$t/both.resp"
    with_close "$t/r0.req" "$t/r0-close.req"
    cat "$t/r0-close.req" "$t/r1.req" | cmp - "$t/shim.got"
}
