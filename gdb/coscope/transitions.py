"""Task state transitions, as the coscope:task_state probe reports them.

The probe (runtime/src/debug/probes.h) fires once per state change, on the thread
making it, with (task, from, to). `from` and `to` are co::TaskState values or
one of two moments that are not states of their own: "running" (swapped in
by a processer; the state stays runnable) and "created" (spawned, not yet
queued). So a task's life reads:

  created -> runnable -> running -> sleep -> runnable -> running -> done
"""

from . import probe_points
from .inferior import lookup_type
from .tasks import TaskView

PROBE = "task_state"

# The two moments beyond TaskState's values (runtime/src/debug/probes.h, probe_moment).
RUNNING = 5
CREATED = 6

# What `co-break state` accepts: the states a task can enter.
STATES = ("runnable", "running", "io_block", "sleep", "sys_block", "done")
PARKED_STATES = ("io_block", "sleep", "sys_block")


def state_names():
    """{number: name} for the probe's `from` / `to`, TaskState's names read from the program."""
    names = {RUNNING: "running", CREATED: "created"}
    for field in lookup_type("co::TaskState").strip_typedefs().fields():
        names[int(field.enumval)] = field.name.rsplit("::", 1)[-1]
    return names


class Transition:
    """One task_state probe hit: the task (a TaskView, read at the probe) and the two states."""

    def __init__(self, task, from_state, to_state):
        self.task = task
        self.from_state = from_state
        self.to_state = to_state

    @classmethod
    def at_probe(cls):
        """The transition the selected thread is stopped at. Raises CoscopeError."""
        pointer = probe_points.argument_value(0).cast(lookup_type("co::detail::Task").pointer())
        names = state_names()
        from_number, to_number = probe_points.argument(1), probe_points.argument(2)
        return cls(TaskView(pointer), names.get(from_number, "invalid(%d)" % from_number),
                   names.get(to_number, "invalid(%d)" % to_number))

    def arrow(self):
        """ "sleep -> runnable" """
        return "%s -> %s" % (self.from_state, self.to_state)

    def detail(self):
        """What the new state is about: what a parked task waits for, where a
        running one runs, where a new one was created ("" if nothing)."""
        if self.to_state in PARKED_STATES:
            wait = self.task.wait_text()
            return "(%s)" % wait if wait else ""
        if self.to_state == "running" and self.task.processer_index is not None:
            return "on processer %d" % self.task.processer_index
        if self.from_state == "created":
            return "created at %s" % self.task.created_at()
        return ""

    def log_line(self):
        """One line for co-trace: #5 "reader" running -> io_block (fd 7 readable)"""
        text = '#%d "%s" %s' % (self.task.id, self.task.name, self.arrow())
        detail = self.detail()
        return text + (" " + detail if detail else "")
