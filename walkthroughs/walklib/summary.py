"""The end of the tour: each of the notes' questions and its answer.

The questions and answers are docs/walkthroughs.md's table "The notes' open
questions" (one row each: what the notes ask, where and how it is answered),
read when the tour ends, so the tour says what the page says.
"""

import os
import re

from . import build

PAGE = "docs/walkthroughs.md"
SECTION = "## The notes' open questions"


def questions(path=None):
    """[(question, answer)] from the page's table, markdown marks removed;
    [] if the page or its table cannot be read."""
    try:
        with open(path or os.path.join(build.REPO, PAGE), encoding="utf-8") as page:
            text = page.read()
    except OSError:
        return []
    if SECTION not in text:
        return []
    rows = []
    for line in text.split(SECTION, 1)[1].splitlines()[1:]:
        if line.startswith("## "):
            break
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) != 2 or set(cells[0]) <= set("-: ") or cells[0] == "the notes ask":
            continue
        rows.append(tuple(plain(cell) for cell in cells))
    return rows


def plain(cell):
    """A table cell as plain text: no backticks, emphasis or escaped bars."""
    cell = cell.replace("\\|", "|").replace("`", "")
    return re.sub(r"\*([^*]+)\*", r"\1", cell)


def show(console):
    """Prints the questions and answers; False if the table could not be read."""
    rows = questions()
    console.heading("The notes' questions, and what the tour answered (%s)" % PAGE)
    if not rows:
        console.write("(%s has no readable table of the notes' questions: read it there.)" % PAGE)
        return False
    for number, (question, answer) in enumerate(rows, 1):
        console.write("")
        console.indented("The notes ask %s" % question, "   ", first="%d. " % number)
        console.indented(answer, "   ")
    return True
