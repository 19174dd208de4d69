#!/usr/bin/env bats
# The forceclose launcher (shim/forceclose): options become FORCECLOSE_*
# variables, LD_PRELOAD gets the library, bad values are refused with one
# line naming the option, exit statuses are env(1)'s, a real curl run says
# Connection: close on the wire, and --check tells which programs the
# library can reach.

load lib/common
bats_require_minimum_version 1.5.0

FC="$ROOT/shim/forceclose"
FIX="$ROOT/tests/launcher"
CURL=(curl -q -sS --noproxy '*')

setup() {
    [ -x "$FC" ] || {
        echo "missing $FC: run 'make shim/forceclose' at the repo root" >&2
        return 1
    }
    # The caller's own settings must not leak into what is checked.
    unset LD_PRELOAD ${!FORCECLOSE_@}
    T="$BATS_TEST_TMPDIR"
    LIB="$(cd "$ROOT/shim" && pwd -P)/libforceclose.so"
}

# env_of NAME: the value of NAME in $output (the output of `env`).
env_of() {
    local line
    for line in "${lines[@]}"; do
        [[ "$line" == "$1="* ]] && { echo "${line#*=}"; return 0; }
    done
    echo "<unset>"
}

# run_fc [-N] ARGS...: run the launcher, stdout in $output, stderr in
# $stderr; -N: bats checks the status is N (127 needs it, warning BW01).
run_fc() {
    local expect=()
    [[ "$1" =~ ^-[0-9]+$ ]] && { expect=("$1"); shift; }
    run "${expect[@]}" --separate-stderr timeout "$FC_TIMEOUT" "$FC" "$@"
    echo "status $status"
    echo "stdout: $output"
    echo "stderr: $stderr"
}

# refused NEEDLE ARGS...: the launcher exits 2 with exactly one line on
# stderr containing NEEDLE, and does not run the command (touch) it would
# have run.
refused() {
    local needle="$1"
    shift
    run_fc "$@" touch "$T/ran"
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == "forceclose: "* ]]
    [[ "$stderr" == *"$needle"* ]]
    [ ! -e "$T/ran" ]
}

build_hello() {
    gcc -O1 -o "$T/hello" "$FIX/hello.c" "$@"
}

@test "--version and --help" {
    run_fc --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^forceclose\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
    run_fc -V
    [[ "$output" =~ ^forceclose\ [0-9] ]]
    run_fc --help
    [ "$status" -eq 0 ]
    local o
    for o in -a --action --only --except -v --verbose --log --stats \
             --no-inherit --check -h --help -V --version 125 126 127; do
        [[ "$output" == *"$o"* ]] || { echo "help lacks $o"; return 1; }
    done
    [[ "$output" == *"Library: $LIB"* ]]
    run_fc -h
    [ "$status" -eq 0 ]
}

@test "each option sets its FORCECLOSE_* variable" {
    run_fc -a close --only 127.0.0.1 --except '*.example.com' -v \
        --log syslog --stats /tmp/fc-stats.json --no-inherit env
    [ "$status" -eq 0 ]
    [ "$(env_of FORCECLOSE_ACTION)" = close ]
    [ "$(env_of FORCECLOSE_ONLY)" = 127.0.0.1 ]
    [ "$(env_of FORCECLOSE_EXCEPT)" = '*.example.com' ]
    [ "$(env_of FORCECLOSE_VERBOSE)" = 1 ]
    [ "$(env_of FORCECLOSE_LOG)" = syslog ]
    [ "$(env_of FORCECLOSE_STATS)" = /tmp/fc-stats.json ]
    [ "$(env_of FORCECLOSE_INHERIT)" = 0 ]
    [ "$(env_of FORCECLOSE_DISABLE)" = '<unset>' ]
    run_fc --action=none --log stderr env
    [ "$(env_of FORCECLOSE_ACTION)" = none ]
    [ "$(env_of FORCECLOSE_LOG)" = stderr ]
    # options not given set nothing
    [ "$(env_of FORCECLOSE_ONLY)" = '<unset>' ]
    [ "$(env_of FORCECLOSE_VERBOSE)" = '<unset>' ]
    [ "$(env_of FORCECLOSE_INHERIT)" = '<unset>' ]
}

