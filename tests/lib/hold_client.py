#!/usr/bin/env python3
"""A raw-socket HTTP/1.1 client that does NOT close after a response.

It reads each response by its own framing (1xx skipped and kept, HEAD, 204,
304, Content-Length, chunked with extensions and trailers, or to EOF) and,
unlike a real client, ignores "Connection: close": after the last response it
keeps the socket and probes it.  So whatever happens to the connection after
the response is the shim's doing, not the client's.

  hold_client.py ADDR --out PREFIX [options] [METHOD:TARGET ...]

ADDR is HOST:PORT, [V6]:PORT or unix:PATH.  Writes PREFIX.heads (every
response head received, interim ones included, raw and concatenated) and
PREFIX.body (the bodies exactly as received, chunk framing included), and
prints one JSON object on stdout.

  --header 'Name: value'   add to every request (repeatable)
  --body-len N             send an N-byte body with POST/PUT
  --after probe            (default) after the last response: wait until the
                           server's STATS file shows no open connection
                           (bounded by --wait), then read() (--wait timeout),
                           write() a request, close(); report each outcome:
                           "server_closed", "read_after" (eof | timeout |
                           data:N | error:ENAME), "write_after" (ok |
                           error:ENAME), "close" (ok | error:ENAME)
  --after pong             for /bad/KIND: do not parse; read until the bytes
                           the server sends for KIND have all arrived (or
                           none came for --wait seconds), write "PING\\r\\n", expect
                           "PONG\\r\\n"; PREFIX.raw holds what was read before
                           the PING; "pong" is true/false
  --after none             nothing
  --stats FILE             the server's stats.json for --after probe
  --wait S                 bound for every wait (default 5)
  --read-size N            read responses with recv(N) (default 65536)

SIGPIPE is reset to its default action, so a write that raised it kills this
process (exit status 141 in a shell): the shim must never let that happen.
"""
import argparse
import errno
import hashlib
import json
import os
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from recording_server import BAD  # noqa: E402


def ename(e):
    return "error:" + errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "error:" + str(e)


class Conn:
    def __init__(self, sock, wait, read_size):
        self.sock = sock
        self.buf = b""
        self.wait = wait
        self.read_size = read_size

    def fill(self):
        data = self.sock.recv(self.read_size)
        if not data:
            raise EOFError
        self.buf += data

    def line(self):
        while b"\n" not in self.buf:
            self.fill()
        i = self.buf.index(b"\n") + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def to_eof(self):
        try:
            while True:
                self.fill()
        except EOFError:
            pass
        out, self.buf = self.buf, b""
        return out


def read_head(c):
    lines = [c.line()]
    while lines[-1] not in (b"\r\n", b"\n"):
        lines.append(c.line())
    return b"".join(lines)


def fields(head):
    out = []
    for l in head.split(b"\n")[1:]:
        l = l.rstrip(b"\r")
        if b":" in l:
            n, v = l.split(b":", 1)
            out.append((n.strip().lower().decode("latin-1"), v.strip().decode("latin-1")))
    return out


def read_response(c, method):
    """(interim heads, final head, raw body, framing)."""
    interim = []
    while True:
        head = read_head(c)
        status = int(head.split(b" ", 2)[1])
        if 100 <= status < 200:
            interim.append(head)
            continue
        break
    f = fields(head)
    te = ",".join(v for n, v in f if n == "transfer-encoding").lower()
    cl = [v for n, v in f if n == "content-length"]
    if method == "HEAD" or status in (204, 304):
        return interim, head, b"", "none"
    if te.strip():
        body = []
        while True:
            line = c.line()
            body.append(line)
            n = int(line.split(b";", 1)[0].strip(), 16)
            if n == 0:
                break
            body.append(c.exact(n + 2))
        while True:                       # trailers
            line = c.line()
            body.append(line)
            if line in (b"\r\n", b"\n"):
                break
        return interim, head, b"".join(body), "chunked"
    if cl:
        return interim, head, c.exact(int(cl[0])), "cl"
    return interim, head, c.to_eof(), "eof"


def open_socket(addr):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr[5:])
        return s, "localhost"
    host, port = addr.rsplit(":", 1)
    host = host.strip("[]")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.connect((host, int(port)))
    return s, ("[%s]:%s" % (host, port)) if fam == socket.AF_INET6 else addr


