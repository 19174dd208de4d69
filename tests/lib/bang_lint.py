#!/usr/bin/env python3
"""bang_lint.py FILE...: report every bare "! cmd" in bats files.

bats runs a test body under `set -e`, and bash never exits on a command
negated with "!", so a test line "! grep -q x file" can never fail a test.
Use `refute cmd` (tests/lib/common.bash) or `run cmd; [ "$status" -ne 0 ]`.

A negation is fine where its status is consumed: in the condition of
if/elif/while/until, after "||" (the list already tolerates failure), and
inside [ ] / [[ ]] tests ("[ ! -s f ]" is the test's own operator, and so
is "run ! cmd" in bats >= 1.5).  Flagged: a statement whose first word is
"!" (at the start of a line, after ";", "{", "(", then, do, else), and
"&& ! cmd" outside a condition.  Continuation lines (the previous line
ends with "\\", "|", "||" or "&&") belong to the statement they continue.

Prints FILE:LINE: text for each hit; exits 1 if there is any.
"""
import re
import sys

CONT = re.compile(r'(\\|\|\||&&|\|)\s*$')
COND = re.compile(r'^\s*(if|elif|while|until)\b')
# a statement starting with "!" after one of these
LEAD = re.compile(r'^\s*(?:(?:then|do|else|\{|\()\s+)*!\s')


def strip_comment(line):
    """The line without a trailing # comment (quotes respected roughly)."""
    out, q = [], None
    for i, ch in enumerate(line):
        if q:
            if ch == q:
                q = None
        elif ch in "'\"":
            q = ch
        elif ch == '#' and (i == 0 or line[i - 1] in ' \t;'):
            break
        out.append(ch)
    return ''.join(out)


def split_statements(text):
    """Split a logical line at unquoted ';' (not ';;')."""
    parts, cur, q, i = [], [], None, 0
    while i < len(text):
        ch = text[i]
        if q:
            if ch == q:
                q = None
        elif ch in "'\"":
            q = ch
        elif ch == ';':
            if text[i:i + 2] == ';;':
                cur.append(';;')
                i += 2
                continue
            parts.append(''.join(cur))
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    parts.append(''.join(cur))
    return parts


def check_lines(lines):
    """[(line number, text)] of bad lines in a list of source lines."""
    bad = []
    heredoc = None
    logical, start = '', 0
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip('\n')
        if heredoc:
            if line.strip() == heredoc:
                heredoc = None
            continue
        code = strip_comment(line)
        m = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", code)
        if m and '<<<' not in code:
            heredoc = m.group(1)
        if not logical:
            start = n
        logical += ' ' + code
        if CONT.search(code):
            continue
        stmts = split_statements(logical)
        cond = False
        for s in stmts:
            if COND.match(s):
                cond = True     # up to "then"/"do", the status is consumed
            if re.match(r'^\s*(then|do)\b', s):
                cond = False
            if cond:
                continue
            if LEAD.match(s) or re.search(r'&&\s*!\s', s):
                bad.append((start, logical.strip()))
                break
        logical = ''
    return bad


def main(paths):
    found = 0
    for p in paths:
        with open(p, encoding='utf-8', errors='replace') as f:
            for n, text in check_lines(f.readlines()):
                print('%s:%d: bare "!" (never fails under set -e): %s' % (p, n, text))
                found += 1
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
