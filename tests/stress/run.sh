#!/usr/bin/env bash
# tests/stress/run.sh - thread-sanitizer stress test of libforceclose.
#
# Builds from the current sources, into build/stress/ (STRESS_BUILD):
#   libforceclose-tsan.so  the library's sources (`make lib-sources`),
#                          -fsanitize=thread, the library's version script
#   stress                 tests/stress/{stress,client,chaos}.c, TSan
#   server                 tests/stress/server.c, plain: the witness
# then runs the client with the TSan library preloaded, once per phase
# (STRESS_PHASES, "NAME:SCENARIOS" words):
#   shutdown  FORCECLOSE_ACTION unset          scenarios a b c d e
#   none      FORCECLOSE_ACTION=none           b c (pipelined, long-lived)
#   observe   FORCECLOSE_VERBOSE=3, a log file and a stats file: a d
# and, only when asked for (STRESS_PHASES="close:f"; tests/stress.bats
# asks):
#   close     FORCECLOSE_ACTION=close: threads that never close their
#             sockets.  It found that 8 teardowns, counted across threads,
#             can all happen between one thread's last-byte read and its
#             next read, so the shim closed a number another thread's
#             socket() then got; the shim now also waits a second
#             (CONN_CLOSE_AGE_NS), and the phase passes.
# A phase fails on a client failure (exit status, FAIL lines, the
# watchdog), any TSan report, any byte the server did not accept as part
# of a request the client wrote, or a connection on which the server saw
# another number of requests than the client expected.
#
# The observe phase also checks the stats line (every tracked connection
# rewritten and torn down once) and that no two log lines interleave.
#
# usage: tests/stress/run.sh [SCALE% [SEED]]
#   STRESS_OUT      where logs go (default build/stress/out)
#   TSAN_HALT=0     keep going after a TSan report (collect them all)
#   STRESS_PLANT=1  preload tests/stress/planted.c too: a planted race
#                   that must make the run fail (checks the harness)
#   STRESS_WATCHDOG seconds a scenario may take (default 120)
#   STRESS_PIDFILE  a file to append "pid N" (the server) and "pgid N" (the
#                   client's own process group: setsid) to, as each is
#                   started, so that whoever runs this can stop them even if
#                   this script is SIGKILLed before its cleanup runs
#                   (tests/stress.bats sweeps it in its teardown)
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${STRESS_BUILD:-$ROOT/build/stress}"
OUT="${STRESS_OUT:-$BUILD/out}"
SCALE="${1:-100}"
SEED="${2:-$(( $(date +%s) ^ $$ ))}"
PHASES="${STRESS_PHASES:-shutdown:abcde none:bc observe:ad}"
CC_TSAN="${CC_TSAN:-clang}"
SERVER_PID=""
CLIENT_PGID=""
PIDFILE="${STRESS_PIDFILE:-}"

note_pid() {
    [ -z "$PIDFILE" ] || echo "$1 $2" >>"$PIDFILE"
}

cleanup() {
    if [ -n "$CLIENT_PGID" ]; then
        # the client, its timeout and anything they started
        kill -KILL -- "-$CLIENT_PGID" 2>/dev/null
        wait "$CLIENT_PGID" 2>/dev/null
        CLIENT_PGID=""
    fi
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        SERVER_PID=""
    fi
}
trap cleanup EXIT
# the client runs in the background and is waited for, so a TERM is acted
# on at once (bash runs a trap only between commands)
trap 'exit 143' TERM INT

build() {
    local src=() f
    mkdir -p "$BUILD"
    # the library's sources as the Makefile lists them (not the
    # launcher's, nor the build's training run)
    for f in $(make -s --no-print-directory -C "$ROOT" lib-sources); do
        src+=("$ROOT/$f")
    done
    # -O1 -g for readable stacks; each artefact built aside, then moved,
    # so a concurrent run never loads a half-written file
    "$CC_TSAN" -std=gnu11 -U_FORTIFY_SOURCE -Wall -Wextra -g -O1 \
        -fsanitize=thread -fPIC -fvisibility=hidden -pthread -shared \
        -Wl,-z,relro,-z,now -Wl,--version-script="$ROOT/shim/libforceclose.map" \
        -o "$BUILD/libforceclose-tsan.so.$$" "${src[@]}" -ldl &&
    mv -f "$BUILD/libforceclose-tsan.so.$$" "$BUILD/libforceclose-tsan.so" &&
    "$CC_TSAN" -std=gnu11 -Wall -Wextra -g -O1 -fsanitize=thread -pthread \
        -o "$BUILD/stress.$$" "$ROOT"/tests/stress/{stress,client,chaos}.c -ldl &&
    mv -f "$BUILD/stress.$$" "$BUILD/stress" &&
    "$CC_TSAN" -std=gnu11 -Wall -Wextra -O2 -pthread \
        -o "$BUILD/server.$$" "$ROOT/tests/stress/server.c" &&
    mv -f "$BUILD/server.$$" "$BUILD/server" || return 1
    PRELOAD="$BUILD/libforceclose-tsan.so"
    if [ "${STRESS_PLANT:-0}" = 1 ]; then
        "$CC_TSAN" -std=gnu11 -Wall -Wextra -g -O1 -fsanitize=thread -fPIC \
            -shared -o "$BUILD/planted.so" "$ROOT/tests/stress/planted.c" -ldl ||
            return 1
        PRELOAD="$BUILD/planted.so:$PRELOAD"
    fi
}

