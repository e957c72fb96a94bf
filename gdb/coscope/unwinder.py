"""The unwinder that shows a suspended coroutine's stack, on core files too.

When a coroutine is selected (selection.py), this unwinder claims frame #0
of the selected thread (its innermost real frame, if #0 is inlined code) and
gives, as its caller's registers, the ones the
runtime saved when the task switched out (Task::saved: pc, sp, rbp, rbx,
r12-r15, see runtime/src/task.h), as the TaskView read them. gdb then unwinds the coroutine's stack
from there with the program's own debug info: frame #1 is the runtime's
switch-out point, above it are the task's frames. No register of the
program is written, which is why this works on a core file.
"""

import gdb
import gdb.unwinder

from . import selection

# Task::saved field -> x86-64 register, in SavedRegisters order.
SAVED_TO_REGISTER = (("pc", "rip"), ("sp", "rsp"), ("fp", "rbp"), ("rbx", "rbx"), ("r12", "r12"), ("r13", "r13"), ("r14", "r14"), ("r15", "r15"))


class FrameId:
    """gdb 13 takes any object with `sp` and `pc` (gdb.Value) as a frame id."""

    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class CoroutineUnwinder(gdb.unwinder.Unwinder):
    def __init__(self):
        super().__init__("coscope-coroutine")
        self._pc_key = None
        self._pc = None

    def __call__(self, pending_frame):
        # Called for every real frame gdb unwinds: decline cheaply all but the
        # thread's innermost one. (gdb never asks about inlined frames: when
        # the thread stopped in inlined code, frame #0 is that code and the
        # real frame comes at a higher level; selection.py found which.)
        chosen = selection.current()
        if chosen is None or pending_frame.level() != chosen.claim_level:
            return None
        thread = gdb.selected_thread()
        if thread is None or thread.global_num != chosen.thread_num:
            return None
        saved = chosen.saved  # read with the Task: the program has not run since
        if saved["pc"] == 0:  # none while it runs
            return None
        # The id of the thread's frame #0 uses the coroutine's saved sp, so that
        # the coroutine's frames above it (on a stack elsewhere in memory) are
        # never taken by gdb for frames "inner" to it (a corrupt-stack stop).
        info = pending_frame.create_unwind_info(FrameId(gdb.Value(saved["sp"]), self._thread_pc(pending_frame, thread)))
        # gdb checks only a value's size against the register's: a 64-bit
        # gdb.Value fits every one of these (no cast needed, which is slow).
        for name, register in SAVED_TO_REGISTER:
            info.add_saved_register(register, gdb.Value(saved[name]))
        return info

    def _thread_pc(self, pending_frame, thread):
        """The claimed frame's pc: the thread's, the same for every coroutine
        shown on it until the program runs (reading it costs 30 us on a core)."""
        key = (thread.global_num, selection.generation())
        if self._pc_key != key:
            self._pc = pending_frame.read_register("rip")
            self._pc_key = key
        return self._pc


def register():
    gdb.unwinder.register_unwinder(None, CoroutineUnwinder(), replace=True)