def server_open(stats):
    try:
        with open(stats) as f:
            return json.load(f)["open"]
    except (OSError, ValueError, KeyError):
        return None


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    p = argparse.ArgumentParser()
    p.add_argument("addr")
    p.add_argument("reqs", nargs="*", default=["GET:/hold"])
    p.add_argument("--out", required=True)
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--body-len", type=int, default=0)
    p.add_argument("--after", choices=["probe", "pong", "none"], default="probe")
    p.add_argument("--stats")
    p.add_argument("--wait", type=float, default=5)
    p.add_argument("--read-size", type=int, default=65536)
    a = p.parse_intermixed_args()

    # Keep a descriptor number below the socket's free: with
    # FORCECLOSE_ACTION=close the shim closes the socket's descriptor, and a
    # file this client opens afterwards (stats.json) must not take its number
    # (reuse behind the program's back is the documented residual risk).
    spare = os.open(os.devnull, os.O_RDONLY)
    sock, hostport = open_socket(a.addr)
    os.close(spare)
    # one timeout for the whole run: no fcntl/ioctl on the socket later
    sock.settimeout(a.wait)
    rep = {"fd": sock.fileno(), "responses": []}
    c = Conn(sock, a.wait, a.read_size)
    heads, bodies = [], []
    try:
        for r in a.reqs:
            method, target = r.split(":", 1)
            body = (b"x" * a.body_len) if method in ("POST", "PUT") else b""
            req = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, target, hostport)
            req += "".join(h + "\r\n" for h in a.header)
            if body:
                req += "Content-Length: %d\r\n" % len(body)
            sock.sendall(req.encode("latin-1") + b"\r\n" + body)
            if a.after == "pong":
                break
            interim, head, rbody, framing = read_response(c, method)
            heads += interim + [head]
            bodies.append(rbody)
            rep["responses"].append({
                "status": [h.split(b"\r\n", 1)[0].decode("latin-1") for h in interim + [head]],
                "framing": framing, "body_len": len(rbody),
                "body_sha256": hashlib.sha256(rbody).hexdigest()})
    except (EOFError, socket.timeout, OSError, ValueError, IndexError) as e:
        rep["error"] = "while reading responses: %r" % (e,)
    with open(a.out + ".heads", "wb") as f:
        f.write(b"".join(heads))
    with open(a.out + ".body", "wb") as f:
        f.write(b"".join(bodies))

    if a.after == "pong":
        kind = a.reqs[0].split("/bad/", 1)[1]
        want = len(BAD[kind])
        got = b""
        while len(got) < want:
            try:
                d = sock.recv(65536)
            except socket.timeout:
                rep["read_error"] = "timeout"
                break
            except OSError as e:
                rep["read_error"] = ename(e)
                break
            if not d:
                rep["eof_before_ping"] = True
                break
            got += d
        with open(a.out + ".raw", "wb") as f:
            f.write(got)
        rep["raw_len"] = len(got)
        rep["raw_sha256"] = hashlib.sha256(got).hexdigest()
        rep["raw_complete"] = got == BAD[kind]
        rep["pong"] = False
        try:
            sock.sendall(b"PING\r\n")
            reply = b""
            while len(reply) < 6:
                d = sock.recv(64)
                if not d:
                    rep["pong_error"] = "eof"
                    break
                reply += d
            rep["pong"] = reply == b"PONG\r\n"
            rep["pong_reply"] = reply.decode("latin-1")
        except socket.timeout:
            rep["pong_error"] = "timeout"
        except OSError as e:
            rep["pong_error"] = ename(e)
        if a.stats:
            rep["server_open_after_pong"] = server_open(a.stats)

    if a.after == "probe":
        closed = None
        if a.stats:
            deadline = time.monotonic() + a.wait
            while True:
                closed = server_open(a.stats) == 0
                if closed or time.monotonic() >= deadline:
                    break
                time.sleep(0.02)
        rep["server_closed"] = closed
        try:
            d = sock.recv(4096)
            rep["read_after"] = "eof" if not d else "data:%d" % len(d)
        except socket.timeout:
            rep["read_after"] = "timeout"
        except OSError as e:
            rep["read_after"] = ename(e)
        try:
            sock.send(b"GET /after-teardown HTTP/1.1\r\nHost: %s\r\n\r\n" % hostport.encode())
            rep["write_after"] = "ok"
        except OSError as e:
            rep["write_after"] = ename(e)
        try:
            # the descriptor is closed the way a program does it
            fd = sock.detach()
            os.close(fd)
            rep["close"] = "ok"
        except OSError as e:
            rep["close"] = ename(e)
    print(json.dumps(rep, sort_keys=True))


if __name__ == "__main__":
    main()
