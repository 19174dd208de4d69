#!/usr/bin/env bats
# make install / make uninstall, on a copy of the sources (shim/, docs/,
# Makefile) in a temporary directory: the real tree is never built from
# here.  The copy is made once per run; the first install builds it.

load lib/common

# -q must come first: it makes curl ignore any ~/.curlrc.
CURL=(curl -q -sS --noproxy '*')

setup_file() {
    SRC="$BATS_FILE_TMPDIR/src"
    mkdir -p "$SRC"
    cp -R "$ROOT/shim" "$ROOT/docs" "$ROOT/Makefile" "$SRC/"
    # built artefacts of the real tree must not stand in for a build
    rm -f "$SRC/shim/libforceclose.so" "$SRC/shim/forceclose"
    export SRC
}

setup() {
    STAGE="$BATS_TEST_TMPDIR/stage"
}

# mk ARGS...: make in the copy; its output is shown on failure.
mk() {
    run make --no-print-directory -C "$SRC" "$@"
    echo "make $*: status $status"
    echo "$output"
    [ "$status" -eq 0 ]
}

# files DIR: every non-directory under DIR, as "PATH MODE", sorted.
files() {
    (cd "$1" && find . ! -type d -printf '%P %m\n' | LC_ALL=C sort)
}

# launcher_libpath LAUNCHER PATH: PATH is compiled into LAUNCHER, and no
# other libforceclose.so path is.
launcher_libpath() {
    strings "$1" | grep -F libforceclose.so | grep '^/' >"$BATS_TEST_TMPDIR/paths" || true
    echo "library paths in $1:"
    cat "$BATS_TEST_TMPDIR/paths"
    [ "$(cat "$BATS_TEST_TMPDIR/paths")" = "$2" ]
}

@test "make install DESTDIR=... PREFIX=/usr: exactly the four files, modes 755/644" {
    mk install DESTDIR="$STAGE" PREFIX=/usr
    files "$STAGE" >"$BATS_TEST_TMPDIR/got"
    cat >"$BATS_TEST_TMPDIR/want" <<'EOF'
usr/bin/forceclose 755
usr/lib/libforceclose.so 644
usr/share/man/man1/forceclose.1 644
usr/share/man/man7/libforceclose.7 644
EOF
    diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
    # what was built and what is in docs/, unchanged
    cmp "$SRC/shim/libforceclose.so" "$STAGE/usr/lib/libforceclose.so"
    cmp "$SRC/shim/forceclose" "$STAGE/usr/bin/forceclose"
    cmp "$SRC/docs/forceclose.1" "$STAGE/usr/share/man/man1/forceclose.1"
    cmp "$SRC/docs/libforceclose.7" "$STAGE/usr/share/man/man7/libforceclose.7"
}

@test "the staged launcher's compiled-in library path is LIBDIR's, without DESTDIR" {
    mk install DESTDIR="$STAGE" PREFIX=/usr
    launcher_libpath "$STAGE/usr/bin/forceclose" /usr/lib/libforceclose.so
    run grep -c -F "$STAGE" "$STAGE/usr/bin/forceclose"
    [ "$output" = 0 ]
}

@test "make uninstall with the same variables leaves only empty directories" {
    mk install DESTDIR="$STAGE" PREFIX=/usr
    [ -n "$(files "$STAGE")" ]
    mk uninstall DESTDIR="$STAGE" PREFIX=/usr
    run files "$STAGE"
    echo "left: $output"
    [ -z "$output" ]
    # the directories make install created are still there, empty
    [ -d "$STAGE/usr/bin" ]
    [ -z "$(ls -A "$STAGE/usr/bin")" ]
}

@test "BINDIR, LIBDIR and MANDIR override PREFIX's defaults" {
    local v=(DESTDIR="$STAGE" PREFIX=/opt/fc BINDIR=/opt/fc/sbin LIBDIR=/usr/lib64/fc
             MANDIR=/usr/share/fcman)
    mk install "${v[@]}"
    files "$STAGE" >"$BATS_TEST_TMPDIR/got"
    cat >"$BATS_TEST_TMPDIR/want" <<'EOF'
opt/fc/sbin/forceclose 755
usr/lib64/fc/libforceclose.so 644
usr/share/fcman/man1/forceclose.1 644
usr/share/fcman/man7/libforceclose.7 644
EOF
    diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
    launcher_libpath "$STAGE/opt/fc/sbin/forceclose" /usr/lib64/fc/libforceclose.so
    mk uninstall "${v[@]}"
    run files "$STAGE"
    [ -z "$output" ]
    # another LIBDIR rebuilds the launcher
    mk install DESTDIR="$STAGE/2" PREFIX=/usr
    launcher_libpath "$STAGE/2/usr/bin/forceclose" /usr/lib/libforceclose.so
}

