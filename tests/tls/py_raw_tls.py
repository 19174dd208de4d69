#!/usr/bin/env python3
"""Writes BYTES-FILE through a TLS session (python ssl, OpenSSL 3) to a
server, offering ALPN ALPN (comma list, "" for none), then half-closes and
reads until the server closes or 5 s pass.  Prints the ALPN protocol the
server chose ("alpn NAME" or "alpn none").

  py_raw_tls.py HOST PORT CAFILE ALPN BYTES-FILE
"""
import socket
import ssl
import sys


def main():
    host, port, ca, alpn, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    ctx = ssl.create_default_context(cafile=ca)
    if alpn:
        ctx.set_alpn_protocols(alpn.split(","))
    data = open(path, "rb").read()
    with socket.create_connection((host, port)) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            print("alpn %s" % (s.selected_alpn_protocol() or "none"))
            # several writes: the first decides, the rest must follow it
            for i in range(0, len(data), 1000):
                s.sendall(data[i:i + 1000])
            s.settimeout(5)
            try:
                while s.recv(65536):
                    pass
            except (OSError, ssl.SSLError):
                pass


if __name__ == "__main__":
    main()
