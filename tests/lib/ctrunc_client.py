#!/usr/bin/env python3
"""ctrunc_client.py DIR: does a program's recvmsg() see msg_flags as the
kernel set them?

A server thread listens on the Unix socket DIR/s and answers one GET with a
response sent in one sendmsg() together with a descriptor (SCM_RIGHTS).
The client (this process's main thread, which connect()s, so the shim
tracks it) reads the response with libc's recvmsg() (through ctypes, so
that msg_name and msg_control are NULL, as a C program would pass them;
Python's own recvmsg always passes a name buffer), which makes the
kernel set MSG_CTRUNC.  Prints, one per line:
  ctrunc=0|1   MSG_CTRUNC in any recvmsg() of the response
  close=0|1    the head the client read says Connection: close
  body=...     the body
The server thread's socket is an accepted one, which the shim never
touches."""
import ctypes
import os
import socket
import sys
import threading

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def serve(listener):
    conn, _ = listener.accept()
    with conn:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        r, w = os.pipe()
        conn.sendmsg([RESPONSE],
                     [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                       r.to_bytes(4, sys.byteorder))])
        os.close(r)
        os.close(w)
        conn.recv(1)  # until the client closes (or the shim shuts down)


class IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint),
                ("iov", ctypes.POINTER(IOVec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.recvmsg.restype = ctypes.c_ssize_t
LIBC.recvmsg.argtypes = [ctypes.c_int, ctypes.POINTER(MsgHdr), ctypes.c_int]


def recvmsg(fd, size):
    """libc recvmsg() into one buffer, no name, no control: (bytes, flags)"""
    buf = ctypes.create_string_buffer(size)
    iov = IOVec(ctypes.cast(buf, ctypes.c_void_p), size)
    msg = MsgHdr(None, 0, ctypes.pointer(iov), 1, None, 0, 0)
    n = LIBC.recvmsg(fd, ctypes.byref(msg), 0)
    if n < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return buf.raw[:n], msg.flags


def main():
    path = os.path.join(sys.argv[1], "s")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    server = threading.Thread(target=serve, args=(listener,), daemon=True)
    server.start()

    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # blocking (a Python timeout would make the descriptor non-blocking),
    # but no read waits for ever
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                      (20).to_bytes(8, sys.byteorder) + bytes(8))
    client.connect(path)
    client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    got, ctrunc = b"", 0
    while True:
        data, flags = recvmsg(client.fileno(), 4096)
        if not data:
            break
        if flags & socket.MSG_CTRUNC:
            ctrunc = 1
        got += data
        head, sep, body = got.partition(b"\r\n\r\n")
        if sep and len(body) >= 2:
            break
    client.close()
    server.join(20)
    head, _, body = got.partition(b"\r\n\r\n")
    print(f"ctrunc={ctrunc}")
    print(f"close={int(b'connection: close' in head.lower())}")
    print(f"body={body.decode('latin-1')}")


if __name__ == "__main__":
    main()
