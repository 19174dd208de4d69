#!/usr/bin/env bats
# The operator documentation: man pages lint clean, the systemd examples
# are units systemd accepts, and the docs name every variable the library
# reads and every option the launcher offers.
#
# systemd-analyze verify needs no running systemd: it starts a private
# manager in test mode, puts the unit file's directory first in the search
# path (so a NAME.service.d/ beside it is applied), and checks that
# ExecStart= is executable (hence stub programs) and, unless --man=no, that
# Documentation=man: pages open with man(1) (we put ours on MANPATH).
# Unknown keys are only warnings (exit 0), so output naming our files fails
# a test too; other output is shown but is the machine's, not ours.

load lib/common

DOCS="$ROOT/docs"

setup() {
    T="$BATS_TEST_TMPDIR"
}

need_mandoc() {
    command -v mandoc >/dev/null 2>&1 ||
        skip "mandoc is not installed (apt-get install mandoc)"
}

# the variables libforceclose.7 documents, one a line
documented_vars() {
    sed -n 's/^\.It Ev \(FORCECLOSE_[A-Z_]*\)$/\1/p' "$DOCS/libforceclose.7" | sort -u
}

# stub_program: an executable for ExecStart= that is never run
stub_program() {
    printf '#!/bin/sh\nexit 0\n' >"$T/stub"
    chmod 755 "$T/stub"
}

# verify UNIT_FILE NAME...: systemd-analyze verify passes the unit and
# prints no line naming any NAME (unit name, drop-in path).
verify() {
    local unit="$1" name
    shift
    local args=(--recursive-errors=no)
    if command -v man >/dev/null 2>&1; then
        mkdir -p "$T/man/man1" "$T/man/man7"
        cp "$DOCS/forceclose.1" "$T/man/man1/"
        cp "$DOCS/libforceclose.7" "$T/man/man7/"
    else
        echo "man is not installed: Documentation= not checked"
        args+=(--man=no)
    fi
    run env MANPATH="$T/man" systemd-analyze verify "${args[@]}" "$unit"
    echo "systemd-analyze verify $unit: status $status"
    echo "$output"
    [ "$status" -eq 0 ]
    for name in "$@"; do
        if grep -F -- "$name" <<<"$output"; then
            echo "systemd-analyze complained about $name"
            return 1
        fi
    done
}

# the stub unit legacy.service with the drop-in DROPIN applied
stub_with_dropin() {
    stub_program
    mkdir -p "$T/units/legacy.service.d"
    printf '[Unit]\nDescription=stub\n[Service]\nExecStart=%s\n' "$T/stub" \
        >"$T/units/legacy.service"
    cp "$1" "$T/units/legacy.service.d/forceclose.conf"
}

# env_assignments FILE: the NAME=VALUE of every Environment= line, commented
# out or not, one a line (systemd quoting is close enough to shell's).
env_assignments() {
    python3 - "$1" <<'EOF'
import shlex, sys
for line in open(sys.argv[1]):
    line = line.strip().lstrip('#')
    if line.startswith('Environment='):
        for word in shlex.split(line[len('Environment='):]):
            print(word)
EOF
}

@test "man pages: mandoc -T lint -W warning prints nothing" {
    need_mandoc
    run mandoc -T lint -W warning "$DOCS/forceclose.1" "$DOCS/libforceclose.7"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "man pages: mandoc -T lint style notes, apart from installed pages" {
    need_mandoc
    # Whether a cross-referenced page is installed, and the state of the
    # system's mandoc.db, belong to the machine; every other note is ours.
    local notes
    run mandoc -T lint "$DOCS/forceclose.1" "$DOCS/libforceclose.7"
    notes=$(grep -v -e 'referenced manual not found' -e 'outdated mandoc.db' \
        <<<"$output" || true)
    echo "$notes"
    [ -z "$notes" ]
}

@test "man pages: each renders with its name, and they refer to each other" {
    need_mandoc
    run mandoc -T ascii "$DOCS/forceclose.1"
    [ "$status" -eq 0 ]
    [[ "$output" == FORCECLOSE\(1\)* ]]
    grep -q '^\.Xr libforceclose 7' "$DOCS/forceclose.1"
    run mandoc -T ascii "$DOCS/libforceclose.7"
    [ "$status" -eq 0 ]
    [[ "$output" == LIBFORCECLOSE\(7\)* ]]
    grep -q '^\.Xr forceclose 1' "$DOCS/libforceclose.7"
}

@test "systemd: the drop-in verifies on a stub unit, and the check sees it" {
    command -v systemd-analyze >/dev/null 2>&1 || skip "systemd-analyze is not installed"
    grep -qx 'Environment=LD_PRELOAD=/usr/local/lib/libforceclose.so' \
        "$DOCS/systemd/forceclose.conf"
    # control: a drop-in with a bad key must be read and reported
    printf '[Service]\nNoSuchKey=1\n' >"$T/bad.conf"
    stub_with_dropin "$T/bad.conf"
    run verify "$T/units/legacy.service" legacy.service.d/forceclose.conf
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"legacy.service.d/forceclose.conf"*NoSuchKey* ]]
    # the drop-in as shipped
    stub_with_dropin "$DOCS/systemd/forceclose.conf"
    verify "$T/units/legacy.service" legacy.service
    # and with every commented-out example switched on
    sed 's/^#Environment=/Environment=/' "$DOCS/systemd/forceclose.conf" \
        >"$T/all.conf"
    [ "$(grep -c '^Environment=' "$T/all.conf")" -gt 5 ]
    stub_with_dropin "$T/all.conf"
    verify "$T/units/legacy.service" legacy.service
}

