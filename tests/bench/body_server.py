#!/usr/bin/env python3
"""Serves one large response per connection for the body-throughput bench.

usage: body_server.py PORTFILE MAX_SECONDS
GET /length/<bytes> -> Content-Length body; GET /chunked/<bytes>/<chunk>
-> chunked body.  The server closes after each response (so a client
without the shim sees end of file too).  127.0.0.1 only, port 0."""
import socket, sys, threading, os, signal

port_file, max_seconds = sys.argv[1], float(sys.argv[2])
signal.signal(signal.SIGALRM, lambda *a: os._exit(0))
signal.alarm(int(max_seconds))
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
BLOCK = bytes(range(256)) * 4096  # 1 MiB


def serve(c):
    try:
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.recv(4096)
            if not d:
                return
            head += d
        parts = head.split(b" ")[1].decode().strip("/").split("/")
        total = int(parts[1])
        if parts[0] == "length":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
            while total > 0:
                n = min(total, len(BLOCK))
                c.sendall(memoryview(BLOCK)[:n])
                total -= n
        else:
            size = int(parts[2])
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            one = b"%x\r\n" % size + BLOCK[:size] + b"\r\n"
            per = max(1, (1 << 20) // len(one))
            group = one * per
            sent = 0
            while sent + size * per <= total:
                c.sendall(group)
                sent += size * per
            while sent < total:
                c.sendall(one)
                sent += size
            c.sendall(b"0\r\n\r\n")
    finally:
        c.close()


while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
