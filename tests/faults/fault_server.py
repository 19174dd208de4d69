#!/usr/bin/env python3
"""Hostile HTTP/1.1 server for tests/faults.bats (stdlib only).

Binds 127.0.0.1 port 0, writes the port to --port-file, and exits by itself
after --max-seconds.  Every byte received on connection N is appended, as it
arrives, to LOGDIR[/PHASE]/conn-NNNN.raw, PHASE being the content of
LOGDIR/phase at accept time (as tests/server/recording_server.py does), and
one line per connection end goes to LOGDIR/connections.log.

--mode http (default): read the request head, then misbehave as its target
says (N, SIZE: decimal numbers):
  /rst-head/N         the first N bytes of a 200 head, then a reset (RST:
                      SO_LINGER 0, close) once the client has acknowledged them
  /fin-head/N         the first N bytes of a 200 head, then FIN
  /rst-now            a reset as soon as the request head is in (the client
                      may still be sending its body)
  /rst-body/N         a whole head (Content-Length: 100000) and N body bytes,
                      then a reset
  /rst-chunked/N      a chunked head and N bytes of chunked framing and data,
                      then a reset
  /hostile/KIND/SIZE  a head the shim must give up on, then SIZE body bytes,
                      then FIN (the server shuts down its sending side); KIND:
                        huge-line   one header line of SIZE bytes (no body)
                        garbage     no status line
                        chunk17     a chunk size of 17 hex digits
                        cl-neg      Content-Length: -1
                        two-cl      two different Content-Length values
                        cl-te       Content-Length with Transfer-Encoding
  /stall-head/N       the first N bytes of a head, then nothing until the
                      client sends a line "PING" (bounded by --stall), then
                      the rest of the response, then FIN
  /wait-release       a small 200 response, sent only once --release-file
                      exists (bounded by --stall)
  anything else       a small 200 response with Content-Length
After answering (but not after a reset) the server keeps reading and
recording until the client closes.

--mode noread: accept and read nothing (SO_RCVBUF 4096, so the client's
sends soon block) until --release-file exists or --stall seconds have
passed; then read and record until the client closes.
"""
import argparse
import fcntl
import os
import re
import socket
import struct
import sys
import termios
import threading
import time

PATTERN = b"0123456789abcdefghijklmnopqrstuvwxyz\n"
HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Fault: head\r\n"
        b"Content-Length: 100000\r\n\r\n")
CHUNKED_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")


