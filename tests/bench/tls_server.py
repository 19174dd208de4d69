#!/usr/bin/env python3
"""A small keep-alive HTTPS server for tests/bench/fig_tls.sh (stdlib).

  tls_server.py CERT KEY PORTFILE

Answers every request with 200 and a Content-Length body (N bytes of 'x'
for a target ending in /size/N or /size/N/I, else 16 bytes), ignores "Connection:
close" and never closes first: the server forceclose exists for.  A
connection that begins with the line "BULK N" (not HTTP) gets N bytes.  ALPN
offers h2 (preferred) and http/1.1; on a session that selected h2 the server
reads the client's connection preface and frames up to a PING, whose 8
bytes are N, and sends an empty SETTINGS frame and then N bytes of DATA
frames (16384 at most each, stream 1, END_STREAM on the last): the framing
tests/tls/ssl_client.c mode h2 reads, no HPACK, no streams.  Nothing
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


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def serve_h2(conn):
    buf = b""
    try:
        while len(buf) < 24:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
        if not buf.startswith(PREFACE):
            return
        frames = buf[24:]
        # the client's frames, up to its PING (type 6)
        while True:
            while len(frames) < 9 or len(frames) < 9 + int.from_bytes(
                    frames[:3], "big"):
                data = conn.recv(65536)
                if not data:
                    return
                frames += data
            size = int.from_bytes(frames[:3], "big")
            ftype = frames[3]
            payload, frames = frames[9:9 + size], frames[9 + size:]
            if ftype == 6:
                break
        n = int.from_bytes(payload, "big")
        conn.sendall(b"\0\0\0\x04\0\0\0\0\0")
        data = BLOCK[:16384]
        head = (16384).to_bytes(3, "big") + b"\0\0\0\0\0\x01"
        many = (head + data) * 4
        while n > 0:
            if n > 4 * 16384:
                conn.sendall(many)
                n -= 4 * 16384
                continue
            k = min(n, 16384)
            end = 1 if k == n else 0
            conn.sendall(k.to_bytes(3, "big") + bytes([0, end]) +
                         b"\0\0\0\x01" + data[:k])
            n -= k
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    ctx.set_alpn_protocols(["h2", "http/1.1"])
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
        h2 = c.selected_alpn_protocol() == "h2"
        threading.Thread(target=serve_h2 if h2 else serve, args=(c,),
                         daemon=True).start()


if __name__ == "__main__":
    main()
