#!/usr/bin/env python3
"""Check the requests recorded by tests/server/recording_server.py.

  check_requests.py DIR [--expect-close] [--same-as BASE] [--same-bytes-as BASE]
                        [--ignore-conn-split] [--count N]

DIR holds conn-*.raw files; they are parsed with the server's own framing
rules.  All requested checks run; the exit status is 1 if any failed.

--expect-close   every request has exactly one Connection field line with
                 exactly one "close" token and no "keep-alive" token, no
                 Keep-Alive field line, and every Proxy-Connection is "close".
--same-as BASE   requests equal BASE's byte for byte once the Connection,
                 Keep-Alive and Proxy-Connection field lines are removed from
                 both; additionally the Connection tokens other than close and
                 keep-alive (e.g. TE) must match in order.
--same-bytes-as BASE
                 raw bytes identical, nothing removed: the request was left
                 untouched (CONNECT, upgrade, NTLM/Negotiate).
--ignore-conn-split
                 compare the flat request sequence instead of per connection:
                 keep-alive and close runs may split requests differently.
--count N        exactly N requests in total.
"""
import argparse
import difflib
import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from recording_server import Reader, read_request  # noqa: E402

DROPPED = ("connection", "keep-alive", "proxy-connection")


def load(d):
    """[(conn_name, [Request...])] in connection order."""
    files = sorted(glob.glob(os.path.join(d, "conn-*.raw")))
    conns = []
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        chunks = [data]
        rd = Reader(lambda: chunks.pop() if chunks else b"")
        reqs = []
        while True:
            req = read_request(rd)
            if req is None:
                break
            reqs.append(req)
            if not req.complete:
                # Framing lost: keep the rest as one opaque piece.
                rest = rd.buf[rd.pos:]
                if rest:
                    req.raw += rest
                break
        conns.append((os.path.basename(path), reqs))
    return conns


def tokens(values):
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def name(conn, i, req):
    line = req.head_lines[0].rstrip(b"\r\n").decode("latin-1") if req.head_lines else "?"
    return "%s request %d (%s)" % (conn, i + 1, line)


def check_close(conns):
    errors = []
    total = 0
    for conn, reqs in conns:
        for i, req in enumerate(reqs):
            total += 1
            where = name(conn, i, req)
            if not req.complete:
                errors.append("%s: unparsable or incomplete: %s" % (where, req.error))
            conn_vals = req.field_values("Connection")
            toks = tokens(conn_vals)
            if len(conn_vals) != 1:
                errors.append("%s: %d Connection field lines %r, want 1"
                              % (where, len(conn_vals), conn_vals))
            if toks.count("close") != 1:
                errors.append("%s: %d close tokens in Connection %r, want 1"
                              % (where, toks.count("close"), conn_vals))
            if "keep-alive" in toks:
                errors.append("%s: keep-alive token in Connection %r" % (where, conn_vals))
            ka = req.field_values("Keep-Alive")
            if ka:
                errors.append("%s: Keep-Alive field line(s) present %r" % (where, ka))
            for v in req.field_values("Proxy-Connection"):
                if v.strip().lower() != "close":
                    errors.append("%s: Proxy-Connection is %r, want close" % (where, v))
    if total == 0:
        errors.append("no requests recorded")
    return errors


def normalized(req):
    """Request bytes without the connection-management field lines, plus a
    summary of the Connection tokens the shim must keep."""
    kept = [l for l in req.head_lines
            if l.split(b":", 1)[0].decode("latin-1").lower() not in DROPPED]
    others = [t for t in tokens(req.field_values("Connection"))
              if t not in ("close", "keep-alive")]
    head = b"".join(kept)
    rest = req.raw[len(req.lead) + len(b"".join(req.head_lines)):]
    note = ("[other Connection tokens: %s]\n" % ",".join(others)).encode()
    return note + req.lead + head + rest


def sequences(conns, flat):
    if flat:
        return [("all connections", [r for _, reqs in conns for r in reqs])]
    return conns


def show(data):
    """Bytes as readable lines for a diff; CR and LF stay visible."""
    text = data.decode("latin-1")
    return [repr(l)[1:-1] for l in text.splitlines(keepends=True)]


def compare(conns, base, flat, key, label):
    errors = []
    a, b = sequences(conns, flat), sequences(base, flat)
    if len(a) != len(b):
        errors.append("%s: %d connections, baseline has %d" % (label, len(a), len(b)))
    for (cn, reqs), (bn, breqs) in zip(a, b):
        if len(reqs) != len(breqs):
            errors.append("%s: %s has %d requests, baseline %s has %d"
                          % (label, cn, len(reqs), bn, len(breqs)))
        for i, (r, br) in enumerate(zip(reqs, breqs)):
            x, y = key(r), key(br)
            if x != y:
                diff = difflib.unified_diff(show(y), show(x), "baseline " + name(bn, i, br),
                                            "checked " + name(cn, i, r), lineterm="", n=2)
                errors.append("%s: request differs\n  %s" % (label, "\n  ".join(diff)))
    return errors


def main():
    p = argparse.ArgumentParser(description="check recorded requests",
                                epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir")
    p.add_argument("--expect-close", action="store_true")
    p.add_argument("--same-as", metavar="BASE")
    p.add_argument("--same-bytes-as", metavar="BASE")
    p.add_argument("--ignore-conn-split", action="store_true")
    p.add_argument("--count", type=int)
    args = p.parse_args()

    conns = load(args.dir)
    total = sum(len(r) for _, r in conns)
    errors = []
    if args.expect_close:
        errors += check_close(conns)
    if args.same_as:
        errors += compare(conns, load(args.same_as), args.ignore_conn_split,
                          normalized, "same-as")
    if args.same_bytes_as:
        errors += compare(conns, load(args.same_bytes_as), args.ignore_conn_split,
                          lambda r: r.raw, "same-bytes-as")
    if args.count is not None and total != args.count:
        errors.append("count: %d requests, want %d" % (total, args.count))
    for e in errors:
        print("FAIL " + e)
    print("%s: %d connections, %d requests, %d problems"
          % (args.dir, len(conns), total, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
