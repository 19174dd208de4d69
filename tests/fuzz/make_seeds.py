#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus/{request,response}/ from the
unit tests' inputs (tests/unit/*.c), in the fuzz targets' input layout
(see fuzz_common.h): a 2-byte prefix (cut count and inflate bit, flags),
optional inflate and cut fields, then the stream.  Rerun after changing
it; the files it writes are committed.
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
HEAD_MAX = 64 * 1024


def seed(stream, flags=0, cuts=(), inflate=None):
    """inflate=(pos, count): repeat stream[pos] count more times."""
    b0 = len(cuts) | (0x10 if inflate else 0)
    out = bytes([b0, flags])
    if inflate:
        out += struct.pack("<HH", *inflate)
    for c in cuts:
        out += struct.pack("<H", c)
    return out + stream


GET = b"GET /x HTTP/1.1\r\nHost: a\r\n"

REQUESTS = {
    "no-connection": GET + b"\r\n",
    "keep-alive": GET + b"Connection: keep-alive\r\n\r\n",
    "other-tokens": GET + b"Connection: TE, Keep-Alive\r\n"
    b"Keep-Alive: timeout=5\r\nTE: trailers\r\n\r\n",
    "close-across-lines": GET + b"Connection: keep-alive\r\n"
    b"Connection: foo, close\r\n\r\n",
    "already-close": GET + b"connection:   Close \r\n\r\n",
    "duplicate-close": GET + b"Connection: close, CLOSE\r\n\r\n",
    "empty-connection": GET + b"Connection:\r\n\r\n",
    "proxy-connection": GET + b"Proxy-Connection: keep-alive\r\n\r\n",
    "bare-lf": b"GET / HTTP/1.1\nHost: a\n\n",
    "http10": b"GET / HTTP/1.0\r\n\r\n",
    "basic-auth": GET + b"Authorization: Basic dTpw\r\n\r\n",
    "body-then-pipelined": b"POST /p HTTP/1.1\r\nContent-Length: 28\r\n\r\n"
    b"Connection: keep-alive\r\n\r\nab" + GET + b"\r\n",
    "chunked-trailers": b"POST /c HTTP/1.1\r\n"
    b"Transfer-Encoding: gzip, chunked\r\n\r\n"
    b"5;name=\"q;\\\"x\"\r\nhello\r\n"
    b"A\r\nConnection\r\n0;last\r\nX-Sum: 1\r\n\r\n"
    + GET + b"Connection: keep-alive\r\n\r\n",
    "empty-lines-before": GET + b"\r\n\r\n" + GET + b"\r\n",
    "invalid-chunk-size": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
    b"\r\nzz\r\n" + GET + b"\r\n",
    "websocket": GET + b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    b"\x81\x05hello" + GET + b"\r\n",
    "h2c": GET + b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
    "connect": b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"
    b"\x16\x03\x01\x00\x05hello" + GET + b"\r\n",
    "ntlm": GET + b"Authorization: NTLM TlRMTVNTUAABAAAA\r\n\r\n"
    + GET + b"\r\n",
    "negotiate": GET + b"Proxy-Authorization: Negotiate YII=\r\n\r\n",
    "tls": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + GET + b"\r\n",
    "h2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "later-http": b"HELLO\r\n" + GET + b"\r\n",
    "http12": b"GET / HTTP/1.2\r\n\r\n",
    "obs-fold": GET + b"X-A: 1\r\n  folded\r\n\r\n",
    "space-before-colon": GET + b"Connection : keep-alive\r\n\r\n",
    "bare-cr": GET + b"X-A: 1\r2\r\n\r\n",
    "cl-and-te": b"POST / HTTP/1.1\r\nContent-Length: 3\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two-lengths": b"POST / HTTP/1.1\r\nContent-Length: 3\r\n"
    b"Content-Length: 4\r\n\r\nabcd",
    "negative-length": b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    "te-not-chunked": b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    "nul-in-value": GET + b"X-A: a\0b\r\n\r\n",
    "head-method": b"HEAD / HTTP/1.1\r\nHost: a\r\nKeep-Alive: 5\r\n\r\n",
}

OK200 = b"HTTP/1.1 200 OK\r\n"
CL5 = b"Content-Length: 5\r\n"

