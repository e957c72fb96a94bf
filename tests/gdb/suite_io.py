"""Checks on fixture_states, stopped in fixture_ready(): the runtime objects
around the tasks - fds (info fdctx), io_sentries, timers, processers and
schedulers, the channel - and their printers, on sound and on corrupted
objects. (See suite_states.py for what a suite module gives.)

The fixture's fd numbers are not fixed: rows are matched by their shape and
by the task that waits, and a reader's fd is taken from the task itself
(`wait_arg`, the fd its read() waits for).
"""

FIXTURE = "fixture_states"
STOP = ["break fixture_ready", "run"]

# The fixture's tasks, in spawn order: their ids are 1..9, so task N is the
# head of registry shard N.
SLEEPERS, UNNAMED, READER_1, READER_2, CHANNEL_WAITER, POLLER, SPINNER = (1, 2, 3), 4, 5, 6, 7, 8, 9
TIMED_TASKS = (1, 2, 3, 4, 8)


def task(task_id):
    return "coscope_task_registry.shards[%d].head" % task_id


# An hour-long wait seen a little later: "in 59m58s" live. On a core file it
# counts from the last timer pass, which may come before the wait was armed:
# "in at most 59m59s", or "in at most 1h00m00s".
DUE = r"in (?:at most )?(?:5\dm\d\ds|1h00m00s)"
IO_SENTRY_COLUMNS = r"\s+Fd\s+Events\s+Revents\s+In FdCtx"
FDCTX_COLUMNS = r"(?m)^Fd\s+Kind\s+Non-blocking\s+Reactor\s+Timeouts\s+Waiting tasks$"

# The order of the timed tasks by their raw Task::timer.due_ns, read with
# plain gdb expressions (not the toolkit), printed before `info co-timers`.
RAW_TIMER_ORDER = (
    "python due = {i: int(gdb.parse_and_eval('coscope_task_registry.shards[%d].head->timer.due_ns' % i)) "
    "for i in " + repr(TIMED_TASKS) + "}; "
    "print('by due_ns: ' + ' '.join(str(i) for i in sorted(due, key=lambda i: (due[i], i)))); "
    "gdb.execute('info co-timers')"
)


def timer_rows_in_raw_order(count):
    rows = "".join(r"[^\n]*\d s\s+\%d\s[^\n]*\n?" % (k + 1) for k in range(count))
    return (r"by due_ns: " + " ".join([r"(\d+)"] * count) + r"\n%d armed timers, earliest first;[^\n]*\n"
            r"Due\s+At \(CLOCK_MONOTONIC\)\s+Id\s+Name\s+State\s+Waiting for\n" % count + rows + r"\Z")


