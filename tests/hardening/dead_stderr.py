#!/usr/bin/env python3
"""dead_stderr.py pipe|socket CMD...: runs CMD with its stderr a pipe (or a
stream socket) whose other end is already closed, so that any write to it
fails with EPIPE and raises SIGPIPE.  Prints CMD's exit status (-N: killed
by signal N) on stdout; exits 0 itself."""
import os
import socket
import subprocess
import sys

kind, cmd = sys.argv[1], sys.argv[2:]
if kind == "pipe":
    r, w = os.pipe()
    os.close(r)
else:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    b.close()
    w = a.detach()
# restore_signals (the default) gives CMD SIGPIPE's default action back;
# python itself ignores it
p = subprocess.run(cmd, stderr=w, timeout=60)
print(p.returncode)
