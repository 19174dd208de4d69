#!/usr/bin/env python3
"""same_requests.py BASE SHIM COUNT: the requests recorded in BASE and SHIM
(conn-*.raw of a recording server) are the same multiset once Connection,
Keep-Alive and Proxy-Connection lines are removed, COUNT of them each, every
one complete.  For writers whose order is not fixed (two processes writing
on one socket); tests/lib/check_requests.py checks the rest (--expect-close).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from check_requests import DROPPED, load  # noqa: E402


def key(req):
    lines = [l for l in req.head_lines
             if l.split(b":", 1)[0].strip().decode("latin-1").lower() not in DROPPED]
    return b"".join(lines) + b"\n" + req.body


def requests(d):
    return [r for _, reqs in load(d) for r in reqs]


def main():
    base, shim, count = requests(sys.argv[1]), requests(sys.argv[2]), int(sys.argv[3])
    bad = ["incomplete request in %s: %r" % (n, r.raw[:80])
           for n, rs in (("base", base), ("shim", shim)) for r in rs if not r.complete]
    if len(base) != count or len(shim) != count:
        bad.append("request counts: base %d, shim %d, expected %d" % (len(base), len(shim), count))
    if sorted(map(key, base)) != sorted(map(key, shim)):
        bad.append("the requests differ (connection fields aside)")
    print("\n".join(bad) or "%d requests, the same in both runs" % count)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
