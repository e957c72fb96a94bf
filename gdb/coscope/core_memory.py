"""A core file cut short: which memory it lost.

A core file whose writing stopped early (RLIMIT_CORE, a full disk) still
opens: its headers list every memory segment, but the contents of the last
ones are past the end of the file. gdb then reads such memory from the
program's and libraries' files where it can (their initial contents, not
what the program held) and fails elsewhere; it may not even find the
shared libraries, whose list is in the lost part. The toolkit must not
present what it reads there as the program's state: it says which memory
is missing and what that means instead.

The segments come from gdb's `maint info sections` (the core file's own
part): a `loadN` section with contents whose file offset plus size is past
the end of the file is missing, wholly or in part.
"""

import os
import re

import gdb

_CORE_HEADER = re.compile(r"^Core file: `(.*)', file type")
_SECTION = re.compile(r"^\s*\[\d+\]\s+0x([0-9a-f]+)->0x([0-9a-f]+) at 0x([0-9a-f]+): (load\S*) (.*)$")


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


def _core_sections():
    """(path, [(vma, end, offset, flags)]) of the core file, from `maint info sections`."""
    path = None
    sections = []
    for line in gdb.execute("maint info sections", to_string=True).splitlines():
        header = _CORE_HEADER.match(line)
        if header is not None:
            path = header.group(1)
            continue
        if path is None:
            continue
        match = _SECTION.match(line)
        if match is not None:
            vma, end, offset = (int(match.group(i), 16) for i in (1, 2, 3))
            sections.append((vma, end, offset, match.group(5)))
    return path, sections


def _read_truncation():
    connection = gdb.selected_inferior().connection
    if connection is None or connection.type != "core":
        return None
    path, sections = _core_sections()
    if path is None or not os.path.exists(path):
        return None
    file_size = os.path.getsize(path)
    expected = 0
    missing = []
    for vma, end, offset, flags in sections:
        if "HAS_CONTENTS" not in flags:
            continue
        expected = max(expected, offset + (end - vma))
        if offset + (end - vma) > file_size:
            missing.append((vma + max(0, file_size - offset), end))
    if not missing:
        return None
    return Truncation(path, file_size, expected, sorted(missing))


_cache_key = None
_cache = None


def truncation():
    """The Truncation of the core file being read, or None (a complete core, a live process)."""
    global _cache_key, _cache
    inferior = gdb.selected_inferior()
    connection = inferior.connection
    key = (inferior.num, inferior.pid, connection.num if connection is not None else None)
    if key != _cache_key:
        try:
            _cache = _read_truncation()
        except (gdb.error, OSError):
            _cache = None
        _cache_key = key
    return _cache
