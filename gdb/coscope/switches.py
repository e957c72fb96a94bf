"""Threads stopped in the middle of a switch between two stacks.

A switch (runtime/src/context.cpp) saves the leaving task's registers into
Task::saved, jumps with Boost.Context's jump_fcontext, and the task that
lands clears its own Task::saved.pc. A thread stopped anywhere in between
(`stepi` through a switch, a breakpoint there, a core dumped there) breaks
what the rest of the toolkit assumes: a task can be neither its processer's
running task nor saved (the leaving task before its registers are saved),
or be its processer's current task with registers still saved (the task
being switched in). Where a thread's stack pointer is, says whose stack the
thread is on; only inside jump_fcontext, which has no unwind information,
can that stack not be unwound from the thread.

This module finds, once per stop, where each thread is: its stack pointer
and, when it is inside a switch, the switch function.
"""

import gdb

from . import selection

# The functions of a switch: the runtime's (and what they inline), Boost.Context's.
SWITCH_FUNCTIONS = frozenset((
    "co::detail::context_resume",
    "co::detail::context_suspend",
    "co::detail::context_handoff",
    "co::detail::context_finish",
    "jump_fcontext",
    "ontop_fcontext",
))
# Assembly without unwind information: a thread's stack cannot be unwound from there.
NOT_UNWINDABLE = frozenset(("jump_fcontext", "ontop_fcontext"))


class ThreadPosition:
    """Where one thread is: its stack pointer, and the switch function it is in (or None)."""

    def __init__(self, thread, sp, switch_function):
        self.thread = thread
        self.num = thread.num
        self.sp = sp
        self.switch_function = switch_function

    @property
    def unwindable(self):
        return self.switch_function not in NOT_UNWINDABLE


def _function_name(frame):
    name = frame.name()
    if name is None:
        return None
    # A C++ name may come with its parameter types; a call through the PLT
    # stops in "jump_fcontext@plt" first.
    return name.split("(", 1)[0].split("@", 1)[0]


def _switch_function(frame):
    """The switch function the thread's innermost real frame is in, or None.
    Code inlined there (save_registers, landed, ...) belongs to that function."""
    while frame is not None:
        name = _function_name(frame)
        if name in SWITCH_FUNCTIONS:
            return name
        if frame.type() != gdb.INLINE_FRAME:
            return None
        frame = frame.older()
    return None


def _read_positions():
    positions = []
    with selection.preserved_view():
        for thread in gdb.selected_inferior().threads():
            try:
                thread.switch()
                frame = gdb.newest_frame()
                sp = int(frame.read_register("rsp"))
                positions.append(ThreadPosition(thread, sp, _switch_function(frame)))
            except gdb.error:
                continue  # a thread whose registers cannot be read is on no known stack
    return positions


_cache_key = None
_cache = []


def _forget_positions(event=None):
    global _cache_key
    _cache_key = None


def positions():
    """Every thread's position; read once per stop of the program.

    The threads change only while the program runs (which changes the
    selection's generation), when a thread appears, and when another process
    or core file is taken up (objfiles are loaded again): listing them to
    find out costs more than a task's whole row on a core file."""
    global _cache_key, _cache
    inferior = gdb.selected_inferior()
    key = (selection.generation(), inferior.num, inferior.pid)
    if key != _cache_key:
        _cache = _read_positions()
        _cache_key = key
    return _cache


gdb.events.new_thread.connect(_forget_positions)
gdb.events.new_objfile.connect(_forget_positions)
gdb.events.clear_objfiles.connect(_forget_positions)


class Switch:
    """A task caught in a switch: the thread doing it, and whether that thread's
    stack is the task's (then it shows where the task is)."""

    def __init__(self, position, on_task_stack):
        self.position = position
        self.on_task_stack = on_task_stack

    def text(self):
        return "switching on thread %d (stopped in %s)" % (self.position.num, self.position.switch_function)


def switch_of(task_view):
    """The Switch a task is caught in, or None.

    The task is caught when a thread inside a switch function has its stack
    pointer in the task's stack (the task is leaving, or has just landed),
    or when it is its processer's current task with registers still saved
    while that processer's thread is inside a switch (it is being switched in)."""
    if task_view.state == "done":
        return None
    for position in positions():
        if position.switch_function is None:
            continue
        if task_view.stack_holds(position.sp):
            return Switch(position, True)
        if task_view.being_resumed and position.thread.ptid[1] == task_view.thread_id:
            return Switch(position, False)
    return None
