#!/usr/bin/env python3
"""Scripted HTTP peer for forceclose tests (stdlib only).

  scripted_server.py --port-file F --record FILE [--tls CERT KEY]
                     [--gate G] RESPONSE_FILE...

Listens on 127.0.0.1, port 0 (the port goes to F), accepts ONE connection
and answers each request head it receives (up to its blank line; the tests'
requests carry no body) with the next RESPONSE_FILE's bytes, exactly as
they are: responses the recording server would not send, such as ambiguous
framing.  Pipelined requests are answered in turn.  Every byte received
goes to FILE.  After the last response it closes (FIN first) and reads on
until the client's end.  Ignores "Connection: close".  --tls: the same
inside a TLS session (the bytes recorded are the plaintext).  --gate G:
each response after the first waits until the file G exists (the client
makes it once it has read what it needs first: a teardown then has come
before the later response, not after it).  Bounded by alarm():
20 s, for a loaded 2-core machine; a test's exchange takes milliseconds.
"""
import argparse
import os
import signal
import socket
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--gate")
    p.add_argument("responses", nargs="+")
    a = p.parse_args()
    responses = [open(f, "rb").read() for f in a.responses]
    signal.alarm(20)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    conn, _ = ls.accept()
    if a.tls:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*a.tls)
        conn = ctx.wrap_socket(conn, server_side=True)
    rec = open(a.record, "wb")
    buf = b""
    for i, resp in enumerate(responses):
        while b"\r\n\r\n" not in buf:
            data = conn.recv(65536)
            if not data:
                print("client ended before a request", file=sys.stderr)
                return 1
            rec.write(data)
            rec.flush()
            buf += data
        buf = buf[buf.index(b"\r\n\r\n") + 4:]
        while a.gate and i > 0 and not os.path.exists(a.gate):
            time.sleep(0.01)	# bounded by the alarm
        conn.sendall(resp)
    if a.tls:
        try:
            conn = conn.unwrap()	# close_notify, then the FIN below
        except OSError:
            pass	# the client ended first (a teardown)
    conn.shutdown(socket.SHUT_WR)
    while True:
        try:
            data = conn.recv(65536)
        except OSError:
            break	# a reset after the client's teardown
        if not data:
            break
        rec.write(data)
    rec.close()
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
