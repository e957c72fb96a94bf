"""`co-break state STATE [task ID] [if EXPR]` and `co-break hook NAME [task
ID] [if EXPR]`: breakpoints that stop when a coroutine enters a state or
calls a hook.

Each is an ordinary gdb breakpoint (it has a number; `info breakpoints`,
`disable`, `enable`, `delete` and `condition` work on it) on every site of
a runtime probe, whose condition looks at the probe's arguments and lets the
program go on unless the event is the one asked for; the user's condition
(`if EXPR`, `condition N EXPR`) is checked after that (co_break_condition.py).
A live process is needed: a core file has no breakpoints to hit.
"""

import re

import gdb

from . import co_break_condition, hook_probes, probe_points, transitions
from .hook_probes import HookCall
from .probe_breakpoints import ProbeBreakpoint
from .transitions import Transition


class CoBreakpoint(ProbeBreakpoint):
    """A co-break breakpoint: stops where event_text() names an event and the
    user's condition holds, after a "[co-break N] EVENT" line."""

    def __init__(self, probe_name):
        super().__init__(probe_name)
        co_break_condition.install(self)

    def on_hit(self):
        text = self.event_text()
        if text is None or not co_break_condition.user_condition_holds(self):
            return False
        if self.ignore_count == 0:  # else gdb skips this stop (`ignore`): nothing to say
            gdb.write("[co-break %d] %s\n" % (self.number, text))
        return True

    def event_text(self):
        """What happened, when it is the event asked for; else None."""
        raise NotImplementedError

    def describe(self):
        what = self.event_description()
        return what if self.user_condition is None else "%s, if %s" % (what, self.user_condition)


class StateBreakpoint(CoBreakpoint):
    """Stops when a coroutine (or coroutine task_id) enters `state`."""

    def __init__(self, state, task_id):
        self.state = state
        self.task_id = task_id
        super().__init__(transitions.PROBE)

    def event_text(self):
        # The state first: it is a probe argument, cheaper than the Task.
        if transitions.state_names().get(probe_points.argument(2)) != self.state:
            return None
        transition = Transition.at_probe()
        if self.task_id is not None and transition.task.id != self.task_id:
            return None
        return "%s: %s" % (transition.arrow(), transition.task.summary())

    def event_description(self):
        who = "coroutine #%d" % self.task_id if self.task_id is not None else "a coroutine"
        return "stop when %s enters %s" % (who, self.state)


class HookBreakpoint(CoBreakpoint):
    """Stops at the entry of hook `name` when a coroutine (or coroutine task_id) calls it."""

    def __init__(self, name, task_id):
        self.hook = name
        self.task_id = task_id
        super().__init__(hook_probes.enter_probe(name))

    def event_text(self):
        call = HookCall.at_probe(self.hook, exiting=False)
        if call.task is None:
            return None  # not in a coroutine: the hook is a plain pass-through
        if self.task_id is not None and call.task.id != self.task_id:
            return None
        return "%s in coroutine #%d: %s" % (call.call_text(), call.task.id, call.task.summary())

    def event_description(self):
        who = "coroutine #%d" % self.task_id if self.task_id is not None else "a coroutine"
        return "stop when %s calls %s()" % (who, self.hook)


def parse_task_filter(words, command):
    """The optional trailing `task ID`: None, or a positive int."""
    if not words:
        return None
    if words[0] != "task" or len(words) != 2:
        raise gdb.GdbError("%s: after the %s, only \"task ID\" and \"if EXPR\" may follow; got %r" % (
            command, "state" if command.endswith("state") else "hook name", " ".join(words)))
    try:
        task_id = int(words[1], 0)
    except ValueError:
        task_id = 0
    if task_id <= 0:
        raise gdb.GdbError("%s: bad task id %r: expected a coroutine id, a positive integer (see \"info coroutines\")" % (command, words[1]))
    return task_id


# " if EXPR" ends a co-break command's arguments, as it ends a `break` command's.
_IF = re.compile(r"(?:^|\s)if(?:\s+|$)")


def split_condition(argument, command):
    """(the words before "if", the condition after it or None)."""
    found = _IF.search(argument)
    if found is None:
        return gdb.string_to_argv(argument), None
    condition = argument[found.end():].strip()
    if not condition:
        raise gdb.GdbError("%s: a condition must follow \"if\"" % command)
    return gdb.string_to_argv(argument[:found.start()]), condition


