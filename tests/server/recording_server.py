#!/usr/bin/env python3
"""Recording HTTP/1.x test server for forceclose (stdlib only).

Every byte received on connection N is appended, as it arrives, to
LOGDIR/conn-NNNN.raw (unbuffered), so a test can read the file as soon as the
client has exited.  If the file LOGDIR/phase exists when a connection is
accepted, its content (a plain name) selects a subdirectory LOGDIR/<phase>/
for that connection: one server (hence one Host header) can then record a
baseline run and a shim run into separate directories.

Modes:
  keepalive  answers every request with 200 and a deterministic body, ignores
             "Connection: close" and never closes a connection itself: the
             misbehaving server that forceclose exists for.
  sink       never answers; only records.
  slow       like keepalive but with a tiny receive buffer and slow reads, so
             a client sending a big body sees partial writes / EAGAIN.

The request parser below (Reader, read_request) is also used by
tests/lib/check_requests.py so both apply the same framing rules.
"""
import argparse
import os
import re
import signal
import socket
import sys
import threading
import time



class Malformed(Exception):
    pass


class Reader:
    """Buffered byte reader over a pull function returning b"" at EOF."""

    def __init__(self, pull):
        self.pull = pull
        self.buf = b""
        self.pos = 0      # read offset in buf
        self.eof = False

    def _more(self):
        if self.eof:
            return False
        data = self.pull()
        if not data:
            self.eof = True
            return False
        # Drop consumed bytes so big bodies do not make the buffer grow.
        self.buf = self.buf[self.pos:] + data
        self.pos = 0
        return True

    def mark(self):
        self.raw = []     # consumed bytes since mark, kept for the caller

    def _take(self, n):
        chunk = self.buf[self.pos:self.pos + n]
        self.pos += len(chunk)
        self.raw.append(chunk)
        return chunk

    def readline(self):
        """Return one line including its LF; b"" or a partial line at EOF."""
        while True:
            i = self.buf.find(b"\n", self.pos)
            if i >= 0:
                return self._take(i + 1 - self.pos)
            if not self._more():
                return self._take(len(self.buf) - self.pos)

    def read(self, n):
        out = []
        while n > 0:
            if self.pos >= len(self.buf) and not self._more():
                break
            chunk = self._take(n)
            out.append(chunk)
            n -= len(chunk)
        return b"".join(out)

    def at_eof(self):
        return self.pos >= len(self.buf) and not self._more()


class Request:
    def __init__(self):
        self.raw = b""          # exact bytes, including leading blank lines
        self.lead = b""         # the leading blank lines alone
        self.head_lines = []    # raw head lines (with line endings)
        self.method = self.target = self.version = ""
        self.fields = []        # (name, value) as str (latin-1), unfolded
        self.body = b""         # message body as sent (chunk framing kept)
        self.complete = False
        self.error = None       # framing problem; rest of stream not parsed

    def field_values(self, name):
        return [v for n, v in self.fields if n.lower() == name.lower()]


def _parse_fields(lines):
    fields = []
    for line in lines:
        text = line.rstrip(b"\r\n").decode("latin-1")
        if text[:1] in (" ", "\t") and fields:   # obsolete line folding
            fields[-1] = (fields[-1][0], fields[-1][1] + " " + text.strip())
        elif ":" in text:
            name, value = text.split(":", 1)
            fields.append((name, value.strip()))
        else:
            fields.append((text, ""))
    return fields


def read_request(rd, on_head=None):
    """Read one request from Reader rd.  Returns None at a clean EOF.

    Framing: optional leading blank lines, a head ended by an empty line (CRLF
    or bare LF), then a body by chunked Transfer-Encoding (extensions and
    trailers allowed) or Content-Length, else no body.  on_head(req) is called
    between head and body (for "Expect: 100-continue").
    """
    rd.mark()
    req = Request()
    line = rd.readline()
    while line in (b"\r\n", b"\n"):           # tolerated blank lines
        line = rd.readline()
    req.lead = b"".join(rd.raw[:-1])
    if not line:
        if rd.raw and b"".join(rd.raw):
            req.raw = b"".join(rd.raw)
            req.error = "only blank lines"
            return req
        return None
    while line and line not in (b"\r\n", b"\n"):
        req.head_lines.append(line)
        if not line.endswith(b"\n"):
            break                             # EOF inside the head
        line = rd.readline()
    head_done = line in (b"\r\n", b"\n")
    parts = req.head_lines[0].rstrip(b"\r\n").decode("latin-1").split(" ")
    if len(parts) == 3:
        req.method, req.target, req.version = parts
    req.fields = _parse_fields(req.head_lines[1:])
    if not head_done:
        req.raw = b"".join(rd.raw)
        req.error = "EOF inside the head"
        return req
    try:
        if on_head:
            on_head(req)
        req.body = _read_body(rd, req)
        req.complete = True
    except Malformed as e:
        req.error = str(e)
    req.raw = b"".join(rd.raw)
    return req


