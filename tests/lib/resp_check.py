#!/usr/bin/env python3
"""Compare the response heads a client received without and with the shim.

  resp_check.py BASE SHIM (--final-close | --untouched | --stream)

BASE and SHIM hold every response head of a run, raw and concatenated (curl
-D FILE, or PREFIX.heads from hold_client.py).  Heads are matched in order.

--untouched    the two files are byte-identical.
--final-close  interim (1xx) heads are byte-identical; each final head
               equals the baseline's once Connection and Keep-Alive lines are
               removed from both, and the shim's has exactly one Connection
               line, with exactly one "close" token, no "keep-alive" token,
               the baseline's other Connection tokens in the same order, and
               no Keep-Alive line.  Where the baseline had no Connection line,
               the added one is the last field line of the head.
--stream       BASE and SHIM are raw streams (any 1xx heads, byte-identical,
               then one head, then whatever came after it): the heads are identical or pass --final-close
               (a problem found only after a valid head, e.g. in the chunked
               body, cannot undo the head's rewrite), and everything after
               the head is byte-identical.
"""
import argparse
import re
import sys

DROPPED = ("connection", "keep-alive")


def split_heads(data):
    heads = []
    while data:
        m = re.search(rb"\r?\n\r?\n", data)
        end = m.end() if m else len(data)
        heads.append(data[:end])
        data = data[end:]
    return heads


def lines(head):
    return head.splitlines(keepends=True)


def fname(line):
    return line.split(b":", 1)[0].strip().decode("latin-1").lower() if b":" in line else None


def values(head, name):
    return [l.split(b":", 1)[1].strip().decode("latin-1")
            for l in lines(head)[1:] if fname(l) == name]


def tokens(vals):
    return [t.strip().lower() for v in vals for t in v.split(",") if t.strip()]


def status(head):
    parts = head.split(b" ", 2)
    try:
        return int(parts[1])
    except (IndexError, ValueError):
        return None


def check_final(i, base, shim):
    errs = []
    where = "final head %d" % i
    kb = [l for l in lines(base) if fname(l) not in DROPPED]
    ks = [l for l in lines(shim) if fname(l) not in DROPPED]
    if kb != ks:
        errs.append("%s: differs from the baseline apart from Connection/Keep-Alive:\n"
                    "  baseline %r\n  shim     %r" % (where, base, shim))
    conn = values(shim, "connection")
    toks = tokens(conn)
    if len(conn) != 1:
        errs.append("%s: %d Connection lines %r, want 1" % (where, len(conn), conn))
    if toks.count("close") != 1:
        errs.append("%s: %d close tokens in %r, want 1" % (where, toks.count("close"), conn))
    if "keep-alive" in toks:
        errs.append("%s: keep-alive token kept in %r" % (where, conn))
    others_b = [t for t in tokens(values(base, "connection")) if t not in ("close", "keep-alive")]
    others_s = [t for t in toks if t not in ("close", "keep-alive")]
    if others_b != others_s:
        errs.append("%s: other Connection tokens %r, baseline had %r" % (where, others_s, others_b))
    if values(shim, "keep-alive"):
        errs.append("%s: Keep-Alive line kept: %r" % (where, values(shim, "keep-alive")))
    if not values(base, "connection"):
        fl = [l for l in lines(shim)[1:] if l.strip()]
        if not fl or fname(fl[-1]) != "connection":
            errs.append("%s: added Connection line is not the last field line: %r" % (where, shim))
    return errs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("base")
    p.add_argument("shim")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--final-close", action="store_true")
    g.add_argument("--untouched", action="store_true")
    g.add_argument("--stream", action="store_true")
    a = p.parse_args()
    base = open(a.base, "rb").read()
    shim = open(a.shim, "rb").read()
    errs = []
    if a.stream:
        # interim (1xx, not 101) heads first: byte-identical
        i = 0
        while True:
            hb, hs = split_heads(base)[:1] or [b""], split_heads(shim)[:1] or [b""]
            st = status(hb[0])
            if st is None or not 100 <= st < 200 or st == 101:
                break
            if hb[0] != hs[0]:
                errs.append("interim head %d (%d) changed:\n  baseline %r\n  shim     %r"
                            % (i, st, hb[0], hs[0]))
                break
            base, shim, i = base[len(hb[0]):], shim[len(hs[0]):], i + 1
        rb, rs = base[len(hb[0]):], shim[len(hs[0]):]
        if hb[0] != hs[0]:
            errs += check_final(i, hb[0], hs[0])
        if rb != rs:
            errs.append("bytes after the head differ:\n  baseline %r\n  shim     %r"
                        % (rb[:2000], rs[:2000]))
    elif a.untouched:
        if base != shim:
            errs.append("heads differ:\n  baseline %r\n  shim     %r" % (base, shim))
    else:
        hb, hs = split_heads(base), split_heads(shim)
        if len(hb) != len(hs):
            errs.append("%d heads, baseline has %d" % (len(hs), len(hb)))
        if not hb:
            errs.append("no heads in the baseline")
        finals = 0
        for i, (b, s) in enumerate(zip(hb, hs)):
            st = status(b)
            if st is not None and 100 <= st < 200:
                if b != s:
                    errs.append("interim head %d (%d) changed:\n  baseline %r\n  shim     %r"
                                % (i, st, b, s))
            else:
                finals += 1
                errs += check_final(i, b, s)
        if not finals:
            errs.append("no final response head")
    for e in errs:
        print("FAIL " + e)
    print("resp_check: %d problems" % len(errs))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
