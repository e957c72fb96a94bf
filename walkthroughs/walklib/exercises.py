"""Exercises: what a learner does after a step, in gdb or with the step's
programs, and how `walk N --exercise K` checks the answer.

A step lists them in EXERCISES, each an Exercise:

    Exercise("Coroutine 1 while coroutine 2 greets",
             task="...what to do; {gdb} is the gdb command line, {dir} the programs' directory...",
             question="In which State is coroutine 1?",
             truth=lambda ctx: ...the answer, found by running the real thing now...,
             compare=same_word,
             why="...said once the answer is right...")

`walk N --exercise K` prints the task and the question (and, on a terminal,
asks for the answer); `walk N --exercise K --answer TEXT` checks TEXT. The
right answer is never written down: truth(ctx) finds it in a fresh run of
the same program (gdb in batch, or the program on a pty), on this machine,
so an answer copied from somewhere else, or guessed, fails when the run says
otherwise. truth raises ExerciseError when the run cannot tell.
"""

import os
import re
import subprocess

from .terminal import run_on_pty, set_limits


class ExerciseError(Exception):
    """The run that checks an answer could not be made or read."""


class Exercise:
    def __init__(self, title, task, question, truth, compare=None, why=""):
        self.title = title
        self.task = task
        self.question = question
        self.truth = truth
        self.compare = compare or same_word
        self.why = why


# ---- comparing answers -------------------------------------------------------------


def same_word(answer, expected):
    """One word, case and quotes aside: `sleep` = `Sleep` = `"sleep"`."""
    return answer.strip().strip("'\"`").lower() == expected.strip().lower()


def same_number(answer, expected):
    return same_numbers(answer, str(expected))


def same_numbers(answer, expected):
    """The same integers in the same order: `3 -1` = `3, -1`."""
    found = re.findall(r"-?\d+", answer)
    return bool(found) and [int(n) for n in found] == [int(n) for n in re.findall(r"-?\d+", expected)]


def same_flags(answer, expected):
    """The same set of flags: `POLLOUT|POLLERR` = `pollerr | pollout`."""
    def flags(text):
        return {flag for flag in re.split(r"[\s|,+]+", text.strip().upper()) if flag}
    return bool(flags(answer)) and flags(answer) == flags(expected)


# ---- runs that find the truth --------------------------------------------------------


def gdb_output(ctx, program, commands, args=(), python=None, timeout_s=120):
    """What gdb prints, in batch, running `commands` (and then the Python
    file `python`, if given) on one of the step's programs, with the coscope
    toolkit and the settings walk's gdb sessions have. stdin is /dev/null."""
    if not ctx.gdb:
        raise ExerciseError("gdb was not found (scripts/setup.sh installs it)")
    line = [ctx.gdb, "-nx", "-q", "-batch",
            "-iex", "set debuginfod enabled off",
            "-iex", "add-auto-load-safe-path " + ctx.library_dir,
            "-iex", "add-auto-load-safe-path " + ctx.bin_dir,
            "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", "set breakpoint pending on", "-ex", "set width 0", "-ex", "set style enabled off",
            "-ex", "set print entry-values if-needed"]
    for command in commands:
        line += ["-ex", command]
    if python:
        line += ["-x", python]
    line += ["--args", os.path.join(ctx.bin_dir, program)] + list(args)
    env = dict(ctx.environment, TERM="dumb")
    env.pop("DEBUGINFOD_URLS", None)
    try:
        result = subprocess.run(line, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", cwd=ctx.bin_dir, env=env, timeout=timeout_s,
                                preexec_fn=lambda: set_limits(ctx.stack_limit))
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ExerciseError("gdb did not finish: %s" % error)
    return result.stdout


