#!/usr/bin/env python3
"""gdb transcript test: real gdb, in batch mode, against fixture_states.

  --mode live   gdb runs the fixture to fixture_ready() and runs the checks
  --mode core   gdb runs it there and writes a core file with gcore; a second
                gdb reads only the core file and runs the same checks; a third
                loads the toolkit with `source gdb/coscope.py` (auto-load off)

The toolkit is loaded by gdb itself from libcoscope's .debug_gdb_scripts
entry, as a user would get it. Each check is a regular expression on the
output of one command; the test fails on the first that does not match, and
on any Python traceback in the transcript. Exit status 0 only if every check
ran and passed.
"""

import argparse
import os
import re
import subprocess
import sys

MARK = "@@coscope-test@@ "

# The fixture's tasks, in spawn order: their ids are 1..8.
SLEEPER_1, UNNAMED, READER_1, CHANNEL_WAITER, SPINNER = 1, 4, 5, 7, 8

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
        r"(?m)^\s+8\s+spinner\s+running\s+-\s+running on thread \d+: .*spin_until_released at fixture_states\.cpp:\d+",
        r"^(?:[^\n]*\n){8}[^\n]*$",  # the header and exactly 8 rows
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
    ("print *coscope_task_registry.shards[8].head->processer", [r'= processer \d \(LWP \d+\) running #8 "spinner", \d+ queued, \d+ in inbox']),
    ("print *coscope_task_registry.shards[8].head->scheduler", [r"= scheduler started, 2 workers, 8 live tasks, 4 timers"]),
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


def gdb_command_line(args, before, commands, init=()):
    line = [args.gdb, "-nx", "-batch", "-iex", "add-auto-load-safe-path " + args.library_dir]
    for command in init:  # before gdb reads the program
        line += ["-iex", command]
    for command in before:
        line += ["-ex", command]
    for command in commands:
        line += ["-ex", "echo \\n" + MARK + command + "\\n", "-ex", command]
    return line


def run_gdb(line, log_path):
    result = subprocess.run(line, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240)
    with open(log_path, "w") as log:
        log.write(" ".join(repr(a) if " " in a else a for a in line) + "\n\n" + result.stdout)
    return result.stdout


def split_by_command(transcript):
    """{index: output} for each marked command, in order."""
    parts = transcript.split("\n" + MARK)
    outputs = []
    for part in parts[1:]:
        command, _, output = part.partition("\n")
        outputs.append((command, output.strip("\n")))
    return parts[0], outputs


def check(transcript, checks, label):
    """Returns the number of failed expectations (printing each)."""
    failures = 0
    if "Traceback" in transcript or "Python Exception" in transcript:
        print("FAIL [%s]: a Python error reached the user" % label)
        failures += 1
    preamble, outputs = split_by_command(transcript)
    if len(outputs) != len(checks):
        print("FAIL [%s]: %d commands ran, %d expected" % (label, len(outputs), len(checks)))
        return failures + 1
    for (command, output), (expected_command, patterns) in zip(outputs, checks):
        assert command == expected_command, (command, expected_command)
        for pattern in patterns:
            if re.search(pattern, output) is None:
                print("FAIL [%s] %s\n  expected /%s/\n  got:\n%s" % (label, command, pattern, indent(output)))
                failures += 1
            else:
                print("ok   [%s] %s  /%s/" % (label, command, pattern))
    return failures


def indent(text):
    return "\n".join("    " + line for line in text.splitlines())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gdb", required=True)
    parser.add_argument("--program", required=True)
    parser.add_argument("--library-dir", required=True, help="directory of libcoscope (auto-load safe path)")
    parser.add_argument("--source-dir", required=True, help="the source tree (for gdb/coscope.py)")
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--mode", choices=("live", "core"), required=True)
    args = parser.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    program = os.path.abspath(args.program)
    to_fixture_ready = ["break fixture_ready", "run"]

    if args.mode == "live":
        live_checks = CHECKS + LIVE_ONLY_CHECKS
        transcript = run_gdb(gdb_command_line(args, to_fixture_ready, [c for c, _ in live_checks]) + [program],
                             os.path.join(args.work_dir, "live.log"))
        if "hit Breakpoint 1, fixture_ready" not in transcript:
            print("FAIL: the fixture never reached fixture_ready()\n" + indent(transcript))
            return 1
        failures = check(transcript, live_checks, "live")
    else:
        core = os.path.join(args.work_dir, "fixture.core")
        if os.path.exists(core):
            os.remove(core)
        transcript = run_gdb(gdb_command_line(args, to_fixture_ready + ["gcore " + core], []) + [program],
                             os.path.join(args.work_dir, "gcore.log"))
        if not os.path.exists(core):
            print("FAIL: gcore wrote no core file\n" + indent(transcript))
            return 1
        transcript = run_gdb(gdb_command_line(args, [], [c for c, _ in CHECKS]) + [program, core],
                             os.path.join(args.work_dir, "core.log"))
        failures = check(transcript, CHECKS, "core")
        sourced = gdb_command_line(args, ["source " + os.path.join(args.source_dir, "gdb", "coscope.py")],
                                   [c for c, _ in SOURCED_CHECKS], init=["set auto-load python-scripts off"])
        transcript = run_gdb(sourced + [program, core], os.path.join(args.work_dir, "sourced.log"))
        failures += check(transcript, SOURCED_CHECKS, "core, sourced")
        os.remove(core)  # large; the logs stay
    print("%s: %s" % (args.mode, "FAILED (%d)" % failures if failures else "all checks passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
