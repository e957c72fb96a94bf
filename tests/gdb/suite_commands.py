"""Checks on fixture_states, stopped in fixture_ready(): `coroutine apply`,
`info coroutines -group`, the `set coscope` settings (print-limit,
hide-runtime-frames) and the bottom of every coroutine's backtrace.
(See suite_states.py for what a suite module gives.)

The fixture's tasks, in spawn order: 1-3 sleeper-1..3 (sleep_deeply <-
sleeper_body), 4 unnamed (nap_with_co_sleep), 5-6 reader-1/-2
(read_from_pipe), 7 channel-waiter (wait_on_channel), 8 poller
(poll_two_pipes), 9 spinner (running, spin_until_released). Readers 1 and 2
run the same code to the same line: their stacks are identical, so the
grouped view merges them as it merges the sleepers. Fd numbers are not
fixed: a reader's fd is matched against the one its header shows.
"""

FIXTURE = "fixture_states"
STOP = ["break fixture_ready", "run"]

TASK_IDS = range(1, 10)

# A frame line of a backtrace, innermost function first: "#N  [0x... in] fn(".
FRAME = r"#\d+ +(?:0x[0-9a-f]+ in )?"
ENTRY_LINE = FRAME + r"co::detail::task_main\(co::detail::Task\*\) \(tk=0x[0-9a-f]+\) at \S*spawn\.cpp:\d+"
# The same, as gdb prints it without the frame filters (no parameter types).
PLAIN_ENTRY_LINE = FRAME + r"co::detail::task_main \(tk=0x[0-9a-f]+\) at \S*spawn\.cpp:\d+"
NO_NULL_FRAME = r"\A(?![\s\S]*0x0000000000000000 in)"
NO_OUTPUT = r"\A\Z"  # a setting was set without complaint


def never(pattern):
    """Matches only output in which `pattern` appears nowhere."""
    return r"\A(?![\s\S]*%s)" % pattern


def header(task_id, name, status):
    return r'(?m)^Coroutine %d%s \(%s\):\n' % (task_id, ' "%s"' % name if name else "", status)


def at_most_headers(count):
    """At most `count` group headers ("N coroutine(s), id(s) ...") in the output."""
    return r"\A(?![\s\S]*%s)" % r"[\s\S]*".join([r"(?m:^\d+ coroutines?, ids? )"] * (count + 1))


