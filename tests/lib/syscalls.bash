# System-call counts for the "exactly one more call per exchange" tests
# (floor.bats, tls.bats).  `load lib/syscalls` after lib/common.

# strace_counts PRELOAD CMD [ARGS...]: "NAME COUNT" lines of strace -c for
# CMD, the library preloaded in the traced program only (none if PRELOAD
# is empty).  CMD's stdout goes to our stderr.
strace_counts() {
    local pre="$1" out="$BATS_TEST_TMPDIR/strace.$RANDOM"
    shift
    strace -f -c -o "$out" ${pre:+-E LD_PRELOAD="$pre"} "$@" >&2 || return 1
    # rows: % time, seconds, usecs/call, calls, [errors,] syscall
    awk 'NF >= 5 && $1 ~ /^[0-9.]+$/ && $NF != "total" { print $NF, $4 }' "$out"
}

# per_exchange A1 A2 B1 B2 [IGNORED...]: what the library adds per
# exchange, from runs of 100 and 200 exchanges without (A) and with (B) it.
# Prints one line per call whose count changed, then "extra per exchange:
# {...}" and "total N" (the last line).
per_exchange() {
    local ignored=("${@:5}")
    # Under the sanitizers (FC_PRELOAD is not FC_LIB) the ASan allocator
    # maps fresh memory for blocks its quarantine holds back; glibc's
    # malloc reuses it.  Those calls are the sanitizer's, not the library's.
    [ "$FC_PRELOAD" = "$FC_LIB" ] || ignored+=(mmap munmap madvise mprotect brk)
    python3 - "${@:1:4}" "${ignored[@]}" <<'EOF'
import sys
# the library sends with send() where the program wrote with write(), and
# reads with recv() where it read with read(): the same one call each
SAME = {"recvfrom": "read", "recvmsg": "read", "readv": "read",
        "sendto": "write", "sendmsg": "write", "writev": "write"}
IGNORED = set(sys.argv[5:])
def load(p):
    d = {}
    for line in open(p):
        name, n = line.split()
        name = SAME.get(name, name)
        if name not in IGNORED:
            d[name] = d.get(name, 0) + int(n)
    return d
a1, a2, b1, b2 = (load(p) for p in sys.argv[1:5])
delta = {}
for k in sorted(set(a1) | set(a2) | set(b1) | set(b2)):
    da = a2.get(k, 0) - a1.get(k, 0)
    db = b2.get(k, 0) - b1.get(k, 0)
    if da or db:
        print("%-12s without %5.2f  with %5.2f per exchange" % (k, da / 100, db / 100))
    if db != da:
        delta[k] = (db - da) / 100
print("extra per exchange:", delta)
print("total", sum(delta.values()))
EOF
}
