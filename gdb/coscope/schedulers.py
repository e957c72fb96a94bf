"""Every scheduler (`coscope_scheduler_registry`, runtime/src/debug/scheduler_registry.h)
and its processers.

Schedulers are linked through SchedulerCore::registry_next; each keeps its
processers as a plain array (processer_table, processer_count). Atomics are
read as the plain integers they hold in memory, so nothing here depends on
libstdc++'s std::atomic layout. Memory is only read.
"""

import gdb

from .inferior import CoscopeError, address_of, enum_name, global_value, lookup_type, pointee, short_error
from .tasks import TaskView

REGISTRY_SYMBOL = "coscope_scheduler_registry"
KNOWN_LAYOUT_VERSION = 1
MAX_SCHEDULERS = 100_000
MAX_PROCESSERS = 100_000
# Where co_sched (co::Scheduler::Default()) keeps the default scheduler.
DEFAULT_SCHEDULER = "'co::Scheduler::Default()::instance'"


def plain_int(value, signed=True):
    """The integer stored in a field, read from memory: a std::atomic<int>, a bool, an enum."""
    size = value.type.strip_typedefs().sizeof
    if value.address is None:
        raise CoscopeError("a %s not in the program's memory" % value.type)
    raw = bytes(gdb.selected_inferior().read_memory(value.address, size))
    return int.from_bytes(raw, "little", signed=signed)


def registry():
    value = global_value(REGISTRY_SYMBOL)
    version = int(value["version"])
    if version != KNOWN_LAYOUT_VERSION:
        raise CoscopeError("scheduler registry layout version %d, this toolkit reads version %d" % (version, KNOWN_LAYOUT_VERSION))
    return value


def scheduler_pointers():
    """The SchedulerCore* of every scheduler, oldest first (raises CoscopeError)."""
    found = []
    seen = set()
    pointer = registry()["head"]
    try:
        while int(pointer) != 0:
            if int(pointer) in seen or len(seen) >= MAX_SCHEDULERS:
                raise CoscopeError("loop in the scheduler registry at 0x%x" % int(pointer))
            seen.add(int(pointer))
            found.append(pointer)
            pointer = pointer.dereference()["registry_next"]
    except (gdb.error, gdb.MemoryError) as e:
        raise CoscopeError("scheduler registry: %s" % short_error(e))
    found.reverse()
    return found


def default_scheduler_address():
    """The co::Scheduler of co_sched, or 0 if it was never created (or cannot be found)."""
    try:
        return int(gdb.parse_and_eval(DEFAULT_SCHEDULER))
    except gdb.error:
        return 0


def latest_timer_pass_ns():
    """The latest last_timer_pass_ns of any scheduler, 0 if none is known."""
    latest = 0
    try:
        for pointer in scheduler_pointers():
            latest = max(latest, int(pointer.dereference()["last_timer_pass_ns"]))
    except (CoscopeError, gdb.error, gdb.MemoryError):
        pass
    return latest


class ProcesserView:
    """One Processer: index, thread, current task, queues, idle mode."""

    def __init__(self, value):
        try:
            value = pointee(value)
            self.address = address_of(value)
            self.index = int(value["index"])
            self.thread_id = int(value["thread_id"])
            self.current_address = int(value["current"])
            self.current = TaskView(value["current"]) if self.current_address else None
            self.local = int(value["local"]["size"])
            # The task a running task woke to run here next (a hand-off's
            # partner); std::atomic<Task*>: read through its storage.
            runnext = plain_int(value["runnext"], signed=False)
            self.runnext = TaskView(runnext) if runnext else None
            self.inbox = plain_int(value["inbox_size"], signed=False)
            self.switches = int(value["switch_count"])
            # What the stall watchdog saw (runtime/src/stall_watchdog.cpp).
            self.watch_since_ns = int(value["watch_since_ns"])
            self.watch_switches = int(value["watch_switch_count"])
            self.watch_sample_ns = int(value["watch_sample_ns"])
            mode = plain_int(value["idle_mode"])
            self.idle_mode = enum_name(gdb.Value(mode).cast(lookup_type("co::detail::IdleMode"))) or "invalid(%d)" % mode
        except (gdb.error, gdb.MemoryError) as e:
            raise CoscopeError("cannot read Processer at 0x%x: %s" % (address_of(value), short_error(e)))

    def idle_text(self):
        """no / yes, polling (the scheduler's poller, in epoll_wait) / yes, sleeping (futex) /
        yes, spinning (looking for work for a moment before it blocks)."""
        if self.idle_mode == "running":
            return "no" if self.current_address else "no (looking for work)"
        return "yes, %s" % self.idle_mode


class SchedulerView:
    """One SchedulerCore: mode, counts and its processers."""

    def __init__(self, value):
        try:
            value = pointee(value)
            self.address = address_of(value)
            self.id = int(value["id"])
            self.owner = int(value["owner"])
            mode = plain_int(value["mode"])
            self.mode = enum_name(gdb.Value(mode).cast(lookup_type("co::detail::RunMode"))) or "invalid(%d)" % mode
            self.live_tasks = plain_int(value["live_tasks"], signed=False)
            self.timer_count = plain_int(value["timer_count"], signed=False)
            self.last_timer_pass_ns = int(value["last_timer_pass_ns"])
            self.processer_count = int(value["processer_count"])
            self.processer_table = value["processer_table"]
        except (gdb.error, gdb.MemoryError) as e:
            raise CoscopeError("cannot read SchedulerCore at 0x%x: %s" % (address_of(value), short_error(e)))
        if self.processer_count > MAX_PROCESSERS:
            raise CoscopeError("SchedulerCore at 0x%x claims %d processers" % (self.address, self.processer_count))

    def processers(self, problems):
        """ProcesserViews; one that cannot be read becomes a note in `problems`."""
        views = []
        for i in range(self.processer_count):
            try:
                views.append(ProcesserView(self.processer_table[i]))
            except (CoscopeError, gdb.error, gdb.MemoryError) as e:
                problems.append("scheduler %d processer %d: %s" % (self.id, i, short_error(e)))
        return views

    def summary(self, default_address=0):
        """scheduler 1 (co_sched): started, 2 processers, 9 live tasks, 5 timers"""
        name = "scheduler %d%s" % (self.id, " (co_sched)" if default_address and default_address == self.owner else "")
        mode = self.mode.replace("_", " ")
        return "%s: %s, %d processer%s, %d live task%s, %d timer%s" % (
            name, mode, self.processer_count, "" if self.processer_count == 1 else "s",
            self.live_tasks, "" if self.live_tasks == 1 else "s", self.timer_count, "" if self.timer_count == 1 else "s")
