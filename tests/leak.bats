#!/usr/bin/env bats
# Leaks: real clients make >= 300 requests (GET/HEAD/POST mixed where the
# client allows it) under the shim against the keep-alive recording server,
# which ignores "Connection: close" and never closes.  For each client:
#   - every request succeeded with the byte-exact deterministic body;
#   - the server saw exactly one request per connection (the client read
#     "Connection: close" and did not reuse; the shim tore each connection
#     down), never more than 2 connections open at once, and none open once
#     the client has exited (stats.json, polled with a bound);
#   - every request carried "Connection: close" (check_requests).
# The leaky python loop is also run without the shim, to show that the
# measurement measures something: there the sockets pile up.

load lib/common
load lib/resp

N=300

# leak_free DIR N: the server-side assertions above for phase dir DIR.
leak_free() {
    run stat_wait "$1" "open == 0 and connections == $2 and requests_per_conn == [1] * $2 and max_open <= 2"
    echo "$output"
    [ "$status" -eq 0 ]
    run check_requests "$1" --expect-close --count "$2"
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
}

# shim_json FILE CMD...: run CMD under the shim, keep its stdout in FILE.
shim_json() {
    local f="$1"
    shift
    run with_shim timeout "$FC_TIMEOUT" "$@"
    echo "status $status"
    echo "$output" | tail -5
    echo "$output" >"$f"
    [ "$status" -eq 0 ]
}

@test "curl: $N URLs (GET/HEAD/POST) in one run from a -K config file" {
    skip_unless_cmd curl
    start_server keepalive
    local T="$BATS_TEST_TMPDIR" i
    mkdir -p "$T/out"
    : >"$T/urls.cfg"
    for ((i = 0; i < N; i++)); do
        ((i)) && echo 'next' >>"$T/urls.cfg"
        case $((i % 3)) in
            1) echo 'head' >>"$T/urls.cfg" ;;
            2) echo "data = \"k=$i\"" >>"$T/urls.cfg" ;;
        esac
        printf 'url = "%s/leak/curl/%d"\noutput = "%s/out/%d"\n' "$SERVER_URL" "$i" "$T" "$i" >>"$T/urls.cfg"
    done
    set_phase shim
    run with_shim timeout "$FC_TIMEOUT" "${CURL[@]}" -K "$T/urls.cfg"
    echo "status $status"
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    python3 - "$T/out" "$N" <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
bad = []
for i in range(n):
    path = os.path.join(d, str(i))
    got = open(path, "rb").read() if os.path.exists(path) else None
    t = "/leak/curl/%d" % i
    if i % 3 == 1:      # curl -I writes the head to the output file
        want = b"Content-Length: %d\r\n" % len(b"GET %s 0\n" % t.encode())
        ok = got is not None and want in got and b"\r\nConnection: close\r\n" in got
    elif i % 3 == 2:
        ok = got == b"POST %s %d\n" % (t.encode(), len(b"k=%d" % i))
    else:
        ok = got == b"GET %s 0\n" % t.encode()
    if not ok:
        bad.append("%d: %r" % (i, got))
print("%d of %d outputs wrong" % (len(bad), n))
print("\n".join(bad[:10]))
sys.exit(1 if bad else 0)
EOF
    leak_free "$SERVER_LOG/shim" "$N"
}

@test "python http.client: one connection object for $N requests (reconnects by itself)" {
    start_server keepalive
    set_phase shim
    shim_json "$BATS_TEST_TMPDIR/r.json" python3 "$PYLEAK" reuse 127.0.0.1 "$SERVER_PORT" "$N"
    jcheck "d['failed'] == 0 and d['verified'] == $N and d['close_seen'] == $N and d['sockets_max'] <= 2" "$BATS_TEST_TMPDIR/r.json"
    leak_free "$SERVER_LOG/shim" "$N"
}

@test "python leaky loop: $N HTTPConnections kept referenced, never closed" {
    start_server keepalive
    local T="$BATS_TEST_TMPDIR"
    # without the shim the leak is real: one idle socket per request, held
    # open on both ends while the client runs
    set_phase base
    run timeout "$FC_TIMEOUT" python3 "$PYLEAK" leaky 127.0.0.1 "$SERVER_PORT" "$N" --stats "$SERVER_LOG/base"
    echo "without the shim: $output"
    [ "$status" -eq 0 ]
    jcheck "d['failed'] == 0 and d['sockets_end'] >= 250 and d['server_open'] >= 250" <(echo "$output")
    run stat_wait "$SERVER_LOG/base" 'open == 0'
    set_phase shim
    shim_json "$T/s.json" python3 "$PYLEAK" leaky 127.0.0.1 "$SERVER_PORT" "$N" --stats "$SERVER_LOG/shim"
    jcheck "d['failed'] == 0 and d['verified'] == $N and d['close_seen'] == $N" "$T/s.json"
    jcheck "d['sockets_max'] <= 3 and d['sockets_end'] <= 3" "$T/s.json"
    jcheck "d['server_open'] == 0" "$T/s.json"
    leak_free "$SERVER_LOG/shim" "$N"
}

