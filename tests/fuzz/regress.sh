#!/usr/bin/env bash
# tests/fuzz/regress.sh - replays every seed (tests/fuzz/corpus/TARGET/) and
# every crasher (tests/fuzz/crashers/TARGET/) through the fuzz targets, built
# without libFuzzer (standalone.c) but with ASan and UBSan, into
# build/fuzz/regress/.  One line per target: "fuzz_request: N inputs, ok";
# exits 1 if any input trips an oracle or a sanitizer.  $CC picks the
# compiler (cc); FUZZ_SANITIZE=0 builds without sanitizers.
set -u
cd "$(dirname "$0")/../.." || exit 2
cc="${CC:-cc}"
out=build/fuzz/regress
san=("-fsanitize=address,undefined" -fno-sanitize-recover=undefined)
[ "${FUZZ_SANITIZE:-1}" = 0 ] && san=()
mkdir -p "$out"
status=0
http=(shim/http_fields.c shim/http_head.c shim/http_request.c
      shim/http_response.c shim/chunked.c)
for t in request response check settings tls; do
    bin="$out/fuzz_$t"
    case "$t" in
        request|response) pure=("${http[@]}") ;;
        check) pure=() ;;    # fuzz_check.c includes shim/check.c
        settings) pure=(shim/settings.c shim/filter.c) ;;
        tls) pure=("${http[@]}" shim/tls_conn.c) ;;
    esac
    if ! "$cc" -std=gnu11 -g -O1 -Wall -Wextra -Werror "${san[@]}" -Ishim \
        -o "$bin" "tests/fuzz/fuzz_$t.c" tests/fuzz/standalone.c \
        "${pure[@]}"; then
        echo "fuzz_$t: build failed"
        exit 2
    fi
    inputs=(tests/fuzz/corpus/"$t"/*)
    for f in tests/fuzz/crashers/"$t"/*; do
        [ -f "$f" ] && inputs+=("$f")
    done
    # one process for all; on failure, each input alone to name them all
    if log=$("$bin" "${inputs[@]}" 2>&1); then
        echo "fuzz_$t: ${#inputs[@]} inputs, ok"
        continue
    fi
    status=1
    failed=0
    for f in "${inputs[@]}"; do
        if ! log=$("$bin" "$f" 2>&1); then
            failed=$((failed + 1))
            echo "fuzz_$t: FAILED $f"
            echo "$log" | grep -m 3 -e 'oracle failed' -e 'ERROR: ' \
                -e 'runtime error'
        fi
    done
    echo "fuzz_$t: ${#inputs[@]} inputs, $failed failed"
done
exit "$status"