CHECKS = [
    # --- the bottom of the stack: every backtrace ends at the coroutine's entry
    *[("coroutine %d bt" % task_id, [ENTRY_LINE + r"\Z", NO_NULL_FRAME, never("make_fcontext")]) for task_id in TASK_IDS],
    ("coroutine 1 bt -2", [r"\A" + FRAME + r"[^\n]*\n" + ENTRY_LINE + r"\Z"]),  # the outermost two
    # Without the filters gdb itself stops below the entry: the runtime marks
    # the first frame on a task's stack as the outermost one.
    ("coroutine 5 bt -no-filters -2", [r"\A" + PLAIN_ENTRY_LINE + r"\n" + FRAME + r"co::detail::\(anonymous namespace\)::task_trampoline[^\n]*\Z",
                                       NO_NULL_FRAME, never("make_fcontext")]),
    ("coroutine 5 frame function co::detail::task_main", [PLAIN_ENTRY_LINE]),
    ("up", [r"task_trampoline"]),
    ("up", [r"Initial frame selected; you cannot go up"]),
    ("coroutine deselect", [r"Coroutine deselected"]),

    # --- coroutine apply: every coroutine, in id order, the view restored after
    ("coroutine 1 frame function sleep_deeply", [r"^#\d+ .*sleep_deeply \(index=1\)"]),
    ("set coscope hide-runtime-frames on", [NO_OUTPUT]),
    # 5 frames: the spinner, stopped anywhere in its loop, may be 3 deep in std::atomic at -O0.
    ("coroutine apply all bt 5", [
        header(1, "sleeper-1", "sleep") + FRAME + r".*sleep_deeply\(int\) \(index=1\).*\n" + FRAME + r".*sleeper_body",
        header(2, "sleeper-2", "sleep") + FRAME + r".*sleep_deeply\(int\) \(index=2\)",
        header(3, "sleeper-3", "sleep") + FRAME + r".*sleep_deeply\(int\) \(index=3\)",
        header(4, None, "sleep") + FRAME + r".*nap_with_co_sleep",
        header(5, "reader-1", r"fd \d+ readable") + FRAME + r".*read_from_pipe\(int\)",
        header(6, "reader-2", r"fd \d+ readable") + FRAME + r".*read_from_pipe\(int\)",
        header(7, "channel-waiter", r"channel recv 0x[0-9a-f]+") + FRAME + r".*wait_on_channel",
        header(8, "poller", r"poll on 2 fds, timed") + FRAME + r".*poll_two_pipes",
        # A running coroutine's command runs on its thread: its frame #0 is the thread's.
        r'(?s)Coroutine 9 "spinner" \(running on thread \d+\):\n#0 .*spin_until_released',
        r"(?s)\ACoroutine 1 .*Coroutine 2 .*Coroutine 3 .*Coroutine 4 .*Coroutine 5 .*Coroutine 6 .*Coroutine 7 "
        r".*Coroutine 8 .*Coroutine 9 ",
        never(r"co::detail::park|context_suspend|Processer::SwapOut"),  # hidden: the setting is on
    ]),
    ("frame", [r"^#\d+ .*sleep_deeply \(index=1\)"]),  # the frame selected before is selected again
    ("coroutine", [r'^Coroutine 1 "sleeper-1" is selected']),
    ("coroutine deselect", [r"Coroutine deselected"]),
    ("coroutine apply all -q bt -1", [r"\A(?:" + ENTRY_LINE + r"\n?){9}\Z"]),
    ("coroutine apply 5 6 info locals", [
        r'(?m)^Coroutine 5 "reader-1" \(fd (\d+) readable\):\nreader_fd = \1$',
        r'(?m)^Coroutine 6 "reader-2" \(fd (\d+) readable\):\nreader_fd = \1$',
    ]),
    ("coroutine apply 1-3 -q print sleeper_marker", [r"\A\$\d+ = 4201\n\$\d+ = 4202\n\$\d+ = 4203\Z"]),
    # A command failing on one coroutine is reported and the next one follows; -s leaves it out.
    ("coroutine apply 1 5 print reader_fd", [
        header(1, "sleeper-1", "sleep") + r'No symbol "reader_fd" in current context\.$',
        header(5, "reader-1", r"fd (\d+) readable") + r"\$\d+ = \1$",
    ]),
    ("coroutine apply 1 5 -s print reader_fd", [r'\ACoroutine 5 "reader-1" \(fd (\d+) readable\):\n\$\d+ = \1\Z']),
    ("coroutine apply 99 1 -q bt 1", [r"\ANo coroutine 99\.\n" + FRAME + r".*sleep_deeply\(int\) \(index=1\)"]),
    ("set coscope hide-runtime-frames off", [NO_OUTPUT]),
    ("bt 1", [r"^#0 +fixture_ready"]),  # the thread's own stack again
    ("thread", [r"Current thread is 1 "]),

    # --- bad input
    ("coroutine apply", [r"\APlease specify a coroutine ID list\Z"]),
    ("coroutine apply all", [r"\APlease specify a command at the end of 'coroutine apply all'\Z"]),
    ("coroutine apply 1", [r"\APlease specify a command following the coroutine ID list\Z"]),
    ("coroutine apply bogus bt", [r"\AInvalid coroutine ID: bogus bt\Z"]),
    ("coroutine apply 99 bt", [r"\ANo coroutine 99\.\Z"]),
    ("set coscope print-limit -5", [r"\Ainteger -5 out of range\Z"]),
    ("info coroutines -bogus", [r"unknown option '-bogus'"]),

    # --- the grouped view: one entry per distinct stack
    ("info coroutines -group", [
        r"(?m)^3 coroutines, ids 1-3, sleep \(sleep\):\n    .*sleep_deeply at fixture_states\.cpp:\d+\n    .*sleeper_body at ",
        r"(?m)^2 coroutines, ids 5-6, io_block \(fd readable\):\n    .*read_from_pipe at fixture_states\.cpp:\d+$",
        r"(?m)^1 coroutine, id 4, sleep \(sleep\):\n    .*nap_with_co_sleep at ",
        r"(?m)^1 coroutine, id 7, sys_block \(channel recv\):\n    .*wait_on_channel at ",
        r"(?m)^1 coroutine, id 8, io_block \(poll\):\n    .*poll_two_pipes at ",
        r"(?m)^1 coroutine, id 9, running:\n    .*spin_until_released at ",
        r"\A3 coroutines, ids 1-3, [^\n]*\n(?:    [^\n]*\n)+2 coroutines, ids 5-6",  # the largest groups first
        at_most_headers(6),
        never(r"co::detail::|task_main"),  # the runtime's frames are not part of a group's stack
    ]),
    ("info coroutines -g sleep", [r"(?m)^3 coroutines, ids 1-3, sleep", r"(?m)^1 coroutine, id 4, sleep", at_most_headers(2)]),

    # --- settings: the print limit
    ("show coscope print-limit", [r'\AThe most coroutines "info coroutines" lists is 200\.\Z']),
    ("set coscope print-limit 4", [NO_OUTPUT]),
    ("info coroutines", [
        r"(?m)^\s+Id\s+Name\s+State",
        r"(?m)^\s+4\s+-\s+sleep",
        r'(?m)^\.\.\. and 5 more coroutines \("set coscope print-limit unlimited" lists all\)$',
        r"\A(?:[^\n]*\n){5}[^\n]*\Z",  # the header, 4 rows and the note
    ]),
    ("info coroutines -group", [r'\A3 coroutines, ids 1-3', r'(?m)^\.\.\. and 2 more groups of 2 coroutines \("set coscope print-limit unlimited" lists all\)$']),  # noqa: E501 (a whole output line)
    ("info coroutines /^reader", [r"reader-2", never(r"\.\.\. and")]),  # 2 rows pass the filter: no note
    ("set coscope print-limit unlimited", [NO_OUTPUT]),
    ("show coscope print-limit", [r"is unlimited\.\Z"]),
    ("info coroutines", [r"(?m)^\s+9\s+spinner\s+running", never(r"\.\.\. and"), r"\A(?:[^\n]*\n){9}[^\n]*\Z"]),
    ("set coscope print-limit 0", [NO_OUTPUT]),
    ("show coscope print-limit", [r"is unlimited\.\Z"]),
    ("set coscope print-limit 200", [NO_OUTPUT]),
    ("show coscope", [r"(?m)^print-limit: +The most coroutines .* is 200\.$", r"(?m)^hide-runtime-frames: +.* is off\.$"]),
    ("help set coscope print-limit", [r"0 or \"unlimited\" lists all"]),

    # --- settings: hiding the runtime's frames in a selected coroutine's backtrace
    ("show coscope hide-runtime-frames", [r"is off\.\Z"]),
    ("coroutine 1 bt", [
        r"\A#1 +0x[0-9a-f]+ in co::detail::\(anonymous namespace\)::save_registers",
        r"(?s)context_suspend.*co::detail::park.*\bsleep ?\(.*sleep_deeply\(int\) \(index=1\)",
    ]),
    ("set coscope hide-runtime-frames on", [NO_OUTPUT]),
    ("coroutine 1 bt", [
        r"\A" + FRAME + r"\(anonymous namespace\)::sleep_deeply\(int\) \(index=1\) at \S*fixture_states\.cpp:\d+\n",
        r"(?m)^" + FRAME + r"\(anonymous namespace\)::sleeper_body\(int\)",
        ENTRY_LINE + r"\Z",  # the entry stays, as the bottom
        never(r"save_registers|context_suspend|co::detail::park|sleep_hooks\.cpp|ClosureFor"),
    ]),
    ("coroutine 7 bt", [r"\A" + FRAME + r"\(anonymous namespace\)::wait_on_channel\(\)", never(r"co::Channel<int>::")]),
    ("coroutine 1 frame 1", [r"^#1 .*save_registers"]),  # a hidden frame is still there: frame N reaches it
    ("coroutine deselect", [r"Coroutine deselected"]),
    ("bt", [r"\A#0 +fixture_ready", r"(?m)^#1 .*main"]),  # the thread's own stack is never filtered
    ("set coscope hide-runtime-frames off", [NO_OUTPUT]),
    ("coroutine 1 bt 1", [r"\A#1 +0x[0-9a-f]+ in co::detail::\(anonymous namespace\)::save_registers"]),
]
