#!/usr/bin/env bats
# Checks on the suite itself.  A bare "! cmd" never fails a bats test (set -e
# ignores negated commands: TESTING.md rule 3), so no .bats file may have
# one; tests/lib/bang_lint.py finds them, and is itself tested on a sample.

load lib/common

LINT="$ROOT/tests/lib/bang_lint.py"

@test "lint: no bare '!' command in any tests/*.bats file" {
    run python3 "$LINT" "$ROOT"/tests/*.bats
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "lint: the '!' checker flags every hollow form and none of the sound ones" {
    local s="$BATS_TEST_TMPDIR/sample.bats"
    # BAD lines must be reported (by line number), OK lines must not.  (No
    # line of the sample starts with "@test": bats would take it for a test.)
    cat >"$s" <<'SAMPLE'
sample() {
    ! grep -q x file                          # BAD 1
    echo a; ! grep -q x file                  # BAD 2
    [ -f f ] && ! grep -q x file              # BAD 3
    if true; then ! false; fi                 # BAD 4
    for f in a b; do ! grep -q "$f" x; done   # BAD 5
    {   ! grep -q x file; }                   # BAD 6
    [ -f f ] &&                               # BAD 7 (reported at its first line)
        ! grep -q x                           # BAD-CONT
    [ ! -s file ]                             # OK
    [[ ! "$a" =~ b ]]                         # OK
    if ! grep -q x file; then echo; fi        # OK
    if a &&
       ! grep -q x file; then echo; fi        # OK
    while ! test -f x; do sleep 1; done       # OK
    until ! false; do :; done                 # OK
    grep -q x file || ! true                  # OK
    refute grep -q x file                     # OK
    run ! grep -q x file                      # OK
    echo "a; ! b"                             # OK
    # ! a comment                             # OK
    cat <<EOT
! inside a here-document                      # OK
EOT
    elif ! grep -q x; then :                  # OK
}
SAMPLE
    run python3 "$LINT" "$s"
    echo "$output"
    [ "$status" -eq 1 ]
    local want got
    want=$(grep -n '# BAD ' "$s" | cut -d: -f1 | tr '\n' ' ')
    got=$(grep -o "^$s:[0-9]*" <<<"$output" | cut -d: -f2 | tr '\n' ' ')
    echo "want: $want"
    echo "got:  $got"
    [ "$want" = "$got" ]
    # and a clean file passes
    grep -v BAD "$s" >"$s.ok"
    run python3 "$LINT" "$s.ok"
    echo "$output"
    [ "$status" -eq 0 ]
}
