"""What may differ between two runs of the same step, and nothing else.

Both the page's excerpt and the fresh transcript go through `normalise`
before they are compared. It replaces, with a fixed word:

  absolute directories   the source and build trees' paths are cut, as the
                         pages show them (build/x/prog -> x/prog)
  addresses              every 0x... number, and the value `nm` prints
                         before a symbol (the library's layout moves with
                         any change to its code)
  times                  walk's "[ 1234 ms]" stamps, "N ms", "in 966ms",
                         CLOCK_MONOTONIC seconds, clock readings in ns
                         (deadline_ns=, now=), a timer "in 4.875s";
                         gdb's "59m59s" stays
  process ids            "process N", "LWP N", a pid inside a socket name
  ports                  127.0.0.1:PORT
  build products         the size and time `ls -l` shows of a built file
  recursion depths       frame numbers of 3 digits and more, walk's
                         "... the same line N more times", and the length
                         of an address that holds a pid (len=N)

A docs excerpt noted `racy` (markdown.py) is compared with a racy
Normaliser, and the lines of each command's output in any order.

Column widths: gdb and the toolkit pad table columns to the widest cell, so a
table with a replaced value may be padded differently; `loose` also collapses
runs of spaces, and the lines of an excerpt match loosely only where a value
was replaced in one of them (a table with nothing variable must match to
the space).
"""

import re

RULES = [
    (re.compile(r"0x[0-9a-fA-F]+"), "0x?"),
    (re.compile(r"^(\s*)[0-9a-f]{16}( [A-Za-z] )"), r"\1?\2"),  # nm: value, type, name
    (re.compile(r"\[\s*\d+ ms\]"), "[? ms]"),
    (re.compile(r"\b\d+(?:\.\d+)? ?(ms|us)\b"), r"? \1"),
    (re.compile(r"\b\d+\.\d{9} s\b"), "? s"),
    (re.compile(r"\bin \d+\.\d+s\b"), "in ?s"),  # a timer due in 4.875s
    (re.compile(r"\b(deadline_ns|due_ns|now|now_ns)((?:@entry)?)=\d+"), r"\1\2=?"),
    (re.compile(r"\b(process|LWP|pid) \d+"), r"\1 ?"),
    (re.compile(r"(@coscope-[\w]+-)\d+"), r"\1?"),
    (re.compile(r"\b127\.0\.0\.1:\d+"), "127.0.0.1:?"),
    (re.compile(r"#\d{3,}\b"), "#?"),
    (re.compile(r"\b\d+ more times\b"), "? more times"),
    (re.compile(r"\blen=\d+"), "len=?"),
    # the runtime's log (spdlog): its time and the writing thread's id
    (re.compile(r"^(\s*)\[\d\d:\d\d:\d\d\.\d{6}\] \[coscope\] \[T\d+\]"), r"\1[?] [coscope] [T?]"),
    # ls -l of a file the build made: its size and time are the build's
    (re.compile(r"^(\s*[-d][-rwxsStT]{9}\.? +\d+ +\S+ +\S+ +)\d+ +\w{3} +\d+ +[\d:]+"), r"\1? ? ? ?"),
]


FILE_LINE = re.compile(r"(\.\w+:\d+)")


class Normaliser:
    """normalise(line) for one source tree and one build tree. A racy
    normaliser also replaces every number but the line of a file:line: for a
    run whose fds, ids, counts and due times depend on which thread got
    there first."""

    def __init__(self, source_dir, build_dir, racy=False):
        self.racy = racy
        # The longer first: the build tree is usually inside the source tree.
        self.dirs = sorted({d.rstrip("/") for d in (source_dir, build_dir) if d}, key=len, reverse=True)

    def cut_dirs(self, line):
        """The line with the trees' absolute paths cut, as a page shows it."""
        for directory in self.dirs:
            line = line.replace(directory + "/", "")
        return line.rstrip()

    def normalise(self, line):
        """(text, varied): the line with every run-dependent value replaced,
        and whether anything was."""
        line = self.cut_dirs(line)
        text = line
        for pattern, word in RULES:
            text = pattern.sub(word, text)
        if self.racy:
            text = re.sub(r"\b(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?s\b", "?s", text)  # 59m59s, 1h00m00s
            text = "".join(part if FILE_LINE.fullmatch(part) else re.sub(r"\d+", "?", part)
                           for part in FILE_LINE.split(text))
        return text, text != line


def loose(text):
    """The text with runs of spaces collapsed (column widths ignored)."""
    return re.sub(r"[ \t]{2,}", " ", text.strip())


def skeleton(text):
    """The text with every number gone and spaces collapsed: what stays of a
    line when only its values changed (a line number, a count)."""
    return loose(re.sub(r"\d+", "9", text))
