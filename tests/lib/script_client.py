#!/usr/bin/env python3
"""A client that follows a script, for tests run with and without the
library (its socket calls are libc's send and recv).

  script_client.py [--tls CAFILE] PORT OUT STEP...

STEP is "send:FILE" (FILE's bytes in one sendall) or "read:N" (read until N
bytes have come in all) or "read:eof" (read until the stream ends) or
"peekhead" (wait until readable and peek with a 64 KiB buffer until the
peeked bytes hold a head's blank line: at most 200 looks, else exit 1).  Every
byte read goes to OUT.  Exit 0 when every step completed; 1, with a line
on stderr, when the stream ended before a read:N did.  Bounded by a 20 s
socket timeout (a loaded 2-core machine; the exchanges take milliseconds).
--tls: the same inside a TLS session to 127.0.0.1 (python's ssl module:
OpenSSL's SSL_read and SSL_write, which the library follows).
"""
import select
import socket
import sys


def main():
    args = sys.argv[1:]
    ca = None
    if args[0] == "--tls":
        ca, args = args[1], args[2:]
    port, out = int(args[0]), args[1]
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    if ca is not None:
        import ssl
        ctx = ssl.create_default_context(cafile=ca)
        s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    got = b""
    for step in args[2:]:
        kind, _, arg = step.partition(":")
        if kind == "send":
            s.sendall(open(arg, "rb").read())
            continue
        if kind == "peekhead":
            for _ in range(200):
                select.select([s], [], [], 20)
                if b"\r\n\r\n" in s.recv(65536, socket.MSG_PEEK):
                    break
            else:
                print("no head's end after 200 peeks", file=sys.stderr)
                return 1
            continue
        want = None if arg == "eof" else int(arg)
        while want is None or len(got) < want:
            data = s.recv(65536)
            if not data:
                break
            got += data
        if want is not None and len(got) < want:
            open(out, "wb").write(got)
            print("stream ended after %d of %d bytes" % (len(got), want),
                  file=sys.stderr)
            return 1
    s.close()
    open(out, "wb").write(got)
    return 0


if __name__ == "__main__":
    sys.exit(main())
