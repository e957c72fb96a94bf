"""The unwinder that shows a suspended coroutine's stack, on core files too.

When a coroutine is selected (selection.py), this unwinder claims frame #0
of the selected thread (its innermost real frame, if #0 is inlined code) and
gives, as its caller's registers, the ones the
runtime saved when the task switched out (Task::saved: pc, sp, rbp, rbx,
r12-r15, see runtime/src/task.h). gdb then unwinds the coroutine's stack
from there with the program's own debug info: frame #1 is the runtime's
switch-out point, above it are the task's frames. No register of the
program is written, which is why this works on a core file.
"""

import gdb
import gdb.unwinder

from . import selection
from .inferior import CoscopeError, read_words

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
        try:
            words = read_words(chosen.saved_address, len(SAVED_TO_REGISTER))
        except CoscopeError:
            return None
        if words[0] == 0:  # its pc: none while it runs
            return None
        pc = pending_frame.read_register("rip")
        # The id of the thread's frame #0 uses the coroutine's saved sp, so that
        # the coroutine's frames above it (on a stack elsewhere in memory) are
        # never taken by gdb for frames "inner" to it (a corrupt-stack stop).
        info = pending_frame.create_unwind_info(FrameId(gdb.Value(words[1]), pc))
        # gdb checks only a value's size against the register's: a 64-bit
        # gdb.Value fits every one of these (no cast needed, which is slow).
        for (_, register), word in zip(SAVED_TO_REGISTER, words):
            info.add_saved_register(register, gdb.Value(word))
        return info


def register():
    gdb.unwinder.register_unwinder(None, CoroutineUnwinder(), replace=True)