def _read_body(rd, req):
    te = ",".join(req.field_values("Transfer-Encoding")).lower()
    if te.strip():
        if te.split(",")[-1].strip() != "chunked":
            raise Malformed("Transfer-Encoding without final chunked: " + te)
        out = []
        while True:
            line = rd.readline()
            out.append(line)
            if not line.endswith(b"\n"):
                raise Malformed("EOF in chunk size line")
            size = line.split(b";", 1)[0].strip()
            try:
                n = int(size, 16)
            except ValueError:
                raise Malformed("bad chunk size %r" % size)
            if n == 0:
                break
            data = rd.read(n)
            out.append(data)
            end = rd.readline()
            out.append(end)
            if len(data) < n or end not in (b"\r\n", b"\n"):
                raise Malformed("bad or truncated chunk data")
        while True:                            # trailer section
            line = rd.readline()
            out.append(line)
            if not line.endswith(b"\n"):
                raise Malformed("EOF in trailers")
            if line in (b"\r\n", b"\n"):
                return b"".join(out)
    lengths = {v.strip() for v in req.field_values("Content-Length")}
    if not lengths:
        return b""
    if len(lengths) != 1 or not next(iter(lengths)).isdigit():
        raise Malformed("bad Content-Length %r" % sorted(lengths))
    n = int(next(iter(lengths)))
    body = rd.read(n)
    if len(body) < n:
        raise Malformed("EOF inside a Content-Length body")
    return body


def response_body(method, path, bodylen):
    """Deterministic body; HEAD is sized like the matching GET."""
    m = re.fullmatch(r"/size/(\d+)", path)
    if m:
        n = int(m.group(1))
        pattern = b"0123456789abcdefghijklmnopqrstuvwxyz\n"
        return (pattern * (n // len(pattern) + 1))[:n]
    if method == "HEAD":
        method = "GET"
    return ("%s %s %d\n" % (method, path, bodylen)).encode("latin-1")


class Server:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.counters = {}

    def log(self, text):
        with self.lock:
            with open(os.path.join(self.args.log_dir, "connections.log"), "a") as f:
                f.write(text + "\n")

    def open_raw(self):
        """Pick the directory (phase) and sequence number at accept time."""
        base = self.args.log_dir
        try:
            with open(os.path.join(base, "phase")) as f:
                phase = f.read().strip()
        except FileNotFoundError:
            phase = ""
        if phase and not re.fullmatch(r"[A-Za-z0-9_.-]+", phase):
            phase = ""
        d = os.path.join(base, phase) if phase else base
        with self.lock:
            os.makedirs(d, exist_ok=True)
            n = self.counters.get(d, 0) + 1
            self.counters[d] = n
        name = os.path.join(d, "conn-%04d.raw" % n)
        return name, open(name, "ab", buffering=0)

    def handle(self, sock, peer):
        path, raw = self.open_raw()
        name = os.path.relpath(path, self.args.log_dir)
        self.log("accept %s peer=%s" % (name, peer))
        slow = self.args.mode == "slow"

        def pull():
            try:
                data = sock.recv(2048 if slow else 65536)
            except OSError:
                return b""
            raw.write(data)                    # record before parsing
            if slow:
                time.sleep(0.002)
            return data

        try:
            if self.args.mode == "sink":
                while pull():
                    pass
                return
            rd = Reader(pull)

            def on_head(req):
                if any(v.lower() == "100-continue" for v in req.field_values("Expect")):
                    sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

            while True:
                req = read_request(rd, on_head)
                if req is None:
                    break
                if not req.complete:
                    # Framing is lost: keep recording whatever comes next.
                    self.log("malformed %s: %s" % (name, req.error))
                    while pull():
                        pass
                    break
                body = response_body(req.method, req.target, len(req.body))
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body))
                if req.method != "HEAD":
                    sock.sendall(body)
        except OSError as e:
            self.log("error %s: %s" % (name, e))
        finally:
            self.log("closed %s" % name)
            raw.close()
            sock.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--log-dir", required=True)
    p.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "::1"])
    p.add_argument("--unix", metavar="PATH", help="listen on a Unix socket instead")
    p.add_argument("--mode", default="keepalive", choices=["keepalive", "sink", "slow"])
    p.add_argument("--max-seconds", type=float, default=120)
    args = p.parse_args()
    os.makedirs(args.log_dir, exist_ok=True)

    # SIGTERM must end the process promptly: worker threads are daemons.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    if args.unix:
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(args.unix)
        port = args.unix
    else:
        family = socket.AF_INET6 if args.host == "::1" else socket.AF_INET
        lsock = socket.socket(family, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if args.mode == "slow":
        # Set before listen() so accepted sockets start with a small window.
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    if not args.unix:
        lsock.bind((args.host, 0))
        port = str(lsock.getsockname()[1])
    lsock.listen(64)
    lsock.settimeout(0.5)

    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(port + "\n")
    os.replace(tmp, args.port_file)

    server = Server(args)
    deadline = time.monotonic() + args.max_seconds
    while time.monotonic() < deadline:
        try:
            sock, peer = lsock.accept()
        except socket.timeout:
            continue
        sock.settimeout(None)
        if args.mode == "slow":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        peer = "%s:%s" % peer[:2] if isinstance(peer, tuple) else "unix"
        threading.Thread(target=server.handle, args=(sock, peer), daemon=True).start()
    server.log("max-seconds reached, exiting")


if __name__ == "__main__":
    main()
