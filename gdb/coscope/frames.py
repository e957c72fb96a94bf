"""Which frames are the runtime's, and how to name a frame's location.

"Where a coroutine is" is its innermost frame that is not the runtime's:
the user's function that called sleep(), read(), ch >> v, ...
"""

import os
import re

import gdb

# Source files of the runtime and its hooks, in a build tree or installed.
_RUNTIME_SOURCE = re.compile(r"/(runtime/src|runtime/include/coscope|include/coscope|hooks)/")
# Boost.Context's assembly has no line info: known by name.
_RUNTIME_NAMES = re.compile(r"^(co::detail::|(jump|make|ontop)_fcontext$)")
# The C++ standard library's inline code (std::atomic::load, ...) is not
# where a task "is" either, when a frame of the program's own lies above.
_STANDARD_LIBRARY_NAMES = re.compile(r"^(std::|__gnu_cxx::)")
_STANDARD_LIBRARY_SOURCE = re.compile(r"/include/c\+\+/")
# A sanitizer's interceptor sits between the program and a hooked call
# (read -> __interceptor_read -> our read): part of the call, not a place.
_SANITIZER_NAMES = re.compile(r"^(__interceptor_|__asan_|__tsan_|__ubsan_|__sanitizer)")
_SANITIZER_LIBRARIES = ("libasan.", "libtsan.", "libubsan.")


def is_runtime_frame(frame):
    """The runtime's own frames, and a sanitizer's interceptors in front of them."""
    try:
        name = frame.name() or ""
        if _RUNTIME_NAMES.match(name) or _SANITIZER_NAMES.match(name):
            return True
        symtab = frame.find_sal().symtab
        if symtab is not None and _RUNTIME_SOURCE.search(symtab.filename):
            return True
        if symtab is not None and symtab.objfile is not None:
            library = os.path.basename(symtab.objfile.filename)
            return library.startswith("libcoscope.") or library.startswith(_SANITIZER_LIBRARIES)
        return False
    except gdb.error:
        return False


def is_standard_library_frame(frame):
    try:
        if _STANDARD_LIBRARY_NAMES.match(frame.name() or ""):
            return True
        symtab = frame.find_sal().symtab
        return symtab is not None and _STANDARD_LIBRARY_SOURCE.search(symtab.fullname()) is not None
    except gdb.error:
        return False


def describe_location(frame):
    """"function at file:line" (basename), or "function" / "0x..." without line info."""
    name = frame.name() or "0x%x" % frame.pc()
    sal = frame.find_sal()
    if sal.symtab is not None and sal.line:
        return "%s at %s:%d" % (name, os.path.basename(sal.symtab.filename), sal.line)
    return name


def first_outside_runtime(frame, max_depth=256):
    """The innermost frame at or above `frame` that is neither the runtime's
    nor the standard library's; failing that, the first that is not the
    runtime's; None if every frame is the runtime's."""
    fallback = None
    depth = 0
    while frame is not None and depth < max_depth:
        if not is_runtime_frame(frame):
            if not is_standard_library_frame(frame):
                return frame
            fallback = fallback or frame
        frame = frame.older()
        depth += 1
    return fallback