@test "python urllib.request: $N requests" {
    start_server keepalive
    set_phase shim
    shim_json "$BATS_TEST_TMPDIR/u.json" python3 "$PYLEAK" urllib 127.0.0.1 "$SERVER_PORT" "$N"
    jcheck "d['failed'] == 0 and d['verified'] == $N and d['close_seen'] == $N and d['sockets_max'] <= 2" "$BATS_TEST_TMPDIR/u.json"
    leak_free "$SERVER_LOG/shim" "$N"
}

@test "node http with a keepAlive agent: $N requests" {
    skip_unless_cmd node
    start_server keepalive
    set_phase shim
    shim_json "$BATS_TEST_TMPDIR/n.json" node "$NODEHTTP" leak 127.0.0.1 "$SERVER_PORT" "$N"
    # the agent opened a new socket for every request, and never held more
    # than two descriptors
    jcheck "d['failed'] == 0 and d['verified'] == $N and d['close_seen'] == $N and d['sockets'] == $N and d['sockets_max'] <= 2" \
        "$BATS_TEST_TMPDIR/n.json"
    leak_free "$SERVER_LOG/shim" "$N"
}

@test "wget: $N URLs in three runs (200 GET, 50 HEAD, 50 POST)" {
    skip_unless_cmd wget
    start_server keepalive
    local T="$BATS_TEST_TMPDIR" i
    local W=(wget --no-config --no-proxy -q --tries=1 --timeout=10)
    for ((i = 0; i < 200; i++)); do echo "$SERVER_URL/leak/wget/get/$i"; done >"$T/get.list"
    for ((i = 0; i < 50; i++)); do echo "$SERVER_URL/leak/wget/head/$i"; done >"$T/head.list"
    for ((i = 0; i < 50; i++)); do echo "$SERVER_URL/leak/wget/post/$i"; done >"$T/post.list"
    set_phase get
    run with_shim timeout "$FC_TIMEOUT" "${W[@]}" -O "$T/get.out" -i "$T/get.list"
    echo "get: $status $output"
    [ "$status" -eq 0 ]
    set_phase head
    run with_shim timeout "$FC_TIMEOUT" "${W[@]}" --method=HEAD -O "$T/head.out" -i "$T/head.list"
    echo "head: $status $output"
    [ "$status" -eq 0 ]
    set_phase post
    run with_shim timeout "$FC_TIMEOUT" "${W[@]}" --post-data=k=v -O "$T/post.out" -i "$T/post.list"
    echo "post: $status $output"
    [ "$status" -eq 0 ]
    for ((i = 0; i < 200; i++)); do echo "GET /leak/wget/get/$i 0"; done >"$T/get.want"
    for ((i = 0; i < 50; i++)); do echo "POST /leak/wget/post/$i 3"; done >"$T/post.want"
    same_bytes "$T/get.want" "$T/get.out"
    same_bytes "$T/post.want" "$T/post.out"
    [ ! -s "$T/head.out" ]
    leak_free "$SERVER_LOG/get" 200
    leak_free "$SERVER_LOG/head" 50
    leak_free "$SERVER_LOG/post" 50
}

