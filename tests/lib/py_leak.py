#!/usr/bin/env python3
"""Many requests with python's own HTTP clients, counting this process's
socket descriptors.

  py_leak.py MODE HOST PORT N [--stats DIR] [--prefix P] [--tls CAFILE]

MODE:
  reuse   one http.client.HTTPConnection for every request (it reconnects by
          itself whenever a response says close)
  leaky   a new HTTPConnection per request; every connection and response
          object stays referenced in a list and none is ever closed: the
          classic leak (each idle keep-alive socket stays open)
  urllib  urllib.request.urlopen per request, response closed by `with`

--tls: HTTPS (http.client.HTTPSConnection, an https URL), the server's
certificate checked against CAFILE.

Requests cycle GET, HEAD, POST to PREFIX/MODE/I.  Every body is checked
against the server's deterministic body ("METHOD TARGET BODYLEN\\n"; HEAD:
none, Content-Length of the GET body).  Prints one JSON object:
requests, failed, verified, close_seen (responses whose Connection header
has a close token), sockets_max (socket descriptors of this
process, the highest seen after any request), sockets_end, and with --stats
the server's open connections ("server_open", read from DIR/stats.json once
it equals sockets_end or after 3 s) while this process still holds its
sockets.
"""
import argparse
import http.client
import json
import os
import ssl
import sys
import time
import urllib.request


def sockets():
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink("/proc/self/fd/" + fd).startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def expected(method, target, bodylen):
    m = "GET" if method == "HEAD" else method
    return ("%s %s %d\n" % (m, target, bodylen)).encode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["reuse", "leaky", "urllib"])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("n", type=int)
    p.add_argument("--stats")
    p.add_argument("--prefix", default="/leak")
    p.add_argument("--tls", metavar="CAFILE")
    a = p.parse_args()

    scheme, handlers = "http", [urllib.request.ProxyHandler({})]
    if a.tls:
        ctx = ssl.create_default_context(cafile=a.tls)
        scheme = "https"
        handlers.append(urllib.request.HTTPSHandler(context=ctx))

    def connection():
        if a.tls:
            return http.client.HTTPSConnection(a.host, a.port, timeout=10, context=ctx)
        return http.client.HTTPConnection(a.host, a.port, timeout=10)

    keep = []           # leaky: every object stays referenced
    shared = connection()
    opener = urllib.request.build_opener(*handlers)
    failed = verified = smax = close_seen = 0
    errors = []
    for i in range(a.n):
        method = ("GET", "HEAD", "POST")[i % 3]
        target = "%s/%s/%d" % (a.prefix, a.mode, i)
        body = b"k=%d" % i if method == "POST" else None
        want = expected(method, target, len(body or b""))
        try:
            if a.mode == "urllib":
                req = urllib.request.Request("%s://%s:%d%s" % (scheme, a.host, a.port, target),
                                             data=body, method=method)
                with opener.open(req, timeout=10) as r:
                    status, data, cl = r.status, r.read(), r.headers.get("Content-Length")
                    conn_hdr = r.headers.get("Connection") or ""
            else:
                c = shared
                if a.mode == "leaky":
                    c = connection()
                c.request(method, target, body=body)
                r = c.getresponse()
                status, data, cl = r.status, r.read(), r.getheader("Content-Length")
                conn_hdr = r.getheader("Connection") or ""
                if a.mode == "leaky":
                    keep.append((c, r))
            if "close" in [t.strip().lower() for t in conn_hdr.split(",")]:
                close_seen += 1
            ok = status == 200 and (data == b"" and cl == str(len(want))
                                    if method == "HEAD" else data == want)
        except Exception as e:          # a failed request is counted, not fatal
            ok = False
            data = repr(e).encode()
        if ok:
            verified += 1
        else:
            failed += 1
            if len(errors) < 5:
                errors.append("%s %s: got %r" % (method, target, data[:80]))
        smax = max(smax, sockets())
    rep = {"mode": a.mode, "requests": a.n, "failed": failed, "verified": verified,
           "close_seen": close_seen, "sockets_max": smax, "sockets_end": sockets(), "errors": errors}
    if a.stats:
        deadline = time.monotonic() + 3
        while True:
            try:
                with open(os.path.join(a.stats, "stats.json")) as f:
                    rep["server_open"] = json.load(f)["open"]
            except (OSError, ValueError, KeyError):
                rep["server_open"] = None
            if rep["server_open"] == rep["sockets_end"] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    print(json.dumps(rep))
    shared.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