@test "-v counts: -v -v -v is 3, -vv is 2" {
    run_fc -v -v -v env
    [ "$(env_of FORCECLOSE_VERBOSE)" = 3 ]
    run_fc -vv --verbose env
    [ "$(env_of FORCECLOSE_VERBOSE)" = 3 ]
    run_fc -vv env
    [ "$(env_of FORCECLOSE_VERBOSE)" = 2 ]
}

@test "repeated --only and --except are joined with commas" {
    run_fc --only 10.0.0.0/8:8080 --only '[::1]:80' --only unix:/run/app.sock \
        --except '*.internal' --except 10.1.2.3 env
    [ "$status" -eq 0 ]
    [ "$(env_of FORCECLOSE_ONLY)" = '10.0.0.0/8:8080,[::1]:80,unix:/run/app.sock' ]
    [ "$(env_of FORCECLOSE_EXCEPT)" = '*.internal,10.1.2.3' ]
}

@test "relative --log and --stats files are made absolute" {
    mkdir "$T/sub"
    cd "$T/sub"
    local here
    here="$(pwd -P)"
    run_fc --log fc.log --stats ./out/stats.json env
    [ "$status" -eq 0 ]
    [ "$(env_of FORCECLOSE_LOG)" = "$here/fc.log" ]
    [ "$(env_of FORCECLOSE_STATS)" = "$here/out/stats.json" ]
    run_fc --log ../up.log env
    [ "$(env_of FORCECLOSE_LOG)" = "$here/../up.log" ]
}

@test "inherited variables pass through; options override them" {
    FORCECLOSE_ACTION=close FORCECLOSE_VERBOSE=2 FORCECLOSE_DISABLE=0 \
        run_fc env
    [ "$status" -eq 0 ]
    [ "$(env_of FORCECLOSE_ACTION)" = close ]
    [ "$(env_of FORCECLOSE_VERBOSE)" = 2 ]
    [ "$(env_of FORCECLOSE_DISABLE)" = 0 ]
    FORCECLOSE_ACTION=close FORCECLOSE_ONLY=10.0.0.1 run_fc -a none \
        --only 10.0.0.2 env
    [ "$(env_of FORCECLOSE_ACTION)" = none ]
    [ "$(env_of FORCECLOSE_ONLY)" = 10.0.0.2 ]
    # a bad inherited value an option replaces is no error
    FORCECLOSE_ACTION=bogus run_fc -a close true
    [ "$status" -eq 0 ]
}

@test "LD_PRELOAD: the library's absolute path comes first, earlier entries kept" {
    run_fc printenv LD_PRELOAD
    [ "$status" -eq 0 ]
    [ "$output" = "$LIB" ]
    echo 'int fc_other_a, fc_other_b;' | gcc -shared -fPIC -x c -o "$T/libother.so" -
    cp "$T/libother.so" "$T/libother2.so"
    LD_PRELOAD="$T/libother.so" run_fc printenv LD_PRELOAD
    [ "$output" = "$LIB:$T/libother.so" ]
    # both of the loader's separators, empty entries dropped
    LD_PRELOAD="$T/libother.so $T/libother2.so::" run_fc printenv LD_PRELOAD
    [ "$output" = "$LIB:$T/libother.so:$T/libother2.so" ]
}

@test "LD_PRELOAD: the same library is not added twice" {
    echo 'int fc_other;' | gcc -shared -fPIC -x c -o "$T/libother.so" -
    LD_PRELOAD="$T/libother.so:$LIB" run_fc printenv LD_PRELOAD
    [ "$output" = "$LIB:$T/libother.so" ]
    # another copy of libforceclose.so (say an older install) is replaced
    mkdir "$T/old"
    cp "$LIB" "$T/old/libforceclose.so"
    LD_PRELOAD="$T/old/libforceclose.so:$T/libother.so" run_fc printenv LD_PRELOAD
    [ "$output" = "$LIB:$T/libother.so" ]
    # the same file under another name
    ln -s "$LIB" "$T/libalias.so"
    LD_PRELOAD="$T/libalias.so" run_fc printenv LD_PRELOAD
    [ "$output" = "$LIB" ]
    # forceclose run under forceclose
    run_fc "$FC" "$FC" printenv LD_PRELOAD
    [ "$status" -eq 0 ]
    [ "$output" = "$LIB" ]
}

@test "options end at COMMAND or --; later options are COMMAND's" {
    run_fc printf '%s|' -a close --help --
    [ "$status" -eq 0 ]
    [ "$output" = "-a|close|--help|--|" ]
    run_fc sh -c 'echo "${FORCECLOSE_ACTION-unset} $*"' sh -a close
    [ "$output" = "unset -a close" ]
    run_fc -v -- printf '%s|' -v --only
    [ "$output" = "-v|--only|" ]
    # after --, "-a" is the command's name
    run_fc -127 -- -a close true
}