# start_server DIR: the witness, listening; sets SERVER_PID and PORT
start_server() {
    local i
    # 3>&-: bats waits for fd 3 to close
    "$BUILD/server" "$1/port" "$1/server.log" 2>"$1/server.err" 3>&- &
    SERVER_PID=$!
    note_pid pid "$SERVER_PID"
    for (( i = 0; i < 100; i++ )); do
        [ -s "$1/port" ] && break
        sleep 0.1
    done
    PORT="$(cat "$1/port" 2>/dev/null)"
    [ -n "$PORT" ]
}

# every connection the server accepted has ended (bounded: 20 s)
wait_server_idle() {
    local i a c
    for (( i = 0; i < 200; i++ )); do
        a=$(grep -c '^accept ' "$1") c=$(grep -c '^conn ' "$1")
        [ "$a" -eq "$c" ] && return 0
        sleep 0.1
    done
    echo "server: $c of $a connections ended" >&2
    return 1
}

# check_server LOG EXPECT: prints one summary line; fails on bad bytes,
# unmatched expectations, or a missing close outside scenario c (where
# a dup2 may hand a descriptor over between the shim's close and install)
check_server() {
    # expect: PORT N[-M] TAG; log: conn PORT req N bad B noclose K reset R
    # cut C first TAG
    awk '
        FILENAME == ARGV[1] {
            split($2, r, "-"); lo[$1 " " $3] = r[1]
            hi[$1 " " $3] = (2 in r) ? r[2] : r[1]; nwant++
            if ($4 == "pass") passed[$1 " " $3] = 1
            next
        }
        $1 == "bad" { print "server:", $0; bad++ }
        $1 == "conn" {
            conns++; key = $2 " " $14
            if (key in lo) {
                matched++
                if ($4 < lo[key] || $4 > hi[key]) {
                    print "server: connection " key " had " $4 " requests, client expected " lo[key] "-" hi[key]
                    wrong++
                }
                delete lo[key]
            }
            # a connection the shim gave up (the client says "pass"):
            # requests after that go as written, counted apart
            if ($14 ~ /^c\./) cnoclose += $8
            else if (key in passed) pnoclose += $8
            else noclose += $8
            resets += $10; cut += $12
        }
        END {
            for (k in lo) { print "server: never saw connection " k; missing++ }
            printf "server: connections %d, expected %d matched %d wrong %d, bad %d, ", conns, nwant, matched - wrong, wrong + missing, bad
            printf "without close %d (scenario c: %d, given up: %d), resets %d (requests cut by them %d)\n", noclose, cnoclose, pnoclose + 0, resets, cut
            exit (bad + wrong + missing + noclose > 0)
        }' "$2" "$1"
}

# check_observe DIR: the client's stats line says every connection it
# made was tracked, rewritten both ways and torn down once (forked
# children _exit without one), but for those given up at a fork (the
# client marks them "pass": client.h, fork_passes); every log line is whole
check_observe() {
    local parent passed
    parent=$(grep -vc ' d\.child\.' "$1/expect")
    passed=$(grep -v ' d\.child\.' "$1/expect" | grep -c ' pass$')
    python3 - "$1/stats.json" "$parent" "$passed" <<'PY' || return 1
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
exits = [l for l in lines if l.get("event") == "exit"]
want, passed = int(sys.argv[2]), int(sys.argv[3])
if len(exits) != 1:
    sys.exit("stats: %d exit lines, not 1" % len(exits))
s = exits[0]
got = {k: s[k] for k in ("connections_tracked", "requests_rewritten",
                         "responses_rewritten")}
got["teardowns.shutdown"] = s["teardowns"]["shutdown"]
bad = {k: v for k, v in got.items()
       if v != (want if k == "connections_tracked" else want - passed)}
print("stats: %d connections (%d given up at a fork), counters %s" %
      (want, passed, "agree" if not bad else bad))
sys.exit(1 if bad else 0)
PY
    if grep -qv '^libforceclose: [a-z]*\[[0-9]*\]: ' "$1/forceclose.log"; then
        echo "log: lines that are not whole:"
        grep -v '^libforceclose: [a-z]*\[[0-9]*\]: ' "$1/forceclose.log" | head -5
        return 1
    fi
    echo "log: $(wc -l <"$1/forceclose.log") lines, all whole"
}

