"""What a core file's ELF headers say of its memory: the segments it
holds, and which of them a file cut short (RLIMIT_CORE, a full disk) lost.
Read from the file itself; nothing here imports gdb (core_memory.py asks
gdb which file it reads, tests/gdb_unit checks this on headers made by
hand).

A segment (PT_LOAD with contents in the file) whose file offset plus size
is past the end of the file is missing, wholly or in part.
"""

import os
import struct

PT_LOAD = 1
PN_XNUM = 0xFFFF  # e_phnum when the count is in section header 0's sh_info


class Truncation:
    """What a truncated core file lacks."""

    def __init__(self, path, file_size, expected_size, missing):
        self.path = path
        self.file_size = file_size
        self.expected_size = expected_size
        self.missing = missing  # [(start, end)] of memory whose contents are not in the file

    def summary(self):
        first = self.missing[0][0]
        return ("the core file is truncated: it has %d of the %d bytes its headers describe, so the memory "
                "of %d segment%s (from 0x%x up) is not in it"
                % (self.file_size, self.expected_size, len(self.missing), "" if len(self.missing) == 1 else "s", first))

    def lacks(self, address, size=1):
        """True when [address, address + size) overlaps memory missing from the core."""
        return any(start < address + size and address < end for start, end in self.missing)


def load_segments(core):
    """[(vaddr, file offset, file size)] of the PT_LOAD segments with contents
    in the file, from an ELF64 little-endian core file open for reading; the
    headers themselves may be cut short (then the ones that are there)."""
    header = core.read(64)
    if len(header) < 64 or header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
        return []
    phoff, shoff = struct.unpack_from("<QQ", header, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
    if phnum == PN_XNUM:
        core.seek(shoff + 0x2C)
        sh_info = core.read(4)
        phnum = struct.unpack("<I", sh_info)[0] if len(sh_info) == 4 else 0
    core.seek(phoff)
    table = core.read(phentsize * phnum)
    segments = []
    for index in range(len(table) // phentsize):
        p_type, _, offset, vaddr, _, filesz = struct.unpack_from("<IIQQQQ", table, index * phentsize)
        if p_type == PT_LOAD and filesz > 0:
            segments.append((vaddr, offset, filesz))
    return segments


def find_truncation(path):
    """The Truncation of the core file at `path`, or None when it is whole."""
    file_size = os.path.getsize(path)
    with open(path, "rb") as core:
        segments = load_segments(core)
    expected = 0
    missing = []
    for vaddr, offset, size in segments:
        expected = max(expected, offset + size)
        if offset + size > file_size:
            missing.append((vaddr + max(0, file_size - offset), vaddr + size))
    if not missing:
        return None
    return Truncation(path, file_size, expected, sorted(missing))
