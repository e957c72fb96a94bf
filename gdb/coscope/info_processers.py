"""`info processers`: each scheduler and its processers (worker threads)."""

import gdb

from . import schedulers
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


class InfoProcessers(gdb.Command):
    """List the schedulers and their processers (one per worker thread).

Usage: info processers

For each scheduler: its run mode (stopped, run until no task, started), its
processer count, live tasks and armed timers. Then one line per processer:
its index, its kernel thread (LWP) and gdb's number for that thread, the
task it runs now, the lengths of its two run queues (local: touched by its
own thread only; inbox: tasks handed over by other threads) and whether it
is idle - polling (the scheduler's poller, waiting in the epoll reactor) or
sleeping (on a futex until work comes)."""

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
            rows = [(" ", "Processer", "Thread", "Running", "Local", "Inbox", "Idle", "Switches")]
            for p in processers:
                running = '#%d "%s"' % (p.current.id, p.current.name) if p.current is not None else "-"
                rows.append((" ", str(p.index), thread_cell(p, threads), running, str(p.local), str(p.inbox),
                             p.idle_text(), str(p.switches)))
            gdb.write("\n".join(format_table(rows)) + "\n")
        for problem in problems:
            gdb.write("<coscope: %s>\n" % problem)


def register():
    InfoProcessers()