@test "the default PREFIX is /usr/local" {
    mk install DESTDIR="$STAGE"
    files "$STAGE" >"$BATS_TEST_TMPDIR/got"
    cat >"$BATS_TEST_TMPDIR/want" <<'EOF'
usr/local/bin/forceclose 755
usr/local/lib/libforceclose.so 644
usr/local/share/man/man1/forceclose.1 644
usr/local/share/man/man7/libforceclose.7 644
EOF
    diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
    launcher_libpath "$STAGE/usr/local/bin/forceclose" /usr/local/lib/libforceclose.so
    mk uninstall DESTDIR="$STAGE"
    run files "$STAGE"
    [ -z "$output" ]
}

@test "an installed launcher (no DESTDIR) preloads the installed library" {
    skip_unless_cmd curl
    local prefix="$BATS_TEST_TMPDIR/prefix"
    mk install PREFIX="$prefix"
    # bin/ holds no library: the compiled-in path is used
    run env -u LD_PRELOAD "$prefix/bin/forceclose" sh -c 'printf "%s\n" "$LD_PRELOAD"'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "$prefix/lib/libforceclose.so" ]
    start_server keepalive
    set_phase installed
    run timeout "$FC_TIMEOUT" env -u LD_PRELOAD "$prefix/bin/forceclose" \
        "${CURL[@]}" "$SERVER_URL/i/1" "$SERVER_URL/i/2"
    echo "$output"
    [ "$status" -eq 0 ]
    run check_requests "$SERVER_LOG/installed" --expect-close --count 2
    echo "$output"
    [ "$status" -eq 0 ]
    mk uninstall PREFIX="$prefix"
    run files "$prefix"
    [ -z "$output" ]
}

# The profile-guided build (Makefile, PGO): with GCC, `make` builds the
# library instrumented, runs shim/pgo_train.c on 127.0.0.1 and builds it
# again from that profile.
@test "make with GCC builds the library from the profile of its training run" {
    cc --version | grep -q 'Free Software' || skip "cc is not GCC"
    mk shim/libforceclose.so
    grep -q -- -fprofile-use "$SRC/build/pgo/use"
    # a profile for every object of the library
    [ "$(ls "$SRC"/build/shim/*.gcda | wc -l)" -eq "$(ls "$SRC"/build/shim/*.o | wc -l)" ]
}

@test "a training run that cannot reach 127.0.0.1 leaves a working library built without a profile" {
    cc --version | grep -q 'Free Software' || skip "cc is not GCC"
    skip_unless_cmd curl
    unshare -n true 2>/dev/null || skip "unshare -n is not allowed here"
    local src="$BATS_TEST_TMPDIR/src"
    mkdir -p "$src"
    cp -R "$ROOT/shim" "$ROOT/Makefile" "$src/"
    rm -f "$src/shim/libforceclose.so" "$src/shim/forceclose"
    # a network namespace of its own: its loopback is down
    run unshare -n make --no-print-directory -C "$src" shim/libforceclose.so
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"pgo_train failed: the library is built without a profile"* ]]
    [ ! -s "$src/build/pgo/use" ]
    [ -z "$(ls "$src"/build/shim/*.gcda 2>/dev/null)" ]
    # the library built so does its job
    start_server keepalive
    set_phase noprofile
    run timeout "$FC_TIMEOUT" env LD_PRELOAD="$src/shim/libforceclose.so" \
        "${CURL[@]}" "$SERVER_URL/n/1" "$SERVER_URL/n/2"
    echo "$output"
    [ "$status" -eq 0 ]
    run check_requests "$SERVER_LOG/noprofile" --expect-close --count 2
    echo "$output"
    [ "$status" -eq 0 ]
}
