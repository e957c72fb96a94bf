"""Checks on fixture_shapes: tasks parked at the same pc, by the same
functions, whose stacks differ in shape (an alloca'd buffer of another
size) and in their outer caller. The toolkit unwinds the first task of a
shape through gdb and lets a later task share it only if its stack holds
the same return addresses at the same offsets: each task must show its own
outer caller, small ones with small ones, large with large. (See
suite_states.py for what a suite module gives.)
"""

FIXTURE = "fixture_shapes"
STOP = ["break fixture_ready", "run"]

SMALL = r"\(anonymous namespace\)::outer_small at fixture_shapes\.cpp:\d+"
LARGE = r"\(anonymous namespace\)::outer_large at fixture_shapes\.cpp:\d+"


def group(ids, outer):
    """A group of -group's list: its header, then its frames outside the runtime."""
    return (r"2 coroutines, ids %s, sleep \(sleep\):\n"
            r"    \(anonymous namespace\)::sleep_here at fixture_shapes\.cpp:\d+\n"
            r"    \(anonymous namespace\)::with_buffer at fixture_shapes\.cpp:\d+\n"
            r"    %s" % (ids, outer))


def absent(pattern):
    return r"(?s)\A(?:(?!%s).)*\Z" % pattern


CHECKS = [
    ("info coroutines", [
        r"(?m)^\s+1\s+small-1\s+sleep\s+sleep\s+\(anonymous namespace\)::sleep_here at fixture_shapes\.cpp:\d+",
        r"(?m)^\s+4\s+large-2\s+sleep\s+sleep\s+\(anonymous namespace\)::sleep_here at fixture_shapes\.cpp:\d+",
    ]),
    # Exactly two groups: the small ones with outer_small, the large ones with outer_large.
    ("info coroutines -group", [
        r"\A" + group("1, 3", SMALL) + r"\n" + group("2, 4", LARGE) + r"\Z",
    ]),
    # Each task's own backtrace, which gdb unwinds, agrees.
    ("coroutine 2 bt", [r"(?s)with_buffer.*outer_large", absent(r"outer_small")]),
    ("coroutine 3 bt", [r"(?s)with_buffer.*outer_small", absent(r"outer_large")]),
    ("coroutine 4 bt", [r"(?s)with_buffer.*outer_large", absent(r"outer_small")]),
]
