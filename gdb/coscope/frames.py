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
    """The runtime's own frames, and a sanitizer's interceptors in front of them.

    A frame with line info is judged by its source file: the program's code
    inlined into a runtime function (a task's lambda inside
    ClosureFor::invoke, at -O2) is the program's, whatever the function's
    name. Only frames without line info (Boost.Context's assembly) are
    judged by name."""
    try:
        name = frame.name() or ""
        if _SANITIZER_NAMES.match(name):
            return True
        symtab = frame.find_sal().symtab
        if symtab is None:
            return _RUNTIME_NAMES.match(name) is not None
        if _RUNTIME_SOURCE.search(symtab.filename):
            return True
        library = os.path.basename(symtab.objfile.filename) if symtab.objfile is not None else ""
        return library.startswith("libcoscope.") or library.startswith(_SANITIZER_LIBRARIES)
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


# Every coroutine's stack starts with this function of the runtime: it calls
# the task's callable (runtime/src/spawn.cpp). Below it there is only the
# first switch into the task (task_trampoline, marked as the outermost frame
# in runtime/src/context.cpp): a backtrace of a coroutine ends here.
COROUTINE_ENTRY = "co::detail::task_main"


def is_coroutine_entry(frame):
    try:
        return frame.name() == COROUTINE_ENTRY
    except gdb.error:
        return False


class FrameFacts:
    """What the toolkit needs to know of a frame, worked out once per code location."""

    __slots__ = ("is_runtime", "is_standard_library", "is_entry", "location")

    def __init__(self, frame):
        self.is_runtime = is_runtime_frame(frame)
        self.is_standard_library = not self.is_runtime and is_standard_library_frame(frame)
        self.is_entry = is_coroutine_entry(frame)
        try:
            self.location = describe_location(frame)
        except gdb.error:
            self.location = "0x%x" % frame.pc()


# (pc, position among consecutive frames at that pc, innermost?) -> FrameFacts.
# Consecutive frames share a pc where functions were inlined into each other;
# at a given pc they always come in the same order, so the position says which
# one a frame is. The innermost frame's pc is looked up as is, the others' as
# a return address: a frame's flag keeps the two apart.
_facts_by_location = {}


def _forget_facts(event=None):
    _facts_by_location.clear()


def _position_at_pc(frame, pc):
    """How many frames newer than `frame`, in a row, share its pc."""
    position = 0
    newer = frame.newer()
    while newer is not None and newer.pc() == pc:
        position += 1
        newer = newer.newer()
    return position


def facts(frame, pc=None, position=None):
    """The FrameFacts of a frame (cached per code location). pc and position
    (see _position_at_pc), when the caller knows them already."""
    if pc is None:
        pc = frame.pc()
    if position is None:
        position = _position_at_pc(frame, pc)
    key = (pc, position, position == 0 and frame.level() == 0)
    found = _facts_by_location.get(key)
    if found is None:
        found = _facts_by_location[key] = FrameFacts(frame)
    return found


def walk(frame, max_depth=256):
    """Yields (frame, FrameFacts) from `frame` outward, the coroutine entry last
    when the stack is a coroutine's; at most max_depth frames."""
    depth = 0
    previous_pc = position = None
    while frame is not None and depth < max_depth:
        pc = frame.pc()
        if previous_pc is None:
            position = _position_at_pc(frame, pc)
        else:  # past the first frame, the position follows from the frames walked
            position = position + 1 if pc == previous_pc else 0
        found = facts(frame, pc, position)
        yield frame, found
        if found.is_entry:
            return
        previous_pc = pc
        frame = frame.older()
        depth += 1


def first_outside_runtime(frame, max_depth=256):
    """(frame, FrameFacts) of the innermost frame at or above `frame` that is
    neither the runtime's nor the standard library's; failing that, of the
    first that is not the runtime's; None if every frame is the runtime's."""
    fallback = None
    for candidate, facts in walk(frame, max_depth):
        if not facts.is_runtime:
            if not facts.is_standard_library:
                return candidate, facts
            fallback = fallback or (candidate, facts)
    return fallback


def register():
    # Code locations change meaning when other code is loaded or the program is replaced.
    gdb.events.new_objfile.connect(_forget_facts)
    gdb.events.clear_objfiles.connect(_forget_facts)


# The runtime's call of a task's callable (runtime/include/coscope/spawn.h).
_CLOSURE_CALL = "co::detail::ClosureFor"


def outermost_runtime_frame(frame, max_depth=256):
    """(frame, FrameFacts) of the outermost frame at or above `frame`, below the
    coroutine entry, that is the runtime's own code and not the call of the
    task's callable; None if there is none.

    When a stack holds no frame of the program's, this is where the program
    called into the runtime: the program's frames were replaced by tail calls
    (`void nap() { co::co_sleep(1000); }` at -O2 jumps to co_sleep)."""
    found = None
    for candidate, facts in walk(frame, max_depth):
        if facts.is_entry:
            break
        if (candidate.name() or "").startswith(_CLOSURE_CALL):
            continue
        found = (candidate, facts)
    return found
