#!/usr/bin/env python3
"""gdb transcript test: real gdb, in batch mode, against a fixture program.

  --suite NAME  the checks: module suite_NAME.py next to this file (its
                docstring says what a suite defines)
  --mode live   gdb runs the fixture to the suite's STOP and runs the checks
  --mode core   gdb runs it there and writes a core file with gcore; a second
                gdb reads only the core file and runs the same checks; a third
                loads the toolkit with `source gdb/coscope.py` (auto-load off)

A suite's NO_PROCESS_CHECKS run, in live mode, in a gdb that sourced the
toolkit and never started the program; its TRUNCATED_CORE_CHECKS, in core
mode, on a core file the kernel wrote (the program run with
TRUNCATED_CORE_ENV, so that it aborts) cut to 90%, 50%, 10% and 3% of its
size, with the
toolkit sourced by hand (gdb finds no libcoscope to auto-load it from in
such a core). Where the
kernel writes no core file into the working directory (core_pattern), that
part is skipped and says so.

The toolkit is loaded by gdb itself from libcoscope's .debug_gdb_scripts
entry, as a user would get it. Each check is a regular expression on the
output of one command; the test fails on the first that does not match, and
on any Python traceback in the transcript. Exit status 0 only if every check
ran and passed.

"@WORK_DIR@" in a suite's commands stands for --work-dir. A suite whose
commands send the program's output to a file (`run > @WORK_DIR@/NAME`) can
name it in PROGRAM_OUTPUT: in live mode the driver then also runs the program
without gdb and requires the same output from both runs, and that output to
match each of PROGRAM_OUTPUT_CHECKS (so that two empty outputs do not pass).
"""

import argparse
import importlib
import os
import re
import subprocess
import sys

MARK = "@@coscope-test@@ "


def gdb_command_line(args, before, commands, init=()):
    line = [args.gdb, "-nx", "-batch", "-iex", "add-auto-load-safe-path " + args.library_dir]
    for command in init:  # before gdb reads the program
        line += ["-iex", command]
    for command in before:
        line += ["-ex", with_work_dir(args, command)]
    for command in commands:
        line += ["-ex", "echo \\n" + MARK + command + "\\n", "-ex", with_work_dir(args, command)]
    return line


def with_work_dir(args, command):
    return command.replace("@WORK_DIR@", args.work_dir)


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