def pattern(n):
    return (PATTERN * (n // len(PATTERN) + 1))[:n]


def chunked(body, piece=1000):
    out = [b"%x;ext=1\r\n%s\r\n" % (len(body[i:i + piece]), body[i:i + piece])
           for i in range(0, len(body), piece)]
    return b"".join(out) + b"0\r\nX-Trailer: t\r\n\r\n"


def hostile(kind, size):
    """(head, body) of /hostile/KIND/SIZE."""
    body = pattern(size)
    if kind == "huge-line":
        return (b"HTTP/1.1 200 OK\r\nX-Huge: " + b"a" * size +
                b"\r\nContent-Length: 5\r\n\r\nhello"), b""
    if kind == "garbage":
        return b"This is not a status line\r\nContent-Length: 5\r\n\r\n", body
    if kind == "chunk17":
        return (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"00000000000000005\r\nhello\r\n"), body
    if kind == "cl-neg":
        return b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", body
    if kind == "two-cl":
        return (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: %d\r\n\r\n"
                % size), body
    if kind == "cl-te":
        return (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"), chunked(body)
    return None, None


class Conn:
    def __init__(self, srv, sock, raw, name):
        self.srv, self.sock, self.raw, self.name = srv, sock, raw, name
        self.buf = b""

    def recv(self):
        try:
            data = self.sock.recv(65536)
        except OSError:
            return b""
        self.raw.write(data)
        self.buf += data
        return data

    def read_head(self):
        while not re.search(rb"\r?\n\r?\n", self.buf):
            if not self.recv():
                return None
        m = re.search(rb"\r?\n\r?\n", self.buf)
        head, self.buf = self.buf[:m.end()], self.buf[m.end():]
        return head

    def drain(self):
        self.sock.settimeout(self.srv.args.stall)
        while self.recv():
            pass

    def reset(self):
        """RST once every byte sent has been acknowledged: without the
        wait, unsent bytes would be dropped with the reset."""
        for _ in range(2000):
            left = struct.unpack("i", fcntl.ioctl(self.sock.fileno(), termios.TIOCOUTQ,
                                                  b"\0\0\0\0"))[0]
            if left == 0:
                break
            time.sleep(0.001)
        time.sleep(0.05)   # let the client's kernel queue them
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
        return "reset"

    def shut_wr(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass    # the client has gone already

    def wait_for(self, ready):
        deadline = time.monotonic() + self.srv.args.stall
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.01)

    def serve(self):
        a = self.srv.args
        if a.mode == "noread":
            self.wait_for(lambda: a.release_file and os.path.exists(a.release_file))
            self.drain()
            return "eof"
        head = self.read_head()
        if head is None:
            return "eof"
        parts = head.split(b" ")
        target = parts[1].decode("latin-1") if len(parts) > 2 else ""
        if target == "/rst-now":
            return self.reset()
        m = re.fullmatch(r"/(rst-head|fin-head|rst-body|rst-chunked|stall-head)/(\d+)", target)
        if m:
            kind, n = m.group(1), int(m.group(2))
            if kind == "rst-head":
                self.sock.sendall(HEAD[:n])
                return self.reset()
            if kind == "fin-head":
                self.sock.sendall(HEAD[:n])
                self.shut_wr()
                self.drain()
                return "eof"
            if kind == "rst-body":
                self.sock.sendall(HEAD + pattern(100000)[:n])
                return self.reset()
            if kind == "rst-chunked":
                self.sock.sendall(CHUNKED_HEAD + chunked(pattern(100000))[:n])
                return self.reset()
            resp = HEAD.replace(b"100000", b"10") + pattern(10)
            self.sock.sendall(resp[:n])
            self.sock.settimeout(a.stall)
            while b"PING" not in self.buf and self.recv():
                pass
            self.sock.settimeout(None)
            self.sock.sendall(resp[n:])
            self.shut_wr()
        elif re.fullmatch(r"/hostile/[a-z0-9-]+/\d+", target):
            _, _, kind, size = target.split("/")
            h, body = hostile(kind, int(size))
            if h is None:
                return "error: unknown kind"
            self.sock.sendall(h)
            self.sock.sendall(body)
            self.shut_wr()
        else:
            if target == "/wait-release":
                self.wait_for(lambda: a.release_file and os.path.exists(a.release_file))
            self.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                              b"Content-Length: 6\r\n\r\nhello\n")
        self.drain()
        return "eof"


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
        base = self.args.log_dir
        try:
            with open(os.path.join(base, "phase")) as f:
                phase = f.read().strip()
        except FileNotFoundError:
            phase = ""
        if not re.fullmatch(r"[A-Za-z0-9_.-]*", phase):
            phase = ""
        d = os.path.join(base, phase) if phase else base
        os.makedirs(d, exist_ok=True)
        n = self.counters.get(d, 0) + 1
        self.counters[d] = n
        name = os.path.join(d, "conn-%04d.raw" % n)
        return os.path.relpath(name, base), open(name, "ab", buffering=0)

    def handle(self, sock, name, raw):
        end = "error"
        try:
            end = Conn(self, sock, raw, name).serve()
        except OSError as e:
            end = "error: %s" % e
        finally:
            raw.close()
            try:
                sock.close()
            except OSError:
                pass
            self.log("closed %s %s" % (name, end))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--log-dir", required=True)
    p.add_argument("--mode", default="http", choices=["http", "noread"])
    p.add_argument("--release-file")
    p.add_argument("--stall", type=float, default=20, help="longest wait for the client")
    p.add_argument("--max-seconds", type=float, default=120)
    args = p.parse_args()
    os.makedirs(args.log_dir, exist_ok=True)

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if args.mode == "noread":
        # before listen(): accepted sockets start with a small window
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    lsock.settimeout(0.5)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % lsock.getsockname()[1])
    os.replace(tmp, args.port_file)

    srv = Server(args)
    deadline = time.monotonic() + args.max_seconds
    while time.monotonic() < deadline:
        try:
            sock, _ = lsock.accept()
        except socket.timeout:
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        name, raw = srv.open_raw()
        threading.Thread(target=srv.handle, args=(sock, name, raw), daemon=True).start()
    srv.log("max-seconds reached")


if __name__ == "__main__":
    sys.exit(main())