@test "exit statuses: the command's own, 127 not found, 126 cannot run" {
    run_fc sh -c 'exit 7'
    [ "$status" -eq 7 ]
    run_fc true
    [ "$status" -eq 0 ]
    run_fc false
    [ "$status" -eq 1 ]
    run_fc -127 fc-no-such-command-here
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == *fc-no-such-command-here* ]]
    run_fc -127 "$T/missing/prog"
    printf '#!/bin/sh\necho ran\n' >"$T/noexec"
    chmod 644 "$T/noexec"
    run_fc "$T/noexec"
    [ "$status" -eq 126 ]
    [[ "$stderr" == *noexec* ]]
    [ -z "$output" ]
    run_fc "$T"
    [ "$status" -eq 126 ]
}

@test "no COMMAND: usage, exit 2" {
    run_fc
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == *Usage* ]]
}

@test "bad --action: exit 2, one line naming the option, nothing run" {
    refused '--action "bogus" is not valid' -a bogus
    [[ "$stderr" == *"accepted: shutdown, close or none"* ]]
    refused '--action "Close" is not valid' --action Close
    refused '--action needs a non-empty value' --action ''
}

@test "bad destination lists: exit 2, one line naming the option, nothing run" {
    refused '--only "10.0.0.0/33" is not valid (' --only 10.0.0.0/33
    [[ "$stderr" == *accepted:* ]]
    refused '--only "10.0.0.1:70000" is not valid' --only 10.0.0.1:70000
    refused '--except "a.example,,b.example" is not valid' \
        --except a.example,,b.example
    # repeated options are checked as joined
    refused '--except "a.example,::1/129" is not valid' \
        --except a.example --except ::1/129
    refused '--only needs a non-empty value' --only ''
    local many i
    many=10.0.0.1
    for ((i = 2; i <= 65; i++)); do many+=",10.0.0.$i"; done
    refused '--only "10.0.0.1,' --only "$many"
}

@test "bad --log, --stats and -v: exit 2, one line naming the option" {
    refused '--log needs a non-empty value' --log ''
    refused '--stats needs a non-empty value' --stats ''
    local long
    long="/tmp/$(head -c 5000 /dev/zero | tr '\0' x)"
    refused '--stats "/tmp/xxx' --stats "$long"
    [[ "$stderr" == *longer* ]]
    refused '--log "/tmp/xxx' --log "$long"
    refused '--verbose given more than 3 times' -v -v -v -v
    refused '--verbose' -vvvv
}

@test "unknown options and missing values: exit 2, one line naming them" {
    refused '"--bogus"' --bogus
    refused '"-x"' -x
    refused '"-x"' -vx
    refused '"--no-inherit=1"' --no-inherit=1
    # ambiguous abbreviation of --verbose / --version
    refused '"--ver"' --ver
    run_fc --only
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == *"--only needs a value"* ]]
    run_fc -v -a
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"-a needs a value"* ]]
    run_fc --check
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--check needs a value"* ]]
}

@test "bad inherited variables are refused naming the variable" {
    FORCECLOSE_ACTION=bogus refused 'FORCECLOSE_ACTION="bogus" is not valid'
    FORCECLOSE_VERBOSE=9 refused 'FORCECLOSE_VERBOSE="9" is not valid'
    FORCECLOSE_STATS=relative.json refused 'FORCECLOSE_STATS="relative.json"'
    FORCECLOSE_EXCEPT=300.1.1.1/8 refused 'FORCECLOSE_EXCEPT="300.1.1.1/8"'
    FORCECLOSE_INHERIT=yes refused 'FORCECLOSE_INHERIT="yes"'
    FORCECLOSE_DISABLE=2 refused 'FORCECLOSE_DISABLE="2"'
}

