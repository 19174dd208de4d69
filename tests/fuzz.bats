#!/usr/bin/env bats
# The fuzz targets' oracles (tests/fuzz/), replayed on the committed seeds
# and crashers without libFuzzer: fast, any compiler.  Fuzzing itself is
# tests/fuzz/run.sh (make fuzz).

setup_file() {
	ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
	# built and replayed once; the tests below read the result
	"$ROOT/tests/fuzz/regress.sh" >"$BATS_FILE_TMPDIR/regress.out" 2>&1
	echo $? >"$BATS_FILE_TMPDIR/regress.rc"
}

setup() { ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"; }

# events of the whole-stream run of one seed: "offset:kind ..."
events() {
	FUZZ_DEBUG=1 "$ROOT/build/fuzz/regress/fuzz_$1" \
		"$ROOT/tests/fuzz/corpus/$1/$2" 2>&1 | sed -n 's/^whole: //p' |
		head -n 1
}

@test "fuzz: every seed and crasher passes every oracle" {
	cat "$BATS_FILE_TMPDIR/regress.out"
	[ "$(cat "$BATS_FILE_TMPDIR/regress.rc")" -eq 0 ]
	grep -Eq '^fuzz_request: [0-9]+ inputs, ok$' "$BATS_FILE_TMPDIR/regress.out"
	grep -Eq '^fuzz_response: [0-9]+ inputs, ok$' "$BATS_FILE_TMPDIR/regress.out"
	grep -Eq '^fuzz_check: [0-9]+ inputs, ok$' "$BATS_FILE_TMPDIR/regress.out"
	grep -Eq '^fuzz_settings: [0-9]+ inputs, ok$' "$BATS_FILE_TMPDIR/regress.out"
	grep -Eq '^fuzz_tls: [0-9]+ inputs, ok$' "$BATS_FILE_TMPDIR/regress.out"
}

# the verdict one --check seed reaches: its first output line
verdict() {
	FUZZ_DEBUG=1 "$ROOT/build/fuzz/regress/fuzz_check" \
		"$ROOT/tests/fuzz/corpus/check/$1" 2>&1 | sed -n '3p'
}

@test "fuzz: the --check seeds reach the verdicts they are named for" {
	[[ "$(verdict elf-glibc)" == "/f0: yes - dynamically linked"* ]]
	# static and Go programs: the system-call engine (fuzz_check says it
	# is there)
	[[ "$(verdict elf-static)" == "/f0: yes - statically linked: the system-call engine"* ]]
	[[ "$(verdict elf-go-magic)" == "/f0: yes - a Go program"*"system-call engine"* ]]
	[[ "$(verdict elf-go-section)" == "/f0: yes - a Go program"*"system-call engine"* ]]
	[[ "$(verdict elf-hostile-interp)" == *"(loader /lib/ld-musl?/f0: yes - forged?]0;t???[2K), not glibc"* ]]
	# env's -u takes an argument: the program is the word after it
	[[ "$(verdict script-env-S)" == "/f0: script run by //f1 (via /usr/bin/env): yes - "* ]]
	[ "$(verdict script-fifo)" = "forceclose: --check: /f0: script run by /f3: not a regular file" ]
}

@test "fuzz: the limit seeds reach 64 KiB from both sides" {
	# kinds: 1 rewritten/final, 16 invalid head, 17 body given up,
	# 18 response complete, 19 head start, 32+ end of stream
	[ "$(events request head-limit-at)" = "65536 bytes: 0:19 65536:1 0:32" ]
	[ "$(events request head-limit-over)" = "65537 bytes: 0:19 0:16 0:35" ]
	[ "$(events response head-limit-at)" = \
		"65541 bytes: 65536:1 65541:18 0:32" ]
	[ "$(events response head-limit-over)" = "65542 bytes: 0:16 0:35" ]
	[ "$(events response chunk-line-limit-at)" = \
		"65595 bytes: 47:1 65595:18 0:32" ]
	[ "$(events response chunk-line-limit-over)" = \
		"65596 bytes: 47:1 0:17 0:35" ]
}
