"""The frame filter that makes a backtrace show a coroutine's stack as such.

  - While a coroutine is selected, frame #0 of its thread is the thread's
    own (gdb always takes frame #0 from the thread; the coroutine's frames
    start at #1): backtraces leave it out. `frame 0` still reaches it. (When
    frame #0 is code inlined into the thread's function, the thread's frames
    are #0 to that function's, and the coroutine's start after them.)
  - A coroutine's stack, selected or running on a thread, ends at its entry,
    co::detail::task_main: below it is only the first switch into the task
    (task_trampoline, the outermost frame: the runtime marks it so), not a
    call anybody made.
  - With `set coscope hide-runtime-frames on`, a selected coroutine's
    backtrace leaves out the runtime's frames (frames.is_runtime_frame),
    except the entry.

gdb numbers frames itself, so the frames shown keep their levels and
`frame N`, `up`, `down` work as without the filter.
"""

import gdb

from . import frames, selection, settings


class CoroutineFrameFilter:
    def __init__(self):
        self.name = "coscope-coroutine"
        self.priority = 100
        self.enabled = True

    def filter(self, frame_iter):
        chosen = selection.current()
        thread = gdb.selected_thread()
        on_coroutine = chosen is not None and thread is not None and thread.global_num == chosen.thread_num
        # The thread's own frames: #0, and the real frame under inlined code at #0.
        thread_levels = chosen.claim_level + 1 if on_coroutine else 0
        return _coroutine_frames(frame_iter, thread_levels, on_coroutine and settings.hide_runtime_frames())


def _coroutine_frames(decorators, thread_levels, hide_runtime):
    for decorator in decorators:
        frame = decorator.inferior_frame()
        if frame.level() < thread_levels:
            continue
        try:
            found = frames.facts(frame)
        except gdb.error:
            yield decorator
            continue
        if found.is_entry:
            yield decorator
            return
        if hide_runtime and found.is_runtime:
            continue
        yield decorator


def register():
    gdb.frame_filters["coscope-coroutine"] = CoroutineFrameFilter()
