"""Starting gdb on a step's program with the coscope toolkit and the step's
script (run inside gdb by gdb_driver.py).

gdb loads the toolkit itself from libcoscope's .debug_gdb_scripts entry once
the library's directory is on its auto-load safe path, as docs/gdb.md tells a
user to do. `-nx` keeps the learner's ~/.gdbinit out, so every run shows the
same thing; debuginfod is off (no download prompts, no network).

Batch: gdb runs on a pty (the program's output is line-buffered as on a
terminal); lines the driver marks as explanations are printed flush left,
everything else as command output. Interactive: gdb runs on the learner's
terminal and stays there, at its prompt, until they quit.
"""

import json
import os
import signal
import subprocess

from .terminal import Outcome, run_on_pty, set_limits

DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gdb_driver.py")
MARKER = "@@walk-say@@ "


def command_line(ctx, scene):
    line = [ctx.gdb, "-nx", "-q"]
    if ctx.batch:
        line.append("-batch")
    # The toolkit's auto-load entry is in libcoscope, or, linked statically,
    # in the program itself: both directories go on the safe path.
    line += ["-iex", "set debuginfod enabled off",
             "-iex", "add-auto-load-safe-path " + ctx.library_dir,
             "-iex", "add-auto-load-safe-path " + ctx.bin_dir,
             "-x", DRIVER,
             "--args", os.path.join(ctx.bin_dir, scene.program)]
    line += [ctx.expand(arg) for arg in scene.args]
    return line


def write_config(ctx, scene):
    config = {
        "script": os.path.join(ctx.step.folder, scene.script),
        "batch": ctx.batch,
        "marker": MARKER,
        "placeholders": ctx.placeholders(),
    }
    if ctx.batch and scene.stdin:
        fifo = os.path.join(ctx.work_dir, scene.name + ".stdin")
        if os.path.exists(fifo):
            os.remove(fifo)
        os.mkfifo(fifo)
        config["stdin_fifo"] = fifo
    path = os.path.join(ctx.work_dir, scene.name + ".gdb.json")
    with open(path, "w") as config_file:
        json.dump(config, config_file)
    return path


def child_setup(stack_limit):
    set_limits(stack_limit)  # gdb's program inherits them
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run(ctx, console, scene):
    env = dict(ctx.environment, WALK_GDB_CONFIG=write_config(ctx, scene), **scene.env)
    env.pop("DEBUGINFOD_URLS", None)
    line = command_line(ctx, scene)
    if ctx.batch:
        def emit(text):
            if text.startswith(MARKER):
                console.explain_line(text[len(MARKER):])
            else:
                console.output(text)
        return run_on_pty(line, env=dict(env, TERM="dumb"), cwd=ctx.bin_dir, emit=emit,
                          timeout_s=scene.timeout_s, stack_limit=ctx.stack_limit)
    # Interactive: Ctrl-C belongs to gdb (it interrupts the program), not to walk.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        returncode = subprocess.call(line, env=env, cwd=ctx.bin_dir,
                                     preexec_fn=lambda: child_setup(ctx.stack_limit))
    finally:
        signal.signal(signal.SIGINT, previous)
    return Outcome(returncode)
