"""The parts of a page that pagecheck reads.

An excerpt is a fenced block (```) that quotes a run: its first non-blank
line is indented by two spaces, as walk prints a command and its output
(walkthrough pages), or starts with "(gdb) " (docs/gdb.md, which quotes gdb
flush left). Other fenced blocks (usage lines, command lists) are not
excerpts. An HTML comment on the line right above a fence,

    <!-- check-pages: WORDS -->

gives the excerpt's note: how to get its transcript (docs/gdb.md), or
`skip: WHY` for an excerpt that no run can reproduce (it is listed, with
WHY, and not compared).
"""

import re

NOTE = re.compile(r"^<!--\s*check-pages:\s*(.*?)\s*-->\s*$")


class Excerpt:
    """A fenced block of a page: its lines, and where they are (1-based)."""

    def __init__(self, page, first_line, lines, note):
        self.page = page
        self.first_line = first_line  # the line number of lines[0]
        self.lines = lines
        self.note = note  # the check-pages note above the fence, or None

    def where(self, index):
        return "%s:%d" % (self.page, self.first_line + index)

    @property
    def skipped(self):
        return self.note is not None and self.note.startswith("skip")


def split_page(page, text):
    """(excerpts, prose): the page's run excerpts, and its prose as
    [(line number, text)] - every line outside a fenced block."""
    excerpts, prose = [], []
    lines = text.split("\n")
    fence_start = None
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            if fence_start is None:
                fence_start = number
            else:
                body = lines[fence_start:number - 1]
                if quotes_a_run(body):
                    excerpts.append(Excerpt(page, fence_start + 1, body, note_above(lines, fence_start)))
                fence_start = None
            continue
        if fence_start is None:
            prose.append((number, line))
    return excerpts, prose


def quotes_a_run(body):
    first = next((line for line in body if line.strip()), "")
    return first.startswith("  ") or first.startswith("(gdb) ")


def note_above(lines, fence_line):
    """The check-pages note on the line above the fence at fence_line (1-based)."""
    if fence_line < 2:
        return None
    match = NOTE.match(lines[fence_line - 2])
    return match.group(1) if match else None