@test "ab -k -n $N -c 1 (plus HEAD and POST runs)" {
    command -v ab >/dev/null 2>&1 || skip "ab is not installed (Debian package apache2-utils)"
    start_server keepalive
    local T="$BATS_TEST_TMPDIR" ph
    printf 'k=v' >"$T/post.body"
    set_phase get
    run with_shim timeout "$FC_TIMEOUT" ab -k -n "$N" -c 1 "$SERVER_URL/leak/ab/get"
    echo "$output" >"$T/get.txt"
    echo "get: status $status"
    [ "$status" -eq 0 ]
    set_phase head
    run with_shim timeout "$FC_TIMEOUT" ab -k -i -n 100 -c 1 "$SERVER_URL/leak/ab/head"
    echo "$output" >"$T/head.txt"
    echo "head: status $status"
    [ "$status" -eq 0 ]
    set_phase post
    run with_shim timeout "$FC_TIMEOUT" ab -k -p "$T/post.body" -T text/plain -n 100 -c 1 "$SERVER_URL/leak/ab/post"
    echo "$output" >"$T/post.txt"
    echo "post: status $status"
    [ "$status" -eq 0 ]
    for ph in get head post; do
        grep -E '^(Complete|Failed|Non-2xx|Keep-Alive) |^Document Length|^Total transferred' "$T/$ph.txt"
        local n=100
        [ "$ph" = get ] && n=$N
        grep -Eq "^Complete requests: +$n\$" "$T/$ph.txt"
        grep -Eq '^Failed requests: +0$' "$T/$ph.txt"
        refute grep -q '^Non-2xx responses' "$T/$ph.txt"
        # every response said close, so ab never reused a connection
        grep -Eq '^Keep-Alive requests: +0$' "$T/$ph.txt"
    done
    # ab checks every body's length against the first one; the length is
    # that of the deterministic body
    grep -Eq "^Document Length: +$(printf 'GET /leak/ab/get 0\n' | wc -c) bytes" "$T/get.txt"
    grep -Eq "^Document Length: +$(printf 'POST /leak/ab/post 3\n' | wc -c) bytes" "$T/post.txt"
    leak_free "$SERVER_LOG/get" "$N"
    leak_free "$SERVER_LOG/head" 100
    leak_free "$SERVER_LOG/post" 100
}

@test "java HttpURLConnection (keep-alive by default): $N requests" {
    skip_unless_cmd javac
    start_server keepalive
    javac -d "$BATS_TEST_TMPDIR" "$ROOT/tests/lib/JavaLeak.java"
    set_phase shim
    shim_json "$BATS_TEST_TMPDIR/j.json" java -cp "$BATS_TEST_TMPDIR" JavaLeak 127.0.0.1 "$SERVER_PORT" "$N"
    jcheck "d['failed'] == 0 and d['verified'] == $N and d['close_seen'] == $N" "$BATS_TEST_TMPDIR/j.json"
    leak_free "$SERVER_LOG/shim" "$N"
}

@test "perl HTTP::Tiny (keep-alive): $N requests" {
    skip_unless_cmd perl
    start_server keepalive
    set_phase shim
    shim_json "$BATS_TEST_TMPDIR/p.json" perl "$ROOT/tests/lib/perl_leak.pl" 127.0.0.1 "$SERVER_PORT" "$N"
    jcheck "d['failed'] == 0 and d['verified'] == $N and d['close_seen'] == $N" "$BATS_TEST_TMPDIR/p.json"
    leak_free "$SERVER_LOG/shim" "$N"
}

# PHP loads its extensions with RTLD_DEEPBIND: the libcurl under its curl
# extension would bind connect/send/recv to libc's own, past the library,
# which drops the flag (shim/io_dl.c).  FORCECLOSE_KEEP_DEEPBIND=1 keeps it:
# then the leak is back, which shows what the drop does.
@test "PHP curl extension (libcurl, loaded with RTLD_DEEPBIND): one handle, $N requests" {
    skip_unless_php curl
    start_server keepalive
    local url="http://127.0.0.1:$SERVER_PORT/php" phase
    for phase in base shim keep; do
        set_phase "$phase"
        case "$phase" in
            base) run timeout "$FC_TIMEOUT" php "$ROOT/tests/lib/php_curl_client.php" "$url" - "$N" ;;
            shim) run with_shim timeout "$FC_TIMEOUT" php "$ROOT/tests/lib/php_curl_client.php" "$url" - "$N" ;;
            keep) FORCECLOSE_KEEP_DEEPBIND=1 run with_shim timeout "$FC_TIMEOUT" \
                      php "$ROOT/tests/lib/php_curl_client.php" "$url" - "$N" ;;
        esac
        echo "$phase: status $status"
        [ "$status" -eq 0 ]
        echo "$output" >"$BATS_TEST_TMPDIR/$phase.out"
    done
    [ -s "$BATS_TEST_TMPDIR/base.out" ]
    same_file "$BATS_TEST_TMPDIR/base.out" "$BATS_TEST_TMPDIR/shim.out"
    run stat_wait "$SERVER_LOG/base" "connections == 1 and requests == $N"
    echo "$output"; [ "$status" -eq 0 ]
    leak_free "$SERVER_LOG/shim" "$N"
    run stat_wait "$SERVER_LOG/keep" "connections == 1 and requests == $N"
    echo "$output"; [ "$status" -eq 0 ]
}
