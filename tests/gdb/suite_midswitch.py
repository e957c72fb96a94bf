"""Checks on fixture_edges with co_sched's worker (thread 3) stopped in the
middle of a switch between two yielders (context_handoff), then, live, in
jump_fcontext before and after it moves to the other stack. A task caught in
a switch is said to be so, with the thread doing it; its stack comes from
that thread when the thread is on the task's stack and can be unwound,
else from the registers the runtime saved; never from another stack.
(See suite_states.py for what a suite module gives.)

The yielders are tasks 3 and 4; which of them leaves and which lands
depends on where the worker was: the checks accept either.
"""

from suite_inline import FRAME, never, row, _stop_line

FIXTURE = "fixture_edges"
STOP = ["break fixture_edges.cpp:%d" % _stop_line(), "run",
        # Threads in creation order: main, the stall watchdog (which
        # Scheduler::Start creates before its workers), co_sched's worker.
        "set scheduler-locking on", "thread 3",
        "break co::detail::context_handoff", "continue", "delete 2"]

SWITCHING = r"switching on thread \d+ \(stopped in %s\)"
YIELDER_ROW = r"(?m)^\s+%d\s+yielder-%d\s+runnable\s+-\s+" + SWITCHING + r": \(anonymous namespace\)::yield_forever at fixture_edges\.cpp:\d+\s"
# Where a task caught in a switch is shown from: the thread's stack, or its saved registers.
SHOWN_FROM = r"; shown from (?:thread \d+'s stack, which is the coroutine's|its registers saved before the switch)\]\n"
WRONG = never(r"inner|outer|main \(\)|no saved registers|in the runtime")


def yielder_bt(task_id, function):
    return ("coroutine %d bt" % task_id, [
        r"\A\[Coroutine %d is " % task_id + SWITCHING % function + SHOWN_FROM,
        r"(?s)yield_forever\(\).*" + FRAME + r"co::detail::task_main",
        WRONG,
    ])


CHECKS = [
    ("bt 1", [r"context_handoff|swap_exception_state"]),
    ("info coroutines", [
        YIELDER_ROW % (3, 1, "co::detail::context_handoff"),
        YIELDER_ROW % (4, 2, "co::detail::context_handoff"),
        row(1, "reader", "io_block", r"fd \d+ readable", r"\(anonymous namespace\)::read_from_pipe at fixture_edges\.cpp:\d+"),
        WRONG,
    ]),
    yielder_bt(3, "co::detail::context_handoff"),
    yielder_bt(4, "co::detail::context_handoff"),
    # One of them is on thread 3's stack, the other is shown from its saved registers.
    ("coroutine apply 3 4 -q bt 1", [r"(?m)^#0 ", r"(?m)^#1 "]),
    ("coroutine apply 3 4 print 1", [r'(?m)^Coroutine 3 "yielder-1" \(' + SWITCHING % "co::detail::context_handoff" + r"\):\n\$\d+ = 1$",
                                     r'(?m)^Coroutine 4 "yielder-2" \(' + SWITCHING % "co::detail::context_handoff" + r"\):\n\$\d+ = 1$"]),
    ("info coroutines -group", [r"(?m)^\d coroutines?, ids? 3(?:-4)?, runnable:\n    \(anonymous namespace\)::yield_forever at ", WRONG]),
    ("coroutine 1 bt", [r"(?s)\A#1 .*read_from_pipe", WRONG]),
]

# The jump itself: before and after it moves the stack pointer to the other stack.
LIVE_ONLY_CHECKS = [
    ("break jump_fcontext", [r"Breakpoint 3 at"]),
    ("continue", [r"jump_fcontext"]),
    ("info coroutines", [
        r"(?m)^\s+[34]\s+yielder-[12]\s+runnable\s+-\s+" + SWITCHING % "jump_fcontext" + r": \(anonymous namespace\)::yield_forever at ",
        WRONG,
    ]),
    ("stepi 12", [r"jump_fcontext"]),
    ("info coroutines", [r"(?m)^\s+[34]\s+yielder-[12]\s+runnable\s+-\s+(?:" + SWITCHING % "jump_fcontext" + r": )?\(anonymous namespace\)::yield_forever at ",
                         WRONG]),
    ("coroutine apply 3 4 bt", [r"(?s)\A.*yield_forever.*task_main.*yield_forever.*task_main", WRONG]),
]
