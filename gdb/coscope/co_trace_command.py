"""`co-trace states|hooks on|off`: log task state transitions or hooked calls
without stopping.

A trace is a set of internal breakpoints (no number, not in "info
breakpoints") on the runtime's probe points, whose stop() prints one line
and returns False: the program goes on at once, as it would without them
(only slower, by gdb's round trip at each event). "off" deletes exactly the
breakpoints "on" made.
"""

import gdb

from . import hook_probes, transitions
from .hook_probes import HookCall
from .probe_breakpoints import ProbeTrace, live
from .transitions import Transition

PREFIX = "[co-trace] "


class StateTrace(ProbeTrace):
    """Logs every task state transition."""

    stop_on_error = False

    def __init__(self):
        super().__init__(transitions.PROBE, internal=True)

    def on_hit(self):
        gdb.write(PREFIX + Transition.at_probe().log_line() + "\n")
        return False

    def describe(self):
        return "trace task state transitions"


class HookTrace(ProbeTrace):
    """Logs the entry or the exit of one hook, when a coroutine calls it."""

    stop_on_error = False

    def __init__(self, name, exiting):
        self.hook = name
        self.exiting = exiting
        probe = hook_probes.exit_probe(name) if exiting else hook_probes.enter_probe(name)
        super().__init__(probe, internal=True)

    def on_hit(self):
        call = HookCall.at_probe(self.hook, self.exiting)
        if call.task is not None:  # outside a coroutine the hook only passes through
            gdb.write(PREFIX + call.log_line() + "\n")
        return False

    def describe(self):
        return "trace %s() %s" % (self.hook, "exits" if self.exiting else "entries")


def _state_traces():
    return live(StateTrace)


def _hook_traces():
    return live(HookTrace)


def _start_states():
    StateTrace()


def _start_hooks():
    for name in hook_probes.names():
        HookTrace(name, exiting=False)
        HookTrace(name, exiting=True)


# What each trace is: (its breakpoints now, how to start it, what it logs).
TRACES = {
    "states": (_state_traces, _start_states, "task state transitions"),
    "hooks": (_hook_traces, _start_hooks, "hooked calls made in coroutines"),
}


def status_lines():
    return ["co-trace %s: %s" % (name, "on" if breakpoints() else "off") for name, (breakpoints, _, _) in TRACES.items()]


class CoTrace(gdb.Command):
    """Log coroutine events without stopping.

Usage: co-trace states on|off   one line per task state transition:
                                  [co-trace] #5 "reader" running -> io_block (fd 7 readable)
       co-trace hooks on|off    one line as a coroutine calls a hooked function
                                and one as the call returns, with the result
                                (and errno when it failed):
                                  [co-trace] #5 "reader" call read(fd=7)
                                  [co-trace] #5 "reader" read(fd=7) = 5
       co-trace                 say which traces are on

The lines are printed as the events happen; the program never stops for
them and runs as it would without them, only slower (gdb looks at each event).
"off" removes exactly what "on" added. See also "co-break" and
"info co-breakpoints". A live process is needed (not a core file)."""

    def __init__(self):
        super().__init__("co-trace", gdb.COMMAND_BREAKPOINTS, prefix=True)

    def invoke(self, argument, from_tty):
        words = gdb.string_to_argv(argument)
        if words:
            raise gdb.GdbError("co-trace: expected \"states\" or \"hooks\", then \"on\" or \"off\"; got %r" % argument.strip())
        gdb.write("\n".join(status_lines()) + "\n")


class CoTraceSwitch(gdb.Command):
    """Turn one trace on or off; see "help co-trace"."""

    def __init__(self, name):
        self.name = name
        # gdb takes the help text from __doc__ when the command is made.
        self.__doc__ = "Log %s without stopping.\n\nUsage: co-trace %s on|off (see \"help co-trace\")" % (TRACES[name][2], name)
        super().__init__("co-trace " + name, gdb.COMMAND_BREAKPOINTS)

    def invoke(self, argument, from_tty):
        words = gdb.string_to_argv(argument)
        if len(words) != 1 or words[0] not in ("on", "off"):
            raise gdb.GdbError("co-trace %s: expected \"on\" or \"off\"; got %r" % (self.name, argument.strip()))
        breakpoints, start, what = TRACES[self.name]
        existing = breakpoints()
        if words[0] == "on":
            if existing:
                gdb.write("co-trace %s is already on.\n" % self.name)
                return
            start()
            gdb.write("Tracing %s.\n" % what)
        else:
            for breakpoint in existing:
                breakpoint.delete()
            gdb.write("No longer tracing %s.\n" % what if existing else "co-trace %s was not on.\n" % self.name)

    def complete(self, text, word):
        return [choice for choice in ("on", "off") if choice.startswith(word or "")]


def register():
    CoTrace()
    CoTraceSwitch("states")
    CoTraceSwitch("hooks")