# run_phase NAME SCENARIOS
run_phase() {
    local name="$1" scen="$2" dir="$OUT/$1" env=() status ok=0 start
    rm -rf "$dir"
    mkdir -p "$dir"
    case "$name" in
        none) env=(FORCECLOSE_ACTION=none) ;;
        close) env=(FORCECLOSE_ACTION=close) ;;
        observe) env=(FORCECLOSE_VERBOSE=3 FORCECLOSE_LOG="$dir/forceclose.log"
                      FORCECLOSE_STATS="$dir/stats.json") ;;
    esac
    if ! start_server "$dir"; then
        echo "phase $name: server did not start"; cat "$dir/server.err"
        return 1
    fi
    start=$SECONDS
    # halt_on_error: the first report ends the run (TSAN_HALT=0 collects
    # all).  io_sync=0: no happens-before through the sockets, so the shim
    # gets no synchronisation it does not make itself.
    # report_signal_unsafe stays on: the handlers are empty or atomic, so
    # a report there would be the shim's.
    # setsid: the client gets a process group of its own (its PID), which
    # cleanup, or the caller's sweep of STRESS_PIDFILE, kills as a whole.
    # (A background job of a script is never a group leader, so setsid
    # does not fork: $! is the group.)
    setsid timeout -k 5 300 env "${env[@]}" LD_PRELOAD="$PRELOAD" \
        TSAN_OPTIONS="halt_on_error=${TSAN_HALT:-1} exitcode=66 io_sync=0 second_deadlock_stack=1 history_size=4 log_path=$dir/tsan" \
        "$BUILD/stress" "$PORT" "$dir/expect" "$scen" "$SCALE" "$SEED" \
        >"$dir/client.out" 2>"$dir/client.err" 3>&- </dev/null &
    CLIENT_PGID=$!
    note_pid pgid "$CLIENT_PGID"
    wait "$CLIENT_PGID"
    status=$?
    CLIENT_PGID=""
    sed "s/^/[$name] /" "$dir/client.out"
    if [ "$status" -ne 0 ]; then
        case "$status" in
            66) echo "[$name] client: TSan report (exit 66)" ;;
            124|137) echo "[$name] client: killed by timeout" ;;
            142) echo "[$name] client: killed by its watchdog (SIGALRM)" ;;
            *) echo "[$name] client: exit status $status" ;;
        esac
        ok=1
    fi
    grep -v '^ThreadSanitizer:\|^$' "$dir/client.err" | sed "s/^/[$name] stderr: /" | head -40
    if ls "$dir"/tsan.* >/dev/null 2>&1; then
        echo "[$name] TSan reports: $(cat "$dir"/tsan.* | grep -c '^WARNING: ThreadSanitizer')"
        cat "$dir"/tsan.*
        ok=1
    fi
    wait_server_idle "$dir/server.log" || ok=1
    cleanup
    touch "$dir/expect"
    check_server "$dir/server.log" "$dir/expect" | sed "s/^/[$name] /"
    [ "${PIPESTATUS[0]}" -eq 0 ] || ok=1
    if [ "$name" = observe ]; then
        check_observe "$dir" 2>&1 | sed "s/^/[$name] /"
        [ "${PIPESTATUS[0]}" -eq 0 ] || ok=1
    fi
    echo "[$name] $([ $ok -eq 0 ] && echo PASS || echo FAIL) in $((SECONDS - start)) s"
    return $ok
}

build || { echo "stress: build failed"; exit 2; }
mkdir -p "$OUT"
echo "stress: seed $SEED, scale $SCALE%"
fails=0
for p in $PHASES; do
    run_phase "${p%%:*}" "${p#*:}" || fails=$((fails + 1))
done
echo "stress: $fails phase(s) failed"
[ "$fails" -eq 0 ]
