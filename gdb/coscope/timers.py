"""Armed timers: each task's TaskTimer (runtime/src/task.h) and a scheduler's
TimerQueue (runtime/src/timer_queue.h).

Every task has one timer entry, embedded in its Task; it is armed while its
due_ns is set and it sits in its scheduler's heap (heap_index != npos). The
list of armed timers is read from the task registry (plain fields only); a
TimerQueue value's own heap is a std::vector, read through libstdc++'s
layout only when such a value is printed.
"""

import gdb

from . import registry, schedulers
from .clock import program_now
from .inferior import CoscopeError, field_offset, short_error
from .tasks import TaskView, task_type

NPOS = (1 << 64) - 1
# A heap larger than this is taken as a corrupted TimerQueue.
MAX_TIMERS = 10_000_000


def now():
    """The program's now (clock.Now), or None when nothing tells the time."""
    return program_now(schedulers.latest_timer_pass_ns)


class ArmedTimer:
    """One armed timer: due_ns and its task (a TaskView)."""

    def __init__(self, task, due_ns):
        self.task = task
        self.due_ns = due_ns


def timer_of(task):
    """(due_ns, armed) of a TaskView's timer."""
    timer = task.value["timer"]
    due = int(timer["due_ns"])
    heap_index = int(timer["heap_index"]) & NPOS
    return due, due != 0 and heap_index != NPOS


def armed_timers(problems):
    """Every armed timer, earliest first. Unreadable tasks become notes in `problems`."""
    found = []
    for pointer in registry.task_pointers(problems):
        try:
            task = TaskView(pointer)
            due, armed = timer_of(task)
        except (CoscopeError, gdb.error, gdb.MemoryError) as e:
            problems.append(short_error(e))
            continue
        if armed:
            found.append(ArmedTimer(task, due))
    found.sort(key=lambda timer: (timer.due_ns, timer.task.id))
    return found


def owner_of_timer(timer_value):
    """The Task* a TaskTimer value is embedded in (Task::timer)."""
    if timer_value.address is None:
        raise CoscopeError("a TaskTimer not in memory has no task")
    address = int(timer_value.address) - field_offset(task_type(), "timer")
    return gdb.Value(address).cast(task_type().pointer())


def queue_tasks(queue_value):
    """The Task* values in a TimerQueue's heap (libstdc++ std::vector layout), in heap order."""
    heap = queue_value["heap_"]["_M_impl"]
    start, finish = int(heap["_M_start"]), int(heap["_M_finish"])
    pointer_size = task_type().pointer().sizeof
    count = (finish - start) // pointer_size
    if count < 0 or count > MAX_TIMERS or (finish - start) % pointer_size:
        raise CoscopeError("TimerQueue heap of %d bytes: not a live TimerQueue" % (finish - start))
    return [heap["_M_start"][i] for i in range(count)]
