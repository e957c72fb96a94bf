"""`info fdctx [FD]` and `info io-sentries`: the fds the runtime knows and
the poll-style waits on them."""

import gdb

from . import fd_table, io_sentries, timers
from .inferior import CoscopeError, short_error
from .info_coroutines import format_table


def waiter_cell(ctx):
    """`#5 "reader-1" POLLIN; #8 "poller" POLLIN`, or - when nobody waits."""
    labels = ["%s %s" % (waiter.task_label(), fd_table.poll_events_text(waiter.events)) for waiter in fd_table.waiters(ctx.value)]
    return "; ".join(labels) if labels else "-"


class InfoFdCtx(gdb.Command):
    """List the fds the runtime keeps an FdCtx for, and the tasks waiting on each.

Usage: info fdctx [FD]

One line per fd in use: its kind (socket, pipe, or other - an fd the hooks
did not create but a task waited on), who made it non-blocking (user: the
program asked for O_NONBLOCK, so hooked calls return EAGAIN at once;
runtime: the hooks set it to wait without blocking the thread), whether it
is in the epoll reactor, its SO_RCVTIMEO / SO_SNDTIMEO, and each waiting
task with the events it waits for. With FD, only that fd.
"print *(co::detail::FdCtx *) ADDRESS" shows one context in full."""

    def __init__(self):
        super().__init__("info fdctx", gdb.COMMAND_STATUS)

    def invoke(self, argument, from_tty):
        argument = argument.strip()
        wanted = None
        if argument:
            try:
                wanted = int(gdb.parse_and_eval(argument))
            except gdb.error as e:
                raise gdb.GdbError("info fdctx: expected an fd number, got %r (%s)" % (argument, short_error(e)))
        problems = []
        rows = [("Fd", "Kind", "Non-blocking", "Reactor", "Timeouts", "Waiting tasks")]
        try:
            if wanted is None:
                contexts = list(fd_table.contexts_in_use(problems))
            else:
                found = fd_table.find(wanted)
                contexts = [found] if found is not None else []
            for value in contexts:
                try:
                    ctx = fd_table.FdCtxView(value)
                    rows.append((str(ctx.fd), ctx.kind(), ctx.nonblocking_text(), "yes" if ctx.registered else "no",
                                 ctx.timeouts_text(), waiter_cell(ctx)))
                except (CoscopeError, gdb.error, gdb.MemoryError) as e:
                    problems.append(short_error(e))
        except (CoscopeError, gdb.error, gdb.MemoryError) as e:
            raise gdb.GdbError("coscope: %s" % short_error(e))
        if len(rows) == 1:
            gdb.write("No FdCtx for fd %d: no hooked call has created or waited on it.\n" % wanted if wanted is not None
                      else "No FdCtx in use.\n")
        else:
            gdb.write("\n".join(format_table(rows)) + "\n")
        for problem in problems:
            gdb.write("<coscope: %s>\n" % problem)


class InfoIoSentries(gdb.Command):
    """List the io_sentries tasks wait in: each fd with its events and revents.

Usage: info io-sentries

An io_sentry is one poll-style wait (a hooked poll, read, write, connect,
accept ...) of one task, found from the tasks parked in io_block. For each:
the task, its fds, whether the kernel already reported one ready when the
wait was armed (triggered), whether an fd was added to the epoll reactor
(added), and the deadline. Then one line per fd: the events asked for, the
revents the reactor reported (a hint: the hook asks the kernel again after
waking), and whether the fd's waiter is linked into its FdCtx."""

    def __init__(self):
        super().__init__("info io-sentries", gdb.COMMAND_STATUS)

    def invoke(self, argument, from_tty):
        if argument.strip():
            raise gdb.GdbError("info io-sentries takes no argument")
        problems = []
        try:
            found = io_sentries.waiting(problems)
            now = timers.now() if found else None
        except (CoscopeError, gdb.error, gdb.MemoryError) as e:
            raise gdb.GdbError("coscope: %s" % short_error(e))
        if not found:
            gdb.write("No task waits in an io_sentry.\n")
        for task, sentry in found:
            gdb.write("io_sentry 0x%x of #%d \"%s\" (%s): %d fd%s, triggered %s, added %s, %s\n" % (
                sentry.address, task.id, task.name, task.wait_text(), sentry.nfds, "" if sentry.nfds == 1 else "s",
                str(sentry.triggered).lower(), str(sentry.added).lower(), sentry.deadline_text(now)))
            try:
                rows = [(" ", "Fd", "Events", "Revents", "In FdCtx")]
                for waiter in sentry.waiters():
                    rows.append((" ", str(waiter.fd), fd_table.poll_events_text(waiter.events),
                                 fd_table.poll_events_text(waiter.revents), "linked" if waiter.linked else "not linked"))
                gdb.write("\n".join(format_table(rows)) + "\n")
            except (CoscopeError, gdb.error, gdb.MemoryError) as e:
                gdb.write("  <coscope: %s>\n" % short_error(e))
        for problem in problems:
            gdb.write("<coscope: %s>\n" % problem)


def register():
    InfoFdCtx()
    InfoIoSentries()
