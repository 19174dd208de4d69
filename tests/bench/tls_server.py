#!/usr/bin/env python3
"""A small keep-alive HTTPS server for tests/bench/fig_tls.sh (stdlib).

  tls_server.py CERT KEY PORTFILE

Answers every request with 200 and a Content-Length body (N bytes of 'x'
for a target ending in /size/N or /size/N/I, else 16 bytes), ignores "Connection:
close" and never closes first: the server forceclose exists for.  A
connection that begins with the line "BULK N" (not HTTP) gets N bytes.  Nothing
is logged, so the server costs the same in both variants of a figure."""
import re
import socket
import ssl
import sys
import threading

BLOCK = b"x" * 65536


def serve(conn):
    buf = b""
    try:
        while True:
            if buf.startswith(b"BULK ") and b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                n = int(line.split()[1])
                while n > 0:
                    k = min(n, len(BLOCK))
                    conn.sendall(BLOCK[:k])
                    n -= k
                continue
            while b"\r\n\r\n" not in buf and not (
                    buf.startswith(b"BULK ") and b"\n" in buf):
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            if buf.startswith(b"BULK "):
                continue
            head, buf = buf.split(b"\r\n\r\n", 1)
            target = head.split(b" ", 2)[1].decode("latin-1")
            m = re.search(r"/size/(\d+)(/\d+)?$", target)
            n = int(m.group(1)) if m else 16
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
            while n > 0:
                k = min(n, len(BLOCK))
                conn.sendall(BLOCK[:k])
                n -= k
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(128)
    with open(sys.argv[3] + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    import os
    os.replace(sys.argv[3] + ".tmp", sys.argv[3])
    while True:
        c, _ = ls.accept()
        # head and body go in separate sends: no Nagle wait between them
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            c = ctx.wrap_socket(c, server_side=True)
        except OSError:
            c.close()
            continue
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
