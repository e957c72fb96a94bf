"""Pretty-printers: Task, TaskState, WaitReason, Processer, SchedulerCore.

Each prints one line. A printer never lets an exception reach the user:
a half-built or corrupted object prints `<coscope: cannot read ...>`.
`print/r` still shows the raw fields.
"""

import functools

import gdb
import gdb.printing

from .inferior import CoscopeError, enum_name, read_cstring, short_error
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


def vector_length(value):
    """Length of a libstdc++ std::vector."""
    impl = value["_M_impl"]
    element = value.type.strip_typedefs().template_argument(0)
    return (int(impl["_M_finish"]) - int(impl["_M_start"])) // max(element.sizeof, 1)


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
    """processer 0 (LWP 1234) running #9 "spinner", 2 queued, 0 in inbox"""

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
        try:
            workers = "%d workers" % vector_length(v["processer_list_"])
        except gdb.error:
            workers = "? workers"
        live = int(atomic_value(v["live_tasks"]))
        timers = int(atomic_value(v["timer_count"]))
        return "scheduler %s, %s, %d live tasks, %d timers" % (mode_name, workers, live, timers)


def build():
    pp = gdb.printing.RegexpCollectionPrettyPrinter("coscope")
    pp.add_printer("Task", "^co::detail::Task$", TaskPrinter)
    pp.add_printer("TaskState", "^co::TaskState$", lambda v: EnumPrinter(v, "TaskState", state_text))
    pp.add_printer("WaitReason", "^co::WaitReason$", lambda v: EnumPrinter(v, "WaitReason", wait_reason_text))
    pp.add_printer("Processer", "^co::detail::Processer$", ProcesserPrinter)
    pp.add_printer("SchedulerCore", "^co::detail::SchedulerCore$", SchedulerCorePrinter)
    return pp


def register():
    gdb.printing.register_pretty_printer(None, build(), replace=True)
