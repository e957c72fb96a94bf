#!/usr/bin/env python3
"""Every walkthrough exercise can be checked, and its check tells right from
wrong: for each step's EXERCISES, the answer a fresh run gives (the
exercise's truth) is found, then `walk N --exercise K --answer` is run with
it (must exit 0) and with a wrong answer made from it (must exit 1).

usage: exercises.py [--build-dir DIR] [--gdb GDB]

Exit status: 0 all good, 1 one failed, 77 a run could not be made here (no
gdb, no build).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WALK = os.path.join(REPO, "walkthroughs", "walk")
sys.path.insert(0, os.path.join(REPO, "walkthroughs"))

from walklib import build, exercises, runner, steps  # noqa: E402


def wrong_answer(exercise, truth):
    """An answer the check must refuse: every number one more, or, for
    words and flags, one more word."""
    if exercise.compare in (exercises.same_number, exercises.same_numbers):
        return re.sub(r"-?\d+", lambda match: str(int(match.group()) + 1), truth)
    return truth + "|WRONG"


def walk_answer(number, k, answer, build_dir, gdb):
    result = subprocess.run([sys.executable, WALK, str(number), "--exercise", str(k), "--answer", answer,
                             "--no-build", "--build-dir", build_dir, "--gdb", gdb],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=300)
    return result.returncode, result.stdout


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", default=build.default_build_dir())
    parser.add_argument("--gdb", default="gdb")
    args = parser.parse_args(argv)
    gdb = shutil.which(args.gdb)
    if gdb is None or not os.path.isdir(os.path.join(args.build_dir, "walkthroughs")):
        print("exercises: no gdb or no built walkthroughs here")
        return 77
    failed = 0
    for number, step in sorted(steps.written_steps().items()):
        module = step.load()
        ctx = runner.StepContext(step, os.path.abspath(args.build_dir), True, gdb)
        for k, exercise in enumerate(getattr(module, "EXERCISES", ()), 1):
            name = "step %d, exercise %d (%s)" % (number, k, exercise.title)
            try:
                truth = str(exercise.truth(ctx)).strip()
            except exercises.ExerciseError as error:
                print("FAILED  %s: its run cannot tell: %s" % (name, error))
                failed += 1
                continue
            wrong = wrong_answer(exercise, truth)
            results = [(truth, 0), (wrong, 1)]
            bad = []
            for answer, expected in results:
                status, output = walk_answer(number, k, answer, ctx.build_dir, gdb)
                if status != expected:
                    bad.append("--answer %r exited %d, not %d:\n%s" % (answer, status, expected, output))
            if bad:
                failed += 1
                print("FAILED  %s\n%s" % (name, "\n".join(bad)))
            else:
                print("ok      %s: right and wrong answers told apart" % name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
