"""Fresh transcripts to check pages against.

A walkthrough step: `walkthroughs/walk N --batch --no-build --no-wrap` (its
stdout: every line whole, as walk records it and the pages quote it; the
explanations at the width the pages were written at), or a transcript saved
before with --save-transcripts.

A docs/gdb.md excerpt: real gdb in batch mode on a program of the build
tree, as tests/gdb/run_gdb_test.py runs it (auto-load safe path, `-ex`
commands), first to the program's stop (`break fixture_ready`, `run`), then
the excerpt's `(gdb)` commands, each marked so that its output can be cut
out; each is shown as `(gdb) COMMAND` and what it printed. The excerpt's
note (markdown.py) says which program, and whether the session goes on
from the excerpt above:

    <!-- check-pages: gdb PROGRAM [stop=FUNCTION | nostop] [core] [racy] [before: CMD; CMD] -->
    <!-- check-pages: gdb continues [racy] [before: CMD; CMD] -->

PROGRAM is a path in the build tree (tests/gdb/fixture_states_O2);
`stop=FUNCTION` stops there instead of in fixture_ready; `nostop` starts
gdb without running the program; `core` has gdb write a core file at the
stop (gcore) and a second gdb run the commands on it; `before:` runs
commands the excerpt does not show (their output is left out); `racy`
compares the excerpt as normalise.py says (for what depends on which
thread got somewhere first: fds, ids, the order of rows).
"""

import os
import subprocess
import sys
import tempfile

WALK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "walk")
MARK = "@@check-pages@@"
STOP_AT = "fixture_ready"


class CannotRun(Exception):
    """A transcript that this machine cannot make (no build, no gdb)."""


def walk_step(step, build_dir, gdb, columns):
    """(text, walk's exit status) of `walk STEP --batch --no-build`."""
    env = dict(os.environ, COLUMNS=str(columns))
    line = [sys.executable, WALK, str(step), "--batch", "--no-build", "--build-dir", build_dir, "--gdb", gdb]
    if walk_can_print_whole_lines():
        line.append("--no-wrap")  # the pages quote lines whole, as walk records them
    try:
        result = subprocess.run(line, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, stdin=subprocess.DEVNULL, timeout=600)
    except subprocess.TimeoutExpired:
        raise CannotRun("walk %s --batch did not finish in 600 s" % step)
    if result.returncode == 2:
        raise CannotRun("walk %s cannot run here: %s" % (step, result.stderr.strip()))
    return result.stdout, result.returncode


def walk_can_print_whole_lines():
    """walk --no-wrap prints each line whole (walk wraps to the terminal)."""
    with open(WALK) as source:
        return '"--no-wrap"' in source.read()


class GdbSession:
    """The commands of one gdb session, and what each printed."""

    def __init__(self, program, stop, before, core=False):
        self.program = program
        self.stop = stop  # the function to run to, or None
        self.core = core
        self.steps = []  # (command, shown) in order
        self.add(before, shown=False)

    def add(self, commands, shown=True):
        first = len(self.steps)
        self.steps += [(command, shown) for command in commands]
        return range(first, len(self.steps))

    def run(self, gdb, library_dir, timeout=300):
        """[output of each command] in order."""
        with tempfile.TemporaryDirectory(prefix="check-pages-") as work:
            start = [gdb, "-nx", "-batch", "-iex", "add-auto-load-safe-path " + library_dir]
            to_stop = ["-ex", "break " + self.stop, "-ex", "run"] if self.stop else []
            target = [self.program]
            if self.core:
                core = os.path.join(work, "program.core")
                run_gdb(start + to_stop + ["-ex", "gcore " + core] + target, work, timeout)
                if not os.path.exists(core):
                    raise CannotRun("gcore wrote no core file of %s" % self.program)
                to_stop, target = [], [self.program, core]
            line = start + to_stop
            for index, (command, _) in enumerate(self.steps):
                line += ["-ex", "echo \\n%s %d\\n" % (MARK, index), "-ex", command]
            text = run_gdb(line + target, work, timeout)
        outputs = [""] * len(self.steps)
        for part in text.split("\n" + MARK + " ")[1:]:
            index, _, output = part.partition("\n")
            outputs[int(index)] = output.rstrip("\n")
        return outputs

    def render(self, indices, outputs):
        """The transcript of the commands at indices, as gdb.md shows it."""
        lines = []
        for index in indices:
            lines.append("(gdb) " + self.steps[index][0])
            lines += outputs[index].split("\n") if outputs[index] else []
        return "\n".join(lines)


def run_gdb(line, work, timeout):
    try:
        return subprocess.run(line, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              stdin=subprocess.DEVNULL, cwd=work, timeout=timeout).stdout
    except subprocess.TimeoutExpired:
        raise CannotRun("gdb on %s did not finish in %d s" % (line[-1], timeout))


def parse_gdb_note(note):
    """(GdbSession or None for `continues`, [before commands]) from a note."""
    words, _, before = note.partition("before:")
    before = [command.strip() for command in before.split(";") if command.strip()]
    words = words.split()
    if len(words) < 2 or words[0] != "gdb":
        raise ValueError("a docs excerpt's note is `gdb PROGRAM [stop=FUNCTION | nostop] [core] [before: CMD; ...]`"
                         " or `gdb continues`, not %r" % note)
    if words[1] == "continues":
        return None, before
    stop = STOP_AT
    for word in words[2:]:
        if word.startswith("stop="):
            stop = word[len("stop="):]
        elif word == "nostop":
            stop = None
        elif word not in ("core", "racy"):
            raise ValueError("unknown word %r in the note %r" % (word, note))
    return GdbSession(words[1], stop, [], core="core" in words[2:]), before
