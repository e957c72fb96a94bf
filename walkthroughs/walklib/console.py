"""What the learner sees, and the transcript the facts are checked against.

Explanations are printed flush left; commands and everything they print are
indented by two spaces. Every line is recorded whole, per scene, for the
step's facts (and is what the pages quote); what is printed is the same line
wrapped to the terminal's width (continuation lines indented four more
spaces), and a gdb command of the coscope toolkit or of the walkthrough
driver is marked `# coscope` or `# walk` (walklib/commands.py). A Console
made with wrap=False prints each line as recorded (`walk --no-wrap`).
"""

import re
import shutil
import sys
import textwrap

from . import commands

INDENT = "  "
CONTINUATION = "    "  # more indentation for the rest of a wrapped line
MARK_COLUMN = 36  # where a command's `# coscope` mark starts, if the command is shorter
MIN_COLUMNS = 60


class SceneRecord:
    """The transcript of one scene: the lines it printed, and how it ended."""

    def __init__(self, name):
        self.name = name
        self.lines = []
        self.outcome = None  # terminal.Outcome, for scenes that ran a program
        self.data = {}  # what a Custom scene wants its facts to see

    @property
    def text(self):
        return "\n".join(self.lines)


class Console:
    def __init__(self, batch, stream=None, wrap=True):
        self.batch = batch
        self.stream = stream or sys.stdout
        self.scenes = {}
        self.current = None
        columns = shutil.get_terminal_size((100, 24)).columns
        self.width = min(columns, 100)  # explanations are rewrapped to this
        self.columns = max(columns, MIN_COLUMNS) if wrap else 0  # 0: lines are printed whole

    # ---- recording ------------------------------------------------------------

    def begin_scene(self, name):
        self.current = self.scenes.setdefault(name, SceneRecord(name))
        return self.current

    def end_scene(self):
        self.current = None

    def write(self, line):
        """Records the line whole; prints it as displayed()."""
        self.stream.write(self.displayed(line) + "\n")
        self.stream.flush()
        if self.current is not None:
            self.current.lines.append(line)

    def displayed(self, line):
        """The line as printed: marked if it runs a gdb command of coscope or
        walk, wrapped to the terminal (unless wrap=False)."""
        if not self.columns:
            return line
        line = mark_command(line.expandtabs())
        if width(line) <= self.columns:
            return line
        return "\n".join(wrapped(line, self.columns))

    # ---- kinds of text ----------------------------------------------------------

    def heading(self, text):
        self.write("")
        self.write("=" * self.width)
        self.write(text)
        self.write("=" * self.width)

    def part(self, text):
        self.write("")
        self.write("--- " + text + " " + "-" * max(3, self.width - len(text) - 5))

    def say(self, text):
        """An explanation: paragraphs separated by blank lines, rewrapped."""
        self.write("")
        for index, paragraph in enumerate(textwrap.dedent(text).strip("\n").split("\n\n")):
            if index:
                self.write("")
            lines = paragraph.splitlines()
            if any(line.startswith((" ", "|")) for line in lines):  # preformatted
                for line in lines:
                    self.write(line.rstrip())
            else:
                for line in self.paragraph(" ".join(line.strip() for line in lines)):
                    self.write(line)

    def paragraph(self, text):
        """An explanation's lines: wrapped by wrapped()'s measure when lines
        are displayed wrapped, else (--no-wrap, the pages' form) by
        characters, as the pages were written."""
        if self.columns:
            return wrapped(text, self.width - 2)
        return textwrap.wrap(text, self.width - 2)

    def indented(self, text, indent, first=None):
        """A paragraph indented by `indent` (its first line by `first`, if
        given), wrapped to the width (one line, with --no-wrap)."""
        first = indent if first is None else first
        if not self.columns:
            self.write(first + text)
            return
        for line in wrapped(first + text, self.width, rest=indent):
            self.write(line)

    def command(self, text):
        self.write("")
        self.write(INDENT + "$ " + text)

    def output(self, line):
        self.write(INDENT + line if line else "")

    def explain_line(self, line):
        """An explanation line inside a gdb session (flush left, as is)."""
        self.write(line)

    def pause(self, what="go on"):
        """Interactive mode: waits for Enter. Returns False if input ended."""
        if self.batch:
            return True
        try:
            input("\n-- Enter: %s -- " % what)
        except (EOFError, KeyboardInterrupt):
            self.stream.write("\n")
            return False
        return True


def mark_command(line):
    """`  (gdb) info coroutines` -> the same, with `# coscope` after it."""
    stripped = line.lstrip()
    if not stripped.startswith("(gdb) "):
        return line
    owner = commands.owner(stripped[len("(gdb) "):])
    if owner is None:
        return line
    return "%-*s  # %s" % (MARK_COLUMN, line, owner)


def width(text):
    """How wide a line counts: its UTF-8 bytes, so that a Chinese character
    (two columns on a terminal, three bytes) never makes a line overflow,
    whichever way its width is measured."""
    return len(text.encode("utf-8", errors="replace"))


def wrapped(line, columns, rest=None):
    """A long line as several, each at most `columns` wide: broken at spaces
    where it can be. An indented line's continuations are indented four
    more spaces (or `rest`); an explanation's (flush left) stay flush left."""
    indent = line[:len(line) - len(line.lstrip())]
    if width(indent) > columns // 2:
        indent = ""
    if rest is None:
        rest = indent + CONTINUATION if indent else ""
    pieces, current, space = [], indent, ""
    for token in re.findall(r"\S+|\s+", line.strip()):
        if token.isspace():
            space = token
            continue
        if current.strip() and width(current + space + token) > columns:
            pieces.append(current)
            current, space = rest, ""
        current += space + token
        space = ""
        while width(current) > columns:  # a word longer than a line
            cut = len(current)
            while cut > 1 and width(current[:cut]) > columns:
                cut -= 1
            pieces.append(current[:cut])
            current = rest + current[cut:]
    pieces.append(current)
    return pieces
