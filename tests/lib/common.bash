# Helpers for the bats suites; every .bats file does `load lib/common`.
#
# A .bats file that defines its own teardown must call stop_servers in it:
# every process a test starts is stopped by PID, pass or fail.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FC_LIB="${FC_LIB:-$ROOT/shim/libforceclose.so}"   # overridable for debugging
# What tests put in LD_PRELOAD: FC_LIB, or what tests/sanitize/asan.sh sets
# (the ASan runtime first, then its FC_LIB).
FC_PRELOAD="${FC_PRELOAD:-$FC_LIB}"
CHECK="$ROOT/tests/lib/check_requests.py"
FC_TIMEOUT="${FC_TIMEOUT:-60}"   # bound on every client run

# Proxy settings from the environment must never route test traffic away
# from the loopback server.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='*' NO_PROXY='*'

# start_server MODE [HOST|unix:PATH] [extra server args...]
# Starts a recording server with a fresh log dir and sets (and exports)
# SERVER_PORT (the socket path for unix:), SERVER_LOG, SERVER_PID and
# SERVER_URL.  Call it directly, not in $(...), so the variables survive;
# copy them before starting another server.  Returns 1 if the server could
# not listen (e.g. no ::1), with its stderr printed.
start_server() {
    local mode="$1" host="${2:-127.0.0.1}" n dir args=()
    shift $(( $# < 2 ? $# : 2 ))
    n=$(( ${_FC_SERVER_COUNT:-0} + 1 ))
    _FC_SERVER_COUNT=$n
    dir="$BATS_TEST_TMPDIR/server-$n"
    mkdir -p "$dir"
    case "$host" in
        unix:*) args=(--unix "${host#unix:}") ;;
        *) args=(--host "$host") ;;
    esac
    # 3>&- : bats waits for fd 3 to close, a server holding it would hang
    # the run.
    python3 "$ROOT/tests/server/recording_server.py" --mode "$mode" \
        --port-file "$dir/port" --log-dir "$dir/log" "${args[@]}" "$@" \
        >"$dir/server.out" 2>&1 3>&- &
    SERVER_PID=$!
    echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/server.pids"
    local i
    for (( i = 0; i < 100; i++ )); do
        [ -s "$dir/port" ] && break
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            cat "$dir/server.out" >&2
            return 1
        fi
        sleep 0.1
    done
    if [ ! -s "$dir/port" ]; then
        echo "server $n did not start in 10s" >&2
        return 1
    fi
    SERVER_PORT="$(cat "$dir/port")"
    SERVER_LOG="$dir/log"
    case "$host" in
        unix:*) SERVER_URL="http://localhost" ;;
        *:*) SERVER_URL="http://[$host]:$SERVER_PORT" ;;
        *) SERVER_URL="http://$host:$SERVER_PORT" ;;
    esac
    export SERVER_PORT SERVER_LOG SERVER_PID SERVER_URL
}

# stop_pids FILE: TERM every PID listed in FILE (one a line), KILL it if it
# is still there after 5 s, and reap it.  No FILE: nothing to do.
stop_pids() {
    local pid i
    [ -f "$1" ] || return 0
    while read -r pid; do
        kill -TERM "$pid" 2>/dev/null || true
        for (( i = 0; i < 50; i++ )); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done <"$1"
}

# stop_servers: TERM every server this test started, then KILL stragglers.
stop_servers() {
    stop_pids "$BATS_TEST_TMPDIR/server.pids"
    rm -f "$BATS_TEST_TMPDIR/server.pids"
}

teardown() {
    stop_servers
}

# set_phase NAME [LOGDIR]: connections accepted from now on are recorded in
# LOGDIR/NAME/ (default LOGDIR: $SERVER_LOG).  One server, two phases keeps
# the Host header (port) identical between a baseline and a shim run.
set_phase() {
    local log="${2:-$SERVER_LOG}"
    echo "$1" >"$log/phase.tmp"
    mv "$log/phase.tmp" "$log/phase"
}

# with_shim CMD...: run CMD with the forceclose library preloaded.
with_shim() {
    if [ ! -f "$FC_LIB" ]; then
        echo "missing $FC_LIB (run make at the repo root)" >&2
        return 1
    fi
    LD_PRELOAD="$FC_PRELOAD${LD_PRELOAD:+:$LD_PRELOAD}" "$@"
}

# refute CMD...: CMD fails.  A bare "! CMD" never fails a bats test (set -e
# ignores negated commands); tests/lint.bats rejects it in every .bats file.
refute() {
    if "$@"; then
        echo "unexpectedly true: $*"
        return 1
    fi
}

skip_unless_cmd() {
    command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"
}

# skip_unless_php [curl]: PHP (and its curl extension) is installed and
# can run here: PHP loads its extensions with RTLD_DEEPBIND, which a
# sanitizer runtime (tests/sanitize) refuses before the library drops it.
skip_unless_php() {
    skip_unless_cmd php
    [ "$FC_PRELOAD" = "$FC_LIB" ] ||
        skip "PHP under a sanitizer runtime, which refuses RTLD_DEEPBIND"
    [ "${1:-}" != curl ] ||
        php -r 'exit(function_exists("curl_init") ? 0 : 1);' ||
        skip "php-curl is not installed"
}

# need_programs NAME...: the test programs build/tests/NAME exist.
need_programs() {
    local p
    for p in "$@"; do
        [ -x "$ROOT/build/tests/$p" ] || {
            echo "missing $ROOT/build/tests/$p: run 'make test-programs'" >&2
            return 1
        }
    done
}

check_requests() {
    python3 "$CHECK" "$@"
}

# run_base_and_shim CMD...: against the current server, run CMD without the
# shim into phase "base", then with it into phase "shim"; both must exit 0.
# Sets BASE_LOG and SHIM_LOG.
run_base_and_shim() {
    BASE_LOG="$SERVER_LOG/base"
    SHIM_LOG="$SERVER_LOG/shim"
    set_phase base
    run timeout "$FC_TIMEOUT" "$@"
    echo "baseline run: status $status"
    echo "$output"
    [ "$status" -eq 0 ]
    set_phase shim
    run with_shim timeout "$FC_TIMEOUT" "$@"
    echo "shim run: status $status"
    echo "$output"
    [ "$status" -eq 0 ]
}

# assert_forced_close N: the shim run has N requests, each carrying exactly
# one close token, and equals the baseline apart from connection fields.
assert_forced_close() {
    run check_requests "$SHIM_LOG" --expect-close --count "$1"
    echo "$output"
    [ "$status" -eq 0 ]
    run check_requests "$SHIM_LOG" --same-as "$BASE_LOG" --ignore-conn-split --count "$1"
    echo "$output"
    [ "$status" -eq 0 ]
    run check_requests "$BASE_LOG" --count "$1"
    echo "$output"
    [ "$status" -eq 0 ]
}

# wait_closed N: the recording server has logged N closed connections (all
# phases); bounded (10 s).
wait_closed() {
    local i c=0
    for ((i = 0; i < 200; i++)); do
        c=$(grep -c '^closed ' "$SERVER_LOG/connections.log" 2>/dev/null || true)
        [ "${c:-0}" -ge "$1" ] && return 0
        sleep 0.05
    done
    echo "server closed ${c:-0} of $1 connections"
    return 1
}

# same_file A B: cmp; on a difference show both sizes and the start of both
# (od -c).
same_file() {
    if ! cmp "$1" "$2"; then
        echo "sizes: $(stat -c %s "$1") $(stat -c %s "$2")"
        echo "--- $1"; od -c "$1" | head -60
        echo "--- $2"; od -c "$2" | head -60
        return 1
    fi
}
