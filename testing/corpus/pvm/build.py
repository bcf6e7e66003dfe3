#!/usr/bin/env python3
"""Writes the malformed PVM standard programs of this folder (GP 0.7.2
eq. A.38: E_3(|o|) ‖ E_3(|w|) ‖ E_2(z) ‖ E_3(s) ‖ o ‖ w ‖ E_4(|c|) ‖ c,
with the blob c = E(|j|) ‖ E_1(z) ‖ E(|c|) ‖ E_z(j) ‖ code ‖ bitmask),
each from the valid program `../genesis/files/trap.pvm` (Braid's faulty.c:
writes one key, then traps) or from scratch. Run from this folder:
`python3 build.py`. The notes are in cases.toml."""

import struct

BASE = open("../genesis/files/trap.pvm", "rb").read()


def split(program):
    ro = int.from_bytes(program[0:3], "little")
    rw = int.from_bytes(program[3:6], "little")
    at = 11 + ro + rw
    blob_len = int.from_bytes(program[at:at + 4], "little")
    return program[:at], program[at + 4:at + 4 + blob_len]


HEADER, BLOB = split(BASE)
# The blob of trap.pvm: no jump table (0, entry size 0), 26 code bytes, 4 bitmask bytes.
assert BLOB[0] == 0 and BLOB[1] == 0 and BLOB[2] == 26 and len(BLOB) == 33
CODE, MASK = BLOB[3:29], BLOB[29:33]


def program(blob, header=HEADER):
    return header + struct.pack("<I", len(blob)) + blob


def blob(code=CODE, mask=MASK, table=(), entry_size=None, code_len=None):
    if entry_size is None:
        entry_size = 4 if table else 0
    out = natural(len(table)) + bytes([entry_size]) + natural(len(code) if code_len is None else code_len)
    for entry in table:
        out += entry.to_bytes(entry_size, "little")
    return out + code + mask


def natural(x):
    """GP eq. C.6, for x < 2^14 (enough here)."""
    if x < 0x80:
        return bytes([x])
    assert x < 1 << 14
    return bytes([0x80 | (x >> 8), x & 0xFF])


CASES = {
    "empty.pvm": b"",
    "header-cut.pvm": BASE[:5],
    "ro-data-past-end.pvm": b"\xff\xff\xff" + BASE[3:],
    "rw-data-past-end.pvm": BASE[:3] + b"\x00\x00\x10" + BASE[6:],
    "stack-size-cut.pvm": BASE[:9],
    "blob-length-past-end.pvm": HEADER + b"\xff\xff\xff\xff" + BLOB,
    "blob-length-cut.pvm": HEADER + b"\x21\x00",
    "trailing-byte.pvm": BASE + b"\x00",
    "blob-trailing-byte.pvm": program(BLOB + b"\x00"),
    "blob-empty.pvm": program(b""),
    "jump-table-entry-size-5.pvm": program(blob(table=[0], entry_size=5)),
    "jump-table-entry-size-0.pvm": program(blob(table=[0], entry_size=0)[:1] + b"\x00" + blob()[2:]),
    "jump-table-cut.pvm": program(natural(100) + b"\x04" + natural(len(CODE)) + b"\x00" * 8),
    "jump-table-outside-code.pvm": program(blob(table=[0, 1000])),
    "code-length-above-u32.pvm": program(b"\x00\x00" + b"\xff" + b"\x00\x00\x00\x00\x01\x00\x00\x00"),
    "code-length-past-end.pvm": program(blob(code_len=200)),
    "bitmask-cut.pvm": program(blob(mask=MASK[:2])),
    "code-empty.pvm": program(blob(code=b"", mask=b"")),
    "entry-not-an-instruction.pvm": program(blob(code=b"\xee" + CODE[1:])),
    "raw-blob-not-standard.pvm": BLOB,
    "wasm-module.pvm": open("../genesis/files/ok.wasm", "rb").read(),
    "elf-header.pvm": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56,
    "polkavm-container.pvm": b"PVM\x00\x01" + b"\x00" * 27,
    "all-ones.pvm": b"\xff" * 64,
}

for name, data in CASES.items():
    with open(name, "wb") as f:
        f.write(data)
