"""`info processers`: each scheduler and its processers (worker threads)."""

import gdb

from . import schedulers, stacks, thread_syscalls
from .clock import is_live_native, program_now
from .inferior import CoscopeError, short_error
from .info_coroutines import format_table


def gdb_thread_numbers():
    """{LWP: gdb thread number} for the selected inferior."""
    return {thread.ptid[1]: thread.num for thread in gdb.selected_inferior().threads()}


def thread_cell(processer, threads):
    if processer.thread_id == 0:
        return "no thread"
    number = threads.get(processer.thread_id)
    return "LWP %d%s" % (processer.thread_id, ", thread %d" % number if number is not None else "")


def duration_text(ns):
    if ns < 10 * 1000 * 1000 * 1000:
        return "%d ms" % (ns // 1000000)
    return "%.1f s" % (ns / 1e9)


def run_time_cell(processer, live_now_ns):
    """How long the current task has run, from the stall watchdog's samples:
    counted from its first sample that saw this run. In a live process up
    to now; in a core file up to the watchdog's last sample (so "at least").
    A run that began after its last sample is shorter than the time since."""
    if processer.current is None:
        return "-"
    if processer.watch_since_ns == 0:
        return "?"  # the watchdog is off (COSCOPE_STALL_MS=0) or has not looked yet
    if processer.watch_switches != processer.switches:
        if live_now_ns is None:
            return "?"
        return "< %s" % duration_text(max(0, live_now_ns - processer.watch_sample_ns))
    if live_now_ns is None:
        return ">= %s" % duration_text(max(0, processer.watch_sample_ns - processer.watch_since_ns))
    return duration_text(max(0, live_now_ns - processer.watch_since_ns))


def syscall_cell(processer):
    if processer.thread_id == 0:
        return "-"
    return thread_syscalls.thread_syscall(stacks.thread_by_lwp(processer.thread_id))


class InfoProcessers(gdb.Command):
    """List the schedulers and their processers (one per worker thread).

Usage: info processers

For each scheduler: its run mode (stopped, run until no task, started), its
processer count, live tasks and armed timers. Then one line per processer:
its index, its kernel thread (LWP) and gdb's number for that thread, the
task it runs now, the lengths of its two run queues (local: touched by its
own thread only; inbox: tasks handed over by other threads), the task it
runs next (next: woken by its running task, most often a hand-off's partner;
another processer takes it only after a few microseconds) and whether it
is idle - polling (the scheduler's poller, waiting in the epoll reactor),
sleeping (on a futex until work comes) or spinning (looking for work for up
to 20 us before it blocks, while another processer holds a task in Next),
how many switches into tasks it made, how long its current task has run,
and the system call its thread is in: `read(fd 0)`, `futex(0x...,
FUTEX_WAIT_PRIVATE)`, or `running (no system call)`, read from the thread's
registers (orig_rax, live or in a core).

The run time comes from the runtime's stall watchdog, which samples every
processer every COSCOPE_STALL_MS/4 (25 ms by default) and records its first
sample of each run: it is counted from there, so it errs short by up to one
sample period. `< 12 ms`: the run began after the last sample. In a core
file it runs to the watchdog's last sample (`>= ...`). `?`: the watchdog is
off (COSCOPE_STALL_MS=0) or has not looked yet."""

    def __init__(self):
        super().__init__("info processers", gdb.COMMAND_STATUS)

    def invoke(self, argument, from_tty):
        if argument.strip():
            raise gdb.GdbError("info processers takes no argument")
        problems = []
        try:
            pointers = schedulers.scheduler_pointers()
            default = schedulers.default_scheduler_address()
            threads = gdb_thread_numbers()
            live_now_ns = program_now().ns if is_live_native() else None
        except (CoscopeError, gdb.error, gdb.MemoryError) as e:
            raise gdb.GdbError("coscope: %s" % short_error(e))
        if not pointers:
            gdb.write("No scheduler exists.\n")
        for pointer in pointers:
            try:
                scheduler = schedulers.SchedulerView(pointer)
            except CoscopeError as e:
                problems.append(str(e))
                continue
            gdb.write("%s (SchedulerCore 0x%x)\n" % (scheduler.summary(default), scheduler.address))
            processers = scheduler.processers(problems)
            if not processers:
                continue
            rows = [(" ", "Processer", "Thread", "Running", "Local", "Inbox", "Next", "Idle", "Switches",
                     "Run time", "System call")]
            for p in processers:
                running = '#%d "%s"' % (p.current.id, p.current.name) if p.current is not None else "-"
                upcoming = '#%d "%s"' % (p.runnext.id, p.runnext.name) if p.runnext is not None else "-"
                rows.append((" ", str(p.index), thread_cell(p, threads), running, str(p.local), str(p.inbox),
                             upcoming, p.idle_text(), str(p.switches), run_time_cell(p, live_now_ns),
                             syscall_cell(p)))
            gdb.write("\n".join(format_table(rows)) + "\n")
        for problem in problems:
            gdb.write("<coscope: %s>\n" % problem)


def register():
    InfoProcessers()
