#!/usr/bin/env python3
"""Writes a small starting corpus for fuzz_wire: well-formed requests for the core ioctls."""
import os
import struct
import sys

MAGIC = 0x4D524452


def ioc(direction, nr, size):
    return (direction << 30) | (size << 16) | (ord('d') << 8) | nr


def msg(selector, direction, nr, body, arrays=b""):
    size = len(body)
    cmd = ioc(direction, nr, size)
    payload = body + b"\0" * (-size % 8) + arrays
    hdr = struct.pack("<IHHIiII", MAGIC, 1, 0, cmd, 0, len(payload), 0)
    return bytes([selector]) + hdr + payload


RW, W, R = 3, 1, 2
seeds = {
    "version": msg(0, RW, 0x00, struct.pack("<iiiIQQQQQQQ", 0, 0, 0, 0, 8, 0x1000, 8, 0x2000, 8, 0x3000, 0)[:64]),
    "unique": msg(0, RW, 0x01, struct.pack("<QQ", 32, 0x1000)),
    "magic": msg(1, R, 0x02, struct.pack("<I", 0)),
    "client": msg(1, RW, 0x05, struct.pack("<iiIIQQ", 0, 0, 0, 0, 0, 0)),
    "set_version": msg(0x80, RW, 0x07, struct.pack("<iiii", 1, 4, -1, 0)),
    "gem_close": msg(2, W, 0x09, struct.pack("<II", 1, 0)),
    "gem_flink": msg(0, RW, 0x0A, struct.pack("<II", 1, 0)),
    "gem_open": msg(0x81, RW, 0x0B, struct.pack("<IIQ", 1, 0, 0)),
    "get_cap": msg(2, RW, 0x0C, struct.pack("<QQ", 0x6, 0)),
    "client_cap": msg(0, W, 0x0D, struct.pack("<QQ", 2, 1)),
    "auth": msg(0, W, 0x11, struct.pack("<I", 1)),
    "set_master": msg(1, 0, 0x1E, b""),
    "drop_master": msg(0x80, 0, 0x1F, b""),
    "atomic": msg(0, RW, 0xBC, struct.pack("<IIQQQQQQ", 0x400, 1, 0x1000, 0x2000, 0x3000, 0x4000, 0, 0),
                  struct.pack("<I", 31) + b"\0" * 4 + struct.pack("<I", 1) + b"\0" * 4),
}

# i915 layouts (selector bit 0x40): EXECBUFFER2_WR with one object and its relocation, and
# CONTEXT_CREATE_EXT with a SETPARAM node carrying an engine map.
exec_obj = struct.pack("<IIQQQQQQ", 1, 1, 0x2000, 0, 0, 0, 0, 0)
reloc = struct.pack("<IiQQII", 1, 0, 4, 0, 2, 0)
execbuf = struct.pack("<QIIIIIIQQQQ", 0x1000, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)
seeds["i915_execbuf"] = msg(0x40, RW, 0x69, execbuf, exec_obj + reloc)
ext_hdr = struct.pack("<QIIIIII", 0, 0, 0, 0, 0, 0, 0)
param = struct.pack("<IIQQ", 0, 12, 0xA, 0x3000)
engines = struct.pack("<QHH", 0, 0, 0) + b"\0" * 4
ctx_ext = struct.pack("<IIQ", 0, 1, 0x1000)
seeds["i915_ctx_ext"] = msg(0x40, RW, 0x6D, ctx_ext, ext_hdr + param + engines)

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
