#!/usr/bin/env bash
# Figure 1, pass-through cost: 10 million 1-byte write()s to /dev/null and
# to a pipe, and a file read to its end in 64 KiB read()s, without (A) and
# with (B) the shim, alternating.  Ratio: time with / time without.
set -eu
. "$(dirname "$0")/lib.sh"
n=10000000
mib=256
[ "${QUICK:-0}" = 1 ] && { n=1000000; mib=32; }
cc -O2 -o "$BTMP/small_writes" "$ROOT/tests/bench/small_writes.c"
cc -O2 -o "$BTMP/read_file" "$ROOT/tests/bench/read_file.c"
head -c $((mib << 20)) /dev/urandom >"$BTMP/data"

# one timed run: prints nanoseconds; $1 = "" or the library
devnull() { LD_PRELOAD=$1 "$BTMP/small_writes" "$n" /dev/null 2>&1 >/dev/null; }
pipe() { { LD_PRELOAD=$1 "$BTMP/small_writes" "$n" - 2>&3 | cat >/dev/null; } 3>&1; }
readf() { LD_PRELOAD=$1 "$BTMP/read_file" "$BTMP/data" 4; }

row() {
	local name="$1" fn="$2" ta=() tb=() r=() a b i
	for ((i = 0; i < RUNS; i++)); do
		a=$($fn "")
		b=$($fn "$LIB")
		ta+=("$a") tb+=("$b") r+=("$(div "$b" "$a")")
		echo "  $name: without $a ns, with $b ns" >&2
	done
	fig "$name" "without: $(($(median "${ta[@]}") / 1000000)) ms" \
		"with: $(($(median "${tb[@]}") / 1000000)) ms" "${r[@]}"
}
row "1 pass-through: $n x write(1 B) to /dev/null (time B/A)" devnull
row "1 pass-through: $n x write(1 B) to a pipe (time B/A)" pipe
row "1 pass-through: read $((mib * 4)) MiB file, 64 KiB reads (time B/A)" readf
