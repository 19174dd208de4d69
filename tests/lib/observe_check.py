#!/usr/bin/env python3
"""observe_check.py REPORT.json SERVER_STATS.json|- EXPR...

Evaluates each Python expression with `r` the observe report (one JSON
document, as FORCECLOSE_REPORT=*.json writes it), `d` its first
destination, `s` the recording server's stats.json (None for -).  Exits 1
at the first false one, printing it and both documents.
"""
import json
import sys

r = json.load(open(sys.argv[1]))
s = None if sys.argv[2] == "-" else json.load(open(sys.argv[2]))
d = r["destinations"][0] if r.get("destinations") else None
for expr in sys.argv[3:]:
    if not eval(expr):
        print("false: " + expr)
        print("report: " + json.dumps(r, indent=1))
        if s is not None:
            s = dict(s)
            s.pop("conns", None)
            print("server: " + json.dumps(s))
        sys.exit(1)
print("ok: %d checks" % (len(sys.argv) - 3))
