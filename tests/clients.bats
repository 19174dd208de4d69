#!/usr/bin/env bats
# Real, unmodified clients under the shim against the keep-alive recording
# server.  Each test runs the client twice against one server (one Host
# header): without the shim into phase "base", with it into phase "shim",
# then checks the shim's requests with tests/lib/check_requests.py.

load lib/common

# -q must come first: it makes curl ignore any ~/.curlrc.
CURL=(curl -q -sS --noproxy '*')

@test "curl: several URLs on one connection, with Connection/Keep-Alive/TE headers" {
    skip_unless_cmd curl
    start_server keepalive
    local u="$SERVER_URL" o=(-o /dev/null)
    # --next gives each URL its own headers while curl keeps its connection
    # pool, so all requests normally share one connection.
    run_base_and_shim "${CURL[@]}" "${o[@]}" "$u/c/plain" \
        --next "${o[@]}" -H 'Connection: keep-alive' "$u/c/keepalive" \
        --next "${o[@]}" -H 'Connection: TE' -H 'TE: trailers' "$u/c/te" \
        --next "${o[@]}" -H 'Connection: keep-alive' -H 'Keep-Alive: timeout=5' "$u/c/ka-field" \
        --next "${o[@]}" -d 'name=value' "$u/c/post"
    assert_forced_close 5
    # The TE option must survive next to close (also covered by --same-as).
    run grep -aiE '^Connection:.*\bte\b' "$SHIM_LOG"/conn-*.raw
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "${output,,}" == *close* ]]
}

@test "curl: Expect: 100-continue upload to a slow reader, then a large download" {
    skip_unless_cmd curl
    start_server slow
    head -c 1000000 /dev/urandom >"$BATS_TEST_TMPDIR/big.bin"
    run_base_and_shim "${CURL[@]}" -o /dev/null -H 'Expect: 100-continue' \
        --data-binary @"$BATS_TEST_TMPDIR/big.bin" "$SERVER_URL/upload" \
        --next -o "$BATS_TEST_TMPDIR/down.bin" "$SERVER_URL/size/2000000"
    assert_forced_close 2
    [ "$(stat -c %s "$BATS_TEST_TMPDIR/down.bin")" -eq 2000000 ]
}

@test "curl --http1.0 requests get Connection: close too" {
    skip_unless_cmd curl
    start_server keepalive
    run_base_and_shim "${CURL[@]}" --http1.0 -o /dev/null "$SERVER_URL/h10/a" \
        --next --http1.0 -o /dev/null "$SERVER_URL/h10/b"
    assert_forced_close 2
    run grep -ac '^GET /h10/. HTTP/1.0' "$SHIM_LOG"/conn-*.raw
    [ "$(echo "$output" | awk -F: '{ s += $NF } END { print s }')" -eq 2 ]
}

@test "curl over IPv6 [::1]" {
    skip_unless_cmd curl
    start_server keepalive ::1 || skip "cannot listen on ::1"
    run_base_and_shim "${CURL[@]}" -g -o /dev/null "$SERVER_URL/v6/a" \
        --next -g -o /dev/null "$SERVER_URL/v6/b"
    assert_forced_close 2
}

@test "curl over a Unix socket" {
    skip_unless_cmd curl
    local sock="$BATS_TEST_TMPDIR/http.sock"
    # sun_path holds 107 bytes; fall back to a short private dir.
    if (( ${#sock} > 100 )); then
        sock="$(mktemp -d /tmp/fc.XXXXXX)/http.sock"
    fi
    start_server keepalive "unix:$sock"
    run_base_and_shim "${CURL[@]}" --unix-socket "$sock" -o /dev/null "$SERVER_URL/unix/a" \
        --next --unix-socket "$sock" -o /dev/null -d 'x=1' "$SERVER_URL/unix/b"
    assert_forced_close 2
}

@test "wget: two URLs in one run" {
    skip_unless_cmd wget
    start_server keepalive
    # wget sends "Connection: Keep-Alive" by default.
    run_base_and_shim wget --no-config --no-proxy -q -O /dev/null \
        "$SERVER_URL/wget/1" "$SERVER_URL/wget/2"
    assert_forced_close 2
}

@test "python http.client: GET, HEAD, POST, chunked POST on one connection" {
    skip_unless_cmd python3
    start_server keepalive
    run_base_and_shim python3 "$ROOT/tests/lib/py_client.py" 127.0.0.1 "$SERVER_PORT"
    assert_forced_close 5
}

@test "python http.client: 4 MB body to a slow reader (short writes) then a GET" {
    skip_unless_cmd python3
    start_server slow
    # curl polls before each 64 KiB send and never sees a short write;
    # http.client hands the kernel the whole body in one send().
    run_base_and_shim python3 "$ROOT/tests/lib/py_client.py" 127.0.0.1 "$SERVER_PORT" upload
    assert_forced_close 2
}

@test "node http with a keepAlive Agent (maxSockets 1)" {
    skip_unless_cmd node
    start_server keepalive
    run_base_and_shim node "$ROOT/tests/lib/node_client.js" 127.0.0.1 "$SERVER_PORT"
    assert_forced_close 4
}

# Requests the shim must leave alone reach the server byte for byte.  A plain
# request in phase "control" shows the shim was loaded and active, so a
# no-op library cannot pass these.
assert_shim_active() {
    set_phase control
    run with_shim timeout "$FC_TIMEOUT" "${CURL[@]}" -o /dev/null "$SERVER_URL/control"
    [ "$status" -eq 0 ]
    run check_requests "$SERVER_LOG/control" --expect-close --count 1
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "curl --http2 h2c upgrade request is left untouched" {
    skip_unless_cmd curl
    curl -V | grep -qw HTTP2 || skip "curl without HTTP2"
    start_server keepalive
    # Sends "Connection: Upgrade, HTTP2-Settings"; the server answers 200 and
    # curl carries on in HTTP/1.1.
    run_base_and_shim "${CURL[@]}" --http2 -o /dev/null "$SERVER_URL/upgrade"
    run check_requests "$SHIM_LOG" --same-bytes-as "$BASE_LOG" --count 1
    echo "$output"
    [ "$status" -eq 0 ]
    grep -aqi '^Upgrade: h2c' "$SHIM_LOG"/conn-0001.raw
    assert_shim_active
}

@test "curl --ntlm request is left untouched" {
    skip_unless_cmd curl
    curl -V | grep -qw NTLM || skip "curl without NTLM"
    start_server keepalive
    run_base_and_shim "${CURL[@]}" --ntlm -u user:secret -o /dev/null "$SERVER_URL/ntlm"
    run check_requests "$SHIM_LOG" --same-bytes-as "$BASE_LOG" --count 1
    echo "$output"
    [ "$status" -eq 0 ]
    grep -aqi '^Authorization: NTLM ' "$SHIM_LOG"/conn-0001.raw
    assert_shim_active
}
