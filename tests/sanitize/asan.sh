#!/usr/bin/env bash
# make test-asan: the bats suite with libforceclose.so built with
# AddressSanitizer + UndefinedBehaviorSanitizer (clang), the unit tests built
# the same way under LeakSanitizer, then tests/valgrind.bats (memcheck, on
# the normal library).  Any sanitizer report about our code fails the run.
# Last line, as in tests/run.sh: "N passed, N failed".
#
#   tests/sanitize/asan.sh [FILE.bats...]    default: every tests/*.bats
#   ASAN_TRIAGE=1 tests/sanitize/asan.sh     UBSan reports do not stop programs
#
# Needs `make test-programs` first (build/tests, shim/libforceclose.so).
# Builds into build/asan/; every report is a file build/asan/logs/
# asan.PROGRAM.PID, printed at the end.
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
OUT=$ROOT/build/asan
LOGS=$OUT/logs
CC_ASAN=${CC_ASAN:-clang}
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -g -O1"
# ASAN_TRIAGE=1: UBSan reports are logged and the program goes on, so one
# run shows every distinct report (the verdict still fails on any report).
if [ -n "${ASAN_TRIAGE:-}" ]; then
	SAN="$SAN -fsanitize-recover=undefined"
else
	SAN="$SAN -fno-sanitize-recover=undefined"
fi

# Not run under ASan, and why:
#   bench.bats    tests/bench/lib.sh preloads shim/libforceclose.so itself
#                 (never FC_LIB), and it is a timing smoke test;
#   unit.bats     runs build/unit, built without ASan: the same programs
#                 built with ASan run below instead;
#   valgrind.bats ASan and valgrind cannot share a process: run afterwards
#                 on the normal library;
#   stress.bats   runs its own ThreadSanitizer build of the library, never
#                 FC_LIB (it runs in make test).
SKIP_FILES="bench.bats unit.bats valgrind.bats stress.bats"
# Files whose preloaded processes are our C programs (build/tests) and small
# tools (timeout, env, cat, dd, tee, sh): LeakSanitizer is on for them.
# Those programs do not free their own buffers at exit, so a leak report
# does not change the exit status (exitcode=0); the verdict below fails on
# a leak only if its allocation stack passes through the library.  Reports
# there are written unsymbolized (symbolize=0: 10 ms instead of 45 ms per
# run, over a thousand runs), and the verdict symbolizes those it prints.
# In the other files LSan is off: curl, python, perl, node and java free
# nothing at exit by design, and the exit-time scan costs up to a second
# per process.
LEAK_FILES="fdlife.bats lowlevel.bats passthrough.bats readers.bats"

die() { echo "asan.sh: $*" >&2; exit 2; }

# mkvar 'MAKE EXPR': EXPR expanded by the Makefile, so the sources and flags
# follow it, with clang and the sanitizer flags as CC and CFLAGS.
mkvar() {
	printf 'fc-asan-print:\n\t@echo %s\n' "$1" |
		make -s --no-print-directory -f Makefile -f - \
			CC="$CC_ASAN" CFLAGS="$SAN" fc-asan-print
}

command -v "$CC_ASAN" >/dev/null || die "$CC_ASAN not found (apt-get install clang)"
command -v bats >/dev/null || die "bats not found"
RT=$("$CC_ASAN" -print-file-name=libclang_rt.asan-x86_64.so)
[ -f "$RT" ] || die "no ASan runtime ($RT)"
[ -d build/tests ] || die "missing build/tests: run 'make test-programs' first"