CHECKS = [
    # ---- fds ----------------------------------------------------------------
    ("info fdctx", [
        FDCTX_COLUMNS,
        r'(?m)^\d+\s+pipe\s+runtime\s+yes\s+-\s+#5 "reader-1" POLLIN$',
        r'(?m)^\d+\s+pipe\s+runtime\s+yes\s+-\s+#6 "reader-2" POLLIN$',
        # poll() leaves O_NONBLOCK alone: the poller's two fds are not the runtime's to set.
        r'(?ms)^\d+\s+pipe\s+no\s+yes\s+-\s+#8 "poller" POLLIN$.*^\d+\s+pipe\s+no\s+yes\s+-\s+#8 "poller" POLLIN$',
        # the write ends: created by pipe(), nobody waits on them
        r"(?m)^\d+\s+pipe\s+no\s+no\s+-\s+-$",
    ]),
    ("info fdctx %s->wait_arg" % task(READER_1), [FDCTX_COLUMNS, r'\A[^\n]*\n\d+\s+pipe\s+runtime\s+yes\s+-\s+#5 "reader-1" POLLIN\Z']),
    ("info fdctx 100000", [r"^No FdCtx for fd 100000: no hooked call has created or waited on it\.$"]),
    ("info fdctx bogus", [r"^info fdctx: expected an fd number, got 'bogus'"]),
    ("print ((co::detail::FdCtx**)coscope_fd_table.chunks)[0][%s->wait_arg]" % task(READER_2), [
        r'= fd (\d+): pipe, non-blocking runtime, in reactor, timeouts -, 1 waiter = '
        r'\{\[0\] = fd \1 events POLLIN revents 0, linked, io_sentry 0x[0-9a-f]+ of #6 "reader-2"\}$',
    ]),
    ("print coscope_fd_table.version", [r"= 1$"]),

    # ---- io_sentries --------------------------------------------------------
    ("info io-sentries", [
        r'(?m)^io_sentry 0x[0-9a-f]+ of #5 "reader-1" \(fd (\d+) readable\): 1 fd, triggered false, added true, '
        r"no deadline\n" + IO_SENTRY_COLUMNS + r"\n\s+\1\s+POLLIN\s+0\s+linked$",
        r'(?m)^io_sentry 0x[0-9a-f]+ of #6 "reader-2" \(fd (\d+) readable\): 1 fd, triggered false, added true, '
        r"no deadline\n" + IO_SENTRY_COLUMNS + r"\n\s+\1\s+POLLIN\s+0\s+linked$",
        r'(?m)^io_sentry 0x[0-9a-f]+ of #8 "poller" \(poll on 2 fds, timed\): 2 fds, triggered false, added true, '
        r"deadline " + DUE + r"\n" + IO_SENTRY_COLUMNS + r"\n\s+\d+\s+POLLIN\s+0\s+linked\n\s+\d+\s+POLLIN\s+0\s+linked$",
        r"\A(?:io_sentry [^\n]*\n(?:\s[^\n]*(?:\n|\Z))+){3}\Z",  # exactly three, each with its fd rows
    ]),
    ("print *(co::detail::IoSentry*)%s->wait_object" % task(POLLER), [
        r'= io_sentry of #8 "poller": 2 fds, triggered false, added true, deadline ' + DUE +
        r" = \{\[0\] = fd \d+ events POLLIN revents 0, linked, \[1\] = fd \d+ events POLLIN revents 0, linked\}$",
    ]),
    ("print ((co::detail::IoSentry*)%s->wait_object)->waiters[0]" % task(READER_1), [
        r'= fd \d+ events POLLIN revents 0, linked, io_sentry 0x[0-9a-f]+ of #5 "reader-1"$',
    ]),

    # ---- the channel --------------------------------------------------------
    ("print '(anonymous namespace)::g_channel'", [
        r'= co::Channel<int>: capacity 0 \(unbuffered\), size 0, open, 0 senders, 1 receiver waiting = '
        r'\{receiver = #7 "channel-waiter"\}$',
    ]),
    ("print *(co::Channel<int>*)%s->wait_object" % task(CHANNEL_WAITER), [
        r'= co::Channel<int>: capacity 0 \(unbuffered\), size 0, open, 0 senders, 1 receiver waiting = \{receiver = #7 "channel-waiter"\}$',
    ]),

    # ---- timers -------------------------------------------------------------
    ("info co-timers", [
        r"^5 armed timers, earliest first; ",
        r"(?m)^" + DUE + r"\s+\d+\.\d{9} s\s+1\s+sleeper-1\s+sleep\s+sleep$",
        r"(?m)^" + DUE + r"\s+\d+\.\d{9} s\s+2\s+sleeper-2\s+sleep\s+sleep$",
        r"(?m)^" + DUE + r"\s+\d+\.\d{9} s\s+3\s+sleeper-3\s+sleep\s+sleep$",
        r"(?m)^" + DUE + r"\s+\d+\.\d{9} s\s+4\s+-\s+sleep\s+sleep$",
        r"(?m)^" + DUE + r"\s+\d+\.\d{9} s\s+8\s+poller\s+io_block\s+poll on 2 fds, timed$",
    ]),
    (RAW_TIMER_ORDER, [timer_rows_in_raw_order(len(TIMED_TASKS))]),
    ("print %s->timer" % task(SLEEPERS[0]), [r'= due ' + DUE + r', #1 "sleeper-1"$']),
    ("print %s->timer" % task(CHANNEL_WAITER), [r'= disarmed, #7 "channel-waiter"$']),
    ("print coscope_scheduler_registry.head->timers", [
        r"= 5 timers, earliest first = \{\[0\] = " + DUE + r': #\d "[^"]*" \((?:sleep|poll on 2 fds, timed)\), \[1\] = ',
        r"(?:\[\d\] = " + DUE + r': #\d "[^"]*" \((?:sleep|poll on 2 fds, timed)\)(?:, |\}$)){5}',
    ]),
    ("set print elements 2", [r"^$"]),
    ("print coscope_scheduler_registry.head->timers", [r"= 5 timers, earliest first = \{\[0\] = [^\[]*, \[1\] = [^\[]*\.\.\.\}$"]),
    ("set print elements 200", [r"^$"]),

    # ---- schedulers and processers -----------------------------------------
    ("info processers", [
        r"^scheduler 1 \(co_sched\): started, 2 processers, 9 live tasks, 5 timers \(SchedulerCore 0x[0-9a-f]+\)\n",
        r"(?m)^\s+Processer\s+Thread\s+Running\s+Local\s+Inbox\s+Next\s+Idle\s+Switches\s+Run time\s+System call$",
        # the spinner computes: its run time is the stall watchdog's (live: up
        # to now; core: up to its last sample), and its thread is in no call
        r'(?m)^\s+[01]\s+LWP \d+, thread \d+\s+#9 "spinner"\s+0\s+0\s+-\s+no\s+\d+\s+(?:\d+ ms|\d+\.\d s|< \d+ ms|>= \d+ ms|\?)\s+running \(no system call\)$',
        # the other: blocked, or caught in its short spin before it blocks
        # while the spinner runs (docs/runtime.md, Processers and idling)
        r"(?m)^\s+[01]\s+LWP \d+, thread \d+\s+-\s+0\s+0\s+-\s+yes, (?:(?:polling|sleeping)\s+\d+\s+-\s+"
        r"(?:epoll_pwait2?\(epfd \d+\)|futex\(0x[0-9a-f]+, FUTEX_WAIT_PRIVATE\))|spinning\s+\d+\s+-\s+running \(no system call\))$",
        r"\A(?:[^\n]*\n){3}[^\n]*\Z",  # the scheduler, the column names, two processers
    ]),
    ("print coscope_scheduler_registry.count", [r"= 1$"]),

    # ---- corrupted objects: one line from gdb or from the printer, never a traceback
    ("print *(co::detail::FdCtx*)8", [r"^Cannot access memory at address 0x8$"]),
    ("print *(co::Channel<int>*)%s" % task(SLEEPERS[0]), [r"^\$\d+ = <coscope: Channel with capacity \d+, size \d+, head \d+: not a live channel>$"]),
    ("print *(co::detail::TimerQueue*)%s" % task(SLEEPERS[0]), [r"^\$\d+ = <coscope: TimerQueue heap of -?\d+ bytes: not a live TimerQueue>$"]),
    # A Task read as an io_sentry: its created_line, state and flags make an fd count.
    ("print *(co::detail::IoSentry*)%s" % task(SLEEPERS[0]), [r"^\$\d+ = <coscope: io_sentry at 0x[0-9a-f]+ claims \d+ fds: not a live io_sentry>$"]),  # noqa: E501
    # a copy of an unused slot, made to claim a waiter at a wild address
    ("set $ctx = ((co::detail::FdCtx**)coscope_fd_table.chunks)[0][0]", [r"^$"]),
    ("set $ctx.fd = 3", [r"^$"]),
    ("set $ctx.waiters_head = (co::detail::IoWaiter*)8", [r"^$"]),
    ("set $ctx.waiter_count = 1", [r"^$"]),
    ("print $ctx", [r"^\$\d+ = fd 3: other, non-blocking no, not in reactor, timeouts -, 1 waiter = "
                    r"\{error = <coscope: cannot read IoWaiter at 0x8: Cannot access memory at address 0x[0-9a-f]+>\}$"]),
    ("set $chan = '(anonymous namespace)::g_channel'", [r"^$"]),
    ("set $chan.receivers_.head = (co::detail::Waiter*)8", [r"^$"]),
    ("print $chan", [r"= co::Channel<int>: capacity 0 \(unbuffered\), size 0, open, 0 senders, 1 receiver waiting = "
                     r"\{error = <coscope: cannot read a channel waiter at 0x8: Cannot access memory at address 0x[0-9a-f]+>\}$"]),
]

LIVE_ONLY_CHECKS = [
    ("info co-timers", [r"^5 armed timers, earliest first; now is \d+\.\d{9} s \(CLOCK_MONOTONIC, read from this host\)\.\n",
                        r"(?m)^in 5\dm\d\ds\s"]),
]

# On the core file (with the toolkit sourced by hand): no clock to read.
SOURCED_CHECKS = [
    ("info co-timers", [r"^5 armed timers, earliest first; a core file records no clock: due times count from the last "
                        r"timer pass at \d+\.\d{9} s, which the program had reached, so each is an upper bound\.\n",
                        r"(?m)^in at most (?:5\dm\d\ds|1h00m00s)\s"]),
    ("info processers", [r'#9 "spinner"']),
    ("info fdctx", [r'#5 "reader-1" POLLIN']),
]
