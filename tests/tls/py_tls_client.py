#!/usr/bin/env python3
"""HTTPS client patterns for tests/tls.bats (stdlib only).

  py_tls_client.py MODE URL CAFILE N OUTDIR

MODE:
  reuse   one http.client.HTTPSConnection, N requests on it (it reconnects
          whenever the response said close)
  leaky   N new HTTPSConnections, none closed, every response object kept:
          the pattern that piles up connections against a keep-alive server
  urllib  N urllib.request.urlopen calls, responses kept
  threads the leaky pattern from 8 threads at once (N requests in all),
          with a fork() in the middle whose child makes requests too
Each body is written to OUTDIR/NNNN.  At the end the number of open socket
descriptors is printed as "sockets N", and the most seen at once after any
request as "max_sockets N".
"""
import concurrent.futures
import http.client
import os
import ssl
import sys
import urllib.parse
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


def main():
    mode, url, cafile, n, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    ctx = ssl.create_default_context(cafile=cafile)
    u = urllib.parse.urlsplit(url)
    kept = []
    most = 0
    conn = None
    if mode == "threads":
        def one(i):
            c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
            c.request("GET", "%s/%d" % (u.path.rstrip("/"), i))
            r = c.getresponse()
            body = r.read()
            with open(os.path.join(out, "%04d" % i), "wb") as f:
                f.write(body)
            return (c, r)
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            kept = list(ex.map(one, range(n // 2)))
            pid = os.fork()
            if pid == 0:
                # the child: its own requests on its own sessions
                for i in range(n // 2, n // 2 + 10):
                    kept.append(one(i))
                os._exit(0)
            kept += list(ex.map(one, range(n // 2 + 10, n)))
            _, st = os.waitpid(pid, 0)
            if st != 0:
                sys.exit("child failed")
        print("sockets %d" % sockets())
        return
    for i in range(n):
        path = "%s/%d" % (u.path.rstrip("/"), i)
        if mode == "reuse":
            if conn is None:
                conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
        elif mode == "leaky":
            c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            kept.append((c, r))
        elif mode == "urllib":
            r = urllib.request.urlopen(url.rstrip("/") + "/%d" % i, context=ctx)
            body = r.read()
            kept.append(r)
        else:
            sys.exit("unknown mode " + mode)
        with open(os.path.join(out, "%04d" % i), "wb") as f:
            f.write(body)
        most = max(most, sockets())
    print("sockets %d" % sockets())
    print("max_sockets %d" % most)


if __name__ == "__main__":
    main()
