#!/usr/bin/env bats
# Smoke runs of the benchmark figures (QUICK=1): they work and print rows
# with numeric ratios.  How fast is for `make bench`, never a test.

setup() { ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"; }

# bench_smoke SCRIPT: runs it quickly; every row has a numeric median ratio.
bench_smoke() {
	run env QUICK=1 timeout 300 bash "$ROOT/tests/bench/$1"
	echo "$output"
	[ "$status" -eq 0 ]
	local rows
	rows=$(grep -c '^FIG' <<<"$output")
	[ "$rows" -ge 1 ]
	[ "$(grep '^FIG' <<<"$output" | cut -f5 | grep -cE '^[0-9]+\.[0-9]+$')" -eq "$rows" ]
}

@test "bench smoke: figure 1, pass-through cost" { bench_smoke fig_passthrough.sh; }
@test "bench smoke: figure 2b, where the request-path gap goes" { bench_smoke fig_request_breakdown.sh; }
@test "bench smoke: figure 4, body throughput" { bench_smoke fig_body.sh; }
@test "bench smoke: figure 6, header work" { bench_smoke fig_headers.sh; }
@test "bench smoke: figure 7, HTTPS (request path, untracked non-HTTP and h2 sessions, per call)" { bench_smoke fig_tls.sh; }

@test "bench smoke: figure 2d, the library's own cycles per exchange, by call (x86-64)" {
	[ "$(uname -m)" = x86_64 ] || skip "rdtsc probe: x86-64 only"
	bench_smoke fig_cycles.sh
	# the probe saw the library's work on every call it times
	grep '^FIG' <<<"$output" |
		grep -E 'socket [0-9]+, connect [0-9]+, send [0-9]+, recv [0-9]+, close [0-9]+\)'
}

@test "bench smoke: figure 2f, the footprint of one exchange (callgrind)" {
	command -v valgrind >/dev/null || skip "no valgrind"
	run env QUICK=1 timeout 300 bash "$ROOT/tests/bench/fig_footprint.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^FIG' <<<"$output")" -eq 5 ]
	# whole numbers, counted: the library runs more, on more lines, than
	# the preload that only rewrites, and both run some of their own (the
	# fifth, the library's common code in its cold parts, is a count too)
	local v
	mapfile -t v < <(grep '^FIG' <<<"$output" | cut -f5)
	[[ "${v[0]}${v[1]}${v[2]}${v[3]}${v[4]}" =~ ^[0-9]+$ ]]
	[ "${v[2]}" -gt "${v[0]}" ] && [ "${v[3]}" -gt "${v[1]}" ] && [ "${v[1]}" -gt 0 ]
	grep -qE '\(its own: [1-9][0-9]*\)' <<<"$output"
}
