#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus/{check,settings}/ for
fuzz_check.c and fuzz_settings.c, in their input layouts (see each file's
header comment).  Rerun after changing it; the files it writes are
committed."""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
GLIBC = b"/lib64/ld-linux-x86-64.so.2"
GO_MAGIC = b"\xff Go buildinf:"


def elf(interp=GLIBC, go_magic=False, go_section=False, etype=3,
        machine=62):
    """A small x86-64 ELF program: PT_INTERP (unless None), one PT_LOAD
    over the whole file, optionally Go's magic in it, optionally a
    section table naming .go.buildinfo."""
    phnum = 2 if interp is not None else 1
    body = bytearray(64 + 56 * phnum)
    data = bytearray()
    interp_off = len(body)
    if interp is not None:
        data += interp + b"\0"
    while (len(body) + len(data)) % 16:
        data += b"\0"
    if go_magic:
        data += GO_MAGIC + b"\0" * 17
    shoff = shnum = shstrndx = 0
    if go_section:
        names = b"\0.shstrtab\0.go.buildinfo\0"
        names_off = len(body) + len(data)
        data += names
        while (len(body) + len(data)) % 8:
            data += b"\0"
        shoff = len(body) + len(data)
        sh = bytes(64)
        sh += struct.pack("<IIQQQQIIQQ", 1, 3, 0, 0, names_off, len(names),
                          0, 0, 1, 0)
        sh += struct.pack("<IIQQQQIIQQ", 11, 1, 2, 0, 0, 32, 0, 0, 16, 0)
        data += sh
        shnum, shstrndx = 3, 1
    out = body + data
    struct.pack_into("<4sBBBB8xHHIQQQIHHHHHH", out, 0, b"\x7fELF", 2, 1, 1,
                     0, etype, machine, 1, 0x1000, 64, shoff, 0, 64, 56,
                     phnum, 64, shnum, shstrndx)
    ph = 64
    if interp is not None:
        struct.pack_into("<IIQQQQQQ", out, ph, 3, 4, interp_off, interp_off,
                         interp_off, len(interp) + 1, len(interp) + 1, 1)
        ph += 56
    struct.pack_into("<IIQQQQQQ", out, ph, 1, 5, 0, 0, 0, len(out),
                     len(out), 0x1000)
    return bytes(out)


def files(*contents, fifo=False):
    """fuzz_check's layout: byte 0, then each file but the last with its
    2-byte length."""
    out = bytes([(len(contents) - 1) | (4 if fifo else 0)])
    for c in contents[:-1]:
        out += struct.pack("<H", len(c)) + c
    return out + contents[-1]


CHECK = {
    "elf-glibc": files(elf()),
    "elf-static": files(elf(interp=None)),
    "elf-musl": files(elf(interp=b"/lib/ld-musl-x86_64.so.1")),
    "elf-aarch64": files(elf(machine=183)),
    "elf-object": files(elf(etype=1)),
    "elf-go-magic": files(elf(go_magic=True)),
    "elf-go-section": files(elf(go_section=True)),
    "elf-hostile-interp": files(elf(
        interp=b"/lib/ld-musl\n/f0: yes - forged\x1b]0;t\x07\r\x1b[2K")),
    "script": files(b"#!/f1 -e\n", elf()),
    "script-env": files(b"#!/usr/bin/env f1\n", elf()),
    "script-env-S": files(b"#!/usr/bin/env -S -u X f1 -x\r\n", elf()),
    "script-env-missing": files(b"#!/usr/bin/env nope\x1b[31m\n", elf()),
    "script-nested": files(b"#!/f1\n", b"#! /f2 a\n", elf()),
    "script-loop": files(b"#!/f1\n", b"#!/f0\n"),
    "script-fifo": files(b"#!/f3\n", b"", b"", b"", fifo=True),
    "script-missing": files(b"#!/nowhere\x1b]0;t\x07\r x\n"),
    "text": files(b"just text\n"),
}

# fuzz_settings: byte 0 says which of the 8 values are set, then the
# values (DISABLE ACTION ONLY EXCEPT INHERIT LOG VERBOSE STATS) joined
# by NUL bytes


def settings(*values):
    mask = sum(1 << i for i, v in enumerate(values) if v is not None)
    return bytes([mask]) + b"\0".join(v or b"" for v in values)


SETTINGS = {
    "disabled": settings(b"1", b"bogus"),
    "defaults": settings(),
    "all-good": settings(b"0", b"close", b"10.0.0.0/8:8080, *.api.internal",
                         b"[::1]:9000,unix:/run/docker.sock,unix:@abs",
                         b"0", b"/var/log/fc.log", b"3", b"/var/tmp/s.json"),
    "syslog": settings(None, b"none", None, None, None, b"syslog", b"1"),
    "bad-action": settings(None, b"closed"),
    "bad-cidr": settings(None, None, b"10.0.0.0/33"),
    "bad-port": settings(None, None, None, b"[::1]:0"),
    "empty-entry": settings(None, None, b"a,,b"),
    "relative-log": settings(None, None, None, None, None, b"fc.log"),
    "relative-stats": settings(None, None, None, None, None, None, None,
                               b"s.json"),
    "bad-verbose": settings(None, None, None, None, None, None, b"4"),
    "control-bytes": settings(None, b"\x1b[2J\r\nclose\x7f\xff"),
    "many-entries": settings(None, None, b",".join([b"10.0.0.%d" % i
                                                   for i in range(65)])),
}


def write(name, seeds):
    d = os.path.join(HERE, "corpus", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for k, v in seeds.items():
        with open(os.path.join(d, k), "wb") as f:
            f.write(v)


write("check", CHECK)
write("settings", SETTINGS)
