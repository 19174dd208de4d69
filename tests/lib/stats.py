#!/usr/bin/env python3
"""Wait (bounded) until the recording server's stats.json satisfies EXPR.

  stats.py DIR EXPR [--wait SECONDS]

DIR is a server log dir or phase dir (its stats.json is read).  EXPR is a
Python expression over the fields of stats.json (open, max_open,
connections, requests, requests_per_conn, conns).  Polls every 20 ms for up
to --wait seconds (default 10); exits 0 as soon as EXPR holds, else prints
the last stats and exits 1.  With --wait 0 it checks once.
"""
import argparse
import json
import os
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("expr")
    p.add_argument("--wait", type=float, default=10)
    a = p.parse_args()
    path = os.path.join(a.dir, "stats.json")
    deadline = time.monotonic() + a.wait
    doc = None
    while True:
        try:
            with open(path) as f:
                doc = json.load(f)
            if eval(a.expr, {"__builtins__": __builtins__}, dict(doc)):
                return 0
        except (OSError, ValueError):
            pass
        if time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    print("stats: %r does not hold in %s" % (a.expr, path))
    if doc is None:
        print("  (no readable stats.json)")
    else:
        short = {k: v for k, v in doc.items() if k != "conns"}
        rpc = short.get("requests_per_conn", [])
        if len(rpc) > 40:
            short["requests_per_conn"] = "%r ... (%d)" % (rpc[:40], len(rpc))
        print("  " + json.dumps(short))
        odd = {k: c for k, c in doc.get("conns", {}).items()
               if c["open"] or c["requests"] != 1 or c["end"] != "eof"}
        for k in list(odd)[:20]:
            print("  %s %s" % (k, json.dumps(odd[k])))
    return 1


if __name__ == "__main__":
    sys.exit(main())
