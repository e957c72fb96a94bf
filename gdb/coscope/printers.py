"""Pretty-printers: Task, TaskState, WaitReason, Processer, SchedulerCore,
FdCtx, IoWaiter, io_sentry, Channel<T>, TaskTimer, TimerQueue.

Each prints one line; the ones that hold a list (an fd's waiters, an
io_sentry's fds, a channel's values and waiters, a timer queue) give it as
children, so gdb's `print elements` limit applies. A printer never lets an
exception reach the user: a half-built or corrupted object prints
`<coscope: cannot read ...>`. `print/r` still shows the raw fields.
"""

import functools
import heapq

import gdb
import gdb.printing

from . import timers
from .channels import ChannelView
from .clock import due_text
from .fd_table import FdCtxView, IoWaiterView, waiters
from .inferior import CoscopeError, enum_name, short_error
from .io_sentries import IoSentryView
from .schedulers import plain_int
from .tasks import TaskView, state_text, wait_reason_text


def never_raises(what):
    """Turns any error of to_string() into a one-line `<coscope: cannot read WHAT ...>`."""

    def wrap(to_string):
        @functools.wraps(to_string)
        def safe(self):
            try:
                return to_string(self)
            except CoscopeError as e:
                return "<coscope: %s>" % e
            except Exception as e:  # gdb.error, gdb.MemoryError, a corrupted value...
                address = getattr(self.value, "address", None)
                where = " at 0x%x" % int(address) if address is not None else ""
                return "<coscope: cannot read %s%s: %s>" % (what, where, short_error(e))

        return safe

    return wrap


def children_never_raise(view):
    """Decorates children(self, view): `view` is built from self.value first; if
    that fails there are no children (to_string already said why), and an
    error later ends the children with one `<coscope: ...>` child."""

    def wrap(children):
        @functools.wraps(children)
        def safe(self):
            try:
                built = view(self.value)
            except Exception:  # to_string reports it
                return
            try:
                yield from children(self, built)
            except Exception as e:  # CoscopeError, gdb.error, gdb.MemoryError...
                yield "error", "<coscope: %s>" % (e if isinstance(e, CoscopeError) else short_error(e))

        return safe

    return wrap


def atomic_value(value):
    """The plain value inside a libstdc++ std::atomic (its _M_i, possibly in a base)."""
    for _ in range(4):
        fields = [f.name for f in value.type.strip_typedefs().fields()]
        if "_M_i" in fields:
            return value["_M_i"]
        if not fields:
            break
        value = value[value.type.strip_typedefs().fields()[0]]
    return value


def task_label(pointer):
    """`#id "name"` for a Task*, "none" for nullptr."""
    if int(pointer) == 0:
        return "none"
    task = TaskView(pointer)
    return '#%d "%s"' % (task.id, task.name)


class TaskPrinter:
    """#3 "sleeper-1" sleep (sleep) created at fixture_states.cpp:42 processer 0"""

    def __init__(self, value):
        self.value = value

    @never_raises("Task")
    def to_string(self):
        return TaskView(self.value).summary()


class EnumPrinter:
    """TaskState and WaitReason in the runtime's own words: sleep, fd readable, ..."""

    def __init__(self, value, kind, text):
        self.value = value
        self.kind = kind
        self.text = text

    @never_raises("enum")
    def to_string(self):
        if enum_name(self.value) is None:
            return "<coscope: invalid %s %d>" % (self.kind, int(self.value))
        return self.text(self.value)


class ProcesserPrinter:
    """processer 0 (LWP 1234) running #9 "spinner", 2 queued, 0 in inbox[, next #4 "reader"]"""

    def __init__(self, value):
        self.value = value

    @never_raises("Processer")
    def to_string(self):
        v = self.value
        thread = int(v["thread_id"])
        text = "processer %d (%s)" % (int(v["index"]), "LWP %d" % thread if thread else "no thread")
        current = v["current"]
        text += " running %s" % task_label(current) if int(current) else " idle"
        text += ", %d queued, %d in inbox" % (int(v["local"]["size"]), int(v["inbox"]["size"]))
        runnext = plain_int(v["runnext"], signed=False)
        if runnext:
            text += ", next %s" % task_label(runnext)
        return text


class SchedulerCorePrinter:
    """scheduler started, 2 workers, 9 live tasks, 4 timers"""

    def __init__(self, value):
        self.value = value

    @never_raises("SchedulerCore")
    def to_string(self):
        v = self.value
        mode = int(atomic_value(v["mode"]))
        try:
            mode_name = enum_name(gdb.Value(mode).cast(gdb.lookup_type("co::detail::RunMode"))) or str(mode)
        except gdb.error:
            mode_name = str(mode)
        workers = "%d workers" % int(v["processer_count"])
        live = int(atomic_value(v["live_tasks"]))
        timers = int(atomic_value(v["timer_count"]))
        return "scheduler %s, %s, %d live tasks, %d timers" % (mode_name, workers, live, timers)


