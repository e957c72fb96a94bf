"""Hides the thread's own frame #0 from `bt` while a coroutine is selected.

With a coroutine selected, frame #0 is still where the thread stopped (gdb
always takes frame #0 from the thread); the coroutine's frames start at #1.
`frame 0` still reaches it; only backtraces leave it out.
"""

import gdb

from . import selection


class CoroutineFrameFilter:
    def __init__(self):
        self.name = "coscope-coroutine"
        self.priority = 100
        self.enabled = True

    def filter(self, frame_iter):
        chosen = selection.current()
        thread = gdb.selected_thread()
        if chosen is None or thread is None or thread.global_num != chosen.thread_num:
            return frame_iter
        return (decorator for decorator in frame_iter if decorator.inferior_frame().level() != 0)


def register():
    gdb.frame_filters["coscope-coroutine"] = CoroutineFrameFilter()
