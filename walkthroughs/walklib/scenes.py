"""The parts a step is made of, in the order its SCENES list them.

  Part(title)              a heading inside the step
  Say(text)                an explanation (paragraphs; indented lines stay as written)
  Run(name, argv, ...)     runs one of the step's programs and shows what it prints
  Shell(name, command)     runs a shell command line (bash) and shows what it prints
  Gdb(name, script, program, ...)
                           runs the program under gdb with the step's script
                           (walklib/gdb_driver.py reads it)
  Timeline(name, argv, title)
                           runs one of the step's programs again with
                           COSCOPE_TRACE=@work@/NAME.json and draws that trace
                           with scripts/coscope-timeline into @work@/NAME.svg
                           (the page shows it as timeline-NAME.svg)
  Custom(name, function)   function(ctx, console, record) does what the others cannot

Every command runs in the step's build directory (where its programs are),
shown as `.`. In arguments and scripts, @bin@ is that directory, @work@ a
scratch directory emptied before each run, @src@ the step's source folder.
`name` keys the scene's transcript for the step's facts.
"""

import json
import os
import shlex

from . import build, gdb_session
from .terminal import run_on_pty


class Input:
    """What arrives on a program's stdin: `text`, `after_s` seconds after the
    program's first line, then end of input (batch). An interactive learner
    types it instead, told by `prompt`."""

    def __init__(self, text, after_s, prompt=None):
        self.text = text
        self.after_s = after_s
        self.prompt = prompt or "type %s and press Enter, whenever you like" % text.strip()


class Part:
    def __init__(self, title):
        self.title = title

    def play(self, ctx, console):
        console.part(self.title)
        return True


class Say:
    def __init__(self, text):
        self.text = text

    def play(self, ctx, console):
        console.say(self.text)
        return True


class Run:
    def __init__(self, name, argv, env=None, input=None, shown=None, timeout_s=60.0):
        self.name = name
        self.argv = list(argv)
        self.env = dict(env or {})
        self.input = input
        self.shown = shown
        self.timeout_s = timeout_s

    def display(self, ctx):
        if self.input and not ctx.batch:  # `shown` tells how batch feeds the input
            return shown_command(ctx, self.argv, self.env)
        return self.shown or shown_command(ctx, self.argv, self.env)

    def play(self, ctx, console):
        if not ctx.batch and not console.pause("run: " + self.display(ctx)):
            return False
        record = console.begin_scene(self.name)
        record.outcome = run_program(ctx, console, self.argv, self.env, self.display(ctx), self.input,
                                     self.timeout_s)
        console.end_scene()
        return True


def shown_command(ctx, argv, env=None):
    """argv (with its environment) as the transcript shows it, run from `.`."""
    words = ["%s=%s" % (key, ctx.shown_path(value, in_env=True)) for key, value in (env or {}).items()]
    program = argv[0] if "/" in argv[0] else "./" + argv[0]
    words.append(ctx.shown_path(program))
    words += [shlex.quote(ctx.shown_path(arg)) for arg in argv[1:]]
    return " ".join(words)


def run_program(ctx, console, argv, env=None, shown=None, input=None, timeout_s=60.0):
    """Shows the command, runs it in the step's build directory, shows what it
    prints and how it ended; returns the terminal.Outcome. argv[0] without a
    slash is one of the step's programs. (Also for Custom scenes.)"""
    console.command(shown or shown_command(ctx, argv, env))
    if input and not ctx.batch:
        console.say("(The program reads your terminal: %s.)" % input.prompt)
    argv = [ctx.expand(arg) for arg in argv]
    if "/" not in argv[0]:
        argv[0] = os.path.join(ctx.bin_dir, argv[0])
    full_env = dict(ctx.environment, **{key: ctx.expand(value) for key, value in (env or {}).items()})
    batch_input = input if ctx.batch else None

    def note_input(ms):
        console.output("[walk: %r written to stdin %d ms after the first line, then end of input]"
                       % (batch_input.text, ms))

    outcome = run_on_pty(argv, env=full_env, cwd=ctx.bin_dir, emit=console.output,
                         stdin_text=batch_input.text if batch_input else None,
                         stdin_after_s=batch_input.after_s if batch_input else 0.0,
                         on_input=note_input, inherit_stdin=input is not None and not ctx.batch,
                         timeout_s=timeout_s, stack_limit=ctx.stack_limit)
    console.output(outcome.describe())
    return outcome


class Shell:
    def __init__(self, name, command, shown=None, timeout_s=60.0):
        self.name = name
        self.command = command
        self.shown = shown
        self.timeout_s = timeout_s

    def play(self, ctx, console):
        shown = self.shown or ctx.shown_path(self.command)
        if not ctx.batch and not console.pause("run: " + shown):
            return False
        record = console.begin_scene(self.name)
        record.outcome = run_shell(ctx, console, self.command, shown, self.timeout_s)
        console.end_scene()
        return True


