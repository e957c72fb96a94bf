"""Checks on fixture_events: co-break and co-trace, a breakpoint script's stop and its log.

Live only: a breakpoint needs a running process (a core file has nothing to
hit). gdb stops in fixture_ready(), where the worker thread runs and no task
exists yet, and from there:

  - co-break state sleep stops at the writer's usleep (disabled, then
    enabled again: later at the sleeper's co_sleep); co-break state runnable
    task 2 at the reader's wake-up from its read; co-break hook read at the
    reader's second read(); co-break state done at the reader's end, then
    the sleeper's; main's own read(), outside any coroutine, does not stop;
  - the program is run again with co-trace states and hooks on: each task's
    own lines, and only those, come in the order its hand-offs fix (see
    fixture_events.cpp), and its output - sent to a file - is the output of
    the program run without gdb (the driver compares them, PROGRAM_OUTPUT);
  - co-trace ... off removes every probe breakpoint it made: a third run logs
    nothing.

A suite module's attributes are described in suite_states.py and
run_gdb_test.py.
"""


FIXTURE = "fixture_events"
STOP = ["break fixture_ready", "run"]

SLEEPER, READER, WRITER = 1, 2, 3
NAMES = {SLEEPER: "sleeper", READER: "reader", WRITER: "writer"}
CREATED_AT = r"created at \S*fixture_events\.cpp:\d+"
FD = r"fd=(\d+)"


def trace_of(task_id, lines):
    """A regular expression for the whole transcript: the `[co-trace]` lines
    of task `task_id` are exactly `lines` (regular expressions), in this
    order; lines of other tasks, of gdb and of the program may come between."""
    own = r'\[co-trace\] #%d "%s" ' % (task_id, NAMES[task_id])
    other = r"(?:(?!\[co-trace\] #%d )[^\n]*\n)*" % task_id
    body = other.join(r"^%s%s\n" % (own, line) for line in lines)
    return r"(?m)\A%s%s%s(?:(?!\[co-trace\] #%d )[^\n]*(?:\n|\Z))*\Z" % (other, body, other, task_id)


def once(pattern):
    """Matches when `pattern` occurs exactly once."""
    return r"(?s)\A(?:(?!%s).)*%s(?:(?!%s).)*\Z" % (pattern, pattern, pattern)


def absent(pattern):
    return r"(?s)\A(?:(?!%s).)*\Z" % pattern


SLEEPER_EVENTS = [
    r"created -> runnable " + CREATED_AT,
    r"runnable -> running on processer 0",
    r"running -> sys_block \(channel recv 0x[0-9a-f]+\)",
    r"sys_block -> runnable",
    r"runnable -> running on processer 0",
    r"running -> sleep \(sleep\)",
    r"sleep -> runnable",
    r"runnable -> running on processer 0",
    r"running -> done",
]
READER_EVENTS = [
    r"created -> runnable " + CREATED_AT,
    r"runnable -> running on processer 0",
    r"call read\(fd=(?P<rfd>\d+)\)",
    r"running -> io_block \(fd (?P=rfd) readable\)",
    r"io_block -> runnable",
    r"runnable -> running on processer 0",
    r"read\(fd=(?P=rfd)\) = 5",
    r"call read\(fd=(?P=rfd)\)",
    r"read\(fd=(?P=rfd)\) = 0",
    r"call close\(fd=(?P=rfd)\)",
    r"close\(fd=(?P=rfd)\) = 0",
    r"running -> done",  # the sleeper was waiting: the send did not park
]
WRITER_EVENTS = [
    r"created -> runnable " + CREATED_AT,
    r"runnable -> running on processer 0",
    r"call usleep\(usec=10000\)",
    r"running -> sleep \(sleep\)",
    r"sleep -> runnable",
    r"runnable -> running on processer 0",
    r"usleep\(usec=10000\) = 0",
    r"call write\(fd=(?P<wfd>\d+)\)",
    r"write\(fd=(?P=wfd)\) = 5",
    r"call close\(fd=(?P=wfd)\)",
    r"close\(fd=(?P=wfd)\) = 0",
    r"call write\(fd=(?P=wfd)\)",
    r"write\(fd=(?P=wfd)\) = -1 EBADF",
    r"running -> done",
]

