"""Playing one step: its scenes in order, then (batch) its facts."""

import os
import shutil

from . import build
from .facts import check_all
from .terminal import DEFAULT_STACK_LIMIT


class StepContext:
    """Where a step's programs, scratch files and tools are, and how it runs."""

    def __init__(self, step, build_dir, batch, gdb):
        self.step = step
        self.batch = batch
        self.gdb = gdb
        self.build_dir = build_dir
        self.bin_dir = build.step_bin_dir(build_dir, step)
        self.work_dir = os.path.join(self.bin_dir, "work")
        self.library_dir = build.library_dir(build_dir)
        # The main thread's stack of every program the step runs (STACK_LIMIT in step.py).
        self.stack_limit = getattr(step.load(), "STACK_LIMIT", DEFAULT_STACK_LIMIT)
        env = dict(os.environ, LC_ALL="C.UTF-8")
        for name in ("LD_PRELOAD", "LD_BIND_NOW", "COSCOPE_TRACE"):
            env.pop(name, None)  # the walkthrough sets what it shows, nothing else
        self.environment = env

    def placeholders(self):
        return {"@bin@": self.bin_dir, "@work@": self.work_dir, "@src@": self.step.folder}

    def expand(self, text):
        for name, value in self.placeholders().items():
            text = text.replace(name, value)
        return text

    def shown_path(self, text, in_env=False):
        """How a path appears in a shown command: relative to the step's build
        directory, which the transcript calls `.`."""
        text = text.replace("@work@", "@bin@/work")
        return text.replace("@bin@/", "$PWD/" if in_env else "./").replace("@bin@", "$PWD" if in_env else ".")

    def reset_work_dir(self):
        shutil.rmtree(self.work_dir, ignore_errors=True)
        os.makedirs(self.work_dir, exist_ok=True)


def relative(path):
    try:
        shown = os.path.relpath(path, build.REPO)
    except ValueError:
        return path
    return path if shown.startswith("..") else shown


PRIMER = "docs/gdb-primer.md"


def introduce(step, ctx, console):
    """The step's heading, where its page and programs are, and its map."""
    module = step.load()
    console.heading("Step %d: %s (%s)" % (step.number, module.TITLE, module.NOTES_HEADING))
    console.write("The page: %s" % relative(os.path.join(step.folder, "README.md")))
    console.write("The programs: %s, shown as . below" % relative(ctx.bin_dir))
    if any(type(scene).__name__ == "Gdb" for scene in module.SCENES):
        console.write("New to gdb? %s (frames, step and stepi, finish, pending breakpoints)." % PRIMER)
        if console.columns:
            console.write("In gdb, `# coscope` marks a command of coscope's toolkit, `# walk` one of this")
            console.write("walkthrough's driver; the other commands are gdb's own.")
    if not ctx.batch:
        console.write("At each pause, Enter goes on; inside gdb you may also type gdb commands.")
    diagram = getattr(module, "DIAGRAM", None)
    if diagram:
        console.part("The map of step %d" % step.number)
        console.write("")
        for line in diagram.strip("\n").splitlines():
            console.write(line.rstrip())


def play(step, ctx, console, compact=True):
    """Returns the exit status: 0, 1 (a fact failed) or 77 (a fact could not
    be shown here, none failed). compact: the facts as the step's summary,
    not as a test log (walk --check)."""
    module = step.load()
    ctx.reset_work_dir()
    introduce(step, ctx, console)
    for scene in module.SCENES:
        if not scene.play(ctx, console):
            console.write("walk: input ended; stopping here.")
            return 0
    if not ctx.batch:
        console.write("")
        console.write("End of step %d. The page %s goes through it again, with what each part answers in the notes."
                      % (step.number, relative(os.path.join(step.folder, "README.md"))))
        exercises = getattr(module, "EXERCISES", ())
        if exercises:
            console.write("Your turn: `walkthroughs/walk %d --exercise 1` (1 to %d), each checked against a real run."
                          % (step.number, len(exercises)))
        return 0
    if compact:
        console.part("Step %d in short" % step.number)
    failed, not_shown = check_all(module.FACTS, console, compact=compact)
    total = len(module.FACTS)
    console.write("Step %d: %d of %d facts shown%s%s." % (
        step.number, total - failed - not_shown, total,
        ", %d FAILED" % failed if failed else "",
        ", %d could not be shown on this machine" % not_shown if not_shown else ""))
    exercises = getattr(module, "EXERCISES", ())
    if compact and exercises:
        console.write("Your turn: `walkthroughs/walk %d --exercise 1` (1 to %d), each checked against a real run."
                      % (step.number, len(exercises)))
    if failed:
        return 1
    return 77 if not_shown else 0
