"""The selected coroutine: the one whose stack `bt`, `frame`, `up`, `down`
and `info locals` show, on the thread that was current when it was chosen.

Nothing of the program is changed: the unwinder (unwinder.py) reads the
selected task's saved registers and presents its stack as the callers of
that thread's frame #0 (its innermost real frame, when code inlined into
that frame's function is where the thread stopped). Selecting only drops
gdb's frame cache.
"""

import contextlib

import gdb


class Selection:
    """What the unwinder needs, fixed when chosen."""

    def __init__(self, task_id, name, saved_address, saved, thread_num, claim_level):
        self.task_id = task_id
        self.name = name
        self.saved_address = saved_address  # address of Task::saved
        self.saved = saved  # Task::saved as read, {register name: value}: the program is stopped
        self.thread_num = thread_num  # gdb's global thread number
        # The level of the thread's innermost real (not inlined) frame: the
        # frame whose caller the unwinder replaces by the coroutine's stack.
        # 0, unless the thread stopped in code inlined into its function.
        self.claim_level = claim_level

    @property
    def innermost_level(self):
        """The level of the coroutine's innermost frame."""
        return self.claim_level + 1


_current = None
# The user's `backtrace past-main` while a coroutine is selected (else None).
_saved_past_main = None


def current():
    return _current


def _set(selection):
    global _current, _saved_past_main
    # gdb does not unwind past main(): with the thread stopped in main, the
    # coroutine's frames (the "callers" of frame #0) would be cut off. While a
    # coroutine is selected, unwinding past main is on; the user's setting
    # comes back on deselect.
    if selection is not None and _current is None:
        _saved_past_main = gdb.parameter("backtrace past-main")
        gdb.execute("set backtrace past-main on", to_string=True)
    elif selection is None and _current is not None and _saved_past_main is not None:
        gdb.execute("set backtrace past-main %s" % ("on" if _saved_past_main else "off"),
                    to_string=True)
        _saved_past_main = None
    _current = selection
    gdb.invalidate_cached_frames()


def select(task_view, thread):
    """Shows task_view's stack under `thread`'s innermost real frame from now on."""
    if _current is not None and _current.thread_num == thread.global_num:
        # The thread has not moved since (running again deselects).
        claim_level = _current.claim_level
    else:
        claim_level = _innermost_real_frame_level()
    _set(Selection(task_view.id, task_view.name, task_view.saved_address, task_view.saved, thread.global_num, claim_level))


def _innermost_real_frame_level():
    """The level of the selected thread's innermost frame that is not an
    inlined one, seen with no coroutine selected.

    gdb gives the code inlined at the thread's pc frames of their own
    (INLINE_FRAME) above the function's real frame; they share its registers
    and an unwinder is asked only about the real one. That frame's caller is
    what the coroutine's stack replaces."""
    _set(None)
    try:
        frame = gdb.newest_frame()
        level = 0
        while frame.type() == gdb.INLINE_FRAME:
            older = frame.older()
            if older is None:
                break
            frame = older
            level += 1
        return level
    except gdb.error:
        return 0


def deselect():
    _set(None)


def innermost_coroutine_frame():
    """The selected coroutine's innermost frame (#1, unless the thread's own
    frame #0 is inlined code: then the level after the thread's real frame),
    or None."""
    if _current is None:
        return None
    try:
        return _frame_at_level(_current.innermost_level, exact=True)
    except gdb.error:
        return None


def _frame_level(frame):
    level = 0
    while frame is not None and frame.newer() is not None:
        frame = frame.newer()
        level += 1
    return level


def _frame_at_level(level, exact=False):
    """The frame at `level`, or the outermost one if the stack is shorter
    (None then, if `exact`)."""
    frame = gdb.newest_frame()
    for _ in range(level):
        older = frame.older()
        if older is None:
            return None if exact else frame
        frame = older
    return frame


# Bumped whenever the program runs or exits: a view saved before is stale.
_generation = 0
# How many preserved_view() blocks are open: only the outermost one restores.
_preserving = 0


def generation():
    """Changes whenever the program runs or exits."""
    return _generation


@contextlib.contextmanager
def preserved_view():
    """Restores the thread, the coroutine selection and the selected frame level on exit,
    unless the program ran meanwhile (then the old view means nothing any more).

    Blocks nest: an inner block restores nothing, so a command that looks at
    many coroutines saves and restores the user's view once, not per coroutine."""
    global _preserving
    if _preserving:
        _preserving += 1
        try:
            yield
        finally:
            _preserving -= 1
        return
    generation = _generation
    saved_selection = _current
    thread = gdb.selected_thread()
    try:
        level = _frame_level(gdb.selected_frame())
    except gdb.error:
        level = None
    _preserving = 1
    try:
        yield
    finally:
        _preserving = 0
        if generation == _generation:
            _restore(thread, saved_selection, level)


def _restore(thread, saved_selection, level):
    if thread is not None and thread.is_valid() and gdb.selected_thread() != thread:
        thread.switch()
    if saved_selection is not _current:
        _set(saved_selection)
    else:
        gdb.invalidate_cached_frames()
    if level is not None:
        try:
            _frame_at_level(level).select()
        except gdb.error:
            pass


def _forget(event):
    # The program ran or went away: the saved registers are no longer the stack's.
    global _generation
    _generation += 1
    if _current is not None:
        deselect()


def register():
    gdb.events.cont.connect(_forget)
    gdb.events.exited.connect(_forget)
