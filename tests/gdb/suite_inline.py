"""Checks on fixture_edges, with the main thread stopped at a line of inner(),
which is inlined into outer(): gdb's frame #0 is an inlined frame, frame #1
the real frame of outer(). A suspended coroutine's stack goes above the
thread's real frame, so its innermost frame is #2, and nothing of the
thread's stack (outer, main) is shown as the coroutine's. Also: a woken task
waits for nothing, a tail call that left no frame of the program's is said
so. (See suite_states.py for what a suite module gives.)

The fixture's tasks: 1 reader (read_from_pipe), 2 napper (co_sleep as the
tail call of nap_in_tail_call), 3-4 yielder-1/-2 (yield_forever, on thread
2, which may be stopped anywhere, a switch included), 5 woken (runnable,
woken from a channel recv, never run since), 6 hog (running on its own
scheduler's worker).
"""

import os

FIXTURE = "fixture_edges"


def _stop_line():
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture_edges.cpp")
    with open(source) as f:
        for number, line in enumerate(f, 1):
            if "// inlined_stop_line" in line:
                return number
    raise RuntimeError("no inlined_stop_line in fixture_edges.cpp")


STOP = ["break fixture_edges.cpp:%d" % _stop_line(), "run"]

READER = 1
FRAME = r"#\d+ +(?:0x[0-9a-f]+ in )?"


def never(pattern):
    return r"\A(?![\s\S]*(?:%s))" % pattern


def row(task_id, name, state, waiting, where):
    return r"(?m)^\s+%d\s+%s\s+%s\s+%s\s+%s\s+fixture_edges\.cpp:\d+$" % (task_id, name, state, waiting, where)


# At -O0 the napper's own frame is there; at -O2 its call of co_sleep is a
# jump, and only the runtime's frames are left: the list says so.
NAPPER_WHERE = (r"(?:\(anonymous namespace\)::nap_in_tail_call at fixture_edges\.cpp:\d+"
                r"|co::detail::park at park\.cpp:\d+ \(no frame of the program's: tail calls\))")

CHECKS = [
    ("bt 2", [r"\A#0 +\(anonymous namespace\)::inner \(\) at \S*fixture_edges\.cpp:\d+\n#1 +\(anonymous namespace\)::outer"]),
    ("info coroutines", [
        row(1, "reader", "io_block", r"fd \d+ readable", r"\(anonymous namespace\)::read_from_pipe at fixture_edges\.cpp:\d+"),
        row(2, "napper", "sleep", "sleep", NAPPER_WHERE),
        row(5, "woken", "runnable", "-", r"\(anonymous namespace\)::wait_to_be_woken at fixture_edges\.cpp:\d+"),
        row(6, "hog", "running", "-", r"running on thread \d+: \(anonymous namespace\)::hog_the_worker at fixture_edges\.cpp:\d+"),
        never(r"outer at"),
        never(r"in the runtime"),
    ]),
    ("coroutine %d bt" % READER, [
        r"\A#2 +0x[0-9a-f]+ in co::detail::\(anonymous namespace\)::save_registers",  # after the thread's #0 and #1
        r"(?s)\bread ?\(.*read_from_pipe\(int\).*task_main",
        never(r"outer|main \(\)|inner"),
    ]),
    ("frame", [r"\A#0 +\(anonymous namespace\)::inner"]),  # bt alone left the selection as it was
    ("coroutine %d select" % READER, [r'\[Coroutine 1 "reader" \(fd \d+ readable\), its innermost frame is #2\]']),
    ("bt", [r"\A#2 ", r"read_from_pipe", never(r"outer|inner")]),
    ("frame function read_from_pipe", [r"read_from_pipe"]),
    ("info locals", [r"reader_fd = \d+"]),
    ("coroutine deselect", [r"Coroutine deselected"]),
    ("bt 2", [r"\A#0 +\(anonymous namespace\)::inner \(\) at \S*fixture_edges\.cpp:\d+\n#1 +\(anonymous namespace\)::outer"]),
    ("coroutine apply 1 2 -q bt -1", [r"\A(?:" + FRAME + r"co::detail::task_main[^\n]*\n?){2}\Z"]),
    ("coroutine apply 1 info locals", [r'(?m)^Coroutine 1 "reader" \(fd (\d+) readable\):\nreader_fd = \1$']),
    ("coroutine apply 5 print 1", [r'\ACoroutine 5 "woken" \(runnable\):\n']),  # woken: waits for nothing
    ("info coroutines -group", [
        r"(?m)^1 coroutine, id 1, io_block \(fd readable\):\n    \(anonymous namespace\)::read_from_pipe at ",
        r"(?m)^1 coroutine, id 5, runnable:\n    \(anonymous namespace\)::wait_to_be_woken at ",
        r"(?m)^1 coroutine, id 2, sleep \(sleep\):\n    " + NAPPER_WHERE,
        never(r"outer at|every frame is the runtime's"),
    ]),
    # With the thread's real frame (outer) selected, the same.
    ("up", [r"outer"]),
    ("coroutine %d bt 1" % READER, [r"\A#2 .*save_registers"]),
    ("frame", [r"\A#1 +\(anonymous namespace\)::outer"]),
]

# Before `run`: no process, no core file. Said so, rather than a guess that
# the program lacks libcoscope (not loaded yet) or an empty list read from
# the program's file.
NO_PROCESS = r"\Acoscope: no process: the program has not been started \(run, start, attach\) and no core file is loaded\Z"
NO_PROCESS_CHECKS = [
    ("info coroutines", [NO_PROCESS]),
    ("coroutine 1 bt", [NO_PROCESS]),
    ("coroutine apply all bt", [NO_PROCESS]),
    ("info processers", [NO_PROCESS]),
    ("info fdctx", [NO_PROCESS]),
    ("info co-timers", [NO_PROCESS]),
]

# A core file cut short: the kernel's core (the fixture aborts after its
# stop), cut to 90%, 50%, 10% and 3% of its size. Even the last tenth holds
# the list of shared libraries and libcoscope's data: the toolkit says the
# core is truncated and what that means, instead of "No coroutines." or a
# guess about libcoscope.
TRUNCATED_CORE_ENV = {"FIXTURE_EDGES_ABORT": "1"}
TRUNCATED = (r"the core file is truncated: it has \d+ of the \d+ bytes its headers describe, "
             r"so the memory of \d+ segments? \(from 0x[0-9a-f]+ up\) is not in it")
TRUNCATED_CORE_CHECKS = [
    ("info coroutines", [r"\Acoscope: .*" + TRUNCATED, never(r"No coroutines|is the program linked")]),
    ("info processers", [r"\Acoscope: .*" + TRUNCATED, never(r"No scheduler exists|is the program linked")]),
    ("coroutine 1 bt", [r"\Acoscope: .*" + TRUNCATED]),
]
