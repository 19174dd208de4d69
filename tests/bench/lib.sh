# tests/bench/lib.sh - sourced by the fig_*.sh scripts.
# stats R1 R2 ...: prints "median<TAB>min–max" of the numbers.
stats() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
		      printf "%.3f\t%.3f–%.3f\n", m, v[1], v[NR] }'
}
# median N1 N2 ...
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# div A B: A / B with 4 decimals
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
# fig NAME A B RATIOS...: one row of the results table, on stdout
fig() {
	local name="$1" a="$2" b="$3"
	shift 3
	printf 'FIG\t%s\t%s\t%s\t%s\t%s\n' "$name" "$a" "$b" "$(stats "$@")" "$#"
}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LIB=$ROOT/shim/libforceclose.so
RUNS=${RUNS:-5}
[ "${QUICK:-0}" = 1 ] && RUNS=3
BTMP=$(mktemp -d)
trap 'rm -rf "$BTMP"' EXIT
