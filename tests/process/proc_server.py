#!/usr/bin/env python3
"""Small servers for tests/process.bats (stdlib only), where the recording
server has no mode for the behaviour a test needs.

  proc_server.py --mode MODE --port-file F --log-dir D [--release-file R]

Every connection's received bytes are appended to D/conn-NNNN.raw as they
arrive (except in noread mode, which receives nothing).

Modes:
  noread    accepts and never reads: the client's socket fills up.  The
            listening socket's receive buffer is small (set before listen,
            so accepted sockets inherit it and do not grow).
  halfhead  reads one request head, sends half a response head (the status
            line, one whole field line and an unfinished one), then waits
            until the release file R exists (the client creates it when it
            has looked at the half head), deletes it, sends the rest of the
            head and a 10-byte body, and closes.
  early     reads one request head and answers at once, before the request
            body (a complete 200 with a 2-byte body), then keeps reading
            and recording until the client ends the connection.
"""
import argparse
import os
import signal
import socket
import sys
import threading
import time

HALF = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Half: ye"
REST = b"s\r\nContent-Length: 10\r\n\r\n0123456789"
EARLY = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", required=True, choices=["noread", "halfhead", "early"])
    p.add_argument("--port-file", required=True)
    p.add_argument("--log-dir", required=True)
    p.add_argument("--release-file")
    p.add_argument("--max-seconds", type=float, default=120)
    a = p.parse_args()
    os.makedirs(a.log_dir, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.mode == "noread":
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    ls.settimeout(0.5)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.replace(tmp, a.port_file)

    held = []           # noread: sockets kept open, never read
    count = [0]
    lock = threading.Lock()

    def handle(sock, raw):
        buf = b""

        def pull():
            try:
                d = sock.recv(65536)
            except OSError:
                return b""
            raw.write(d)
            return d

        try:
            while b"\r\n\r\n" not in buf:
                d = pull()
                if not d:
                    return
                buf += d
            if a.mode == "halfhead":
                sock.sendall(HALF)
                # the client creates the release file once it has peeked
                # at the half head; polled every 5 ms, bounded by the
                # client's own timeout (the test kills us in teardown)
                while not os.path.exists(a.release_file):
                    time.sleep(0.005)
                os.unlink(a.release_file)
                sock.sendall(REST)
                sock.shutdown(socket.SHUT_WR)
                while pull():
                    pass
            else:  # early
                sock.sendall(EARLY)
                while pull():
                    pass
        finally:
            raw.close()
            sock.close()

    deadline = time.monotonic() + a.max_seconds
    while time.monotonic() < deadline:
        try:
            s, _ = ls.accept()
        except socket.timeout:
            continue
        if a.mode == "noread":
            held.append(s)
            continue
        with lock:
            count[0] += 1
            n = count[0]
        raw = open(os.path.join(a.log_dir, "conn-%04d.raw" % n), "ab", buffering=0)
        threading.Thread(target=handle, args=(s, raw), daemon=True).start()


if __name__ == "__main__":
    main()