# --- build -----------------------------------------------------------------
rm -rf "$LOGS"
mkdir -p "$OUT/unit" "$LOGS"
read -r -a SRC <<<"$(mkvar '$(LIB_SRC) $(PURE_SRC)')"
read -r -a UNIT_LINK <<<"$(mkvar '$(UNIT_LINK)')"
read -r -a CFLAGS <<<"$(mkvar '$(LIB_CFLAGS)')"
read -r -a LDFLAGS <<<"$(mkvar '$(LIB_LDFLAGS)')"
read -r -a BASE <<<"$(mkvar '$(BASE)')"
read -r -a UNIT <<<"$(mkvar '$(UNIT_SRC)')"
[ ${#SRC[@]} -gt 0 ] || die "no LIB_SRC/PURE_SRC in the Makefile"
t0=$SECONDS
"$CC_ASAN" "${CFLAGS[@]}" "${LDFLAGS[@]}" -o "$OUT/libforceclose.so.tmp" \
	"${SRC[@]}" -ldl || die "building the ASan library failed"
mv "$OUT/libforceclose.so.tmp" "$OUT/libforceclose.so"
"$CC_ASAN" -std=gnu11 -Wall -Wextra -O1 -fPIC -shared \
	-o "$OUT/libasan_compat.so" tests/sanitize/asan_compat.c ||
	die "building asan_compat.so failed"
for u in "${UNIT[@]}"; do
	"$CC_ASAN" "${BASE[@]}" $SAN -Ishim -o "$OUT/unit/$(basename "$u" .c)" \
		"$u" "${UNIT_LINK[@]}" -pthread || die "building $u failed"
done
echo "# built build/asan ($(( SECONDS - t0 )) s)"

# --- environment -------------------------------------------------------------
# asan_compat.so first (see its comment), hence verify_asan_link_order=0;
# the runtime still precedes libc and everything else.
PRELOAD="$OUT/libasan_compat.so:$RT:$OUT/libforceclose.so"
# abort_on_error: a report kills the program with SIGABRT, never a normal
# looking exit.  allow_user_segv_handler: the JVM and V8 install their own
# SIGSEGV handlers and rely on them (null checks, guard pages).  log_path
# and abort_on_error hold for UBSan's reports too; its own options are in
# asan_compat.so (an exported UBSAN_OPTIONS would reach the TSan harness).
ASAN_BASE="log_path=$LOGS/asan:log_exe_name=1:abort_on_error=1"
ASAN_BASE="$ASAN_BASE:verify_asan_link_order=0:allow_user_segv_handler=1"
# Debian puts it in clang's own directory (package llvm-14), not in PATH
sym=$(command -v llvm-symbolizer || "$CC_ASAN" -print-prog-name=llvm-symbolizer)
[ -x "$sym" ] && export ASAN_SYMBOLIZER_PATH="$sym"
export FC_LIB="$OUT/libforceclose.so" FC_PRELOAD="$PRELOAD"
# slower clients under ASan: more room for the per-run bound
export FC_TIMEOUT="${FC_TIMEOUT:-180}"

# A source missing from the Makefile's lists shows here (undefined symbol,
# or a hook whose dlsym(RTLD_NEXT) finds itself), not as 300 failed tests.
if ! msg=$(ASAN_OPTIONS="$ASAN_BASE" LD_PRELOAD=$PRELOAD /bin/true 2>&1) ||
	[ -n "$msg" ] || [ -n "$(ls -A "$LOGS")" ]; then
	die "the ASan library does not load cleanly: ${msg:-$(cat "$LOGS"/* 2>/dev/null)}"
fi

# --- run -------------------------------------------------------------------
tap=$(mktemp)
trap 'rm -f "$tap"' EXIT

n=0
for u in "${UNIT[@]}"; do
	name=$(basename "$u" .c)
	n=$((n + 1))
	if ASAN_OPTIONS="$ASAN_BASE:detect_leaks=1" \
		"$OUT/unit/$name" >"$OUT/unit/$name.out" 2>&1; then
		echo "ok $n unit $name (ASan, UBSan, LSan)"
	else
		echo "not ok $n unit $name (ASan, UBSan, LSan): see build/asan/unit/$name.out"
	fi
done | tee -a "$tap"

if [ $# -gt 0 ]; then
	files=("$@")
else
	files=()
	for f in tests/*.bats; do
		case " $SKIP_FILES " in
		*" $(basename "$f") "*) echo "# not under ASan: $f (SKIP_FILES in $0)" ;;
		*) files+=("$f") ;;
		esac
	done
fi
# run_file FILE: one .bats file under the ASan library, its TAP on stdout
run_file() {
	local f=$1 leak="detect_leaks=0" t0=$SECONDS
	case " $LEAK_FILES " in
	*" $(basename "$f") "*) leak="detect_leaks=1:exitcode=0:symbolize=0" ;;
	esac
	echo "# $f ($leak)"
	ASAN_OPTIONS="$ASAN_BASE:$leak" bats --tap -T "$f"
	echo "# $f: $(( SECONDS - t0 )) s"
}
# Two files at a time when GNU parallel is there (as tests/run.sh; most
# tests wait on a server or a timeout); each file's lines stay together.
if [ "${FC_JOBS:-2}" -gt 1 ] && command -v parallel >/dev/null 2>&1; then
	export -f run_file
	export ASAN_BASE LEAK_FILES
	printf '%s\n' "${files[@]}" |
		SHELL=/bin/bash parallel --will-cite --jobs "${FC_JOBS:-2}" --keep-order \
			run_file {} | tee -a "$tap"
else
	for f in "${files[@]}"; do
		run_file "$f" | tee -a "$tap"
	done
fi

# memcheck on the normal library (never with the ASan runtime preloaded)
if [ $# -eq 0 ] && [ -f tests/valgrind.bats ]; then
	t0=$SECONDS
	echo "# tests/valgrind.bats (normal library)"
	env -u FC_PRELOAD FC_LIB="$ROOT/shim/libforceclose.so" \
		bats --tap -T tests/valgrind.bats | tee -a "$tap"
	echo "# tests/valgrind.bats: $(( SECONDS - t0 )) s"
fi

# --- verdict ---------------------------------------------------------------
# finding REPORT: prints what the report says about us, one line that is the
# same for every process hitting the same bug; prints nothing if the report
# is only a leak of the program's own memory.  About us: any ASan or UBSan
# error, an LSan failure, or a leak whose allocation stack has a frame in
# the library (its module, or a source file under shim/).
finding() {
	awk '/runtime error:/ && !k { k = $0 }
	     /^SUMMARY: AddressSanitizer: [a-z-]+ / && !/leaked in/ && !k { k = $0 }
	     /LeakSanitizer has encountered/ && !k { k = "LeakSanitizer failed" }
	     /^(Direct|Indirect) leak of/ { leak = 1; next }
	     leak && /^$/ { leak = 0 }
	     leak && /libforceclose|\/shim\/[a-z_]+\.[ch]:[0-9]/ && !lk {
		lk = $0; sub(/^ *#[0-9]+ 0x[0-9a-f]+ */, "", lk); sub(/\(BuildId.*/, "", lk) }
	     END { if (k) print k; else if (lk) print "leak through the library: " lk }' "$1"
}
# symbolized REPORT: the report, with function and file:line added to the
# frames written without them (symbolize=0), by llvm-symbolizer.
symbolized() {
	local line at re='^ +#([0-9]+) 0x[0-9a-f]+ +\((/[^+]+)\+(0x[0-9a-f]+)\)'
	while IFS= read -r line; do
		at=
		if [ -n "${ASAN_SYMBOLIZER_PATH:-}" ] && [[ $line =~ $re ]]; then
			# a return address: the call is the byte before
			at=$("$ASAN_SYMBOLIZER_PATH" --obj="${BASH_REMATCH[2]}" \
				"$(( BASH_REMATCH[3] - (BASH_REMATCH[1] > 0) ))" |
				sed -n '1,2p' | paste -sd ' ')
			[[ $at == "??"* ]] && at=
		fi
		printf '%s%s\n' "$line" "${at:+  $at}"
	done <"$1"
}
# Reports not about us go to logs/not-ours; the others are grouped by
# finding, each finding printed once (its first report) and counted as one
# failure, whatever the number of processes that hit it.
declare -A seen=()
others=0 found=0
mkdir -p "$LOGS/not-ours"
for r in "$LOGS"/asan.*; do
	[ -e "$r" ] || continue
	key=$(finding "$r")
	if [ -z "$key" ]; then
		others=$((others + 1))
		mv "$r" "$LOGS/not-ours/"
		continue
	fi
	found=$((found + 1))
	if [ -z "${seen[$key]:-}" ]; then
		seen[$key]=$r
		echo
		echo "=== sanitizer report $r"
		symbolized "$r" | head -n 80
	fi
	echo "$key" >>"$LOGS/findings"
done
if [ "$found" -gt 0 ]; then
	echo
	sort "$LOGS/findings" | uniq -c | while read -r count key; do
		# .ci/run adds up the counts: one failure per finding
		echo "not ok - sanitizer ($count processes): $key" | tee -a "$tap"
	done
fi
passed=$(grep -c '^ok ' "$tap")
failed=$(grep -c '^not ok ' "$tap")
echo
echo "# $others leak reports of the programs' own memory (build/asan/logs/not-ours)"
echo "# $found sanitizer reports about the library (build/asan/logs), ${#seen[@]} distinct"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && [ "$found" -eq 0 ]
