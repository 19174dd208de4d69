#!/usr/bin/env python3
"""jcheck.py EXPR [FILE]: evaluate a Python expression over JSON lines.

Reads JSON objects, one per line, from FILE (default stdin; other lines are
ignored).  In EXPR, `d` is the last object and `ds` the list of all.  Exits
0 if EXPR is true; else prints EXPR and the objects and exits 1.
"""
import json
import sys

expr = sys.argv[1]
text = open(sys.argv[2]).read() if len(sys.argv) > 2 else sys.stdin.read()
ds = []
for line in text.splitlines():
    line = line.strip()
    if line.startswith("{"):
        try:
            ds.append(json.loads(line))
        except ValueError:
            pass
d = ds[-1] if ds else {}
try:
    ok = bool(eval(expr, {}, {"d": d, "ds": ds}))
except Exception as e:      # a missing key is a failed check, with context
    ok = False
    print("jcheck: %s raised %r" % (expr, e))
if not ok:
    print("jcheck: FAILED %s" % expr)
    for o in ds:
        print("  " + json.dumps(o, sort_keys=True)[:2000])
sys.exit(0 if ok else 1)