class FdCtxPrinter:
    """fd 7: pipe, non-blocking runtime, in reactor, timeouts -, 1 waiter = {...the waiters}"""

    def __init__(self, value):
        self.value = value

    @never_raises("FdCtx")
    def to_string(self):
        return FdCtxView(self.value).summary()

    @children_never_raise(FdCtxView)
    def children(self, ctx):
        if ctx.fd < 0:
            return
        for i, waiter in enumerate(waiters(self.value)):
            yield "[%d]" % i, waiter.summary()


class IoWaiterPrinter:
    """fd 7 events POLLIN revents 0, linked, io_sentry 0x7ffff693bd00 of #5 "reader-1"."""

    def __init__(self, value):
        self.value = value

    @never_raises("IoWaiter")
    def to_string(self):
        return IoWaiterView(self.value).summary()


class IoSentryPrinter:
    """io_sentry of #8 "poller": 2 fds, triggered false, added true, deadline in 59m59s = {...its fds}"""

    def __init__(self, value):
        self.value = value

    @never_raises("io_sentry")
    def to_string(self):
        return IoSentryView(self.value).summary(timers.now())

    @children_never_raise(IoSentryView)
    def children(self, sentry):
        for i, waiter in enumerate(sentry.waiter_values()):
            yield "[%d]" % i, IoWaiterView(waiter).fd_text()


class ChannelPrinter:
    """co::Channel<int>: capacity 0 (unbuffered), size 0, open, 0 senders, 1 receiver waiting = {...}

    Children: the buffered values, oldest first, then the waiting senders and
    receivers, oldest first."""

    def __init__(self, value):
        self.value = value

    @never_raises("Channel")
    def to_string(self):
        return "%s: %s" % (self.value.type.strip_typedefs(), ChannelView(self.value).summary())

    @children_never_raise(ChannelView)
    def children(self, channel):
        for i, value in enumerate(channel.values()):
            yield "[%d]" % i, value
        for label in channel.senders():
            yield "sender", label
        for label in channel.receivers():
            yield "receiver", label


class TaskTimerPrinter:
    """due in 59m59s, #1 "sleeper-1" (or: disarmed, #1 "sleeper-1")"""

    def __init__(self, value):
        self.value = value

    @never_raises("TaskTimer")
    def to_string(self):
        due = int(self.value["due_ns"])
        armed = due != 0 and int(self.value["heap_index"]) != timers.NPOS
        text = "due %s" % due_text(due, timers.now()) if armed else "disarmed"
        if self.value.address is not None:
            text += ", %s" % task_label(timers.owner_of_timer(self.value))
        return text


class TimerQueuePrinter:
    """5 timers = {[0] = in 59m59s: #4 "" (sleep), ...} - earliest first.

    The earliest entries are found by walking the heap from its root, so
    printing the first `print elements` of a large queue reads only those."""

    def __init__(self, value):
        self.value = value

    @never_raises("TimerQueue")
    def to_string(self):
        count = len(timers.queue_tasks(self.value))
        return "%d timer%s, earliest first" % (count, "" if count == 1 else "s") if count else "no timers"

    @children_never_raise(timers.queue_tasks)
    def children(self, tasks):
        now = timers.now()

        def entry(index):
            return int(tasks[index].dereference()["timer"]["due_ns"]), index

        frontier = [entry(0)] if tasks else []
        rank = 0
        while frontier:
            due, index = heapq.heappop(frontier)
            task = TaskView(tasks[index])
            wait = task.wait_text()
            yield "[%d]" % rank, "%s: #%d \"%s\"%s" % (due_text(due, now), task.id, task.name, " (%s)" % wait if wait else "")
            rank += 1
            for child in (2 * index + 1, 2 * index + 2):
                if child < len(tasks):
                    heapq.heappush(frontier, entry(child))


def build():
    pp = gdb.printing.RegexpCollectionPrettyPrinter("coscope")
    pp.add_printer("Task", "^co::detail::Task$", TaskPrinter)
    pp.add_printer("TaskState", "^co::TaskState$", lambda v: EnumPrinter(v, "TaskState", state_text))
    pp.add_printer("WaitReason", "^co::WaitReason$", lambda v: EnumPrinter(v, "WaitReason", wait_reason_text))
    pp.add_printer("Processer", "^co::detail::Processer$", ProcesserPrinter)
    pp.add_printer("SchedulerCore", "^co::detail::SchedulerCore$", SchedulerCorePrinter)
    pp.add_printer("FdCtx", "^co::detail::FdCtx$", FdCtxPrinter)
    pp.add_printer("IoWaiter", "^co::detail::IoWaiter$", IoWaiterPrinter)
    pp.add_printer("IoSentry", "^co::detail::IoSentry$", IoSentryPrinter)
    pp.add_printer("Channel", "^co::Channel<.*>$", ChannelPrinter)
    pp.add_printer("TaskTimer", "^co::detail::TaskTimer$", TaskTimerPrinter)
    pp.add_printer("TimerQueue", "^co::detail::TimerQueue$", TimerQueuePrinter)
    return pp


def register():
    gdb.printing.register_pretty_printer(None, build(), replace=True)
