#!/usr/bin/env bash
# secure_ns.sh DIR LIB TRUSTED [VAR=VALUE...] -- CMD...
#                       (run it under unshare -m --propagation private)
#
# Secure execution (AT_SECURE) without touching the system: in this private
# mount namespace only, mounts a tmpfs on DIR holding DIR/curl and
# DIR/env, setuid-root copies of curl and env, and a copy of LIB with the
# set-user-ID bit,
# then bind-mounts that copy over TRUSTED, an existing library in a system
# directory: the loader in secure-execution mode preloads only such files
# (LD_PRELOAD=$(basename TRUSTED)).  Exports the VARs, then execs CMD.
# On the host, DIR stays an empty directory and TRUSTED is unchanged.
set -eu
. "$(dirname "$0")/private_ns.bash"
fc_require_private_ns
dir=$1 lib=$2 trusted=$3
shift 3
mount -t tmpfs -o mode=755,size=64m fc-secure "$dir"
for p in curl env; do
    cp "$(command -v "$p")" "$dir/$p"
    chmod 4755 "$dir/$p"
done
cp "$lib" "$dir/lib.so"
chmod 4755 "$dir/lib.so"
mount --bind "$dir/lib.so" "$trusted"
while [ "$1" != -- ]; do
    export "$1"
    shift
done
shift
exec "$@"
