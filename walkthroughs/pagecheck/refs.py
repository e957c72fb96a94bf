"""file:line references in a page's prose, against the run.

A reference is a source file name with a line number (`fd_hooks.cpp:100`,
`runtime/src/io/io_poll.cpp:57`) outside the page's fenced blocks. The rule:

  - a reference that appears, with the same line, in what the run printed
    (not in walk's narration) is true: the run is what shows which line a
    stop, a frame or a breakpoint is on, and the page says what it showed;
  - otherwise a reference to a file of this tree (found by its path, or by
    its name when one file of the tree has it) is stale;
  - a reference to a file not in this tree, or one the sentence gives to
    libgo or to the notes ("libgo's processer.cpp:42", "the notes break at
    ..."), is not this tree's line: it is listed as external, not compared.

A bare "line N" in prose is a number nothing can check; it must come with
its file (`file:N`) in the same paragraph, or it is reported.
"""

import os
import re
import subprocess

REFERENCE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.(?:cpp|cc|c|h|hpp|py|gdb|S)):(\d+)\b")
BARE_LINE = re.compile(r"\b[Ll]ine (\d+)\b|\b[Ll]ines (\d+)(?:-|–| to | and )\d+\b")
EXTERNAL = re.compile(r"libgo|the notes", re.IGNORECASE)


class Problem:
    def __init__(self, where, text, now, note=""):
        self.where = where  # page:line
        self.text = text  # the reference as the page has it
        self.now = now  # what the run shows instead (None: not a run matter)
        self.note = note


def tree_files(source_dir):
    """The tree's files by base name: {name: [relative paths]}."""
    try:
        listed = subprocess.run(["git", "-C", source_dir, "ls-files"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = []
        for root, _, files in os.walk(source_dir):
            listed += [os.path.relpath(os.path.join(root, name), source_dir) for name in files]
    by_name = {}
    for path in listed:
        by_name.setdefault(os.path.basename(path), []).append(path)
    return by_name


def paragraphs(prose):
    """[(first line number, [(number, text)])]: prose lines grouped by blank lines."""
    groups, current = [], []
    for number, text in prose:
        if not text.strip():
            if current:
                groups.append(current)
            current = []
        else:
            current.append((number, text))
    if current:
        groups.append(current)
    return groups


def check(page, prose, run_lines, files):
    """([Problem], [external references]) for the page's prose.
    run_lines: the run's lines with the trees' paths cut."""
    problems, external = [], []
    shown = "\n".join(run_lines)
    for paragraph in paragraphs(prose):
        joined = " ".join(text for _, text in paragraph)
        for number, text in paragraph:
            for match in REFERENCE.finditer(text):
                where = "%s:%d" % (page, number)
                path, line = match.group(1), match.group(2)
                name = os.path.basename(path)
                if re.search(r"(?<![\w.-])%s:%s\b" % (re.escape(name), line), shown):
                    continue
                if resolve(path, files) is None or EXTERNAL.search(before(joined, text, match.start())):
                    external.append((where, match.group(0)))
                else:
                    problems.append(Problem(where, match.group(0), lines_shown(name, run_lines)))
        for number, text in paragraph:
            for match in BARE_LINE.finditer(text):
                line = match.group(1) or match.group(2)
                if not re.search(r"\.\w+:%s\b" % line, joined):
                    problems.append(Problem("%s:%d" % (page, number), match.group(0), None,
                                            "a line number without its file: write FILE:%s, which is checked" % line))
    return problems, external


def before(joined, text, offset):
    """The 80 characters of the paragraph before the reference."""
    at = joined.find(text) + offset
    return joined[max(0, at - 80):at]


def resolve(path, files):
    candidates = files.get(os.path.basename(path), [])
    if "/" in path:
        candidates = [c for c in candidates if c.endswith(path)]
    return candidates[0] if len(candidates) == 1 else None


def lines_shown(name, run_lines):
    """What the run shows of the file: the lines it names, for the report."""
    seen = sorted({int(n) for n in re.findall(r"(?<![\w.-])%s:(\d+)\b" % re.escape(name), "\n".join(run_lines))})
    if not seen:
        return "no line of %s" % name
    return ", ".join("%s:%d" % (name, n) for n in seen)