# name: (stream, HEAD flag bits: bit i = response i answers HEAD)
RESPONSES = {
    "content-length": (OK200 + CL5 + b"\r\nhello", 0),
    "http10-keep-alive": (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
                          b"Keep-Alive: timeout=5, max=100\r\n" + CL5
                          + b"\r\nhello", 0),
    "separators": (OK200 + b"Connection: a,keep-alive,b\r\n" + CL5
                   + b"\r\nhello", 0),
    "already-close": (OK200 + b"connection: Close\r\n" + CL5
                      + b"\r\nhello", 0),
    "chunked-trailers": (OK200 + b"Transfer-Encoding: chunked\r\n\r\n"
                         b"5;a=\"x;\\\"y\"\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", 0),
    "100-continue": (b"HTTP/1.1 100 Continue\r\n\r\n" + OK200 + CL5
                     + b"\r\nhello", 0),
    "103-twice": (b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                  b"HTTP/1.1 103 Early Hints\r\nConnection: keep-alive\r\n\r\n"
                  + OK200 + CL5 + b"\r\nhello", 0),
    "head": (OK200 + b"Content-Length: 100\r\n\r\n", 1),
    "204": (b"HTTP/1.1 204 No Content\r\n" + CL5 + b"\r\n", 0),
    "304": (b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", 0),
    "bare-lf": (b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", 0),
    "pipelined-ghg": (OK200 + CL5 + b"\r\nhello" + OK200 + CL5 + b"\r\n"
                      + OK200 + b"Content-Length: 0\r\n\r\n", 0b010),
    "close-delimited": (b"HTTP/1.0 200 OK\r\n\r\nbody until the end", 0),
    "te-gzip": (OK200 + b"Transfer-Encoding: gzip\r\n\r\nxyz", 0),
    "bad-chunk-size": (OK200 + b"Transfer-Encoding: chunked\r\n\r\n"
                       b"10000000000000000\r\nx", 0),
    "two-lengths": (OK200 + CL5 + b"Content-Length: 6\r\n\r\nhello!", 0),
    "cl-and-te": (OK200 + CL5 + b"Transfer-Encoding: chunked\r\n\r\n"
                  b"0\r\n\r\n", 0),
    "negative-length": (OK200 + b"Content-Length: -1\r\n\r\nabc", 0),
    "overflowing-length": (OK200 + b"Content-Length: 99999999999999999999"
                           b"\r\n\r\n", 0),
    "garbage-status": (b"HTTP/1.1 2OO OK\r\n\r\n", 0),
    "not-http": (b"SSH-2.0-OpenSSH_9.2\r\n", 0),
    "bare-cr": (OK200 + b"X-A: 1\r2\r\n" + CL5 + b"\r\nhello", 0),
    "obs-fold": (OK200 + b"X-A: 1\r\n 2\r\n" + CL5 + b"\r\nhello", 0),
    "101-tunnel": (b"HTTP/1.1 101 Switching Protocols\r\n"
                   b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
                   b"\x81\x01x", 0),
    # from test_chunked.c, behind a chunked head, then a second response
    "chunked-bare-lf": (OK200 + b"Transfer-Encoding: chunked\r\n\r\n"
                        b"5\nhello\n0\n\n" + OK200 + CL5 + b"\r\nhello", 0),
    "chunked-bws-hex": (OK200 + b"Transfer-Encoding: chunked\r\n\r\n"
                        b"2 \t;x\r\nab\r\n00A\r\n0123456789\r\n000\r\n\r\n", 0),
    "chunked-junk-after-size": (OK200 + b"Transfer-Encoding: chunked\r\n\r\n"
                                b"5 junk\r\nhello\r\n0\r\n\r\n", 0),
    "chunked-trailer-fold": (OK200 + b"Transfer-Encoding: chunked\r\n\r\n"
                             b"0\r\nX: 1\r\n folded\r\n\r\n", 0),
    "chunked-ctl-in-ext": (OK200 + b"Transfer-Encoding: chunked\r\n\r\n"
                           b"1;\x01\r\na\r\n0\r\n\r\n", 0),
}


def write(kind, name, data):
    with open(os.path.join(HERE, "corpus", kind, name), "wb") as f:
        f.write(data)


def main():
    for kind in ("request", "response"):
        d = os.path.join(HERE, "corpus", kind)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    for name, s in REQUESTS.items():
        write("request", name, seed(s))
    # a few cut ones, so that the split path starts covered
    for name in ("chunked-trailers", "body-then-pipelined", "proxy-connection"):
        s = REQUESTS[name]
        write("request", name + "-cut",
              seed(s, cuts=(1, len(s) // 2, len(s) - 1)))
    # the Host filter (flag bit 0; bit 1: no Host means leave alone)
    write("request", "filter-odd-host", seed(GET + b"\r\n", flags=1))
    write("request", "filter-even-host",
          seed(b"GET / HTTP/1.1\r\nHost: ab\r\n\r\n" + GET + b"\r\n",
               flags=1))
    write("request", "filter-no-host",
          seed(b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.0\r\n\r\n", flags=3))
    # the 64 KiB limits, reached by inflating one byte of a value
    head = GET + b"X-Long: a\r\n\r\n"
    pos = head.index(b"a\r\n\r\n")
    for delta, tag in ((-1, "under"), (0, "at"), (1, "over")):
        count = HEAD_MAX - len(head) + delta
        write("request", "head-limit-" + tag,
              seed(head, cuts=(pos,), inflate=(pos, count)))
    for name, (s, flags) in RESPONSES.items():
        write("response", name, seed(s, flags))
    for name in ("chunked-trailers", "pipelined-ghg", "103-twice"):
        s, flags = RESPONSES[name]
        write("response", name + "-cut",
              seed(s, flags, cuts=(1, len(s) // 2, len(s) - 1)))
    head = OK200 + b"X-Long: a\r\n" + CL5 + b"\r\nhello"
    pos = head.index(b"a\r\n")
    for delta, tag in ((0, "at"), (1, "over")):
        count = HEAD_MAX - (len(head) - 5) + delta
        write("response", "head-limit-" + tag,
              seed(head, inflate=(pos, count)))
    chunk = (OK200 + b"Transfer-Encoding: chunked\r\n\r\n"
             b"5;x\r\nhello\r\n0\r\n\r\n")
    pos = chunk.index(b"x\r\nhello")
    for delta, tag in ((0, "at"), (1, "over")):
        count = 64 * 1024 - len(b"5;x\r\n") + delta
        write("response", "chunk-line-limit-" + tag,
              seed(chunk, inflate=(pos, count)))


if __name__ == "__main__":
    main()
