#!/usr/bin/env python3
"""Writes the seed corpus tests/fuzz/corpus/tls/ for fuzz_tls.c: the
response seeds (their flags byte read as fuzz_tls's), and streams for the
TLS exchange's own paths (pipelined requests, peeks, records cut inside
heads, the end of the stream inside a head, bytes after the last
response, FORCECLOSE_ACTION=none).  Flags: bits 0-1 requests - 1, bit 2
HEAD first, bit 3 action none, bit 4 peek, bits 5-7 read size 4**value.
Rerun after changing it; the files it writes are committed."""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def seed(stream, flags=0, cuts=(), inflate=None):
    b0 = len(cuts) | (0x10 if inflate else 0)
    out = bytes([b0, flags])
    if inflate:
        out += struct.pack("<HH", *inflate)
    for c in cuts:
        out += struct.pack("<H", c)
    return out + stream


def cl(body, extra=b""):
    return (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: "
            b"timeout=5\r\n" + extra + b"Content-Length: %d\r\n\r\n"
            % len(body) + body)


CHUNKED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n")
SEEDS = {
    "three-pipelined": seed(cl(b"one") + cl(b"two") + cl(b"three"),
                            0x02 | 1 << 5, (10, 40, 95)),
    "head-first-peek": seed(cl(b"") .replace(b"Content-Length: 0",
                                             b"Content-Length: 9")
                            + cl(b"body"), 0x01 | 0x04 | 0x10, (3, 77)),
    "chunked-1byte": seed(CHUNKED, 0, (20, 50)),
    "early-hints": seed(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                        + cl(b"after"), 0x10 | 2 << 5, (30,)),
    "action-none": seed(cl(b"x") + cl(b"y"), 0x01 | 0x08, (5,)),
    "after-last": seed(cl(b"x") + b"HTTP/1.1 200 OK\r\n", 0, ()),
    "unpaired-none": seed(cl(b"x") + cl(b"unasked"), 0x08, (40,)),
    "eof-in-head": seed(b"HTTP/1.1 200 OK\r\nContent-Len", 0x10, (8,)),
    "not-http": seed(b"SSH-2.0-OpenSSH_9.2\r\n", 0),
    "big-head": seed(b"HTTP/1.1 200 OK\r\nX: aa\r\nContent-Length: 0"
                     b"\r\n\r\n", 7 << 5, (), (20, 65535)),
    "close-delimited": seed(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", 0x10,
                            (25,)),
}


def main():
    out = os.path.join(HERE, "corpus", "tls")
    os.makedirs(out, exist_ok=True)
    src = os.path.join(HERE, "corpus", "response")
    for name in sorted(os.listdir(src)):
        shutil.copyfile(os.path.join(src, name),
                        os.path.join(out, "response-" + name))
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


main()
