"""Hooked calls, as the hooks' probes report them.

Each hook that can park a task, and each that never parks but changes what
the runtime knows of an fd or a signal (close, which wakes the tasks waiting
on an fd; socket, pipe, dup, fcntl, setsockopt, sigaction, ...), has two
probes (hooks/hook_probes.h): coscope:NAME_enter(subject) as
it starts and coscope:NAME_exit(subject, result) just before it returns.
The exit probe fires on the thread the task returns on, which may not be the
one it called from (a task that parked inside the hook can resume on another
worker), so the coroutine making the call is read at each probe from the
thread that hit it.
"""

import errno

from . import probe_points
from .tasks import TaskView

# Result kinds: how a hook reports failure.
ERRNO = "errno"      # -1, with errno set
VALUE = "value"      # a number with a meaning of its own (seconds left, an EAI_ or errno code)
POINTER = "pointer"  # a pointer, NULL on failure (h_errno says why)
HANDLER = "handler"  # a signal handler, SIG_ERR on failure (errno says why)

# The special handlers' values (<signal.h>).
HANDLER_NAMES = {0: "SIG_DFL", 1: "SIG_IGN", -1: "SIG_ERR"}

# Every hook with probes: its subject (the argument that says what the call
# is about; None: the probes carry none) and its result kind.
HOOKS = {
    "read": ("fd", ERRNO),
    "readv": ("fd", ERRNO),
    "recv": ("fd", ERRNO),
    "recvfrom": ("fd", ERRNO),
    "recvmsg": ("fd", ERRNO),
    "recvmmsg": ("fd", ERRNO),
    "write": ("fd", ERRNO),
    "writev": ("fd", ERRNO),
    "send": ("fd", ERRNO),
    "sendto": ("fd", ERRNO),
    "sendmsg": ("fd", ERRNO),
    "sendmmsg": ("fd", ERRNO),
    "accept": ("fd", ERRNO),
    "accept4": ("fd", ERRNO),
    "connect": ("fd", ERRNO),
    "close": ("fd", ERRNO),
    "poll": ("nfds", ERRNO),
    "ppoll": ("nfds", ERRNO),
    "select": ("nfds", ERRNO),
    "pselect": ("nfds", ERRNO),
    "epoll_wait": ("epfd", ERRNO),
    "epoll_pwait": ("epfd", ERRNO),
    "epoll_pwait2": ("epfd", ERRNO),
    "sleep": ("seconds", VALUE),
    "usleep": ("usec", ERRNO),
    "nanosleep": (None, ERRNO),
    "clock_nanosleep": ("clockid", VALUE),
    "gethostbyname": (None, POINTER),
    "gethostbyname_r": (None, VALUE),
    "gethostbyname2_r": (None, VALUE),
    "gethostbyaddr": (None, POINTER),
    "gethostbyaddr_r": (None, VALUE),
    "getaddrinfo": (None, VALUE),
    # Hooks that never park.
    "socket": ("domain", ERRNO),
    "socketpair": ("domain", ERRNO),
    "pipe": (None, ERRNO),
    "pipe2": (None, ERRNO),
    "dup": ("oldfd", ERRNO),
    "dup2": ("oldfd", ERRNO),
    "dup3": ("oldfd", ERRNO),
    "fcntl": ("fd", ERRNO),
    "fcntl64": ("fd", ERRNO),
    "ioctl": ("fd", ERRNO),
    "setsockopt": ("fd", ERRNO),
    "getsockopt": ("fd", ERRNO),
    "sigaction": ("signo", ERRNO),
    "signal": ("signo", HANDLER),
    "sysv_signal": ("signo", HANDLER),
    "siginterrupt": ("signo", ERRNO),
}


def names():
    return sorted(HOOKS)


def enter_probe(name):
    return name + "_enter"


def exit_probe(name):
    return name + "_exit"


def _signed(number, bits=64):
    """A probe argument as the signed value the hook passed (gdb may give it unsigned)."""
    number &= (1 << bits) - 1
    return number - (1 << bits) if number >> (bits - 1) else number


class HookCall:
    """One hook probe hit: which hook, its subject, and (at the exit) its result."""

    def __init__(self, name, subject, result=None, error=None, task=None):
        self.name = name
        self.subject = subject  # an int, or None for a hook without one
        self.result = result    # None at the entry
        self.error = error      # errno at a failed exit, when readable
        self.task = task        # the TaskView of the calling coroutine, or None

    @classmethod
    def at_probe(cls, name, exiting):
        """The call the selected thread is stopped at (its enter or exit probe).
        task is None when the thread is not running a coroutine. Raises CoscopeError."""
        subject_name, kind = HOOKS[name]
        index = 0
        subject = None
        if subject_name is not None:
            subject = _signed(probe_points.argument(0))
            index = 1
        result = error = None
        if exiting:
            result = probe_points.argument(index)
            if kind != POINTER:
                result = _signed(result)
            if kind in (ERRNO, HANDLER) and result == -1:
                error = probe_points.thread_errno()
        pointer = probe_points.current_task()
        task = TaskView(pointer) if pointer is not None else None
        return cls(name, subject, result, error, task)

    def call_text(self):
        """ "read(fd=7)", "nanosleep()" """
        subject_name = HOOKS[self.name][0]
        if subject_name is None:
            return "%s()" % self.name
        return "%s(%s=%d)" % (self.name, subject_name, self.subject)

    def result_text(self):
        """ "5", "-1 EAGAIN", "0x55555555a2a0", "SIG_DFL", "SIG_ERR EINVAL" """
        kind = HOOKS[self.name][1]
        if kind == POINTER:
            return "0x%x" % self.result if self.result else "NULL"
        if kind == HANDLER and self.result not in HANDLER_NAMES:
            return "0x%x" % (self.result & (1 << 64) - 1)
        text = HANDLER_NAMES[self.result] if kind == HANDLER else str(self.result)
        if self.error is not None:
            text += " " + errno.errorcode.get(self.error, "errno %d" % self.error)
        return text

    def log_line(self):
        """One line for co-trace: '#5 "reader" call read(fd=7)' at the entry,
        '#5 "reader" read(fd=7) = 5' at the exit."""
        who = '#%d "%s"' % (self.task.id, self.task.name)
        if self.result is None:
            return "%s call %s" % (who, self.call_text())
        return "%s %s = %s" % (who, self.call_text(), self.result_text())
