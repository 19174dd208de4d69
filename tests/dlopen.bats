#!/usr/bin/env bats
# dlopen() under the library (shim/io_dl.c).  The hook jumps to libc's
# dlopen with the program's return address, so glibc still searches the
# calling program's RUNPATH and $ORIGIN; and it drops RTLD_DEEPBIND, which
# would bind a plugin's calls to libc's own, past the library (PHP loads
# its extensions so: tests/leak.bats and tests/tls.bats run PHP's curl).
# The witness: a plugin (tests/dl/plugin.c) that the program (dl_origin)
# finds only through its own RUNPATH, $ORIGIN/plugins, makes one keep-alive
# request to the recording server.

load lib/common
load lib/resp

setup_file() {
    local b="$BATS_FILE_TMPDIR/bin" cf=(-std=gnu11 -O2 -Wall -Wextra -Werror)
    mkdir -p "$b/plugins"
    cc "${cf[@]}" -fPIC -shared -o "$b/plugins/libfc_dlplugin.so" "$ROOT/tests/dl/plugin.c"
    # shellcheck disable=SC2016 # $ORIGIN is for the dynamic linker
    cc "${cf[@]}" -o "$b/dl_origin" "$ROOT/tests/dl/dl_origin.c" -ldl \
        -Wl,--enable-new-dtags -Wl,-rpath,'$ORIGIN/plugins'
}

setup() {
    DL="$BATS_FILE_TMPDIR/bin/dl_origin"
    [ -x "$DL" ]
    start_server keepalive
}

teardown() {
    stop_servers
}

# dl PHASE MODE [VAR=VALUE...]: the plugin's request, in its own phase,
# under the library (but for phase base)
dl() {
    local phase="$1" mode="$2"
    shift 2
    set_phase "$phase"
    if [ "$phase" = base ]; then
        run timeout "$FC_TIMEOUT" "$DL" libfc_dlplugin.so "$mode" "$SERVER_PORT"
    else
        run env "$@" LD_PRELOAD="$FC_PRELOAD" timeout "$FC_TIMEOUT" \
            "$DL" libfc_dlplugin.so "$mode" "$SERVER_PORT"
    fi
    echo "$phase ($mode): status $status: $output"
    [ "$status" -eq 0 ]
}

@test "dlopen under the library searches the program's own RUNPATH (\$ORIGIN); the plugin's connection is tracked" {
    # (a sanitizer runtime's own dlopen is a C wrapper: it loses the
    # caller's RUNPATH without this library too)
    [ "$FC_PRELOAD" = "$FC_LIB" ] ||
        skip "the sanitizer runtime's dlopen searches its own RUNPATH, not the program's"
    readelf -d "$DL" | grep -q 'RUNPATH.*\$ORIGIN/plugins'
    dl base plain
    [ "$output" = "said_close=0" ]
    dl shim plain
    [ "$output" = "said_close=1" ]
    run check_requests "$SERVER_LOG/shim" --expect-close --count 1
    echo "$output"; [ "$status" -eq 0 ]
}

@test "RTLD_DEEPBIND is dropped: the plugin's connection is tracked; FORCECLOSE_KEEP_DEEPBIND=1 keeps it, and the plugin passes the library by" {
    [ "$FC_PRELOAD" = "$FC_LIB" ] ||
        skip "the sanitizer runtime refuses RTLD_DEEPBIND before the library sees it"
    dl base deep
    [ "$output" = "said_close=0" ]
    dl shim deep FORCECLOSE_VERBOSE=1
    [[ "$output" == *"said_close=1"* ]]
    [[ "$output" == *"libforceclose: dl_origin["*"]: dlopen(libfc_dlplugin.so): RTLD_DEEPBIND dropped"* ]]
    run check_requests "$SERVER_LOG/shim" --expect-close --count 1
    echo "$output"; [ "$status" -eq 0 ]
    dl keep deep FORCECLOSE_KEEP_DEEPBIND=1
    [ "$output" = "said_close=0" ]
    run stat_wait "$SERVER_LOG/keep" "connections == 1 and requests == 1"
    echo "$output"; [ "$status" -eq 0 ]
}
