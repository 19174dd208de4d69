#!/usr/bin/env bash
# preload_ns.sh DIR LIB -- CMD...   (run it under unshare -m --propagation private)
#
# A system-wide preload, without touching the system: in this private mount
# namespace only, mounts a tmpfs on DIR holding a copy of LIB (DIR/lib.so)
# and set-user-ID-root copies of curl, cat, env and setpriv (DIR/curl, ...),
# lays an overlay over /etc whose upper layer (in DIR) adds an
# /etc/ld.so.preload naming DIR/lib.so, then execs CMD.  Every process
# started from here on loads the library the way a host with the library
# in /etc/ld.so.preload does, setuid programs (secure execution) included.
# On the host, DIR stays an empty directory and /etc is unchanged.
set -eu
. "$(dirname "$0")/../config/private_ns.bash"
fc_require_private_ns
dir=$1 lib=$2
shift 2
[ "$1" = -- ] && shift
mount -t tmpfs -o mode=755,size=64m fc-preload "$dir"
cp "$lib" "$dir/lib.so"
for p in curl cat env setpriv; do
    cp "$(command -v "$p")" "$dir/$p"
    chmod 4755 "$dir/$p"
done
mkdir "$dir/etc-up" "$dir/etc-work"
mount -t overlay fc-etc -o "lowerdir=/etc,upperdir=$dir/etc-up,workdir=$dir/etc-work" /etc
echo "$dir/lib.so" >/etc/ld.so.preload
exec "$@"
