#!/usr/bin/env python3
"""syslog_sink.py SOCKET OUT CMD...: bind a Unix datagram socket at SOCKET,
run CMD, write each datagram received (while CMD runs and the ones queued
when it has exited) to OUT, one a line; exit with CMD's status.  CMD is
killed after 60 s."""
import os
import select
import socket
import subprocess
import sys
import time


def main():
    path, out, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    got = []
    proc = subprocess.Popen(cmd)
    deadline = time.monotonic() + 60
    # read while CMD runs: the socket's queue is short (max_dgram_qlen)
    while proc.poll() is None and time.monotonic() < deadline:
        if select.select([sock], [], [], 0.05)[0]:
            got.append(sock.recv(65536))
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    sock.setblocking(False)
    while True:
        try:
            got.append(sock.recv(65536))
        except BlockingIOError:
            break
    with open(out, "wb") as f:
        for d in got:
            f.write(d + b"\n")
    sys.exit(proc.returncode if proc.returncode >= 0 else 128 - proc.returncode)


if __name__ == "__main__":
    main()
