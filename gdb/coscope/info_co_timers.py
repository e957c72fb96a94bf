"""`info co-timers`: every armed timer, earliest first."""

import gdb

from . import timers
from .clock import due_text, seconds_text
from .inferior import CoscopeError, short_error
from .info_coroutines import format_table


class InfoCoTimers(gdb.Command):
    """List the armed timers of every scheduler, earliest first.

Usage: info co-timers

One line per timer: when it is due, the task it wakes, and what that task
waits for (a sleep, or the deadline of a timed wait: a poll, a channel
operation with a timeout ...). In a live process "due in" counts from the
host's CLOCK_MONOTONIC, the runtime's own clock. A core file records no
clock: there it counts from the last timer pass of the program's
schedulers, a moment the program had reached, so each is an upper bound;
the header says which. The absolute due time (CLOCK_MONOTONIC) is shown too."""

    def __init__(self):
        super().__init__("info co-timers", gdb.COMMAND_STATUS)

    def invoke(self, argument, from_tty):
        if argument.strip():
            raise gdb.GdbError("info co-timers takes no argument")
        problems = []
        try:
            armed = timers.armed_timers(problems)
            now = timers.now()
        except (CoscopeError, gdb.error, gdb.MemoryError) as e:
            raise gdb.GdbError("coscope: %s" % short_error(e))
        if not armed:
            gdb.write("No armed timers.\n")
        else:
            header = "%d armed timer%s, earliest first" % (len(armed), "" if len(armed) == 1 else "s")
            gdb.write("%s; %s.\n" % (header, now.describe()) if now is not None
                      else "%s; no clock known, due times are absolute.\n" % header)
            rows = [("Due", "At (CLOCK_MONOTONIC)", "Id", "Name", "State", "Waiting for")]
            for timer in armed:
                task = timer.task
                rows.append((due_text(timer.due_ns, now) if now is not None else "-", seconds_text(timer.due_ns),
                             str(task.id), task.display_name(), task.state, task.wait_text() or "-"))
            gdb.write("\n".join(format_table(rows)) + "\n")
        for problem in problems:
            gdb.write("<coscope: %s>\n" % problem)


def register():
    InfoCoTimers()
