"""The stop condition of a co-break breakpoint, and the user's own after it.

gdb allows one stop condition per breakpoint: a Python stop() method or an
expression (`condition N EXPR`, `break ... if EXPR`), and it refuses
`condition` on a breakpoint with a stop() method. So a co-break breakpoint
has none; its gdb condition is

    $_co_break(N)

a convenience function that gives breakpoint N's verdict: the toolkit's own
check (is this the state, the hook, the coroutine asked for?), then the
user's condition, if any, then the "[co-break N] ..." line, printed before
gdb's own stop line as a stop() method would.

The user's condition, as a state machine of breakpoint N's gdb condition:

    $_co_break(N)  --condition N EXPR-->  EXPR            gdb checked EXPR at
                                                          every site, then
    EXPR  --breakpoint_modified-->  $_co_break(N)         the toolkit keeps
                                                          EXPR as the user's
    $_co_break(N)  --condition N-->  (none)  -->  $_co_break(N), no user's

EXPR is evaluated in the stopped frame (the probe's site: its variables are
in scope), and only when the toolkit's own check passed, so a condition
with side effects counts only the events asked for. `condition N` alone
drops the user's condition; gdb then says the breakpoint is unconditional,
but the toolkit's check stays.
"""

import gdb

from .inferior import short_error

FUNCTION = "_co_break"

# Breakpoint number -> the co-break breakpoint (a probe_breakpoints.ProbeBreakpoint).
_breakpoints = {}


def own_condition(breakpoint):
    return "$%s(%d)" % (FUNCTION, breakpoint.number)


def install(breakpoint):
    """Makes $_co_break(N) breakpoint's condition; it has no user's condition yet."""
    breakpoint.user_condition = None
    _breakpoints[breakpoint.number] = breakpoint
    breakpoint.condition = own_condition(breakpoint)


def set_user_condition(breakpoint, expression):
    """As `condition N EXPR` does; raises gdb.error if gdb cannot parse it at any site."""
    breakpoint.condition = expression  # checked by gdb; _on_modified keeps it as the user's


def user_condition_holds(breakpoint):
    """The user's condition, in the stopped frame: True if none. An error in
    it stops the program, as gdb does with an error in a condition."""
    expression = breakpoint.user_condition
    if expression is None:
        return True
    try:
        return bool(gdb.parse_and_eval(expression))
    except gdb.error as e:
        gdb.write("<coscope: co-break %d: error in the condition %r: %s>\n" % (breakpoint.number, expression, short_error(e)))
        return True


def _on_modified(breakpoint):
    ours = _breakpoints.get(breakpoint.number)
    if ours is None or not breakpoint.is_valid():
        return
    condition = breakpoint.condition
    if condition == own_condition(ours):
        return
    ours.user_condition = condition  # None: `condition N` dropped it
    ours.condition = own_condition(ours)


def _on_deleted(breakpoint):
    _breakpoints.pop(breakpoint.number, None)


class CoBreakVerdict(gdb.Function):
    """$_co_break(N): 1 when co-break breakpoint N stops here (its own check,
    then the user's condition), else 0. The condition of each co-break breakpoint."""

    def __init__(self):
        super().__init__(FUNCTION)

    def invoke(self, number):
        breakpoint = _breakpoints.get(int(number))
        if breakpoint is None or not breakpoint.is_valid():
            return 0
        return 1 if breakpoint.verdict() else 0


def register():
    CoBreakVerdict()
    gdb.events.breakpoint_modified.connect(_on_modified)
    gdb.events.breakpoint_deleted.connect(_on_deleted)
