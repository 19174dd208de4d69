#!/usr/bin/env python3
"""printable.py FILE...: every byte of each FILE is printable ASCII or a
newline, and each non-empty FILE ends in a newline; names the offending
bytes otherwise (exit 1)."""
import sys

status = 0
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    bad = [(i, b) for i, b in enumerate(data) if not (0x20 <= b < 0x7f or b == 10)]
    if bad:
        print("%s: %d unprintable bytes, first at %d: %r" % (path, len(bad), bad[0][0], data))
        status = 1
    elif data and not data.endswith(b"\n"):
        print("%s: no final newline: %r" % (path, data))
        status = 1
sys.exit(status)
