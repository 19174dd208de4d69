#!/usr/bin/env python3
"""hostile_elf.py IN OUT INTERP_HEX: copies the x86-64 ELF program IN to
OUT with its PT_INTERP pointing at new bytes (given in hex, appended at
the end of the file), so --check prints them."""
import struct
import sys

src, dst, interp = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
data = bytearray(open(src, "rb").read())
phoff, = struct.unpack_from("<Q", data, 32)
phentsize, phnum = struct.unpack_from("<HH", data, 54)
off = len(data)
data += interp + b"\0"
for i in range(phnum):
    p = phoff + i * phentsize
    if struct.unpack_from("<I", data, p)[0] == 3:  # PT_INTERP
        struct.pack_into("<Q", data, p + 8, off)            # p_offset
        struct.pack_into("<Q", data, p + 32, len(interp) + 1)  # p_filesz
        break
else:
    sys.exit("no PT_INTERP in " + src)
open(dst, "wb").write(data)
