"""What the learner sees, and the transcript the facts are checked against.

Explanations are printed flush left; commands and everything they print are
indented by two spaces. In batch mode every line is also recorded, per scene,
for the step's facts.
"""

import shutil
import sys
import textwrap

INDENT = "  "


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
    def __init__(self, batch, stream=None):
        self.batch = batch
        self.stream = stream or sys.stdout
        self.scenes = {}
        self.current = None
        self.width = min(shutil.get_terminal_size((100, 24)).columns, 100)

    # ---- recording ------------------------------------------------------------

    def begin_scene(self, name):
        self.current = self.scenes.setdefault(name, SceneRecord(name))
        return self.current

    def end_scene(self):
        self.current = None

    def write(self, line):
        self.stream.write(line + "\n")
        self.stream.flush()
        if self.current is not None:
            self.current.lines.append(line)

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
                for line in textwrap.wrap(" ".join(l.strip() for l in lines), self.width - 2):
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