@test "forceclose curl: requests on the wire say Connection: close" {
    skip_unless_cmd curl
    start_server keepalive
    run_fc "${CURL[@]}" -o /dev/null "$SERVER_URL/fc/a" \
        --next -o /dev/null -H 'Connection: keep-alive' "$SERVER_URL/fc/b"
    [ "$status" -eq 0 ]
    run check_requests "$SERVER_LOG" --expect-close --count 2
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "forceclose --except 127.0.0.1 curl: requests are left alone" {
    skip_unless_cmd curl
    start_server keepalive
    run_fc --except 127.0.0.1 "${CURL[@]}" -o /dev/null "$SERVER_URL/fc/a" \
        --next -o /dev/null "$SERVER_URL/fc/b"
    [ "$status" -eq 0 ]
    run check_requests "$SERVER_LOG" --count 2
    echo "$output"
    [ "$status" -eq 0 ]
    run grep -ail '^Connection:' "$SERVER_LOG"/conn-*.raw
    echo "$output"
    [ "$status" -eq 1 ]
}

# --check --------------------------------------------------------------

@test "--check: a dynamically linked C program: yes" {
    build_hello
    run_fc --check "$T/hello"
    [ "$status" -eq 0 ]
    [ "$output" = "$T/hello: yes - dynamically linked against glibc; LD_PRELOAD reaches it" ]
    # a bare name is looked up in PATH
    PATH="$T:$PATH" run_fc --check hello
    [ "$status" -eq 0 ]
    [[ "$output" == "$T/hello: yes - "* ]]
}

@test "--check: a statically linked C program: yes, by the system-call engine" {
    gcc -O1 -static -o "$T/static" "$FIX/hello.c" 2>"$T/gcc.err" ||
        skip "cannot link statically (is libc.a installed?): $(head -1 "$T/gcc.err")"
    run_fc --check "$T/static"
    [ "$status" -eq 0 ]
    [[ "$output" == "$T/static: yes - statically linked: the system-call engine reaches it"* ]]
    if gcc -O1 -static-pie -o "$T/spie" "$FIX/hello.c" 2>/dev/null; then
        run_fc --check "$T/spie"
        [ "$status" -eq 0 ]
        [[ "$output" == *"yes - statically linked: the system-call engine"* ]]
    fi
}

@test "--check: Go binaries, static and cgo-linked: yes, by the system-call engine, HTTPS excepted" {
    skip_unless_cmd go
    export GOCACHE="$ROOT/build/launcher/gocache" GOPATH="$T/gopath"
    export GO111MODULE=off GOTOOLCHAIN=local
    CGO_ENABLED=0 go build -o "$T/gostatic" "$FIX/hello.go"
    run_fc --check "$T/gostatic"
    [ "$status" -eq 0 ]
    [[ "$output" == *"yes - a Go program: the system-call engine reaches it"* ]]
    [[ "$output" == *"Go's HTTPS is inside the binary"* ]]
    CGO_ENABLED=1 go build -o "$T/gocgo" "$FIX/hello.go" ||
        skip "no cgo build"
    run readelf -l "$T/gocgo"
    [[ "$output" == *"ld-linux-x86-64.so.2"* ]] || skip "cgo build is not dynamic"
    run_fc --check "$T/gocgo"
    [ "$status" -eq 0 ]
    [[ "$output" == *"yes - a Go program (cgo-linked): the system-call engine"* ]]
}

@test "--check: Go detected by section name, and by magic without sections" {
    gcc -O1 -o "$T/fakego" "$FIX/fake_go.c"
    run_fc --check "$T/fakego"
    [ "$status" -eq 0 ]
    [[ "$output" == *"yes - a Go program (cgo-linked): the system-call engine"* ]]
    # zero e_shoff (8 bytes at 40) and e_shnum (2 at 60): no section table
    build_hello
    local f
    for f in fakego hello; do
        cp "$T/$f" "$T/$f-nosh"
        printf '\0\0\0\0\0\0\0\0' | dd of="$T/$f-nosh" bs=1 seek=40 conv=notrunc status=none
        printf '\0\0' | dd of="$T/$f-nosh" bs=1 seek=60 conv=notrunc status=none
    done
    run_fc --check "$T/fakego-nosh"
    [ "$status" -eq 0 ]
    [[ "$output" == *"yes - a Go program"* ]]
    run_fc --check "$T/hello-nosh"
    [ "$status" -eq 0 ]
}

@test "--check: setuid and setgid copies: no" {
    build_hello
    cp "$T/hello" "$T/suid"
    chmod u+s "$T/suid"
    run_fc --check "$T/suid"
    [ "$status" -eq 1 ]
    [[ "$output" == "$T/suid: no - set-user-ID: in secure-execution mode"* ]]
    cp "$T/hello" "$T/sgid"
    chmod g+xs "$T/sgid"
    run_fc --check "$T/sgid"
    [ "$status" -eq 1 ]
    [[ "$output" == *"no - set-group-ID"* ]]
}

@test "--check: a copy with file capabilities: no" {
    skip_unless_cmd setcap
    build_hello
    cp "$T/hello" "$T/caps"
    setcap cap_net_raw+ep "$T/caps" 2>"$T/setcap.err" ||
        skip "setcap failed: $(head -1 "$T/setcap.err")"
    run_fc --check "$T/caps"
    [ "$status" -eq 1 ]
    [[ "$output" == *"no - has file capabilities"* ]]
}

@test "--check: another C library or another architecture: no" {
    gcc -O1 -Wl,--dynamic-linker=/lib/ld-musl-x86_64.so.1 -o "$T/musl" "$FIX/hello.c"
    run_fc --check "$T/musl"
    [ "$status" -eq 1 ]
    [[ "$output" == *"no - linked against musl libc"* ]]
    # e_machine (2 bytes at 18) patched to EM_AARCH64 (183)
    build_hello
    cp "$T/hello" "$T/arm"
    printf '\267\0' | dd of="$T/arm" bs=1 seek=18 conv=notrunc status=none
    run_fc --check "$T/arm"
    [ "$status" -eq 1 ]
    [[ "$output" == *"no - built for aarch64"* ]]
}

@test "--check: a #!/bin/sh script is judged by its interpreter" {
    printf '#!/bin/sh\necho hi\n' >"$T/script.sh"
    chmod +x "$T/script.sh"
    run_fc --check /bin/sh
    local sh_status="$status" sh_verdict="${lines[0]#/bin/sh: }"
    run_fc --check "$T/script.sh"
    [ "$status" -eq "$sh_status" ]
    [ "${lines[0]}" = "$T/script.sh: script run by /bin/sh: $sh_verdict" ]
    [[ "${lines[1]}" == note:* ]]
    # with an argument and extra spaces
    printf '#!  /bin/sh -e  \necho hi\n' >"$T/script2.sh"
    run_fc --check "$T/script2.sh"
    [ "$status" -eq "$sh_status" ]
    [[ "${lines[0]}" == "$T/script2.sh: script run by /bin/sh: "* ]]
}

@test "--check: #!/usr/bin/env python3 is resolved in PATH" {
    skip_unless_cmd python3
    [ -x /usr/bin/env ] || skip "no /usr/bin/env"
    local py
    py="$(command -v python3)"
    run_fc --check "$py"
    local py_status="$status"
    printf '#!/usr/bin/env python3\nprint(1)\n' >"$T/p.py"
    run_fc --check "$T/p.py"
    [ "$status" -eq "$py_status" ]
    [[ "${lines[0]}" == "$T/p.py: script run by $py (via /usr/bin/env): "* ]]
    printf '#!/usr/bin/env -S python3 -u\nprint(1)\n' >"$T/p2.py"
    run_fc --check "$T/p2.py"
    [ "$status" -eq "$py_status" ]
    [[ "${lines[0]}" == "$T/p2.py: script run by $py (via /usr/bin/env): "* ]]
    printf '#!/usr/bin/env fc-no-such-interpreter\n' >"$T/e.sh"
    run_fc --check "$T/e.sh"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"fc-no-such-interpreter is not in PATH"* ]]
}

@test "--check: scripts whose interpreters loop or are missing: 2" {
    printf '#!%s\n' "$T/b" >"$T/a"
    printf '#!%s\n' "$T/a" >"$T/b"
    run_fc --check "$T/a"
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == *"too many levels of #! interpreters"* ]]
    printf '#!%s/nowhere\n' "$T" >"$T/c"
    run_fc --check "$T/c"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"script run by $T/nowhere: No such file or directory"* ]]
}

@test "--check: not a program, missing, a directory, a usage error: 2" {
    printf 'just text\n' >"$T/data"
    run_fc --check "$T/data"
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == *"not a program (neither ELF nor #!)"* ]]
    run_fc --check "$T/missing"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"No such file or directory"* ]]
    run_fc --check fc-no-such-command-here
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"not found in PATH"* ]]
    run_fc --check "$T"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"not a regular file"* ]]
    build_hello
    run_fc --check "$T/hello" extra
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--check takes one PROGRAM"* ]]
    # object files are ELF but not programs
    gcc -c -o "$T/hello.o" "$FIX/hello.c"
    run_fc --check "$T/hello.o"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"not a program"* ]]
}
