"""Checks on fixture_hook_calls: the probes of the hooks that never park
(socket, setsockopt, getsockopt, fcntl, ioctl, dup, dup2, dup3, pipe, pipe2,
socketpair, sigaction, signal, sysv_signal, siginterrupt).

Live only. From fixture_ready() (no task yet), `co-trace hooks on` logs the
one coroutine's calls, which must be exactly these, in this order, with
their subjects and results; then `co-break hook` stops at its dup2(), its
pipe() - not at main's, outside any coroutine - and, with a condition, at
the signal() that fails. (See suite_states.py and run_gdb_test.py for what
a suite module gives.)
"""

FIXTURE = "fixture_hook_calls"
STOP = ["break fixture_ready", "run"]

CREATED_AT = r"created at \S*fixture_hook_calls\.cpp:\d+"

# The coroutine's calls, as co-trace logs them: (call, result) patterns.
CALLS = [
    (r"socket\(domain=2\)", r"(?P<sock>\d+)"),
    (r"setsockopt\(fd=(?P=sock)\)", "0"),
    (r"getsockopt\(fd=(?P=sock)\)", "0"),
    (r"fcntl\(fd=(?P=sock)\)", r"\d+"),
    (r"ioctl\(fd=(?P=sock)\)", "0"),
    (r"dup\(oldfd=(?P=sock)\)", r"(?P<copy>\d+)"),
    (r"dup2\(oldfd=(?P=sock)\)", "(?P=copy)"),
    (r"dup3\(oldfd=(?P=sock)\)", "(?P=copy)"),
    (r"pipe\(\)", "0"),
    (r"pipe2\(\)", "0"),
    (r"socketpair\(domain=1\)", "0"),
    (r"sigaction\(signo=10\)", "0"),
    (r"signal\(signo=12\)", "SIG_DFL"),
    (r"sysv_signal\(signo=12\)", "0x[0-9a-f]+"),  # the handler signal() installed
    (r"siginterrupt\(signo=10\)", "0"),
    (r"signal\(signo=9\)", "SIG_ERR EINVAL"),
] + [(r"close\(fd=\d+\)", "0")] * 8


def trace(calls):
    """The whole transcript: the coroutine's [co-trace] lines are exactly
    `calls`, entry and exit each, in order; other lines may come between."""
    own = r'\[co-trace\] #1 "setup" '
    other = r"(?:(?!\[co-trace\])[^\n]*\n)*"
    lines = []
    for call, result in calls:
        lines += [r"^%scall %s\n" % (own, call), r"^%s%s = %s\n" % (own, call, result)]
    return r"(?m)\A%s%s%s(?:(?!\[co-trace\])[^\n]*(?:\n|\Z))*\Z" % (other, other.join(lines), other)


def once(pattern):
    return r"(?s)\A(?:(?!%s).)*%s(?:(?!%s).)*\Z" % (pattern, pattern, pattern)


def absent(pattern):
    return r"(?s)\A(?:(?!%s).)*\Z" % pattern


CHECKS = [
    ("co-trace hooks on", [r"^Tracing hooked calls made in coroutines\.$"]),
    ("continue", [trace(CALLS), absent(r"hit Breakpoint|<coscope"), r"\[Inferior 1 \(process \d+\) exited normally\]"]),
    ("co-trace hooks off", [r"^No longer tracing hooked calls made in coroutines\.$"]),
    ("co-break hook dup2", [r"(?m)^Breakpoint 2: stop when a coroutine calls dup2\(\)\.$"]),
    ("co-break hook pipe", [r"(?m)^Breakpoint 3: stop when a coroutine calls pipe\(\)\.$"]),
    ("co-break hook signal if signo == 9", [r"(?m)^Breakpoint 4: stop when a coroutine calls signal\(\), if signo == 9\.$"]),
    # main's pipe() before fixture_ready() is outside any coroutine: no stop.
    ("run", [absent(r"\[co-break"), r"hit Breakpoint 1, .*fixture_ready"]),
    ("continue", [
        once(r"\[co-break"),
        r'(?m)^\[co-break 2\] dup2\(oldfd=\d+\) in coroutine #1: #1 "setup" running %s processer 0$' % CREATED_AT,
        r"hit Breakpoint 2, dup2 \(oldfd=\d+, newfd=\d+\)",
    ]),
    ("continue", [once(r"\[co-break"), r'(?m)^\[co-break 3\] pipe\(\) in coroutine #1: ', r"hit Breakpoint 3, pipe \("]),
    ("continue", [once(r"\[co-break"), r'(?m)^\[co-break 4\] signal\(signo=9\) in coroutine #1: ', r"hit Breakpoint 4, signal \(signo=9, "]),
    # main's pipe() after the task: no stop either.
    ("continue", [absent(r"\[co-break|hit Breakpoint"), r"\[Inferior 1 \(process \d+\) exited normally\]"]),
]
