#!/usr/bin/env python3
"""Small HTTP clients for tests/config.bats; one connection per request.

  py_requests.py fork PORT          GET /parent/1; fork; the child GETs
                                    /child/1 and sys.exit(0)s; the parent
                                    waits, GETs /parent/2, prints the
                                    child's pid
  py_requests.py exec PORT PROG ARG...
                                    GET /before-exec, then os.execv(PROG,
                                    [PROG, ARG...])
  py_requests.py connect PORT       a raw CONNECT request; reads the
                                    response head, closes
  py_requests.py inherit PORT CMD...
                                    prints LD_PRELOAD as this process sees it
                                    ("<unset>" if unset), GETs /parent, then
                                    runs CMD and exits with its status
Every socket operation is bounded by a 30 s timeout.
"""
import http.client
import os
import socket
import subprocess
import sys


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    if resp.status != 200:
        sys.exit("GET %s: status %d" % (path, resp.status))


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"CONNECT tunnel.test:443 HTTP/1.1\r\nHost: tunnel.test:443\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        data = s.recv(4096)
        if not data:
            break
        head += data
    s.close()
    print(head.split(b"\r\n", 1)[0].decode("latin-1"))


def main():
    cmd, port, rest = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    sys.stdout.flush()
    if cmd == "fork":
        get(port, "/parent/1")
        pid = os.fork()
        if pid == 0:
            get(port, "/child/1")
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        get(port, "/parent/2")
        print(pid)
        sys.exit(0 if status == 0 else 1)
    elif cmd == "exec":
        get(port, "/before-exec")
        sys.stdout.flush()
        os.execv(rest[0], rest)
    elif cmd == "connect":
        connect(port)
    elif cmd == "inherit":
        print(os.environ.get("LD_PRELOAD", "<unset>"), flush=True)
        get(port, "/parent")
        sys.exit(subprocess.run(rest, timeout=60).returncode)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