def check_program_output(args, program, suite):
    """The program's output under gdb (the file PROGRAM_OUTPUT) against its
    output without gdb. Returns the number of failures (printing each)."""
    plain = subprocess.run([program], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    with open(os.path.join(args.work_dir, "plain.out"), "w") as out:
        out.write(plain.stdout)
    failures = 0
    if plain.returncode != 0:
        print("FAIL [output]: without gdb the program exited with status %d\n%s" % (plain.returncode, indent(plain.stderr)))
        failures += 1
    for pattern in getattr(suite, "PROGRAM_OUTPUT_CHECKS", []):
        if re.search(pattern, plain.stdout) is None:
            print("FAIL [output] without gdb\n  expected /%s/\n  got:\n%s" % (pattern, indent(plain.stdout)))
            failures += 1
    path = os.path.join(args.work_dir, suite.PROGRAM_OUTPUT)
    if not os.path.exists(path):
        print("FAIL [output]: the run under gdb wrote no %s" % path)
        return failures + 1
    with open(path) as out:
        under_gdb = out.read()
    if under_gdb != plain.stdout:
        print("FAIL [output]: under gdb the program printed\n%s\n  without gdb\n%s" % (indent(under_gdb), indent(plain.stdout)))
        return failures + 1
    print("ok   [output] the same %d lines with and without gdb" % len(plain.stdout.splitlines()))
    return failures


def kernel_core(args, program, env):
    """Runs the program until the kernel dumps its core (the program aborts
    when `env` is set) into the work directory; returns the core's path, or
    None when the kernel writes cores elsewhere (core_pattern)."""
    import resource

    for name in os.listdir(args.work_dir):
        if name == "core" or name.startswith("core."):
            os.remove(os.path.join(args.work_dir, name))

    def allow_core():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    run = subprocess.run([program], cwd=args.work_dir, env=dict(os.environ, **env), preexec_fn=allow_core,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    for name in ("core", "core.%d" % abs(run.returncode), "core.%d" % run.returncode):
        path = os.path.join(args.work_dir, name)
        if os.path.isfile(path):
            return path
    found = [n for n in os.listdir(args.work_dir) if n.startswith("core")]
    return os.path.join(args.work_dir, found[0]) if found else None


# How much of the kernel's core each truncated-core run keeps: a dump cut
# short near its end, halfway, and early (little more than the headers and
# the first segments are left).
TRUNCATED_CORE_FRACTIONS = (0.90, 0.50, 0.10, 0.03)


def check_truncated_core(args, program, suite):
    """The suite's TRUNCATED_CORE_CHECKS on a core the kernel wrote, cut to
    each of TRUNCATED_CORE_FRACTIONS of its size (as RLIMIT_CORE or a full
    disk cut one). Returns the failures."""
    core = kernel_core(args, program, suite.TRUNCATED_CORE_ENV)
    if core is None:
        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
        print("skip [truncated core]: the kernel wrote no core file here (core_pattern %r)" % pattern)
        return 0
    with open(core, "rb") as f:
        whole = f.read()
    os.remove(core)
    failures = 0
    for fraction in TRUNCATED_CORE_FRACTIONS:
        label = "truncated core, %d%%" % round(fraction * 100)
        cut = os.path.join(args.work_dir, "truncated-%d.core" % round(fraction * 100))
        with open(cut, "wb") as f:
            f.write(whole[:int(len(whole) * fraction)])
        # Sourced by hand: gdb finds no libcoscope in such a core, so nothing auto-loads.
        line = gdb_command_line(args, ["source " + os.path.join(args.source_dir, "gdb", "coscope.py")],
                                [c for c, _ in suite.TRUNCATED_CORE_CHECKS])
        transcript = run_gdb(line + [program, cut], os.path.join(args.work_dir, "truncated-%d.log" % round(fraction * 100)))
        os.remove(cut)
        failures += check(transcript, suite.TRUNCATED_CORE_CHECKS, label)
    return failures


def indent(text):
    return "\n".join("    " + line for line in text.splitlines())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", required=True, help="run the checks of suite_SUITE.py")
    parser.add_argument("--gdb", required=True)
    parser.add_argument("--program", required=True)
    parser.add_argument("--library-dir", required=True, help="directory of libcoscope (auto-load safe path)")
    parser.add_argument("--source-dir", required=True, help="the source tree (for gdb/coscope.py)")
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--mode", choices=("live", "core"), required=True)
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    suite = importlib.import_module("suite_" + args.suite)
    os.makedirs(args.work_dir, exist_ok=True)
    program = os.path.abspath(args.program)
    to_stop = list(suite.STOP)
    stop_marker = "hit Breakpoint 1, "

    if args.mode == "live":
        if getattr(suite, "PROGRAM_OUTPUT", None):
            stale = os.path.join(args.work_dir, suite.PROGRAM_OUTPUT)
            if os.path.exists(stale):
                os.remove(stale)
        live_checks = suite.CHECKS + getattr(suite, "LIVE_ONLY_CHECKS", [])
        transcript = run_gdb(gdb_command_line(args, to_stop, [c for c, _ in live_checks]) + [program],
                             os.path.join(args.work_dir, "live.log"))
        if stop_marker not in transcript:
            print("FAIL: the fixture never reached its stop (%s)\n%s" % (" / ".join(suite.STOP), indent(transcript)))
            return 1
        failures = check(transcript, live_checks, "live")
        no_process_checks = getattr(suite, "NO_PROCESS_CHECKS", [])
        if no_process_checks:  # the toolkit sourced, the program not started
            line = gdb_command_line(args, ["source " + os.path.join(args.source_dir, "gdb", "coscope.py")],
                                    [c for c, _ in no_process_checks], init=["set auto-load python-scripts off"])
            transcript = run_gdb(line + [program], os.path.join(args.work_dir, "no-process.log"))
            failures += check(transcript, no_process_checks, "no process")
        if getattr(suite, "PROGRAM_OUTPUT", None):
            failures += check_program_output(args, program, suite)
    else:
        core = os.path.join(args.work_dir, "fixture.core")
        if os.path.exists(core):
            os.remove(core)
        transcript = run_gdb(gdb_command_line(args, to_stop + ["gcore " + core], []) + [program],
                             os.path.join(args.work_dir, "gcore.log"))
        if not os.path.exists(core):
            print("FAIL: gcore wrote no core file\n" + indent(transcript))
            return 1
        transcript = run_gdb(gdb_command_line(args, [], [c for c, _ in suite.CHECKS]) + [program, core],
                             os.path.join(args.work_dir, "core.log"))
        failures = check(transcript, suite.CHECKS, "core")
        sourced_checks = getattr(suite, "SOURCED_CHECKS", [])
        if sourced_checks:
            sourced = gdb_command_line(args, ["source " + os.path.join(args.source_dir, "gdb", "coscope.py")],
                                       [c for c, _ in sourced_checks], init=["set auto-load python-scripts off"])
            transcript = run_gdb(sourced + [program, core], os.path.join(args.work_dir, "sourced.log"))
            failures += check(transcript, sourced_checks, "core, sourced")
        os.remove(core)  # large; the logs stay
        if getattr(suite, "TRUNCATED_CORE_CHECKS", None):
            failures += check_truncated_core(args, program, suite)
    print("%s: %s" % (args.mode, "FAILED (%d)" % failures if failures else "all checks passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
