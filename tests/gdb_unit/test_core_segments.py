"""A core file's segments and what a cut lost (core_segments.py), on ELF
headers made here, without gdb."""

import os
import struct
import tempfile
import unittest

import toolkit_path
from coscope.core_segments import PT_LOAD, find_truncation, load_segments

PT_NOTE = 4
PHENTSIZE = 56


def elf_core(segments, phnum_in_section_header=False):
    """The bytes of an ELF64 core: the header, the program headers, then each
    segment's contents. segments: [(p_type, vaddr, size in the file)]."""
    phoff = 64
    data_offset = phoff + PHENTSIZE * len(segments)
    headers = b""
    contents = b""
    for p_type, vaddr, size in segments:
        headers += struct.pack("<IIQQQQQQ", p_type, 6, data_offset + len(contents), vaddr, 0, size, size, 1)
        contents += bytes([0xAB]) * size
    shoff = 0
    phnum = len(segments)
    tail = b""
    if phnum_in_section_header:
        # More than 65534 segments: e_phnum says PN_XNUM, section header 0's sh_info the count.
        shoff = data_offset + len(contents)
        phnum = 0xFFFF
        tail = struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, len(segments), 0, 0)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header = ident + struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, phoff, shoff, 0, 64, PHENTSIZE, phnum, 64, 1, 0)
    return header + headers + contents + tail


class CoreSegmentsTest(unittest.TestCase):
    SEGMENTS = [(PT_NOTE, 0, 100), (PT_LOAD, 0x1000, 0x40), (PT_LOAD, 0x7000, 0), (PT_LOAD, 0x9000, 0x80)]

    def write(self, data):
        handle, path = tempfile.mkstemp(prefix="core_segments.")
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        self.addCleanup(os.remove, path)
        return path

    def test_load_segments_with_contents(self):
        data = elf_core(self.SEGMENTS)
        with open(self.write(data), "rb") as core:
            segments = load_segments(core)
        # The note and the segment without contents in the file are left out.
        self.assertEqual([(vaddr, size) for vaddr, _, size in segments], [(0x1000, 0x40), (0x9000, 0x80)])

    def test_count_in_section_header_zero(self):
        with open(self.write(elf_core(self.SEGMENTS, phnum_in_section_header=True)), "rb") as core:
            self.assertEqual(len(load_segments(core)), 2)

    def test_a_whole_core_lacks_nothing(self):
        self.assertIsNone(find_truncation(self.write(elf_core(self.SEGMENTS))))

    def test_a_cut_core_names_what_it_lost(self):
        data = elf_core(self.SEGMENTS)
        cut = len(data) - 0x80 + 0x10  # 0x10 bytes of the last segment are left
        truncation = find_truncation(self.write(data[:cut]))
        self.assertEqual(truncation.missing, [(0x9010, 0x9080)])
        self.assertEqual(truncation.expected_size, len(data))
        self.assertTrue(truncation.lacks(0x9000, 0x20))
        self.assertFalse(truncation.lacks(0x9000, 0x10))
        self.assertFalse(truncation.lacks(0x1000, 0x40))
        self.assertEqual(truncation.summary(), "the core file is truncated: it has %d of the %d bytes its headers "
                         "describe, so the memory of 1 segment (from 0x9010 up) is not in it" % (cut, len(data)))

    def test_cut_inside_the_program_headers(self):
        # Only the first two program headers are whole: what they say is all there is.
        data = elf_core(self.SEGMENTS)
        truncation = find_truncation(self.write(data[:64 + 2 * PHENTSIZE + 10]))
        self.assertEqual(truncation.missing, [(0x1000, 0x1040)])

    def test_not_an_elf_file(self):
        with open(self.write(b"not a core file at all" * 4), "rb") as core:
            self.assertEqual(load_segments(core), [])

    def test_without_gdb(self):
        toolkit_path.assert_no_gdb(self)


if __name__ == "__main__":
    unittest.main()
