#!/usr/bin/env bats
# The library's configuration surface end to end: the FORCECLOSE_*
# variables (validation, destination filters, logs, stats, inheritance,
# disabling, secure execution) with real clients against the recording
# server.  What is checked is what can be seen from outside: the bytes the
# server recorded, the program's output, stderr, the log and stats files.
#
# Every run goes through runfc/runbase: only the client itself has the
# library (never bash, env or timeout), so stats and log lines come from
# the client alone.

load lib/common

# -q must come first: it makes curl ignore any ~/.curlrc.
CURL=(curl -q -sS --noproxy '*')
# the same options for the next URL group (-q is only valid first)
NEXT=(--next -sS --noproxy '*')
CFG="$ROOT/tests/config"
VARS=(ACTION DISABLE ONLY EXCEPT INHERIT LOG VERBOSE STATS KEEP_DEEPBIND)
for _v in "${VARS[@]}"; do unset "FORCECLOSE_$_v"; done
unset LD_PRELOAD _v

setup_file() {
    # python3 may be a wrapper script (pyenv): use the interpreter itself,
    # so that one python run is one process image.
    PY="$(python3 -c 'import sys; print(sys.executable)')"
    export PY
}

setup() {
    T="$BATS_TEST_TMPDIR"
    mkdir -p "$T/cwd"
}

teardown() {
    stop_servers
    # directories made outside $T (short socket paths, mount points)
    if [ -f "$T/rm.dirs" ]; then
        while read -r d; do rm -rf "$d"; done <"$T/rm.dirs"
    fi
}

# _run NAME yes|no [VAR=VALUE...] -- CMD...: CMD, with the library
# preloaded (yes) or not, the VARs set (a VAR LD_PRELOAD=... replaces the
# library alone) and $T/cwd as working directory; CMD's stdout, stderr,
# exit status and pid go to $T/NAME.out, .err, .rc, .pid.
_run() {
    local name="$1" shim="$2" vars=() rc=0
    shift 2
    [ "$shim" = yes ] && vars+=("LD_PRELOAD=$FC_PRELOAD")
    while [ "$1" != -- ]; do vars+=("$1"); shift; done
    shift
    timeout "$FC_TIMEOUT" bash -c 'cd "$1" && echo $$ >"$0" && shift && exec "$@"' \
        "$T/$name.pid" "$T/cwd" env "${vars[@]}" "$@" \
        >"$T/$name.out" 2>"$T/$name.err" || rc=$?
    echo "$rc" >"$T/$name.rc"
}

# runfc NAME [VAR=VALUE...] -- CMD...: with the library.
runfc() {
    _run "$1" yes "${@:2}"
}

# runbase NAME CMD...: without it.
runbase() {
    _run "$1" no -- "${@:2}"
}

# ok NAME: the run exited 0.
ok() {
    echo "$1: exit $(cat "$T/$1.rc"); stderr:"
    cat "$T/$1.err"
    [ "$(cat "$T/$1.rc")" = 0 ]
}

# quiet NAME: the run exited 0 and wrote nothing on stderr.
quiet() {
    ok "$1"
    [ ! -s "$T/$1.err" ]
}

conns() {
    find "$1" -maxdepth 1 -name 'conn-*.raw' | wc -l
}

# assert_closed DIR BASE [N]: the N (default 2) requests recorded in DIR
# say close, one per connection, and equal BASE's apart from that.
assert_closed() {
    local n="${3:-2}"
    run check_requests "$1" --expect-close --count "$n"
    echo "$output"
    [ "$status" -eq 0 ]
    run check_requests "$1" --same-as "$2" --ignore-conn-split --count "$n"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(conns "$1")" -eq "$n" ]
}

# assert_untouched DIR BASE [N]: DIR holds BASE's requests byte for byte,
# on as many connections (one, for the keep-alive runs here).
assert_untouched() {
    local n="${3:-2}"
    run check_requests "$1" --same-bytes-as "$2" --count "$n"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(conns "$1")" -eq "$(conns "$2")" ]
}

need_private_ns() {
    [ "$(id -u)" = 0 ] || skip "a private mount namespace needs root"
    unshare -m --propagation private true 2>/dev/null ||
        skip "unshare -m is not permitted here"
}

# a short directory for Unix socket paths (sun_path holds 107 bytes)
short_dir() {
    local d
    d=$(mktemp -d /tmp/fc-cfg.XXXXXX)
    echo "$d" >>"$T/rm.dirs"
    echo "$d"
}

# --- 1. validation -------------------------------------------------------

# One server, a baseline run (phase base): two URLs on one connection.
validation_setup() {
    start_server keepalive
    set_phase base
    runbase base "${CURL[@]}" "$SERVER_URL/v/a" "$SERVER_URL/v/b"
    quiet base
    [ "$(conns "$SERVER_LOG/base")" -eq 1 ]
}

# assert_rejected VAR VALUE [TEXT]: with VAR=VALUE the library prints one
# line on stderr naming VAR (and containing TEXT) and stays inactive:
# exit status, output and the requests on the wire are the baseline's.
assert_rejected() {
    local var="$1" value="$2" text="${3:-}" n err
    n=$(( ${CASE:-0} + 1 ))
    CASE=$n
    err="$T/bad$n.err"
    echo "--- case $n: $var=${value:0:100} ($(printf %s "$value" | wc -c) bytes)"
    set_phase "bad$n"
    runfc "bad$n" "$var=$value" -- "${CURL[@]}" "$SERVER_URL/v/a" "$SERVER_URL/v/b"
    ok "bad$n"
    same_file "$T/base.out" "$T/bad$n.out"
    # exactly one line: one newline, and it ends the output
    [ "$(wc -l <"$err")" -eq 1 ]
    [ "$(head -n 1 "$err" | wc -c)" -eq "$(stat -c %s "$err")" ]
    [ "$(stat -c %s "$err")" -le 1024 ]
    [[ "$(cat "$err")" == "libforceclose: $var=\""* ]]
    [[ "$(cat "$err")" == *"; libforceclose stays inactive" ]]
    [ -z "$text" ] || [[ "$(cat "$err")" == *"$text"* ]]
    assert_untouched "$SERVER_LOG/bad$n" "$SERVER_LOG/base"
    # nothing created in the working directory (relative LOG/STATS paths)
    [ -z "$(ls -A "$T/cwd")" ]
}

