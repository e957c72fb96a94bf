#!/usr/bin/env python3
"""Times the gdb toolkit's listing commands on a program with many parked
coroutines (gdb_many_tasks), in a live process and on a core file of it.

  bench/gdb_bench.py BUILD/bench/gdb_many_tasks [--tasks 10000] [--repeat 3]

gdb runs in batch mode, loads the toolkit with `source gdb/coscope.py`, runs
the program to tasks_parked() (every task parked) and times each command from
inside gdb's Python (time.perf_counter around gdb.execute, output captured),
so gdb's start-up and the program's are not counted. The first run of a
command pays for gdb reading the debug info it needs; later ones show the
steady cost. Then gcore writes a core file and a second gdb times the same
commands on it. The target: `info coroutines` lists 10,000 coroutines in
under 2 s, live and on the core file. Each line gives the seconds of every run, in order, and the
slowest run's ratio to that target.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

TARGET_SECONDS = 2.0
SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = "@@gdb_bench "

# (label, gdb commands run before timing, the timed command)
COMMANDS = (
    ("info coroutines, every row", ["set coscope print-limit unlimited"], "info coroutines"),
    ("info coroutines -group", ["set coscope print-limit unlimited"], "info coroutines -group"),
    ("info coroutines, first 200 rows (default limit)", ["set coscope print-limit 200"], "info coroutines"),
)

# Runs inside gdb: times each command `repeat` times, prints one MARK line per run.
TIMER = r'''
import time
import gdb

def coscope_bench(label, setup, command, repeat):
    for run in range(repeat):
        for line in setup:
            gdb.execute(line, to_string=True)
        start = time.perf_counter()
        output = gdb.execute(command, to_string=True)
        seconds = time.perf_counter() - start
        print("%s%s|%d|%.3f|%d" % (MARK, label, run, seconds, output.count("\n")))
'''


def gdb_line(gdb, before, timed, repeat, script):
    line = [gdb, "-nx", "-batch", "-iex", "set auto-load python-scripts off",
            "-ex", "source " + os.path.join(SOURCE_DIR, "gdb", "coscope.py"), "-ex", "source " + script]
    for command in before:
        line += ["-ex", command]
    for label, setup, command in timed:
        line += ["-ex", "python coscope_bench(%r, %r, %r, %d)" % (label, setup, command, repeat)]
    return line


def run(line):
    result = subprocess.run(line, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
    return result.stdout


def report(mode, transcript, tasks):
    """Prints one line per command; returns False if a run is missing or a Python error showed."""
    runs = {}
    for line in transcript.splitlines():
        if line.startswith(MARK):
            label, run_index, seconds, lines = line[len(MARK):].rsplit("|", 3)
            runs.setdefault(label, []).append((int(run_index), float(seconds), int(lines)))
    print("%s (%d tasks):" % (mode, tasks))
    ok = True
    for label, _, _ in COMMANDS:
        if label not in runs:
            print("  %-50s did not run" % label)
            ok = False
            continue
        seconds = [s for _, s, _ in sorted(runs[label])]
        lines = runs[label][0][2]
        slowest = max(seconds)
        verdict = "met" if slowest < TARGET_SECONDS else "MISSED"
        print("  %-48s %6d lines  %s s: slowest = %.2fx the %g s target (%s)"
              % (label, lines, ", ".join("%.2f" % s for s in seconds), slowest / TARGET_SECONDS, TARGET_SECONDS, verdict))
    if "Traceback" in transcript or "Python Exception" in transcript:
        print("  a Python error reached gdb's output:\n" + transcript)
        ok = False
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("program", help="the gdb_many_tasks program (built with debug info)")
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command (default 3)")
    parser.add_argument("--gdb", default="gdb")
    parser.add_argument("--no-core", action="store_true", help="time the live process only")
    args = parser.parse_args()
    program = os.path.abspath(args.program)
    work = tempfile.mkdtemp(prefix="gdb_bench.")
    try:
        script = os.path.join(work, "timer.py")
        with open(script, "w") as f:
            f.write("MARK = %r\n%s" % (MARK, TIMER))
        to_stop = ["break tasks_parked", "run"]
        program_args = ["--args", program, str(args.tasks)]
        version = run([args.gdb, "--version"]).splitlines()[0]
        print("gdb_bench: %s, %s" % (os.path.basename(program), version))
        transcript = run(gdb_line(args.gdb, to_stop, COMMANDS, args.repeat, script) + program_args)
        if "hit Breakpoint 1, " not in transcript:
            print("the program never reached tasks_parked():\n" + transcript)
            return 1
        ok = report("live process", transcript, args.tasks)
        if not args.no_core:
            core = os.path.join(work, "many_tasks.core")
            run(gdb_line(args.gdb, to_stop + ["gcore " + core], (), 0, script) + program_args)
            if not os.path.exists(core):
                print("gcore wrote no core file")
                return 1
            print("core file: %.0f MB" % (os.path.getsize(core) / 1e6))
            transcript = run(gdb_line(args.gdb, [], COMMANDS, args.repeat, script) + [program, core])
            ok = report("core file", transcript, args.tasks) and ok
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