@test "systemd: the example unit verifies with ExecStart= on a stub" {
    command -v systemd-analyze >/dev/null 2>&1 || skip "systemd-analyze is not installed"
    stub_program
    mkdir -p "$T/units"
    sed "s|^ExecStart=.*|ExecStart=$T/stub --config /etc/legacy/client.conf|" \
        "$DOCS/systemd/legacy-client.service" >"$T/units/legacy-client.service"
    grep -q "^ExecStart=$T/stub" "$T/units/legacy-client.service"
    grep -qx 'Environment=LD_PRELOAD=/usr/local/lib/libforceclose.so' \
        "$T/units/legacy-client.service"
    verify "$T/units/legacy-client.service" legacy-client.service
}

@test "systemd: every example value is accepted by the library" {
    [ -f "$FC_LIB" ] || { echo "missing $FC_LIB (run make)"; return 1; }
    local f a n=0
    for f in "$DOCS/systemd/forceclose.conf" "$DOCS/systemd/legacy-client.service"; do
        while IFS= read -r a; do
            [[ "$a" == FORCECLOSE_* ]] || continue
            # stats files go to this test's directory, not /var/log
            [[ "$a" == FORCECLOSE_STATS=* ]] && a="FORCECLOSE_STATS=$T/stats.json"
            n=$((n + 1))
            run env "$a" LD_PRELOAD="$FC_PRELOAD" /bin/true </dev/null
            echo "$a: status $status $output"
            [ "$status" -eq 0 ]
            [ -z "$output" ]
        done < <(env_assignments "$f")
    done
    [ "$n" -ge 8 ]
}

@test "systemd: the launcher line in the example unit is accepted" {
    [ -x "$ROOT/shim/forceclose" ] || skip "shim/forceclose is not built yet"
    # the commented ExecStart= with its continuation lines, options only
    local line opts
    line=$(sed -n '/^#ExecStart=.*forceclose/,/[^\\]$/p' \
        "$DOCS/systemd/legacy-client.service" | sed 's/^#//; s/\\$//' | tr '\n' ' ')
    echo "$line"
    opts=${line#*forceclose }
    opts=${opts%% -- *}
    opts=${opts//\/var\/log\/legacy-client/$T}
    [ -n "$opts" ]
    # shellcheck disable=SC2086 # options are words, no quoting in the unit
    run "$ROOT/shim/forceclose" $opts -- /bin/true
    echo "status $status: $output"
    [ "$status" -eq 0 ]
}

@test "every FORCECLOSE_* variable the library reads is in libforceclose.7" {
    local vars v missing=()
    # names read from the environment are string literals ("FORCECLOSE_LOG");
    # bare words are macros (FORCECLOSE_LIBDIR, header guards) or comments
    vars=$(grep -ohE '"FORCECLOSE_[A-Z][A-Z_]*' "$ROOT"/shim/*.c | tr -d '"' | sort -u)
    echo "read by shim/*.c: $vars"
    [ -n "$vars" ]
    for v in $vars; do
        documented_vars | grep -qx "$v" || missing+=("$v")
    done
    echo "not documented: ${missing[*]}"
    [ ${#missing[@]} -eq 0 ]
}

@test "every FORCECLOSE_* name in the other docs is one libforceclose.7 documents" {
    local v bad=() names
    # the files are named here, and grep runs outside the for's $(...), so
    # a missing file (grep exit 2) fails the test instead of vanishing
    run grep -ohE 'FORCECLOSE_[A-Z][A-Z_]*' "$DOCS/forceclose.1" "$ROOT/README.md" \
        "$DOCS/internals.md" "$DOCS/fault-matrix.md" "$DOCS"/systemd/*
    [ "$status" -eq 0 ]
    names=$(sort -u <<<"$output")
    echo "names: $names"
    [ "$(wc -w <<<"$names")" -ge 5 ]
    for v in $names; do
        documented_vars | grep -qx "$v" || bad+=("$v")
    done
    echo "unknown: ${bad[*]}"
    [ ${#bad[@]} -eq 0 ]
}

@test "every option in 'forceclose --help' is in forceclose.1" {
    [ -x "$ROOT/shim/forceclose" ] || skip "shim/forceclose is not built yet"
    local opts o missing=()
    run "$ROOT/shim/forceclose" --help
    echo "status $status"
    echo "$output"
    [ -n "$output" ]
    # long options, and single-letter short ones, each preceded by a blank,
    # a bracket, a comma or a bar (not by a letter: "pass-through")
    opts=$(grep -oE '(^|[][ ,|(])--?[A-Za-z][A-Za-z0-9-]*' <<<"$output" |
        sed 's/^[][ ,|(]//' | grep -E '^(--[a-z][a-z0-9-]*|-[A-Za-z])$' | sort -u)
    echo "options: $opts"
    [ -n "$opts" ]
    for o in $opts; do
        # mdoc writes -a as "Fl a" and --only as "Fl -only"
        grep -qE "(^|[[:space:]])Fl ${o#-}([[:space:]]|$)" "$DOCS/forceclose.1" ||
            missing+=("$o")
    done
    echo "not in forceclose.1: ${missing[*]}"
    [ ${#missing[@]} -eq 0 ]
}
