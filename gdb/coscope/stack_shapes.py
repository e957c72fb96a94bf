"""Stack shapes: the frames of tasks parked the same way, unwound once.

Unwinding one suspended task through gdb costs about a quarter of a
millisecond (its frame #0 made again, then each caller), which a list of
10,000 tasks feels. Yet tasks parked by the same code at the same place
have stacks of one shape: from the saved pc and stack pointer, the same
return addresses at the same offsets (each frame's size is fixed by its
code). So:

  - the first task parked at a saved pc is unwound by gdb, and the shape of
    its stack recorded: for each real frame after the first, its pc (the
    return address into it) and where that return address lies, as an
    offset from the saved stack pointer; with what the list says of those
    frames (where the task is, its frames outside the runtime);
  - a later task parked at the same pc takes a recorded shape only if its
    stack, read in one piece, holds every one of those return addresses at
    the same offsets. Otherwise (a frame of another size: a variable-length
    array, alloca, another caller) gdb unwinds it, and its shape is
    recorded next to the first.

The frames' texts depend only on their pcs (frames.facts caches them so
already); the shapes, like those texts, are dropped when code is loaded.
"""

import gdb

# Saved pc -> [Shape]: tasks parked at one pc by different callers have several.
_shapes = {}
# How many shapes one pc may have before more are not recorded (a task whose
# stack matches none is unwound by gdb all the same).
MAX_SHAPES_PER_PC = 16


class Shape:
    """The return addresses a stack must hold, and what is said of its frames."""

    __slots__ = ("checks", "span", "location", "own_frames")

    def __init__(self, checks, location, own_frames):
        self.checks = checks  # [(offset from the saved sp, return address)]
        self.span = max((offset + 8 for offset, _ in checks), default=0)
        self.location = location  # the "Where" text (stacks._location)
        self.own_frames = own_frames  # stacks.own_frames' texts

    def fits(self, stack):
        """True when `stack` (bytes from the saved sp on) holds each return address."""
        for offset, address in self.checks:
            if int.from_bytes(stack[offset:offset + 8], "little") != address:
                return False
        return True


def _forget(event=None):
    _shapes.clear()


def register():
    # Code loaded or replaced: the same pc may be other code.
    gdb.events.new_objfile.connect(_forget)
    gdb.events.clear_objfiles.connect(_forget)


def checks_of(innermost, saved_sp):
    """The (offset, return address) of each real caller above `innermost` (the
    coroutine's innermost frame, whose sp is saved_sp), as gdb unwound them;
    None for a stack with frames of another kind (a signal frame, ...) or one
    gdb could not unwind to the coroutine's entry.

    After a real frame (NORMAL_FRAME) come the tail calls gdb works out from
    the debug info (TAILCALL_FRAME, no stack of their own), then the caller:
    its inlined frames (INLINE_FRAME) and its real frame, all at the return
    address, which was pushed right under the caller's sp."""
    checks = []
    frame = innermost
    after_real_frame = False
    while frame is not None:
        kind = frame.type()
        if kind not in (gdb.NORMAL_FRAME, gdb.INLINE_FRAME, gdb.TAILCALL_FRAME):
            return None
        if after_real_frame and kind != gdb.TAILCALL_FRAME:
            checks.append((int(frame.read_register("rsp")) - saved_sp - 8, frame.pc()))
            after_real_frame = False
        if kind == gdb.NORMAL_FRAME:
            after_real_frame = True
        if frame.name() == "co::detail::task_main":  # frames.COROUTINE_ENTRY: the stack ends here
            return checks
        frame = frame.older()
    return None  # gdb stopped short of the entry: nothing known past that


def record(task_view, innermost, location, own_frames):
    """Records the shape of task_view's stack, unwound by gdb from `innermost`."""
    shapes = _shapes.setdefault(task_view.saved["pc"], [])
    if len(shapes) >= MAX_SHAPES_PER_PC:
        return
    try:
        checks = checks_of(innermost, task_view.saved["sp"])
    except gdb.error:
        return  # a stack gdb unwound only part of: no shape to share
    if checks is not None and all(0 <= offset for offset, _ in checks):
        shapes.append(Shape(checks, location, own_frames))


def find(task_view):
    """A recorded Shape that task_view's stack fits, or None."""
    shapes = _shapes.get(task_view.saved["pc"])
    if not shapes:
        return None
    sp = task_view.saved["sp"]
    span = max(shape.span for shape in shapes)
    if not (task_view.stack_holds(sp) and task_view.stack_holds(sp + span - 1)):
        return None
    try:
        stack = bytes(gdb.selected_inferior().read_memory(sp, span))
    except (gdb.error, gdb.MemoryError):
        return None  # gdb's own unwinding says what it can
    for shape in shapes:
        if shape.fits(stack):
            return shape
    return None
