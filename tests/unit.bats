#!/usr/bin/env bats
# The pure parsers, from C: every split point of every corpus case.

setup() { ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"; }

@test "request rewriter: corpus whole, every split point, byte by byte" {
	run "$ROOT/build/unit/test_http_request"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" 0 failed"* ]]
}

@test "chunked decoder: end of body found at every split point" {
	run "$ROOT/build/unit/test_chunked"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" 0 failed"* ]]
}

@test "response tracker: output and completion offsets at every split point" {
	run "$ROOT/build/unit/test_http_response"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" 0 failed"* ]]
}

@test "field helpers: word-at-a-time compare and skips equal their byte-by-byte definitions" {
	run "$ROOT/build/unit/test_http_fields"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" 0 failed"* ]]
}

@test "connection lock: mutual exclusion of 8 contending threads, trylock, deadline, a turn passed to its waiter" {
	run timeout 120 "$ROOT/build/unit/test_conn_lock"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" 0 failed"* ]]
}
