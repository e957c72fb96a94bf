"""Checks on fixture_states, stopped in fixture_ready(): the task list, the
coroutine command, selection and the Task/Processer/Scheduler printers.

A suite module gives: FIXTURE (the fixture program's name), STOP (gdb
commands that bring the live program to where the checks run), CHECKS (run
live and on the core file), LIVE_ONLY_CHECKS, NO_PROCESS_CHECKS (in a gdb that
never started the program) and SOURCED_CHECKS (run with the
toolkit sourced by hand, on the core file). Each check is (command, [regular
expressions its output must match]).
"""

FIXTURE = "fixture_states"
STOP = ["break fixture_ready", "run"]

# The fixture's tasks, in spawn order: their ids are 1..9.
SLEEPER_1, UNNAMED, READER_1, CHANNEL_WAITER, POLLER, SPINNER = 1, 4, 5, 7, 8, 9

# (command, [regular expressions its output must match]).
CHECKS = [
    ("info auto-load python-scripts", [r"Yes\s+gdb\.inlined-script\.coscope"]),
    ("info coroutines", [
        r"(?m)^\s+Id\s+Name\s+State\s+Waiting for\s+Where\s+Created at$",
        r"(?m)^\s+1\s+sleeper-1\s+sleep\s+sleep\s+.*sleep_deeply at fixture_states\.cpp:\d+\s+fixture_states\.cpp:\d+$",
        r"(?m)^\s+2\s+sleeper-2\s+sleep\s+sleep\s+.*sleep_deeply at fixture_states\.cpp:\d+",
        r"(?m)^\s+3\s+sleeper-3\s+sleep\s+sleep\s+.*sleep_deeply at fixture_states\.cpp:\d+",
        r"(?m)^\s+4\s+-\s+sleep\s+sleep\s+.*nap_with_co_sleep at fixture_states\.cpp:\d+",
        r"(?m)^\s+5\s+reader-1\s+io_block\s+fd \d+ readable\s+.*read_from_pipe at fixture_states\.cpp:\d+",
        r"(?m)^\s+6\s+reader-2\s+io_block\s+fd \d+ readable\s+.*read_from_pipe at fixture_states\.cpp:\d+",
        r"(?m)^\s+7\s+channel-waiter\s+sys_block\s+channel recv 0x[0-9a-f]+\s+.*wait_on_channel at fixture_states\.cpp:\d+",
        r"(?m)^\s+8\s+poller\s+io_block\s+poll on 2 fds, timed\s+.*poll_two_pipes at fixture_states\.cpp:\d+",
        r"(?m)^\s+9\s+spinner\s+running\s+-\s+running on thread \d+: .*spin_until_released at fixture_states\.cpp:\d+",
        r"^(?:[^\n]*\n){9}[^\n]*$",  # the header and exactly 9 rows
    ]),
    ("info coroutines sleep", [r"sleeper-1", r"nap_with_co_sleep", r"^(?:[^\n]*\n){4}[^\n]*$"]),
    ("info coroutines /^reader", [r"reader-1", r"reader-2", r"^(?:[^\n]*\n){2}[^\n]*$"]),
    ("coroutine %d bt" % SLEEPER_1, [
        r"^#1 ",  # the thread's own frame #0 is left out
        r"(?s)context_suspend.*\bsleep ?\(.*sleep_deeply.*\(index=1\).*sleeper_body.*task_main",
    ]),
    ("coroutine %d bt" % READER_1, [r"(?s)\bread ?\(.*read_from_pipe"]),
    ("coroutine %d bt" % CHANNEL_WAITER, [r"(?s)co::Channel<int>::.*wait_on_channel"]),
    ("coroutine %d bt" % UNNAMED, [r"(?s)co::co_sleep.*nap_with_co_sleep"]),
    ("coroutine %d bt" % SPINNER, [r"spin_until_released"]),
    ("coroutine %d bt full" % SLEEPER_1, [r"(?s)sleep_deeply.*sleeper_marker = 4201"]),
    ("bt 1", [r"^#0 +fixture_ready"]),  # bt alone left the selection as it was
    ("coroutine %d frame function sleep_deeply" % SLEEPER_1, [r"^#\d+ .*sleep_deeply \(index=1\) at .*fixture_states\.cpp:\d+"]),
    ("info locals", [r"sleeper_marker = 4201"]),
    ("coroutine", [r'Coroutine 1 "sleeper-1" is selected'], ),
    ("bt", [r"^#1 ", r"sleep_deeply"]),
    ("up", [r"sleeper_body"]),
    ("down", [r"sleep_deeply"]),
    ("info coroutines sleep", [r"(?m)^\*\s+1\s+sleeper-1"]),
    ("coroutine %d select" % READER_1, [r'\[Coroutine 5 "reader-1" \(fd \d+ readable\), its innermost frame is #1\]']),
    ("frame function read_from_pipe", [r"read_from_pipe"]),
    ("info locals", [r"reader_fd = \d+"]),
    ("coroutine deselect", [r"Coroutine deselected"]),
    ("bt 1", [r"^#0 +fixture_ready"]),
    ("print *coscope_task_registry.shards[1].head", [r'= #1 "sleeper-1" sleep \(sleep\) created at \S*fixture_states\.cpp:\d+ processer \d']),
    ("print coscope_task_registry.shards[1].head->state", [r"= sleep$"]),
    ("print coscope_task_registry.shards[7].head->wait_reason", [r"= channel recv$"]),
    ("print *coscope_task_registry.shards[9].head->processer", [r'= processer \d \(LWP \d+\) running #9 "spinner", \d+ queued, \d+ in inbox']),
    ("print *coscope_task_registry.shards[9].head->scheduler", [r"= scheduler started, 2 workers, 9 live tasks, 5 timers"]),
    ("print (co::TaskState)9", [r"= <coscope: invalid TaskState 9>"]),
    ("print coscope_task_registry.shards[1].head->saved.pc != 0", [r"= true"]),
    ("coroutine 99 bt", [r"^No coroutine 99\.$"]),
    ("info coroutines bogus", [r"expected a state .* or /REGEX"]),
]

# Live only, after the checks above: with the thread stopped in main() itself,
# gdb would not unwind past it - the coroutines' stacks must still show.
LIVE_ONLY_CHECKS = [
    ("finish", [r"main \(\) at \S*fixture_states\.cpp:\d+"]),
    ("info coroutines /^reader", [r"(?m)^\s+5\s+reader-1\s+io_block\s+fd \d+ readable\s+.*read_from_pipe at fixture_states\.cpp:\d+"]),
    ("coroutine %d bt" % READER_1, [r"read_from_pipe"]),
    ("show backtrace past-main", [r"is off"]),
]

# With the toolkit sourced by hand instead of auto-loaded.
SOURCED_CHECKS = [
    ("info auto-load python-scripts", [r"No\s+gdb\.inlined-script\.coscope|No auto-load scripts"]),
    ("info coroutines", [r"(?m)^\s+1\s+sleeper-1\s+sleep\s+sleep\s+.*sleep_deeply"]),
    ("coroutine %d bt" % SLEEPER_1, [r"(?s)sleep_deeply.*sleeper_body"]),
]
