"""Where a task is now, and the frames of its stack.

A suspended task's stack is unwound through the coroutine unwinder, on the
current thread; a running task's is its thread's stack, found by the
thread's kernel id. What the user has selected is restored afterwards: a
command looking at many tasks wraps them all in one many_stacks(), so that
the view is saved and restored once.
"""

import contextlib

import gdb

from . import frames, selection, stack_shapes, switches
from .inferior import short_error

# gdb caches the stack memory it reads to unwind, in lines of `dcache
# line-size` bytes (64 by default). Unwinding thousands of stacks, whole
# pages per read are much faster: on a core file every read searches the
# file's sections (one per mapping, two per task stack), and a live process
# is read one system call per line.
MANY_STACKS_CACHE_LINE = 4096


def thread_by_lwp(lwp):
    for thread in gdb.selected_inferior().threads():
        if thread.ptid[1] == lwp:
            return thread
    return None


class NoStack(Exception):
    """A task whose stack cannot be shown; str() says why, in a few words."""


def show_stack(task_view, switch=None):
    """Makes gdb's frames those of task_view's stack and returns its innermost
    frame: the running thread's frame #0, or the coroutine's innermost frame
    (after the thread's own). Raises NoStack. The caller restores the view.

    switch: switches.switch_of(task_view), if the caller has it already."""
    if switch is None:
        switch = switches.switch_of(task_view)
    if switch is not None:
        return _show_switching(task_view, switch)
    if task_view.running:
        thread = thread_by_lwp(task_view.thread_id)
        if thread is None:
            raise NoStack("running on LWP %d" % task_view.thread_id)
        selection.deselect()
        thread.switch()
        return gdb.newest_frame()
    if task_view.state == "done":
        raise NoStack("finished")
    if not task_view.suspended:
        raise NoStack("not started" if not task_view.has_context else "no saved registers")
    return _show_saved(task_view)


def _show_saved(task_view):
    thread = gdb.selected_thread()
    if thread is None:
        raise NoStack("no thread to show it on")
    selection.select(task_view, thread)
    frame = selection.innermost_coroutine_frame()
    if frame is None:
        raise NoStack("its stack cannot be unwound")
    return frame


def _show_switching(task_view, switch):
    """A task caught in a switch: the stack of the thread doing the switch if
    that stack is the task's and can be unwound, else its saved registers if
    they are saved; else there is nothing true to show."""
    if switch.on_task_stack and switch.position.unwindable:
        selection.deselect()
        switch.position.thread.switch()
        return gdb.newest_frame()
    if task_view.saved["pc"] != 0:
        return _show_saved(task_view)
    raise NoStack("%s; its registers are not saved yet and %s has no unwind information"
                  % (switch.text(), switch.position.switch_function))


@contextlib.contextmanager
def many_stacks():
    """For a command that unwinds many tasks' stacks: the user's view is saved
    and restored once, and gdb's stack cache reads page-sized lines meanwhile
    (only a cache: what is read does not change)."""
    line_size = gdb.parameter("dcache line-size")
    changed = line_size is not None and line_size < MANY_STACKS_CACHE_LINE
    if changed:
        gdb.execute("set dcache line-size %d" % MANY_STACKS_CACHE_LINE, to_string=True)
    try:
        with selection.preserved_view():
            yield
    finally:
        if changed:
            gdb.execute("set dcache line-size %d" % line_size, to_string=True)


def where(task_view):
    """A short text for the list: "fn at file:line", "running on thread N: ...", ..."""
    try:
        with selection.preserved_view():
            return _where(task_view)
    except NoStack as e:
        return str(e)
    except gdb.error as e:
        return "<coscope: cannot unwind: %s>" % short_error(e)


def _where(task_view):
    switch = switches.switch_of(task_view)
    if switch is None and task_view.suspended:
        return _suspended_texts(task_view)[0]
    innermost = show_stack(task_view, switch)
    location = _location(innermost)
    if switch is not None:
        # Said, so that nobody takes it for a task at rest or running.
        return switch.text() + ": " + location
    if task_view.running:
        return "running on thread %d: %s" % (gdb.selected_thread().num, location)
    return location


def _suspended_texts(task_view):
    """(where it is, its own frames) of a suspended task not caught in a
    switch: from the recorded shape its stack fits, or unwound by gdb (and
    its shape recorded). Raises NoStack or gdb.error."""
    shape = stack_shapes.find(task_view)
    if shape is not None:
        return shape.location, shape.own_frames
    innermost = _show_saved(task_view)
    location, own = _location(innermost), _own_frames_from(innermost)
    stack_shapes.record(task_view, innermost, location, own)
    return location, own


# Said of a stack without a frame of the program's: a tail call left none.
NO_PROGRAM_FRAME = " (no frame of the program's: tail calls)"


def _location(innermost):
    """The first frame outside the runtime, or where the program entered it."""
    found = frames.first_outside_runtime(innermost)
    if found is not None:
        return found[1].location
    entered = frames.outermost_runtime_frame(innermost)
    if entered is not None:
        return entered[1].location + NO_PROGRAM_FRAME
    return "in the runtime"


def own_frames(task_view):
    """The task's frames outside the runtime, innermost first, as "fn at
    file:line" texts: from where it is (see `where`) to the coroutine entry,
    which is left out. Raises NoStack or gdb.error."""
    with selection.preserved_view():
        if task_view.suspended and switches.switch_of(task_view) is None:
            return list(_suspended_texts(task_view)[1])
        return _own_frames_from(show_stack(task_view))


def _own_frames_from(innermost):
    found = frames.first_outside_runtime(innermost)
    if found is None:
        entered = frames.outermost_runtime_frame(innermost)
        return [entered[1].location + NO_PROGRAM_FRAME] if entered is not None else []
    return [facts.location for _, facts in frames.walk(found[0]) if not facts.is_runtime]


def stack_key(task_view):
    """The frames that decide a task's group in `info coroutines -group`
    (a tuple of texts): own_frames(), or one text that says why there are none."""
    try:
        return tuple(own_frames(task_view)) or ("(every frame is the runtime's)",)
    except NoStack as e:
        return ("(no stack: %s)" % e,)
    except gdb.error as e:
        return ("<coscope: cannot unwind: %s>" % short_error(e),)