def run_shell(ctx, console, command, shown=None, timeout_s=60.0):
    """Shows the command line, runs it with bash in the step's build
    directory; its exit status is shown only when it is not 0."""
    console.command(shown or ctx.shown_path(command))
    outcome = run_on_pty(["bash", "-c", ctx.expand(command)], env=ctx.environment, cwd=ctx.bin_dir,
                         emit=console.output, timeout_s=timeout_s, stack_limit=ctx.stack_limit)
    if outcome.returncode != 0 or outcome.timed_out:
        console.output(outcome.describe())
    return outcome


# The runtime's stall watchdog is a thread of its own, which wakes every 25 ms
# while a processer runs: in gdb it would add a thread to every stop ("Thread 1
# hit Breakpoint"), its system calls to `catch syscall`, and a stall report to
# every `step` through a task (gdb's stepping is slow). The sessions turn it
# off unless a scene is about it (env={}).
GDB_ENV = {"COSCOPE_STALL_MS": "0"}


class Gdb:
    def __init__(self, name, script, program, args=(), timeout_s=240.0, stdin=False, env=None):
        self.name = name
        self.script = script
        self.program = program
        self.args = list(args)
        self.timeout_s = timeout_s
        self.stdin = stdin  # the script redirects the program's stdin with @stdin@
        self.env = dict(GDB_ENV if env is None else env)

    def display(self, ctx):
        words = ["%s=%s" % item for item in self.env.items()]
        return " ".join(words + ["gdb -q ./%s%s" % (self.program, "" if not self.args else " (args: %s)" % " ".join(
            shlex.quote(ctx.shown_path(arg)) for arg in self.args))])

    def play(self, ctx, console):
        if not ctx.batch and not console.pause("start gdb: " + self.display(ctx)):
            return False
        record = console.begin_scene(self.name)
        console.command(self.display(ctx) + "        # with the coscope toolkit and " + self.script)
        record.outcome = gdb_session.run(ctx, console, self)
        if ctx.batch and (record.outcome.timed_out or record.outcome.returncode != 0):
            console.output("[gdb: %s]" % record.outcome.describe().strip("[]"))
        console.end_scene()
        return True


TIMELINE = os.path.join(build.REPO, "scripts", "coscope-timeline")


class Timeline:
    def __init__(self, name, argv, title, timeout_s=60.0):
        self.name = name
        self.argv = list(argv)
        self.title = title
        self.timeout_s = timeout_s

    def play(self, ctx, console):
        trace, picture = "@work@/%s.json" % self.name, "@work@/%s.svg" % self.name
        env = {"COSCOPE_TRACE": trace}
        if not ctx.batch and not console.pause("run: " + shown_command(ctx, self.argv, env)):
            return False
        record = console.begin_scene(self.name)
        run_program(ctx, console, self.argv, env, timeout_s=self.timeout_s)
        shown = "scripts/coscope-timeline %s -o %s" % (ctx.shown_path(trace), ctx.shown_path(picture))
        record.outcome = run_program(ctx, console, [TIMELINE, trace, "-o", picture, "--title", self.title],
                                     shown=shown)
        console.output(describe_trace(ctx.expand(trace), ctx.expand(picture)))
        console.end_scene()
        return True


def describe_trace(trace, picture):
    """One line for the facts: the trace parses, what it holds, the picture exists."""
    try:
        with open(trace) as f:
            events = json.load(f)["traceEvents"]
    except (OSError, ValueError, KeyError) as error:
        return "[walk: the trace does not parse: %s]" % error
    runs = sum(1 for e in events if e.get("cat") == "run")
    wakers = {}
    for e in events:
        if e["ph"] == "s":
            wakers[e["name"]] = wakers.get(e["name"], 0) + 1
    wakes = ", ".join("%s %d" % item for item in sorted(wakers.items())) or "none"
    drawn = "drawn" if os.path.getsize(picture) > 0 else "not drawn" if os.path.exists(picture) else "missing"
    return "[walk: the trace parses: %d task runs; wakes by %s; picture %s]" % (runs, wakes, drawn)


class Custom:
    def __init__(self, name, function):
        self.name = name
        self.function = function

    def play(self, ctx, console):
        if not ctx.batch and not console.pause():
            return False
        record = console.begin_scene(self.name)
        self.function(ctx, console, record)
        console.end_scene()
        return True


__all__ = ["Input", "Part", "Say", "Run", "Shell", "Gdb", "Timeline", "Custom", "run_program", "run_shell"]