def create(make_breakpoint, condition):
    """Makes the breakpoint, gives it the user's condition (gdb checks it:
    a condition it cannot parse at any site leaves no breakpoint) and says so."""
    breakpoint = make_breakpoint()
    if condition is not None:
        try:
            co_break_condition.set_user_condition(breakpoint, condition)
        except gdb.error as e:
            breakpoint.delete()
            raise gdb.GdbError(str(e))
    gdb.write("Breakpoint %d: %s.\n" % (breakpoint.number, breakpoint.describe()))


class CoBreak(gdb.Command):
    """Stop when a coroutine enters a state or calls a hooked function.

Usage: co-break state STATE [task ID] [if EXPR]
       co-break hook NAME [task ID] [if EXPR]

Each makes an ordinary numbered breakpoint (see "info breakpoints"; "delete",
"disable", "enable" and "condition" work on it) placed on the runtime's probe
points, whose gdb condition $_co_break(N) is the toolkit's check. A condition
of the user's ("if EXPR", "condition N EXPR") is evaluated after that check
passed, in the frame of the probe's site; "condition N" drops it;
"info co-breakpoints" lists what each one waits for. On a stop, the
coroutine is printed as the Task printer shows it, with the transition
("sleep -> runnable") or the call ("read(fd=7) in coroutine #5"). The
program runs as it would without them: where the event is not the one
asked for, gdb goes on at once. A live process is needed (not a core file)."""

    def __init__(self):
        super().__init__("co-break", gdb.COMMAND_BREAKPOINTS, prefix=True)

    def invoke(self, argument, from_tty):
        raise gdb.GdbError("co-break: say \"state\" or \"hook\" (see \"help co-break\")")


class CoBreakState(gdb.Command):
    """Stop when a coroutine enters a state.

Usage: co-break state STATE [task ID] [if EXPR]

STATE is one of runnable, running, io_block, sleep, sys_block, done. With
"task ID", only coroutine ID (see "info coroutines") stops there; with
"if EXPR", only where EXPR is also true (see "help co-break").

"running" is the moment a processer swaps the coroutine in (its TaskState
stays runnable); "runnable" is entered when a coroutine is spawned, woken,
or yields. Example: co-break state io_block task 5"""

    def __init__(self):
        super().__init__("co-break state", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, argument, from_tty):
        words, condition = split_condition(argument, "co-break state")
        if not words:
            raise gdb.GdbError("co-break state: which state? One of: %s" % ", ".join(transitions.STATES))
        state = words[0]
        if state not in transitions.STATES:
            raise gdb.GdbError("co-break state: unknown state %r; expected one of: %s" % (state, ", ".join(transitions.STATES)))
        task_id = parse_task_filter(words[1:], "co-break state")
        create(lambda: StateBreakpoint(state, task_id), condition)

    def complete(self, text, word):
        return [state for state in transitions.STATES if state.startswith(word or "")]


class CoBreakHook(gdb.Command):
    """Stop at a hooked function's entry when a coroutine calls it.

Usage: co-break hook NAME [task ID] [if EXPR]

NAME is a hooked function with probe points: the calls that can park a
coroutine (read, write, recv, send, accept, connect, poll, select, epoll_wait,
sleep, usleep, nanosleep, getaddrinfo, ... and their variants) and those
that never park (close, socket, socketpair, pipe, pipe2, dup, dup2, dup3,
fcntl, ioctl, setsockopt, getsockopt, sigaction, signal, sysv_signal,
siginterrupt).
Calls made outside any coroutine (where the hook passes straight through)
do not stop. With "task ID", only coroutine ID stops there; with "if EXPR",
only where EXPR is also true, in the hook's frame (its arguments are in
scope). Example: co-break hook read if count > 1"""

    def __init__(self):
        super().__init__("co-break hook", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, argument, from_tty):
        words, condition = split_condition(argument, "co-break hook")
        if not words:
            raise gdb.GdbError("co-break hook: which hook? One of: %s" % ", ".join(hook_probes.names()))
        name = words[0]
        if name not in hook_probes.HOOKS:
            raise gdb.GdbError("co-break hook: no probe points for %r; the hooks that have them: %s" % (name, ", ".join(hook_probes.names())))
        task_id = parse_task_filter(words[1:], "co-break hook")
        create(lambda: HookBreakpoint(name, task_id), condition)

    def complete(self, text, word):
        return [name for name in hook_probes.names() if name.startswith(word or "")]


def register():
    CoBreak()
    CoBreakState()
    CoBreakHook()
