"""Where a task is now: its first frame outside the runtime.

A suspended task's stack is unwound through the coroutine unwinder, on the
current thread, without changing what the user has selected. A running
task is found on its thread (by its kernel thread id).
"""

import gdb

from . import frames, selection
from .inferior import short_error


def thread_by_lwp(lwp):
    for thread in gdb.selected_inferior().threads():
        if thread.ptid[1] == lwp:
            return thread
    return None


def where(task_view):
    """A short text for the list: "fn at file:line", "running on thread N: ...", ..."""
    try:
        if task_view.running:
            return _where_running(task_view)
        if task_view.state == "done":
            return "finished"
        if not task_view.suspended:
            return "not started" if not task_view.has_context else "no saved registers"
        return _where_suspended(task_view)
    except gdb.error as e:
        return "<coscope: cannot unwind: %s>" % short_error(e)


def _where_suspended(task_view):
    thread = gdb.selected_thread()
    if thread is None:
        return "?"
    with selection.preserved_view():
        selection.select(task_view, thread)
        frame = frames.first_outside_runtime(selection.innermost_coroutine_frame())
        return frames.describe_location(frame) if frame is not None else "in the runtime"


def _where_running(task_view):
    thread = thread_by_lwp(task_view.thread_id)
    if thread is None:
        return "running on LWP %d" % task_view.thread_id
    text = "running on thread %d" % thread.num
    with selection.preserved_view():
        selection.deselect()
        thread.switch()
        frame = frames.first_outside_runtime(gdb.newest_frame())
        if frame is not None:
            text += ": " + frames.describe_location(frame)
    return text
