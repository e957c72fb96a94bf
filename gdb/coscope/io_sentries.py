"""io_sentries (runtime/src/io/io_sentry.h): the poll-style waits of tasks.

An io_sentry lives on its task's stack for the length of one wait; the task
parks in io_block with `wait_object` pointing at it (runtime/src/io/io_poll.cpp).
So the io_sentries in use are found from the task list, not from a table.
"""

import gdb

from . import registry
from .clock import due_text
from .fd_table import IoWaiterView
from .inferior import CoscopeError, address_of, lookup_type, pointee, short_error
from .tasks import TaskView

IO_SENTRY_TYPE = "co::detail::IoSentry"
# The wait reasons whose wait_object is an io_sentry (TaskView spelling).
SENTRY_WAIT_REASONS = ("fd readable", "fd writable", "poll")
# More fds than this in one io_sentry is taken as a corrupted object.
MAX_FDS = 1 << 20


def sentry_of(task):
    """The IoSentry value a TaskView waits in, or None."""
    if task.state != "io_block" or task.wait_reason not in SENTRY_WAIT_REASONS or task.wait_object == 0:
        return None
    return gdb.Value(task.wait_object).cast(lookup_type(IO_SENTRY_TYPE).pointer()).dereference()


class IoSentryView:
    """One io_sentry: its task, fds, flags and deadline, read once."""

    def __init__(self, value):
        """value: an IoSentry, or a pointer to one. Raises CoscopeError if unreadable."""
        try:
            value = pointee(value)
            self.value = value
            self.address = address_of(value)
            self.task_address = int(value["ticket"]["task"])
            self.nfds = int(value["nfds"])
            self.deadline_ns = int(value["deadline_ns"])
            self.triggered = bool(value["triggered"])
            self.added = bool(value["added"])
            self.waiters_pointer = value["waiters"]
        except (gdb.error, gdb.MemoryError) as e:
            raise CoscopeError("cannot read io_sentry at 0x%x: %s" % (address_of(value), short_error(e)))
        if self.nfds > MAX_FDS:
            raise CoscopeError("io_sentry at 0x%x claims %d fds: not a live io_sentry" % (self.address, self.nfds))

    def task_label(self):
        if self.task_address == 0:
            return "no task"
        try:
            task = TaskView(gdb.Value(self.task_address).cast(lookup_type("co::detail::Task").pointer()))
        except CoscopeError as e:
            return "<coscope: %s>" % e
        return '#%d "%s"' % (task.id, task.name)

    def waiter_values(self):
        """The IoWaiter values, one per fd (negative fds included: poll ignores them)."""
        for i in range(self.nfds):
            yield self.waiters_pointer[i]

    def waiters(self):
        return [IoWaiterView(value) for value in self.waiter_values()]

    def deadline_text(self, now):
        return "no deadline" if self.deadline_ns == 0 else "deadline %s" % due_text(self.deadline_ns, now)

    def summary(self, now):
        """io_sentry of #8 "poller": 2 fds, triggered false, added true, deadline in 59m59s"""
        return "io_sentry of %s: %d fd%s, triggered %s, added %s, %s" % (
            self.task_label(), self.nfds, "" if self.nfds == 1 else "s", str(self.triggered).lower(),
            str(self.added).lower(), self.deadline_text(now))


def waiting(problems):
    """[(TaskView, IoSentryView)] for every task waiting in an io_sentry, by task id.

    What cannot be read becomes a one-line note in `problems`."""
    found = []
    for pointer in registry.task_pointers(problems):
        try:
            task = TaskView(pointer)
            value = sentry_of(task)
            if value is not None:
                found.append((task, IoSentryView(value)))
        except CoscopeError as e:
            problems.append(str(e))
    found.sort(key=lambda pair: pair[0].id)
    return found
