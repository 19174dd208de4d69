#!/usr/bin/env python3
"""Clients for tests/observe.bats, each a pattern the observe report must
describe.  Prints one JSON object (what the client itself saw).

  observe_client.py MODE HOST PORT [N] [options]

MODE:
  hold     N requests, each on a new raw socket: request written, response
           read by its Content-Length, socket never closed, not even when
           the server ends it (a program that leaks descriptors whatever
           the server does).  Reports sockets_end (socket descriptors held).
  rawsys   one connection; the request goes out with syscall(SYS_write)
           through ctypes, where the library cannot see it, then the
           response is read with recv() and the socket closed.
  secret   GET with a secret in the query string and in a header, then a
           POST with the secret in the body, on one http.client connection.
  periodic a new connection and request every 50 ms (all kept), until the
           file --stop exists (bounded by --max seconds).
  exec     N requests on new connections (kept), then execv /bin/true.
  oneread  N requests on one connection; for each, waits (peeking) until
           the whole response is in the kernel's queue, then takes it with
           one read() of 64 KiB: reports the count each read returned.
  dests    listens on N ports of HOST itself and connects once to each,
           writing one request (no server needed; every destination is
           this process's own listener).
"""
import argparse
import ctypes
import http.client
import json
import os
import socket
import sys
import time

SECRET = "s3cr3t-Zq9"


def sockets():
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink("/proc/self/fd/" + fd).startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def read_response(s):
    """Reads one response with a Content-Length body; returns the head."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise EOFError("eof in head")
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v.strip())
    while len(rest) < n:
        d = s.recv(4096)
        if not d:
            raise EOFError("eof in body")
        rest += d
    return head


def request(host, port, target):
    return ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (target, host, port)).encode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("n", type=int, nargs="?", default=1)
    p.add_argument("--stop")
    p.add_argument("--max", type=float, default=60)
    a = p.parse_args()
    out = {"mode": a.mode}
    keep = []
    if a.mode in ("hold", "exec", "periodic"):
        i = 0
        deadline = time.monotonic() + a.max
        while True:
            if a.mode == "periodic":
                if os.path.exists(a.stop) or time.monotonic() > deadline:
                    break
            elif i >= a.n:
                break
            s = socket.create_connection((a.host, a.port), timeout=10)
            s.sendall(request(a.host, a.port, "/%s/%d" % (a.mode, i)))
            read_response(s)
            keep.append(s)
            i += 1
            if a.mode == "periodic":
                time.sleep(0.05)
        out.update(requests=i, sockets_end=sockets())
        if a.mode == "exec":
            sys.stdout.write(json.dumps(out) + "\n")
            sys.stdout.flush()
            os.execv("/bin/true", ["true"])
    elif a.mode == "rawsys":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        s = socket.create_connection((a.host, a.port), timeout=10)
        req = request(a.host, a.port, "/rawsys/0")
        sys_write = {"x86_64": 1, "aarch64": 64}[os.uname().machine]
        n = libc.syscall(ctypes.c_long(sys_write), ctypes.c_long(s.fileno()),
                         req, ctypes.c_long(len(req)))
        head = read_response(s)
        s.close()
        out.update(written=n, status=head.split(b"\r\n")[0].decode())
    elif a.mode == "secret":
        c = http.client.HTTPConnection(a.host, a.port, timeout=10)
        c.request("GET", "/q?token=" + SECRET, headers={"X-Api-Key": SECRET})
        r1 = c.getresponse().read()
        c.request("POST", "/p", body=("password=" + SECRET).encode())
        r2 = c.getresponse().read()
        c.close()
        out.update(ok=bool(r1) and bool(r2))
    elif a.mode == "oneread":
        s = socket.create_connection((a.host, a.port), timeout=10)
        counts = []
        for i in range(a.n):
            s.sendall(request(a.host, a.port, "/oneread/%d" % i))
            deadline = time.monotonic() + 10
            while True:
                q = s.recv(65536, socket.MSG_PEEK)
                head, sep, rest = q.partition(b"\r\n\r\n")
                cl = [int(l.split(b":", 1)[1]) for l in head.split(b"\r\n")
                      if l.lower().startswith(b"content-length:")]
                if sep and cl and len(rest) >= cl[0]:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit("response incomplete: %r" % q)
                time.sleep(0.01)
            counts.append((len(q), len(os.read(s.fileno(), 65536))))
        s.close()
        out.update(reads=counts)
    elif a.mode == "dests":
        lsn = []
        for _ in range(a.n):
            ls = socket.socket()
            ls.bind((a.host, 0))
            ls.listen(4)
            lsn.append(ls)
        for ls in lsn:
            s = socket.create_connection(ls.getsockname(), timeout=10)
            s.sendall(request(a.host, ls.getsockname()[1], "/d"))
            keep.append(s)
        out.update(destinations=len(lsn))
    else:
        p.error("unknown mode " + a.mode)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