def program_output(ctx, argv, env=None, timeout_s=60):
    """The lines one of the step's programs prints on a pty (as on your
    terminal), run from the step's build directory."""
    lines = []
    argv = [ctx.expand(arg) for arg in argv]
    if "/" not in argv[0]:
        argv[0] = os.path.join(ctx.bin_dir, argv[0])
    full_env = dict(ctx.environment, **{key: ctx.expand(value) for key, value in (env or {}).items()})
    try:
        outcome = run_on_pty(argv, env=full_env, cwd=ctx.bin_dir, emit=lines.append, timeout_s=timeout_s,
                             stack_limit=ctx.stack_limit)
    except OSError as error:
        raise ExerciseError("cannot run %s: %s" % (argv[0], error))
    if outcome.timed_out:
        raise ExerciseError("%s did not end in %d s" % (argv[0], timeout_s))
    return lines


STEPI_SCRIPT = """
import re
import gdb
steps = 0
while steps <= 500 and not re.search(%r, gdb.execute("x/i $pc", to_string=True).strip()):
    gdb.execute("stepi", to_string=True)
    steps += 1
gdb.write("WALK-STEPS %%d\\n" %% steps)
"""


def stepi_count(ctx, program, commands, regex):
    """How many `stepi` after `commands` until the next instruction (as
    `x/i $pc` prints it) matches regex."""
    os.makedirs(ctx.work_dir, exist_ok=True)
    script = os.path.join(ctx.work_dir, "exercise-stepi.py")
    with open(script, "w") as script_file:
        script_file.write(STEPI_SCRIPT % regex)
    steps = int(search(r"^WALK-STEPS (\d+)$", gdb_output(ctx, program, commands, python=script),
                       "the count of stepi"))
    if steps > 500:
        raise ExerciseError("no instruction matched /%s/ in 500 stepi" % regex)
    return steps


def shell_output(ctx, command, timeout_s=60):
    """What a bash command line prints, run in the step's build directory."""
    try:
        result = subprocess.run(["bash", "-c", command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace", cwd=ctx.bin_dir,
                                env=ctx.environment, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ExerciseError("cannot run %s: %s" % (command, error))
    return result.stdout


def search(pattern, text, what):
    """The first group of the first match, or ExerciseError naming `what`."""
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise ExerciseError("the run did not show %s" % what)
    return match.group(1)


# ---- what `walk N --exercise K` prints --------------------------------------------------


def gdb_command(ctx, program):
    """How the learner starts gdb on a program, with the toolkit loaded."""
    return "gdb -q -iex 'add-auto-load-safe-path %s' ./%s" % (ctx.library_dir, program)


def fill(ctx, text):
    """An exercise's text with {dir} (the programs' directory) and
    {gdb:PROGRAM} (the gdb command line for PROGRAM) filled in."""
    text = re.sub(r"\{gdb:([\w.]+)\}", lambda match: gdb_command(ctx, match.group(1)), text)
    return text.replace("{dir}", ctx.bin_dir)


def present(step, number, exercise, ctx, console):
    count = len(step.module.EXERCISES)
    console.heading("Step %d, exercise %d of %d: %s" % (step.number, number, count, exercise.title))
    console.say(fill(ctx, exercise.task))
    if "{gdb:" in exercise.task:
        console.say("If gdb asks \"Make breakpoint pending on future shared library load?\", answer y: the "
                    "function is in a library the program has not loaded yet (docs/gdb-primer.md).")
    console.say("The question: " + fill(ctx, exercise.question))


def check(step, number, exercise, ctx, console, answer):
    """Checks the answer against a fresh run: 0 right, 1 wrong, 2 the run
    could not tell."""
    console.say("Your answer: %s. Checking it against a run of the step's program now ..." % answer.strip())
    try:
        expected = exercise.truth(ctx)
    except ExerciseError as error:
        console.say("walk: the check could not be made here: %s" % error)
        return 2
    if exercise.compare(answer, expected):
        console.say("Right: the run shows it too. " + exercise.why)
        if number < len(step.module.EXERCISES):
            console.say("Next: walkthroughs/walk %d --exercise %d" % (step.number, number + 1))
        return 0
    console.say("Not what the run shows. Look again at what gdb or the program prints, then answer "
                "with walkthroughs/walk %d --exercise %d --answer '...'." % (step.number, number))
    return 1