@test "validation: the specification's example line, word for word" {
    validation_setup
    assert_rejected FORCECLOSE_ONLY 10.0.0.0/33
    local want='libforceclose: FORCECLOSE_ONLY="10.0.0.0/33" is not valid (bad prefix length in "10.0.0.0/33"); accepted: comma-separated IPv4/IPv6 addresses or CIDR blocks with optional :port ([::1]:8080), unix:/path prefixes, host names or *.domain patterns with optional :port; libforceclose stays inactive'
    [ "$(cat "$T/bad1.err")" = "$want" ]
}

@test "validation: a garbage value in each variable" {
    validation_setup
    assert_rejected FORCECLOSE_ACTION restart
    assert_rejected FORCECLOSE_ACTION 1
    assert_rejected FORCECLOSE_DISABLE yes
    assert_rejected FORCECLOSE_DISABLE 2
    assert_rejected FORCECLOSE_ONLY 'no such host!'
    assert_rejected FORCECLOSE_ONLY 300.1.1.1
    assert_rejected FORCECLOSE_EXCEPT '%%%'
    assert_rejected FORCECLOSE_EXCEPT '*.'
    assert_rejected FORCECLOSE_INHERIT no
    assert_rejected FORCECLOSE_INHERIT 2
    assert_rejected FORCECLOSE_KEEP_DEEPBIND yes
    assert_rejected FORCECLOSE_LOG journal
    assert_rejected FORCECLOSE_VERBOSE 4
    assert_rejected FORCECLOSE_VERBOSE -1
    assert_rejected FORCECLOSE_VERBOSE high
    assert_rejected FORCECLOSE_STATS stderr
    # control bytes in the value are shown as '?': still one line
    assert_rejected FORCECLOSE_ACTION $'close\nnone' '"close?none"'
    assert_rejected FORCECLOSE_VERBOSE $'1\r\033[2K' '"1??[2K"'
}

@test "validation: a 100 KB value in each variable" {
    validation_setup
    local big v
    big=$(head -c 102400 /dev/zero | tr '\0' x)
    for v in "${VARS[@]}"; do
        assert_rejected "FORCECLOSE_$v" "$big"
    done
    # the absolute-path variables too, with a path-like value
    assert_rejected FORCECLOSE_LOG "/$big"
    assert_rejected FORCECLOSE_STATS "/$big"
}

@test "validation: destination list errors" {
    validation_setup
    local list70 i
    list70=127.0.0.1
    for ((i = 1; i < 70; i++)); do list70+=",127.0.0.1"; done
    assert_rejected FORCECLOSE_EXCEPT 10.0.0.0/33 '"10.0.0.0/33"'
    assert_rejected FORCECLOSE_ONLY fd00::/129 '"fd00::/129"'
    assert_rejected FORCECLOSE_ONLY 127.0.0.1:0 '"127.0.0.1:0"'
    assert_rejected FORCECLOSE_EXCEPT 127.0.0.1:70000 '"127.0.0.1:70000"'
    assert_rejected FORCECLOSE_ONLY '[::1]:0' '"[::1]:0"'
    assert_rejected FORCECLOSE_ONLY 'api.internal:65536' '"api.internal:65536"'
    assert_rejected FORCECLOSE_ONLY 'a,,b'
    assert_rejected FORCECLOSE_EXCEPT 'a,'
    assert_rejected FORCECLOSE_ONLY ',a'
    assert_rejected FORCECLOSE_ONLY ' , '
    assert_rejected FORCECLOSE_ONLY '[::1' '"[::1"'
    assert_rejected FORCECLOSE_EXCEPT '[::1]:80,[::1' '"[::1"'
    assert_rejected FORCECLOSE_ONLY 'unix:' '"unix:"'
    assert_rejected FORCECLOSE_ONLY "$list70"
    assert_rejected FORCECLOSE_EXCEPT "$list70"
}

@test "validation: relative paths for FORCECLOSE_LOG and FORCECLOSE_STATS" {
    validation_setup
    assert_rejected FORCECLOSE_LOG fc.log
    assert_rejected FORCECLOSE_LOG ./fc.log
    assert_rejected FORCECLOSE_STATS stats.json
    assert_rejected FORCECLOSE_STATS ../stats.json
}

# assert_active NAME: the run NAME (phase NAME) was clean and rewrote both
# requests.
assert_active() {
    quiet "$1"
    same_file "$T/base.out" "$T/$1.out"
    assert_closed "$SERVER_LOG/$1" "$SERVER_LOG/base"
}

