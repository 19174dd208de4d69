# Sourced by the *_ns.sh scripts: refuse to go on unless this process runs
# in a mount namespace other than its parent's, so that no mount made here
# can be the caller's.  Run the scripts as
#   unshare -m --propagation private SCRIPT ...
# (without --fork: unshare then execs SCRIPT in its own process, whose
# parent is the caller, in the original namespace).
fc_require_private_ns() {
    local ours parent
    ours=$(readlink /proc/self/ns/mnt) || exit 3
    if ! parent=$(readlink "/proc/$PPID/ns/mnt") || [ "$ours" = "$parent" ]; then
        echo "$0: not in a mount namespace of its own; run it under unshare -m" >&2
        exit 3
    fi
    if [ "$(findmnt -n -o PROPAGATION /)" != private ]; then
        echo "$0: mount propagation is not private" >&2
        exit 3
    fi
}
