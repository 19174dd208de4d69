#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] - builds the libFuzzer targets into build/fuzz/
# and runs each for SECONDS (default: $FUZZ_SECONDS, else 60), one after the
# other, each on one core: request, response (the HTTP rewriter and
# tracker), check (forceclose --check's file parsers) and settings (the
# FORCECLOSE_* parser).  Prints one line per target:
#   fuzz_request: N executions, 0 findings
# A crash (an oracle's abort, a sanitizer report, a timeout, running out of
# memory) is copied to tests/fuzz/crashers/TARGET/ and the script exits 1.
#
# The working corpus is build/fuzz/corpus-TARGET/: the committed seeds are
# copied into it on each run and what libFuzzer adds there stays for the
# next run; tests/fuzz/corpus/ itself is never written.  libFuzzer's output
# is in build/fuzz/fuzz_TARGET.log.  FUZZ_CC picks the compiler (clang),
# FUZZ_TARGETS the targets ("request response check settings tls"), FUZZ_OUT
# the directory
# instead of build/fuzz: `make clean` removes build/, so a long run whose
# corpus should outlive it (or that runs while someone builds) belongs
# elsewhere.
set -u
cd "$(dirname "$0")/../.." || exit 2
secs="${1:-${FUZZ_SECONDS:-60}}"
case "$secs" in
    ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
cc="${FUZZ_CC:-clang}"
out="${FUZZ_OUT:-build/fuzz}"
http="shim/http_fields.c shim/http_head.c shim/http_request.c
      shim/http_response.c shim/chunked.c"
mkdir -p "$out"
status=0 passed=0 failed=0
for t in ${FUZZ_TARGETS:-request response check settings tls}; do
    # the code each target links, its dictionary, and the longest input:
    # room for a head just over the 64 KiB limits; for settings, for a
    # value just over the 4096-byte limit in each variable
    case "$t" in
        request|response) pure=$http dict=http.dict max_len=70000 ;;
        check) pure="" dict=check.dict max_len=70000 ;;   # includes check.c
        settings) pure="shim/settings.c shim/filter.c" dict=settings.dict max_len=40000 ;;
        tls) pure="$http shim/tls_conn.c" dict=http.dict max_len=70000 ;;
        *) echo "unknown target $t" >&2; exit 2 ;;
    esac
    bin="$out/fuzz_$t"
    # shellcheck disable=SC2086  # $pure is a list of file names
    if ! "$cc" -std=gnu11 -g -O1 -Wall -Wextra \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -Ishim -o "$bin" "tests/fuzz/fuzz_$t.c" $pure; then
        echo "fuzz_$t: build failed" >&2
        exit 2
    fi
    corpus="$out/corpus-$t"
    art="$out/artifacts-$t"
    mkdir -p "$corpus" "$art"
    rm -f "$art"/*
    cp tests/fuzz/corpus/"$t"/* "$corpus"/
    "$bin" -max_len="$max_len" -max_total_time="$secs" -timeout=20 \
        -rss_limit_mb=2048 -dict="tests/fuzz/$dict" \
        -artifact_prefix="$art/" -print_final_stats=1 \
        "$corpus" >"$out/fuzz_$t.log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
        "$out/fuzz_$t.log" | tail -n 1)
    [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' \
        "$out/fuzz_$t.log" | tail -n 1)
    findings=0
    for f in "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-*; do
        [ -e "$f" ] || continue
        mkdir -p "tests/fuzz/crashers/$t"
        cp "$f" "tests/fuzz/crashers/$t/"
        findings=$((findings + 1))
        echo "fuzz_$t: finding $f copied to tests/fuzz/crashers/$t/" >&2
    done
    if [ "$rc" -ne 0 ] && [ "$findings" -eq 0 ]; then
        # died without leaving an input behind: still a finding
        findings=1
        echo "fuzz_$t: exited $rc, see $out/fuzz_$t.log" >&2
    fi
    if [ "$findings" -gt 0 ]; then
        grep -m 3 -e 'oracle failed' -e 'ERROR: ' -e 'runtime error' \
            "$out/fuzz_$t.log" >&2
        status=1
    fi
    echo "fuzz_$t: ${runs:-0} executions, $findings findings"
    if [ "$findings" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
# one test per target, in the suite's format (CI sums these lines)
echo "$passed passed, $failed failed"
exit "$status"