HOOK_TABLE_CHECK = (
    "python import re, coscope.hook_probes as table; "
    "listed = gdb.execute('info probes stap coscope', to_string=True); "
    "enter = set(re.findall(r'^stap coscope +([a-z0-9_]+)_enter ', listed, re.M)); "
    "exit = set(re.findall(r'^stap coscope +([a-z0-9_]+)_exit ', listed, re.M)); "
    "print('hooks with enter probes: %d' % len(enter)); "
    "print('enter probes without an exit probe:', ', '.join(sorted(enter - exit)) or 'none'); "
    "print('missing from the table:', ', '.join(sorted(enter - set(table.HOOKS))) or 'none'); "
    "print('in the table without probes:', ', '.join(sorted(set(table.HOOKS) - enter)) or 'none')"
)

PROGRAM_LINES = [
    r"writer: wrote 5 bytes; after close: -1, EBADF",
    r"reader: read 5 bytes in 2 calls, sum 532",
    r"sleeper: received 532, slept 50 ms",
    r"main: read 2 bytes outside a coroutine",
]

CHECKS = [
    ("help co-break", [
        r"^Stop when a coroutine enters a state or calls a hooked function\.",
        r"Usage: co-break state STATE \[task ID\]",
        r"co-break hook -- Stop at a hooked function's entry when a coroutine calls it\.",
        r"co-break state -- Stop when a coroutine enters a state\.",
    ]),
    ("help co-trace", [
        r"^Log coroutine events without stopping\.",
        r"co-trace hooks -- Log hooked calls made in coroutines without stopping\.",
        r"co-trace states -- Log task state transitions without stopping\.",
    ]),
    ("help info co-breakpoints", [r"^List the coroutine breakpoints \(co-break\) and say which traces \(co-trace\) are on\."]),
    # Bad input: an error that lists what is accepted, and no breakpoint.
    ("co-break state bogus", [r"^co-break state: unknown state 'bogus'; expected one of: runnable, running, io_block, sleep, sys_block, done$"]),
    ("co-break hook bogus", [r"^co-break hook: no probe points for 'bogus'; the hooks that have them: accept, accept4, .*\bclose, connect, .*\bread, readv, .*\busleep, write, writev$"]),  # noqa: E501 (a whole output line)
    ("co-break state sleep task x", [r"^co-break state: bad task id 'x': expected a coroutine id, a positive integer"]),
    ("co-break state sleep task 0", [r"^co-break state: bad task id '0'"]),
    ("co-break hook read now", [r"^co-break hook: after the hook name, only \"task ID\" and \"if EXPR\" may follow; got 'now'$"]),
    ("co-break hook read if", [r"^co-break hook: a condition must follow \"if\"$"]),
    ("co-break", [r'^co-break: say "state" or "hook"']),
    ("co-trace states maybe", [r"^co-trace states: expected \"on\" or \"off\"; got 'maybe'$"]),
    ("co-trace sideways on", [r"^co-trace: expected \"states\" or \"hooks\", then \"on\" or \"off\"; got 'sideways on'$"]),
    ("info co-breakpoints", [r"^No coroutine breakpoints\.\nco-trace states: off\nco-trace hooks: off$"]),
    # The toolkit's table of hooks (hook_probes.py) names exactly the hooks
    # whose enter and exit probes are in the program.
    (HOOK_TABLE_CHECK, [
        r"(?m)^hooks with enter probes: 49$",
        r"(?m)^enter probes without an exit probe: none$",
        r"(?m)^missing from the table: none$",
        r"(?m)^in the table without probes: none$",
    ]),
    # co-break state: the writer sleeps first (the sleeper parks on the channel before).
    ("co-break state sleep", [r"Breakpoint 2 at 0x[0-9a-f]+ \(\d+ locations\)", r"(?m)^Breakpoint 2: stop when a coroutine enters sleep\.$"]),
    ("info breakpoints", [r"(?m)^2\s+breakpoint\s+keep y\s+<MULTIPLE>", r"(?m)^2\.1\s+y\s+0x[0-9a-f]+ -probe-stap coscope:task_state$"]),
    ("continue", [
        once(r"\[co-break"),
        r'(?m)^\[co-break 2\] running -> sleep: #3 "writer" sleep \(sleep\) %s processer 0$' % CREATED_AT,
        r"hit Breakpoint 2\.\d+, .*co::detail::park",
    ]),
    ("disable 2", []),
    # With a task: the reader's next "runnable" is its wake-up from read().
    ("co-break state runnable task 2", [r"(?m)^Breakpoint 3: stop when coroutine #2 enters runnable\.$"]),
    ("continue", [
        once(r"\[co-break"),
        r'(?m)^\[co-break 3\] io_block -> runnable: #2 "reader" runnable \(fd \d+ readable\) %s processer 0$' % CREATED_AT,
        r"hit Breakpoint 3\.\d+, ",
    ]),
    ("delete 3", []),
    # A hook: the reader's second read(); main's read() at the end, outside any coroutine, does not stop.
    ("co-break hook read", [r"(?m)^Breakpoint 4 at 0x[0-9a-f]+", r"(?m)^Breakpoint 4: stop when a coroutine calls read\(\)\.$"]),
    ("continue", [
        once(r"\[co-break"),
        r'(?m)^\[co-break 4\] read\(%s\) in coroutine #2: #2 "reader" running %s processer 0$' % (FD, CREATED_AT),
        r"hit Breakpoint 4, read \(fd=\d+, ",
    ]),
    # The reader hands its sum to the waiting sleeper and ends; the sleeper then sleeps and ends.
    ("co-break state done", [r"(?m)^Breakpoint 5: stop when a coroutine enters done\.$"]),
    ("enable 2", []),
    ("continue", [once(r"\[co-break"), r'(?m)^\[co-break 5\] running -> done: #2 "reader" done %s processer 0$' % CREATED_AT]),
    ("continue", [once(r"\[co-break"), r'(?m)^\[co-break 2\] running -> sleep: #1 "sleeper" sleep \(sleep\) %s processer 0$' % CREATED_AT]),
    ("continue", [once(r"\[co-break"), r'(?m)^\[co-break 5\] running -> done: #1 "sleeper" done %s processer 0$' % CREATED_AT]),
    ("info co-breakpoints", [
        r"(?m)^Num\s+Enb\s+Hits\s+What$",
        r"(?m)^2\s+y\s+2\s+stop when a coroutine enters sleep$",
        r"(?m)^4\s+y\s+1\s+stop when a coroutine calls read\(\)$",
        r"(?m)^5\s+y\s+2\s+stop when a coroutine enters done$",
    ]),
    ("continue", [absent(r"\[co-break"), r"\[Inferior 1 \(process \d+\) exited normally\]"]),
    ("delete", []),
    # co-trace: a whole run, logged without a stop.
    ("co-trace states on", [r"^Tracing task state transitions\.$"]),
    ("co-trace hooks on", [r"^Tracing hooked calls made in coroutines\.$"]),
    ("co-trace states on", [r"^co-trace states is already on\.$"]),
    ("co-trace", [r"^co-trace states: on\nco-trace hooks: on$"]),
    ("info breakpoints", [r"^No breakpoints or watchpoints\.$"]),  # traces are internal breakpoints
    ("maint info breakpoints", [r"coscope:task_state", r"coscope:read_enter", r"coscope:read_exit"]),
    ("run > @WORK_DIR@/traced.out", [
        absent(r"hit Breakpoint|<coscope"),
        trace_of(SLEEPER, SLEEPER_EVENTS),
        trace_of(READER, READER_EVENTS),
        trace_of(WRITER, WRITER_EVENTS),
        r"\[Inferior 1 \(process \d+\) exited normally\]",
    ]),
    # off removes exactly what on made: no probe breakpoint is left, a new run logs nothing.
    ("co-trace states off", [r"^No longer tracing task state transitions\.$"]),
    ("co-trace hooks off", [r"^No longer tracing hooked calls made in coroutines\.$"]),
    ("co-trace hooks off", [r"^co-trace hooks was not on\.$"]),
    ("maint info breakpoints", [absent(r"coscope:")]),
    ("info co-breakpoints", [r"^No coroutine breakpoints\.\nco-trace states: off\nco-trace hooks: off$"]),
    ("run", [absent(r"\[co-trace\]|\[co-break|hit Breakpoint"), r"\[Inferior 1 \(process \d+\) exited normally\]"]),
    # A condition of the user's, checked after the toolkit's own: only the
    # writer's second write() (1 byte, to the closed fd) stops. The hook's
    # arguments are in scope.
    ("co-break hook write if count == 1", [r"(?m)^Breakpoint 6: stop when a coroutine calls write\(\), if count == 1\.$"]),
    # A condition gdb cannot parse leaves no breakpoint (7 was made, then deleted).
    ("co-break state sleep if no_such_variable", [r'No symbol "no_such_variable" in current context\.']),
    ("info co-breakpoints", [r"(?m)^6\s+y\s+0\s+stop when a coroutine calls write\(\), if count == 1$", absent(r"enters sleep")]),
    ("info breakpoints", [r"(?m)^\s+stop only if \$_co_break\(\d+\)$"]),
    # (The program's output goes to another file: traced.out is compared.)
    ("run > @WORK_DIR@/conditions.out", [
        once(r"\[co-break"),
        r'(?m)^\[co-break \d+\] write\(fd=\d+\) in coroutine #3: #3 "writer" running %s processer 0$' % CREATED_AT,
        r"hit Breakpoint \d+, write \(fd=\d+, buf=0x[0-9a-f]+, count=1\)",
    ]),
    # gdb's own `condition` replaces the user's condition. One that counts:
    # it runs on the writer's two write() calls only, never on main's, which
    # is outside any coroutine.
    ("set $writes = 0", []),
    ("condition 6 ($writes = $writes + 1) < 0", []),
    ("info co-breakpoints", [r"(?m)^\d+\s+y\s+1\s+stop when a coroutine calls write\(\), if \(\$writes = \$writes \+ 1\) < 0$"]),
    ("info breakpoints", [r"(?m)^\s+stop only if \$_co_break\(\d+\)$"]),
    ("run", [absent(r"\[co-break|hit Breakpoint"), r"\[Inferior 1 \(process \d+\) exited normally\]"]),
    ("print $writes", [r"^\$\d+ = 2$"]),
    # (gdb says "now unconditional" only to a terminal; the toolkit's check stays.)
    ("condition 6", [r"\A\Z"]),
    ("info breakpoints", [r"(?m)^\s+stop only if \$_co_break\(6\)$"]),
    ("info co-breakpoints", [r"(?m)^6\s+y\s+0\s+stop when a coroutine calls write\(\)$"]),
    # `ignore` skips matching events only, silently: the writer's first
    # write() is skipped, its second stops.
    ("ignore 6 1", []),
    ("run", [
        once(r"\[co-break"),
        r'(?m)^\[co-break 6\] write\(fd=\d+\) in coroutine #3: ',
        r"hit Breakpoint 6, write \(fd=\d+, buf=0x[0-9a-f]+, count=1\)",
    ]),
]

# The program's output in the traced run (see "run > ..." above), compared by
# the driver with its output without gdb, which must be these lines.
PROGRAM_OUTPUT = "traced.out"
PROGRAM_OUTPUT_CHECKS = [r"\A" + "\n".join(PROGRAM_LINES) + r"\n\Z"]
