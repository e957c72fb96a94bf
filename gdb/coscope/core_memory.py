"""A core file cut short: which memory it lost.

A core file whose writing stopped early (RLIMIT_CORE, a full disk) still
opens: its headers list every memory segment, but the contents of the last
ones are past the end of the file. gdb then reads such memory from the
program's and libraries' files where it can (their initial contents, not
what the program held) and fails elsewhere; it may not even find the
shared libraries, whose list is in the lost part. The toolkit must not
present what it reads there as the program's state: it says which memory
is missing and what that means instead.

The segments come from the core file's ELF program headers
(core_segments.py); gdb only names the file. (gdb's `maint info sections`
lists the segments too, but takes seconds over the 20,000 of a program with
10,000 coroutine stacks.)
"""

import os
import re

import gdb

from .core_segments import find_truncation

# `maint info sections` with a section name nothing has: only the files' headers.
_HEADERS_ONLY = "maint info sections coscope-no-such-section"
_CORE_HEADER = re.compile(r"^Core file: `(.*)', file type")


def _core_path():
    """The core file gdb reads, or None."""
    for line in gdb.execute(_HEADERS_ONLY, to_string=True).splitlines():
        header = _CORE_HEADER.match(line)
        if header is not None:
            return header.group(1)
    return None


def _read_truncation():
    connection = gdb.selected_inferior().connection
    if connection is None or connection.type != "core":
        return None
    path = _core_path()
    if path is None or not os.path.exists(path):
        return None
    return find_truncation(path)


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
