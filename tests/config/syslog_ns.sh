#!/usr/bin/env bash
# syslog_ns.sh OUT|- CMD...   (run it under unshare -m --propagation private)
#
# Gives this private mount namespace a /dev of its own: an empty tmpfs with
# a null device, and (unless OUT is "-") a datagram socket bound to
# /dev/log by syslog_sink.py, which runs CMD and writes every datagram it
# receives to OUT, one a line.  With "-", CMD runs with no /dev/log at all.
# The host's /dev is never written: the tmpfs hides it in here only.
set -eu
. "$(dirname "$0")/private_ns.bash"
fc_require_private_ns
out=$1
shift
mount -t tmpfs -o mode=755,size=1m fc-dev /dev
mknod -m 666 /dev/null c 1 3
if [ "$out" = - ]; then
    exec "$@"
fi
exec "${PY:-python3}" "$(dirname "$0")/syslog_sink.py" /dev/log "$out" "$@"
