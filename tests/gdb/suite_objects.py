"""Checks on fixture_objects, stopped in fixture_ready(): schedulers found
without any task, channels holding values (a std::string ring that wrapped
round), with a waiting sender and a waiting plain thread, a closed one, and
fds with SO_RCVTIMEO / SO_SNDTIMEO and a program-set O_NONBLOCK. (See
suite_states.py for what a suite module gives.)
"""

FIXTURE = "fixture_objects"
STOP = ["break fixture_ready", "run"]

TIMED_READER, SENDER = 1, 2
# An hour-long wait seen a little later (see suite_io.py).
DUE = r"in (?:at most )?(?:5\dm\d\ds|1h00m00s)"
STRING_CHANNEL = r"co::Channel<std::(?:__cxx11::)?basic_string<char, std::char_traits<char>, std::allocator<char> > >"
# An idle processer's thread waits in the reactor (epoll_pwait2; epoll_pwait
# on an older kernel) or on its futex.
IDLE_SYSCALL = r"(?:epoll_pwait2?\(epfd \d+\)|futex\(0x[0-9a-f]+, FUTEX_WAIT_PRIVATE\))"
ROW_OF_IDLE_PROCESSER = (r"\n\s+Processer\s+Thread\s+Running\s+Local\s+Inbox\s+Next\s+Idle\s+Switches\s+Run time\s+"
                         r"System call\n"
                         r"\s+0\s+LWP \d+, thread \d+\s+-\s+0\s+0\s+-\s+yes, (?:polling|sleeping)\s+\d+\s+-\s+" + IDLE_SYSCALL)

CHECKS = [
    ("info processers", [
        r"\Ascheduler 1 \(co_sched\): started, 1 processer, 2 live tasks, 1 timer \(SchedulerCore 0x[0-9a-f]+\)" + ROW_OF_IDLE_PROCESSER + r"\n",
        # no task points at these two: only the scheduler registry finds them
        r"(?m)^scheduler 2: stopped, 0 processers, 0 live tasks, 0 timers \(SchedulerCore 0x[0-9a-f]+\)\nscheduler 3: ",
        r"(?m)^scheduler 3: started, 1 processer, 0 live tasks, 0 timers \(SchedulerCore 0x[0-9a-f]+\)" + ROW_OF_IDLE_PROCESSER + r"\Z",
    ]),
    ("print coscope_scheduler_registry.count", [r"= 3$"]),
    ("info fdctx", [
        r"(?m)^(\d+)\s+socket \(stream\)\s+runtime\s+yes\s+recv 1h00m00s, send -\s+#1 \"timed-reader\" POLLIN$",
        r"(?m)^\d+\s+socket \(stream\)\s+no\s+no\s+recv -, send 1\.500s\s+-$",
        r"(?m)^\d+\s+pipe\s+user\s+no\s+-\s+-\n\d+\s+pipe\s+user\s+no\s+-\s+-$",
    ]),
    ("info io-sentries", [
        r"\Aio_sentry 0x[0-9a-f]+ of #1 \"timed-reader\" \(fd (\d+) readable, timed\): 1 fd, triggered false, added true, "
        r"deadline " + DUE + r"\n\s+Fd\s+Events\s+Revents\s+In FdCtx\n\s+\1\s+POLLIN\s+0\s+linked\Z",
    ]),
    ("info co-timers", [
        r"\A1 armed timer, earliest first; [^\n]*\nDue\s+At \(CLOCK_MONOTONIC\)\s+Id\s+Name\s+State\s+Waiting for\n" + DUE +
        r"\s+\d+\.\d{9} s\s+1\s+timed-reader\s+io_block\s+fd \d+ readable, timed\Z",
    ]),
    ("print '(anonymous namespace)::g_words'", [
        r"= " + STRING_CHANNEL + r': capacity 4, size 4, open, 0 senders, 0 receivers waiting = '
        r'\{\[0\] = "two", \[1\] = "three", \[2\] = "four", \[3\] = "five"\}$',
    ]),
    ("print '(anonymous namespace)::g_full'", [
        r'= co::Channel<int>: capacity 1, size 1, open, 1 sender, 0 receivers waiting = \{\[0\] = 7, sender = #2 "sender"\}$',
    ]),
    ("print *(co::Channel<int>*)coscope_task_registry.shards[%d].head->wait_object" % SENDER, [
        r'= co::Channel<int>: capacity 1, size 1, open, 1 sender, 0 receivers waiting = \{\[0\] = 7, sender = #2 "sender"\}$',
    ]),
    ("print '(anonymous namespace)::g_closed'", [r"= co::Channel<int>: capacity 2, size 1, closed, 0 senders, 0 receivers waiting = \{\[0\] = 3\}$"]),
    ("print '(anonymous namespace)::g_thread_side'", [
        r"= co::Channel<int>: capacity 0 \(unbuffered\), size 0, open, 0 senders, 1 receiver waiting = \{receiver = a thread \(not a task\)\}$",
    ]),
    ("set print elements 2", [r"^$"]),
    # two values, each string cut to two characters as well: gdb's limit, applied by gdb
    ("print '(anonymous namespace)::g_words'", [r': capacity 4, size 4, [^{]*\{\[0\] = "tw"\.\.\., \[1\] = "th"\.\.\.\.\.\.\}$']),
]

# With auto-load off, libstdc++'s own printers are not loaded either: the
# std::string values print raw, so only an int channel is checked whole.
SOURCED_CHECKS = [
    ("info processers", [r"(?m)^scheduler 2: stopped, 0 processers, 0 live tasks, 0 timers"]),
    ("print '(anonymous namespace)::g_full'", [r'= co::Channel<int>: capacity 1, size 1, open, 1 sender, 0 receivers waiting = \{\[0\] = 7, sender = #2 "sender"\}$']),  # noqa: E501 (a whole output line)
]
