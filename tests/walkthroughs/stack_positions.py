#!/usr/bin/env python3
"""Step 2's stack-overflow facts, wherever the main thread's stack begins.

Step 2 shows three hooks that recurse until the stack is gone (prog2's
malloc, dl_prog2's dlsym, the first limitation's dlsym -> log_lookup). Where
such an overflow finally faults - in a hook's prologue, or deep inside stdio -
depends on where the stack began, and that moves with the size of the
environment and of the program's path (both are copied onto the stack above
main's frame). The step's facts must hold at every such position.

This test plays only the scenes of step 2 that run those programs, and checks
the facts that read them:
  - once per environment size: an extra variable padded from 0 bytes up in
    16-byte steps (the stack's alignment) across more than one whole
    recursion cycle (prog2's is 416 bytes);
  - once per build-directory path length: the same build tree reached
    through symbolic links with names of different lengths, so the programs
    run from longer paths.
It prints one line per run and exits 1 if any fact failed anywhere.

usage: stack_positions.py --build-dir DIR [--gdb GDB] [--max-pad BYTES] [--pad-step BYTES]
"""

import argparse
import io
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "walkthroughs"))

from walklib import runner, steps  # noqa: E402
from walklib.console import Console  # noqa: E402
from walklib.facts import check_all  # noqa: E402

# The scenes that run the recursing programs, and the facts that read them.
SCENES = ("prog2", "prog2-gdb", "dl_prog2", "dl_prog2-gdb", "limit-dlsym", "limit-dlsym-gdb")
FACTS = ("prog2_crashes", "prog2_recursion", "prog2_overflow", "dl_prog2_recursion", "dl_prog2_in_gdb",
         "limit_dlsym")
PAD_VARIABLE = "COSCOPE_STACK_POSITION_PAD"


def play(step, build_dir, gdb):
    """Plays the chosen scenes in a fresh context; returns (failed, transcript)."""
    module = step.load()
    ctx = runner.StepContext(step, build_dir, True, gdb)
    ctx.reset_work_dir()
    buffer = io.StringIO()
    console = Console(True, stream=buffer)
    for scene in module.SCENES:
        if getattr(scene, "name", None) in SCENES:
            scene.play(ctx, console)
    facts = [item for item in module.FACTS if item.check.__name__ in FACTS]
    if len(facts) != len(FACTS):
        raise SystemExit("stack_positions.py: step 2 no longer has the facts %s" % ", ".join(FACTS))
    failed, _ = check_all(facts, console)
    return failed, buffer.getvalue()


def report(label, failed, text):
    print("%-40s %s" % (label, "FAILED" if failed else "ok"), flush=True)
    if failed:
        sys.stdout.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--gdb", default="gdb")
    parser.add_argument("--max-pad", type=int, default=512)
    parser.add_argument("--pad-step", type=int, default=16)
    args = parser.parse_args()
    gdb = shutil.which(args.gdb)
    if gdb is None:
        print("stack_positions.py: %s not found" % args.gdb)
        return 77
    build_dir = os.path.abspath(args.build_dir)
    step = steps.find(2)
    failures = 0

    for size in range(0, args.max_pad + 1, args.pad_step):
        os.environ[PAD_VARIABLE] = "x" * size
        failed, text = play(step, build_dir, gdb)
        report("environment padded by %d bytes" % size, failed, text)
        failures += bool(failed)
    os.environ.pop(PAD_VARIABLE, None)

    links = tempfile.mkdtemp(prefix="coscope-paths-")
    try:
        for length in (1, 57, 203):
            link = os.path.join(links, "p" * length)
            os.symlink(build_dir, link)
            failed, text = play(step, link, gdb)
            report("build tree through a %d-byte path" % len(link), failed, text)
            failures += bool(failed)
    finally:
        shutil.rmtree(links, ignore_errors=True)

    print("%d run(s) with a failed fact" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