@test "validation: limits: 64 entries and 4096 bytes are accepted, one more is not" {
    validation_setup
    local l64 l4096 h i
    l64=127.0.0.1
    for ((i = 1; i < 64; i++)); do l64+=",10.0.0.$i"; done
    set_phase list64
    runfc list64 FORCECLOSE_ONLY="$l64" -- "${CURL[@]}" "$SERVER_URL/v/a" "$SERVER_URL/v/b"
    assert_active list64
    assert_rejected FORCECLOSE_ONLY "$l64,10.0.1.1"

    # 127.0.0.1 and 250-byte host names, padded with spaces to 4096 bytes
    h=$(head -c 250 /dev/zero | tr '\0' h)
    l4096=127.0.0.1
    while (( ${#l4096} + 251 <= 4096 )); do l4096+=",$h"; done
    l4096+=$(printf '%*s' $((4096 - ${#l4096})) '')
    [ "${#l4096}" -eq 4096 ]
    set_phase list4096
    runfc list4096 FORCECLOSE_ONLY="$l4096" -- "${CURL[@]}" "$SERVER_URL/v/a" "$SERVER_URL/v/b"
    assert_active list4096
    assert_rejected FORCECLOSE_ONLY "$l4096 "
}

@test "validation: empty values count as unset" {
    validation_setup
    local v all=()
    for v in "${VARS[@]}"; do
        set_phase "empty-$v"
        runfc "empty-$v" "FORCECLOSE_$v=" -- "${CURL[@]}" "$SERVER_URL/v/a" "$SERVER_URL/v/b"
        assert_active "empty-$v"
        all+=("FORCECLOSE_$v=")
    done
    set_phase empty-all
    runfc empty-all "${all[@]}" -- "${CURL[@]}" "$SERVER_URL/v/a" "$SERVER_URL/v/b"
    assert_active empty-all
}

# --- 2. destination filters ----------------------------------------------

# two_servers [HOST]: two keep-alive servers on 127.0.0.1 (S1_*, S2_*) and
# a baseline (phase base on both): curl sends two requests to each, one
# connection per server, to HOST (default 127.0.0.1) in the URLs.
two_servers() {
    local h="${1:-127.0.0.1}"
    start_server keepalive
    S1_PORT=$SERVER_PORT S1_LOG=$SERVER_LOG S1_URL="http://$h:$SERVER_PORT"
    start_server keepalive
    S2_PORT=$SERVER_PORT S2_LOG=$SERVER_LOG S2_URL="http://$h:$SERVER_PORT"
    TWO=("${CURL[@]}" -g "$S1_URL/f/1" "$S1_URL/f/2" "$S2_URL/f/1" "$S2_URL/f/2")
    set_phase base "$S1_LOG"
    set_phase base "$S2_LOG"
    runbase base "${TWO[@]}"
    if [ "$h" != 127.0.0.1 ] && [ "$(cat "$T/base.rc")" != 0 ]; then
        skip "cannot connect to $h: $(cat "$T/base.err")"
    fi
    quiet base
    [ "$(conns "$S1_LOG/base")" -eq 1 ]
    [ "$(conns "$S2_LOG/base")" -eq 1 ]
}

# filter NAME S1 S2 VAR=VALUE...: with the VARs, server 1's requests are
# (S1=close) or are not (S1=keep) rewritten; the same for server 2.
filter() {
    local name="$1" s1="$2" s2="$3"
    shift 3
    echo "--- $name: $*"
    set_phase "$name" "$S1_LOG"
    set_phase "$name" "$S2_LOG"
    runfc "$name" "$@" -- "${TWO[@]}"
    quiet "$name"
    same_file "$T/base.out" "$T/$name.out"
    if [ "$s1" = close ]; then
        assert_closed "$S1_LOG/$name" "$S1_LOG/base"
    else
        assert_untouched "$S1_LOG/$name" "$S1_LOG/base"
    fi
    if [ "$s2" = close ]; then
        assert_closed "$S2_LOG/$name" "$S2_LOG/base"
    else
        assert_untouched "$S2_LOG/$name" "$S2_LOG/base"
    fi
}

@test "filters: IPv4 addresses, ports and CIDR blocks in ONLY and EXCEPT" {
    two_servers
    filter only-port close keep FORCECLOSE_ONLY="127.0.0.1:$S1_PORT"
    filter except-port keep close FORCECLOSE_EXCEPT="127.0.0.1:$S1_PORT"
    filter only-addr close close FORCECLOSE_ONLY=127.0.0.1
    filter only-cidr8 close close FORCECLOSE_ONLY=127.0.0.0/8
    filter only-other-cidr keep keep FORCECLOSE_ONLY=10.0.0.0/8
    filter only-cidr-port keep close FORCECLOSE_ONLY="127.0.0.0/8:$S2_PORT"
    filter except-cidr keep keep FORCECLOSE_EXCEPT=127.0.0.0/8
    filter except-other-cidr close close FORCECLOSE_EXCEPT=10.0.0.0/8
    filter only-v6-entry keep keep FORCECLOSE_ONLY=::1
    filter only-spaces close keep FORCECLOSE_ONLY="  10.0.0.0/8 ,  127.0.0.1:$S1_PORT "
    filter both close keep FORCECLOSE_ONLY=127.0.0.0/8 FORCECLOSE_EXCEPT="127.0.0.1:$S2_PORT"
    filter both-none keep keep FORCECLOSE_ONLY="127.0.0.1:$S1_PORT" \
        FORCECLOSE_EXCEPT=127.0.0.0/8
}

@test "filters: IPv4-mapped destinations (::ffff:127.0.0.1) match IPv4 entries" {
    two_servers '[::ffff:127.0.0.1]'
    filter mapped-port close keep FORCECLOSE_ONLY="127.0.0.1:$S1_PORT"
    filter mapped-cidr close close FORCECLOSE_ONLY=127.0.0.0/8
    filter mapped-except keep close FORCECLOSE_EXCEPT="127.0.0.1:$S1_PORT"
    filter mapped-v6-entry keep keep FORCECLOSE_ONLY=::1
}

@test "filters: IPv6 [::1]:port, ::1 and CIDR forms" {
    start_server keepalive ::1 || skip "cannot listen on ::1"
    local p6=$SERVER_PORT
    # server 1 is the IPv6 one, server 2 the IPv4 one
    S1_PORT=$SERVER_PORT S1_LOG=$SERVER_LOG S1_URL=$SERVER_URL
    start_server keepalive
    S2_PORT=$SERVER_PORT S2_LOG=$SERVER_LOG S2_URL=$SERVER_URL
    TWO=("${CURL[@]}" -g "$S1_URL/f/1" "$S1_URL/f/2" "$S2_URL/f/1" "$S2_URL/f/2")
    set_phase base "$S1_LOG"
    set_phase base "$S2_LOG"
    runbase base "${TWO[@]}"
    quiet base
    filter v6-port close keep FORCECLOSE_ONLY="[::1]:$p6"
    filter v6-addr close keep FORCECLOSE_ONLY=::1
    filter v6-cidr-port close keep FORCECLOSE_ONLY="[::/0]:$p6"
    filter v6-other-port keep keep FORCECLOSE_ONLY="[::1]:$((p6 == 65535 ? 1 : p6 + 1))"
    filter v6-other-cidr keep keep FORCECLOSE_ONLY=fd00::/8
    filter v6-except keep close FORCECLOSE_EXCEPT="[::1/128]:$p6"
    filter v4-only keep close FORCECLOSE_ONLY=127.0.0.0/8
}

@test "filters: unix:/path prefixes" {
    local dir sock
    dir=$(short_dir)
    sock="$dir/http.sock"
    start_server keepalive "unix:$sock"
    S1_LOG=$SERVER_LOG
    start_server keepalive
    S2_PORT=$SERVER_PORT S2_LOG=$SERVER_LOG S2_URL=$SERVER_URL
    TWO=("${CURL[@]}" --unix-socket "$sock" http://localhost/u/1 http://localhost/u/2
         "${NEXT[@]}" "$S2_URL/f/1" "$S2_URL/f/2")
    set_phase base "$S1_LOG"
    set_phase base "$S2_LOG"
    runbase base "${TWO[@]}"
    quiet base
    [ "$(conns "$S1_LOG/base")" -eq 1 ]
    filter unix-prefix close keep FORCECLOSE_ONLY="unix:$dir"
    filter unix-path close keep FORCECLOSE_ONLY="unix:$sock"
    filter unix-other keep keep FORCECLOSE_ONLY="unix:$dir/other"
    filter unix-except keep close FORCECLOSE_EXCEPT="unix:$dir/"
    filter unix-and-ip close close FORCECLOSE_ONLY="unix:$dir,127.0.0.1:$S2_PORT"
}

# host_case NAME close|keep HOST [HOST2] -- VAR=VALUE...: two requests to
# server 1 on one connection, the first with "Host: HOST", the second with
# HOST2 (default HOST), without the library (phase base-NAME) and with the
# VARs (phase NAME); both requests are (close) or are not (keep) rewritten.
host_case() {
    local name="$1" want="$2" h1="$3" h2="$3"
    shift 3
    if [ "$1" != -- ]; then h2="$1"; shift; fi
    shift
    echo "--- $name: Host: $h1 / $h2, $*"
    local cmd=("${CURL[@]}" -H "Host: $h1" "$S1_URL/h/1"
               "${NEXT[@]}" -H "Host: $h2" "$S1_URL/h/2")
    set_phase "base-$name" "$S1_LOG"
    runbase "base-$name" "${cmd[@]}"
    quiet "base-$name"
    [ "$(conns "$S1_LOG/base-$name")" -eq 1 ]
    set_phase "$name" "$S1_LOG"
    runfc "$name" "$@" -- "${cmd[@]}"
    quiet "$name"
    if [ "$want" = close ]; then
        assert_closed "$S1_LOG/$name" "$S1_LOG/base-$name"
    else
        assert_untouched "$S1_LOG/$name" "$S1_LOG/base-$name"
    fi
}

@test "filters: host patterns in FORCECLOSE_ONLY" {
    start_server keepalive
    S1_PORT=$SERVER_PORT S1_LOG=$SERVER_LOG S1_URL=$SERVER_URL
    local w=FORCECLOSE_ONLY='*.example.com'
    host_case w-sub close a.example.com -- "$w"
    host_case w-subsub close b.a.example.com -- "$w"
    host_case w-case close A.Example.COM -- "$w"
    host_case w-port close "a.example.com:$S1_PORT" -- "$w"
    host_case w-other keep other.test -- "$w"
    host_case w-apex keep example.com -- "$w"
    host_case w-suffix keep aexample.com -- "$w"
    # a Host left alone leaves the rest of its connection alone too
    host_case w-rest keep other.test a.example.com -- "$w"
    local p=FORCECLOSE_ONLY="api.internal:$S1_PORT"
    host_case p-match close "api.internal:$S1_PORT" -- "$p"
    host_case p-other keep api.internal:1 -- "$p"
    host_case p-none keep api.internal -- "$p"
    host_case p80 close api.internal -- FORCECLOSE_ONLY=api.internal:80
    host_case any-port close API.Internal:1234 -- FORCECLOSE_ONLY=api.internal
    host_case other-name keep api.internal.test -- FORCECLOSE_ONLY=api.internal
}

@test "filters: host patterns in FORCECLOSE_EXCEPT, and ONLY with EXCEPT" {
    start_server keepalive
    S1_PORT=$SERVER_PORT S1_LOG=$SERVER_LOG S1_URL=$SERVER_URL
    local e=FORCECLOSE_EXCEPT='*.example.com'
    host_case e-sub keep a.example.com -- "$e"
    host_case e-other close other.test -- "$e"
    host_case e-apex close example.com -- "$e"
    host_case e-port keep a.example.com:8080 -- FORCECLOSE_EXCEPT='*.example.com:8080'
    host_case e-port-other close a.example.com:8081 -- FORCECLOSE_EXCEPT='*.example.com:8080'
    local o=FORCECLOSE_ONLY='*.example.com'
    host_case both-in close a.example.com -- "$o" FORCECLOSE_EXCEPT=bad.example.com
    host_case both-except keep bad.example.com -- "$o" FORCECLOSE_EXCEPT=bad.example.com
    host_case both-out keep other.test -- "$o" FORCECLOSE_EXCEPT=bad.example.com
    # an address EXCEPT wins over a matching host
    host_case addr-except keep a.example.com -- "$o" FORCECLOSE_EXCEPT="127.0.0.1:$S1_PORT"
    # ONLY with an address entry and a host pattern: either may match
    host_case mix-addr close other.test -- FORCECLOSE_ONLY="127.0.0.1:$S1_PORT,*.example.com"
    host_case mix-host close a.example.com -- FORCECLOSE_ONLY="10.0.0.0/8,*.example.com"
    host_case mix-none keep other.test -- FORCECLOSE_ONLY="10.0.0.0/8,*.example.com"
}

# --- 3. logs -------------------------------------------------------------

# log_setup: one server; LOG3 is three requests (GET, GET, POST), one URL
# each, so that with the library each has a connection of its own.
log_setup() {
    start_server keepalive
    LOG3=("${CURL[@]}" "$SERVER_URL/l/1" "${NEXT[@]}" "$SERVER_URL/l/2"
          "${NEXT[@]}" -d x=1 "$SERVER_URL/l/3")
}

# expected NAME LEVEL [PROGRAM]: the log lines of run NAME of LOG3 at
# LEVEL, with its pid.
expected() {
    local pid m p="${3:-curl}"
    pid=$(cat "$T/$1.pid")
    for m in GET GET POST; do
        local pre="libforceclose: $p[$pid]: 127.0.0.1:$SERVER_PORT: "
        (( $2 >= 3 )) && echo "${pre}tracking connection"
        (( $2 >= 2 )) && echo "${pre}$m request rewritten (Connection: close added)"
        echo "${pre}response complete, connection shut down"
    done
}

@test "logs: FORCECLOSE_VERBOSE 0 (and unset) print nothing on a clean run" {
    log_setup
    set_phase v0
    runfc v0 FORCECLOSE_VERBOSE=0 -- "${LOG3[@]}"
    quiet v0
    run check_requests "$SERVER_LOG/v0" --expect-close --count 3
    [ "$status" -eq 0 ]
    runfc unset -- "${LOG3[@]}"
    quiet unset
}

@test "logs: FORCECLOSE_VERBOSE 1, 2, 3: one line per teardown, per request, per connection" {
    log_setup
    local level
    for level in 1 2 3; do
        set_phase "v$level"
        runfc "v$level" FORCECLOSE_VERBOSE="$level" -- "${LOG3[@]}"
        ok "v$level"
        expected "v$level" "$level" >"$T/v$level.want"
        diff -u "$T/v$level.want" "$T/v$level.err"
        [ "$(wc -l <"$T/v$level.err")" -eq $((3 * level)) ]
        run check_requests "$SERVER_LOG/v$level" --expect-close --count 3
        [ "$status" -eq 0 ]
    done
}

@test "logs: level 3 reports a connection excluded by an address filter" {
    log_setup
    set_phase excl
    runfc excl FORCECLOSE_VERBOSE=3 FORCECLOSE_ONLY=127.0.0.1:1 -- "${LOG3[@]}"
    ok excl
    # untouched, curl keeps its one connection: one line, naming it
    run check_requests "$SERVER_LOG/excl" --count 3
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(conns "$SERVER_LOG/excl")" -eq 1 ]
    refute grep -aqi '^Connection:' "$SERVER_LOG/excl"/conn-*.raw
    [ "$(wc -l <"$T/excl.err")" -eq 1 ]
    grep -q "^libforceclose: curl\[$(cat "$T/excl.pid")\]: 127\.0\.0\.1:$SERVER_PORT: .*exclu" "$T/excl.err"
}

@test "logs: FORCECLOSE_LOG=/abs/file gets the lines, appended, mode 0600; stderr none" {
    log_setup
    local f="$T/logs/fc.log"
    mkdir "$T/logs"
    set_phase file
    (umask 022 && runfc file FORCECLOSE_VERBOSE=2 FORCECLOSE_LOG="$f" -- "${LOG3[@]}")
    quiet file
    expected file 2 >"$T/file.want"
    diff -u "$T/file.want" "$f"
    [ "$(stat -c %a "$f")" = 600 ]
    # a second run appends
    (umask 022 && runfc file2 FORCECLOSE_VERBOSE=1 FORCECLOSE_LOG="$f" -- "${LOG3[@]}")
    quiet file2
    expected file2 1 >>"$T/file.want"
    diff -u "$T/file.want" "$f"
    # stderr by name is the default
    runfc named FORCECLOSE_VERBOSE=1 FORCECLOSE_LOG=stderr -- "${LOG3[@]}"
    ok named
    expected named 1 | diff -u - "$T/named.err"
}

@test "logs: FORCECLOSE_LOG in a missing directory: the program is not affected" {
    log_setup
    set_phase base
    runbase base "${LOG3[@]}"
    quiet base
    set_phase nodir
    runfc nodir FORCECLOSE_VERBOSE=3 FORCECLOSE_LOG="$T/no/such/dir/fc.log" -- "${LOG3[@]}"
    quiet nodir
    same_file "$T/base.out" "$T/nodir.out"
    assert_closed "$SERVER_LOG/nodir" "$SERVER_LOG/base" 3
    [ ! -e "$T/no" ]
}

# in_syslog_ns OUT|- NAME CMD...: CMD (with the library and the VARs
# FORCECLOSE_LOG=syslog FORCECLOSE_VERBOSE=3) inside syslog_ns.sh; stdout,
# stderr, status and pid as for runfc.
in_syslog_ns() {
    local out="$1" name="$2" rc=0
    shift 2
    timeout "$FC_TIMEOUT" unshare -m --propagation private \
        "$CFG/syslog_ns.sh" "$out" \
        bash -c 'echo $$ >"$0"; exec "$@"' "$T/$name.pid" \
        env LD_PRELOAD="$FC_PRELOAD" FORCECLOSE_LOG=syslog FORCECLOSE_VERBOSE=3 \
        "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
    echo "$rc" >"$T/$name.rc"
}

@test "logs: FORCECLOSE_LOG=syslog: one datagram per line on /dev/log (private mount namespace)" {
    need_private_ns
    log_setup
    set_phase syslog
    in_syslog_ns "$T/syslog.txt" syslog "${LOG3[@]}"
    quiet syslog
    local pid m pre
    pid=$(cat "$T/syslog.pid")
    # LOG_DAEMON (3): <31> debug, <29> notice
    pre="libforceclose[$pid]: curl: 127.0.0.1:$SERVER_PORT:"
    for m in GET GET POST; do
        echo "<31>$pre tracking connection"
        echo "<29>$pre $m request rewritten (Connection: close added)"
        echo "<29>$pre response complete, connection shut down"
    done >"$T/syslog.want"
    diff -u "$T/syslog.want" "$T/syslog.txt"
    run check_requests "$SERVER_LOG/syslog" --expect-close --count 3
    echo "$output"
    [ "$status" -eq 0 ]
    # the tmpfs over /dev was only ever in the namespace
    refute findmnt -S fc-dev
}

@test "logs: FORCECLOSE_LOG=syslog without /dev/log: the program is not affected" {
    need_private_ns
    log_setup
    set_phase nolog
    in_syslog_ns - nolog "${LOG3[@]}"
    quiet nolog
    run check_requests "$SERVER_LOG/nolog" --expect-close --count 3
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "logs: the program name and the method are sanitised" {
    log_setup
    # a program name with a tab: shown as '?'
    ln -s "$(command -v curl)" "$T/cu"$'\t'"rl"
    LOG3[0]="$T/cu"$'\t'"rl"
    runfc odd FORCECLOSE_VERBOSE=1 -- "${LOG3[@]}"
    ok odd
    expected odd 1 'cu?rl' | diff -u - "$T/odd.err"
    # a 40-byte method: at most 32 bytes of it
    local m40 m32
    m40=$(head -c 40 /dev/zero | tr '\0' M)
    m32=${m40:0:32}
    runfc long FORCECLOSE_VERBOSE=2 -- "${CURL[@]}" -X "$m40" "$SERVER_URL/l/m"
    ok long
    grep -qx "libforceclose: curl\[[0-9]*\]: 127\.0\.0\.1:$SERVER_PORT: $m32 request rewritten (Connection: close added)" "$T/long.err"
}

# --- 4. stats ------------------------------------------------------------

stats() {
    python3 "$CFG/json_expect.py" "$@"
}

@test "stats: one JSON line at exit for curl with 3 URLs; a second run appends" {
    start_server keepalive
    local s="$T/stats.json" u="$SERVER_URL" pid wire
    set_phase st
    runfc st FORCECLOSE_STATS="$s" -- "${CURL[@]}" "$u/s/1" "$u/s/2" "$u/s/3"
    quiet st
    pid=$(cat "$T/st.pid")
    run check_requests "$SERVER_LOG/st" --expect-close --count 3
    [ "$status" -eq 0 ]
    # the trackers saw at least every request byte the program wrote (the
    # wire has "Connection: close\r\n" more per request)
    wire=$(cat "$SERVER_LOG/st"/conn-*.raw | wc -c)
    run stats "$s" 'len(lines) == 1' "lines[0]['pid'] == $pid" \
        "lines[0]['program'] == 'curl'" "lines[0]['event'] == 'exit'" \
        'counters(lines[0], connections_tracked=3, requests_rewritten=3, close_added=3, responses_rewritten=3, teardowns_shutdown=3)' \
        "lines[0]['bytes_inspected'] >= $wire - 3 * 19"
    echo "$output"
    [ "$status" -eq 0 ]
    runfc st2 FORCECLOSE_STATS="$s" -- "${CURL[@]}" "$u/s/4"
    quiet st2
    run stats "$s" 'len(lines) == 2' "lines[0]['pid'] == $pid" \
        "lines[1]['pid'] == $(cat "$T/st2.pid")" \
        'counters(lines[1], connections_tracked=1, requests_rewritten=1, close_added=1, responses_rewritten=1, teardowns_shutdown=1)'
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "stats: FORCECLOSE_ACTION none and close are counted as such" {
    start_server keepalive
    local u="$SERVER_URL" a
    for a in none close; do
        set_phase "$a"
        runfc "$a" FORCECLOSE_ACTION="$a" FORCECLOSE_STATS="$T/$a.json" -- \
            "${CURL[@]}" "$u/s/1" "$u/s/2" "$u/s/3"
        quiet "$a"
        run check_requests "$SERVER_LOG/$a" --expect-close --count 3
        [ "$status" -eq 0 ]
        run stats "$T/$a.json" 'len(lines) == 1' \
            "counters(lines[0], connections_tracked=3, requests_rewritten=3, close_added=3, responses_rewritten=3, teardowns_$a=3)"
        echo "$output"
        [ "$status" -eq 0 ]
    done
}

@test "stats: Upgrade and CONNECT requests are left alone and counted" {
    start_server keepalive
    local up=(-H 'Connection: Upgrade' -H 'Upgrade: websocket' "$SERVER_URL/s/up")
    set_phase base
    runbase base "${CURL[@]}" "${up[@]}"
    quiet base
    set_phase up
    runfc up FORCECLOSE_STATS="$T/up.json" -- "${CURL[@]}" "${up[@]}"
    quiet up
    assert_untouched "$SERVER_LOG/up" "$SERVER_LOG/base" 1
    run stats "$T/up.json" 'len(lines) == 1' "lines[0]['program'] == 'curl'" \
        'counters(lines[0], connections_tracked=1, requests_left_alone=1, given_up_left_alone=1)'
    echo "$output"
    [ "$status" -eq 0 ]

    set_phase connect
    runfc connect FORCECLOSE_STATS="$T/connect.json" -- \
        "$PY" "$CFG/py_requests.py" connect "$SERVER_PORT"
    quiet connect
    printf 'CONNECT tunnel.test:443 HTTP/1.1\r\nHost: tunnel.test:443\r\n\r\n' >"$T/connect.want"
    same_file "$T/connect.want" "$SERVER_LOG/connect/conn-0001.raw"
    run stats "$T/connect.json" 'len(lines) == 1' \
        "lines[0]['program'] == '$(basename "$PY")'" \
        'counters(lines[0], connections_tracked=1, requests_left_alone=1, given_up_left_alone=1)'
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "stats: connections excluded by address, requests left alone by Host" {
    start_server keepalive
    runfc ex FORCECLOSE_ONLY=127.0.0.1:1 FORCECLOSE_STATS="$T/ex.json" -- \
        "${CURL[@]}" "$SERVER_URL/s/1" "$SERVER_URL/s/2"
    quiet ex
    run stats "$T/ex.json" 'len(lines) == 1' 'counters(lines[0], connections_excluded=1)' \
        "lines[0]['bytes_inspected'] == 0"
    echo "$output"
    [ "$status" -eq 0 ]
    runfc host FORCECLOSE_EXCEPT='*.example.com' FORCECLOSE_STATS="$T/host.json" -- \
        "${CURL[@]}" -H 'Host: a.example.com' "$SERVER_URL/s/1" "$SERVER_URL/s/2"
    quiet host
    run stats "$T/host.json" 'len(lines) == 1' \
        'counters(lines[0], connections_tracked=1, requests_left_alone=1, given_up_excluded_host=1)'
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "stats: exec writes an \"exec\" line, the new image its own \"exit\" line" {
    start_server keepalive
    local pid
    set_phase exec
    runfc exec FORCECLOSE_STATS="$T/exec.json" -- "$PY" "$CFG/py_requests.py" exec \
        "$SERVER_PORT" "$(command -v curl)" -q -sS "$SERVER_URL/s/after-exec"
    quiet exec
    pid=$(cat "$T/exec.pid")
    local one='connections_tracked=1, requests_rewritten=1, close_added=1, responses_rewritten=1, teardowns_shutdown=1'
    run stats "$T/exec.json" 'len(lines) == 2' \
        "lines[0]['pid'] == $pid and lines[1]['pid'] == $pid" \
        "lines[0]['program'] == '$(basename "$PY")' and lines[0]['event'] == 'exec'" \
        "lines[1]['program'] == 'curl' and lines[1]['event'] == 'exit'" \
        "counters(lines[0], $one)" "counters(lines[1], $one)"
    echo "$output"
    [ "$status" -eq 0 ]
    run check_requests "$SERVER_LOG/exec" --expect-close --count 2
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "stats: a forked child starts from zero" {
    start_server keepalive
    local pid child
    runfc fork FORCECLOSE_STATS="$T/fork.json" -- "$PY" "$CFG/py_requests.py" fork "$SERVER_PORT"
    quiet fork
    pid=$(cat "$T/fork.pid")
    child=$(cat "$T/fork.out")
    [ "$child" -gt 0 ]
    [ "$child" != "$pid" ]
    # parent: 2 requests (one before the fork, one after); child: 1
    run stats "$T/fork.json" 'len(lines) == 2' \
        "sorted(l['pid'] for l in lines) == sorted([$pid, $child])" \
        "all(l['event'] == 'exit' for l in lines)" \
        "[counters(l, connections_tracked=1, requests_rewritten=1, close_added=1, responses_rewritten=1, teardowns_shutdown=1) for l in lines if l['pid'] == $child] == [True]" \
        "[counters(l, connections_tracked=2, requests_rewritten=2, close_added=2, responses_rewritten=2, teardowns_shutdown=2) for l in lines if l['pid'] == $pid] == [True]"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "stats: odd program names give valid JSON (quote, backslash, tab, UTF-8)" {
    start_server keepalive
    local name='c"u\'$'\t''rl'
    ln -s "$(command -v curl)" "$T/$name"
    runfc odd FORCECLOSE_STATS="$T/odd.json" -- "$T/$name" -q -sS "$SERVER_URL/s/odd"
    quiet odd
    run stats "$T/odd.json" 'len(lines) == 1' "lines[0]['program'] == 'c\"u\\\\\\trl'"
    echo "$output"
    [ "$status" -eq 0 ]
    # valid UTF-8 is kept as it is
    ln -s "$(command -v curl)" "$T/c"$'\xc3\xbc'"rl"
    runfc utf8 FORCECLOSE_STATS="$T/utf8.json" -- "$T/c"$'\xc3\xbc'"rl" -q -sS "$SERVER_URL/s/u"
    quiet utf8
    run stats "$T/utf8.json" 'len(lines) == 1' "lines[0]['program'] == 'c\u00fcrl'"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "stats: a program name that is not UTF-8 still gives a valid JSON line" {
    start_server keepalive
    local name=$'cu\xffrl'
    ln -s "$(command -v curl)" "$T/$name"
    runfc odd FORCECLOSE_STATS="$T/odd.json" -- "$T/$name" -q -sS "$SERVER_URL/s/odd"
    quiet odd
    run stats "$T/odd.json" 'len(lines) == 1' "lines[0]['program'].startswith('cu')" \
        "lines[0]['program'].endswith('rl')"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "stats: a file in a missing directory: the program is not affected" {
    start_server keepalive
    set_phase base
    runbase base "${CURL[@]}" "$SERVER_URL/s/1" "$SERVER_URL/s/2"
    set_phase nodir
    runfc nodir FORCECLOSE_STATS="$T/no/such/dir/stats.json" -- \
        "${CURL[@]}" "$SERVER_URL/s/1" "$SERVER_URL/s/2"
    quiet nodir
    same_file "$T/base.out" "$T/nodir.out"
    assert_closed "$SERVER_LOG/nodir" "$SERVER_LOG/base"
    [ ! -e "$T/no" ]
}

# --- 5. FORCECLOSE_INHERIT -----------------------------------------------

# Two harmless libraries to preload next to ours: libc's compatibility
# stubs.
other_libs() {
    local n
    OTHER=()
    for n in libpthread.so.0 libdl.so.2; do
        local p
        p=$(ldconfig -p | awk -v n="$n" '$1 == n && /x86-64/ { print $NF; exit }')
        [ -f "$p" ] && OTHER+=("$p")
    done
    [ "${#OTHER[@]}" -eq 2 ] || skip "libpthread.so.0 and libdl.so.2 not found"
}

# What FC_PRELOAD puts before the library ("" or, under tests/sanitize/
# asan.sh, "asan_compat.so:ASAN_RUNTIME:"): entries FORCECLOSE_INHERIT=0
# keeps like any other; PRE lists them.
PRE_REST="${FC_PRELOAD%"$FC_LIB"}"
IFS=: read -r -a PRE <<<"${PRE_REST%:}"

# sh prints LD_PRELOAD in brackets ("<unset>" if unset), then runs curl
SHOW=(sh -c 'printf "[%s]\n" "${LD_PRELOAD-<unset>}"; "$@"' sh)

@test "inherit: FORCECLOSE_INHERIT=0: sh's child runs without the library, other entries kept" {
    other_libs
    start_server keepalive
    local cmd=("${SHOW[@]}" "${CURL[@]}" "$SERVER_URL/i/1" "$SERVER_URL/i/2")
    set_phase base
    runbase base "${cmd[@]}"
    quiet base
    set_phase no
    runfc no FORCECLOSE_INHERIT=0 LD_PRELOAD="$FC_PRELOAD:${OTHER[0]}" -- "${cmd[@]}"
    quiet no
    [ "$(head -n 1 "$T/no.out")" = "[$PRE_REST${OTHER[0]}]" ]
    assert_untouched "$SERVER_LOG/no" "$SERVER_LOG/base"
    # in the middle, separated by spaces and colons: order kept
    runfc mid FORCECLOSE_INHERIT=0 LD_PRELOAD="$PRE_REST${OTHER[0]} $FC_LIB:${OTHER[1]}" -- "${SHOW[@]}" true
    quiet mid
    head -n 1 "$T/mid.out" | tr -d '[]' | tr ' :' '\n\n' >"$T/mid.list"
    printf '%s\n' "${PRE[@]}" "${OTHER[@]}" | diff -u - "$T/mid.list"
    # alone: nothing left
    runfc alone FORCECLOSE_INHERIT=0 -- "${SHOW[@]}" true
    quiet alone
    local alone
    alone=$(head -n 1 "$T/alone.out")
    if [ -n "$PRE_REST" ]; then
        [ "$alone" = "[${PRE_REST%:}]" ]
    else
        [ "$alone" = "[<unset>]" ] || [ "$alone" = "[]" ]
    fi
    # the default (and 1) keeps it for the child
    for v in 1 ''; do
        set_phase "yes$v"
        runfc "yes$v" FORCECLOSE_INHERIT="$v" LD_PRELOAD="$FC_PRELOAD:${OTHER[0]}" -- "${cmd[@]}"
        quiet "yes$v"
        [ "$(head -n 1 "$T/yes$v.out")" = "[$FC_PRELOAD:${OTHER[0]}]" ]
        assert_closed "$SERVER_LOG/yes$v" "$SERVER_LOG/base"
    done
}

@test "inherit: FORCECLOSE_INHERIT=0: the parent's own requests are still rewritten" {
    other_libs
    start_server keepalive
    set_phase inh
    runfc inh FORCECLOSE_INHERIT=0 LD_PRELOAD="$FC_PRELOAD:${OTHER[0]}" -- \
        "$PY" "$CFG/py_requests.py" inherit "$SERVER_PORT" \
        "${SHOW[@]}" "${CURL[@]}" "$SERVER_URL/child"
    quiet inh
    # python's own view, then sh's
    [ "$(sed -n 1p "$T/inh.out")" = "$PRE_REST${OTHER[0]}" ]
    [ "$(sed -n 2p "$T/inh.out")" = "[$PRE_REST${OTHER[0]}]" ]
    run check_requests "$SERVER_LOG/inh" --count 2
    echo "$output"
    [ "$status" -eq 0 ]
    local parent child
    parent=$(grep -l '^GET /parent ' "$SERVER_LOG/inh"/conn-*.raw)
    child=$(grep -l '^GET /child ' "$SERVER_LOG/inh"/conn-*.raw)
    [ -n "$parent" ]
    [ -n "$child" ]
    [ "$parent" != "$child" ]
    grep -aqix $'Connection: close\r' "$parent"
    refute grep -aqi '^Connection:' "$child"
}

# --- 6. FORCECLOSE_DISABLE -----------------------------------------------

@test "disable: FORCECLOSE_DISABLE=1: nothing rewritten, logged or counted" {
    start_server keepalive
    local u="$SERVER_URL"
    set_phase base
    runbase base "${CURL[@]}" "$u/d/1" "$u/d/2"
    quiet base
    set_phase off
    runfc off FORCECLOSE_DISABLE=1 FORCECLOSE_VERBOSE=3 FORCECLOSE_STATS="$T/stats.json" \
        -- "${CURL[@]}" "$u/d/1" "$u/d/2"
    quiet off
    same_file "$T/base.out" "$T/off.out"
    assert_untouched "$SERVER_LOG/off" "$SERVER_LOG/base"
    [ ! -e "$T/stats.json" ]
    set_phase off-file
    runfc off-file FORCECLOSE_DISABLE=1 FORCECLOSE_VERBOSE=3 FORCECLOSE_LOG="$T/fc.log" \
        -- "${CURL[@]}" "$u/d/1" "$u/d/2"
    quiet off-file
    assert_untouched "$SERVER_LOG/off-file" "$SERVER_LOG/base"
    [ ! -e "$T/fc.log" ]
    # 0 is the default: active
    set_phase on
    runfc on FORCECLOSE_DISABLE=0 -- "${CURL[@]}" "$u/d/1" "$u/d/2"
    quiet on
    assert_closed "$SERVER_LOG/on" "$SERVER_LOG/base"
}

# --- 7. secure execution -------------------------------------------------

@test "secure execution: loaded only from a system directory, and inactive there" {
    # the loader in secure mode preloads the shadowed system file alone
    [ "$FC_PRELOAD" = "$FC_LIB" ] || skip "needs the library alone in LD_PRELOAD (ASan run)"
    need_private_ns
    command -v setpriv >/dev/null || skip "setpriv is not installed"
    local name=libBrokenLocale.so.1 trusted mnt
    # a library no program here uses, shadowed inside the namespace only
    trusted=$(ldconfig -p | awk -v n="$name" '$1 == n && /x86-64/ { print $NF; exit }')
    [ -f "$trusted" ] || skip "no $name to shadow"
    mnt=$(mktemp -d /tmp/fc-secure.XXXXXX)
    echo "$mnt" >>"$T/rm.dirs"
    chmod 755 "$mnt"
    mkdir -m 700 "$T/priv"   # only root can create files here
    start_server keepalive
    local files=(FORCECLOSE_VERBOSE=1 FORCECLOSE_LOG="$T/priv/fc.log"
                 FORCECLOSE_STATS="$T/priv/stats.json")
    local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    local ns=(timeout "$FC_TIMEOUT" unshare -m --propagation private
              "$CFG/secure_ns.sh" "$mnt" "$FC_LIB" "$trusted")
    set_phase base
    runbase base "${CURL[@]}" "$SERVER_URL/sec"
    quiet base

    # 1. setuid root, run by nobody: secure, so the library does nothing.
    # env runs as nobody (not secure) and cannot create files in priv/;
    # curl runs as root.
    set_phase secure
    "${ns[@]}" -- "${nobody[@]}" env LD_PRELOAD="$name" "${files[@]}" \
        "$mnt/curl" -q -sS "$SERVER_URL/sec" >"$T/secure.out" 2>"$T/secure.err"
    cat "$T/secure.err"
    [ ! -s "$T/secure.err" ]
    assert_untouched "$SERVER_LOG/secure" "$SERVER_LOG/base" 1
    [ -z "$(ls -A "$T/priv")" ]
    # it was loaded: it took FORCECLOSE_* out of the environment (the
    # loader takes out LD_PRELOAD only) of a setuid env
    "${ns[@]}" -- "${nobody[@]}" env LD_PRELOAD="$name" "${files[@]}" FC_MARK=kept \
        "$mnt/env" >"$T/env.out"
    grep -qx FC_MARK=kept "$T/env.out"
    refute grep -q '^FORCECLOSE_' "$T/env.out"
    same_file "$T/base.out" "$T/secure.out"

    # 2. the same with the library given by path: not loaded at all
    set_phase bypath
    "${ns[@]}" LD_PRELOAD="$FC_LIB" FORCECLOSE_VERBOSE=1 -- "${nobody[@]}" \
        "$mnt/curl" -q -sS "$SERVER_URL/sec" >"$T/bypath.out" 2>"$T/bypath.err"
    cat "$T/bypath.err"
    [ ! -s "$T/bypath.err" ]
    assert_untouched "$SERVER_LOG/bypath" "$SERVER_LOG/base" 1

    # 3. control: the same program run by root is not in secure mode, and
    # the same settings write both files
    set_phase plain
    "${ns[@]}" LD_PRELOAD="$name" "${files[@]}" -- \
        "$mnt/curl" -q -sS "$SERVER_URL/sec" >"$T/plain.out" 2>"$T/plain.err"
    cat "$T/plain.err"
    [ ! -s "$T/plain.err" ]
    run check_requests "$SERVER_LOG/plain" --expect-close --count 1
    [ "$status" -eq 0 ]
    grep -qx "libforceclose: curl\[[0-9]*\]: 127\.0\.0\.1:$SERVER_PORT: response complete, connection shut down" "$T/priv/fc.log"
    run stats "$T/priv/stats.json" 'len(lines) == 1' "lines[0]['program'] == 'curl'" \
        'counters(lines[0], connections_tracked=1, requests_rewritten=1, close_added=1, responses_rewritten=1, teardowns_shutdown=1)'
    echo "$output"
    [ "$status" -eq 0 ]
    # nothing left mounted or changed on the host
    [ -z "$(ls -A "$mnt")" ]
    [ ! -u "$trusted" ]
}
