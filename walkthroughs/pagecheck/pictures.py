"""The pictures a page shows: each drawn by the fresh run.

A walkthrough page shows a timeline as ![what](NAME.svg), a file beside the
page. The step's Timeline scene NAME (walklib/scenes.py) draws it into the
step's work directory at every run. A picture is stale when the fresh run
drew no NAME.svg, or the page's folder has none; --update copies the fresh
one beside the page. Its content is not compared: times differ from run to
run, and the run's facts (walk N --check) check what the trace holds.
"""

import os
import re
import shutil

PICTURE = re.compile(r"!\[[^\]]*\]\(([\w.-]+\.svg)\)")


class Problem:
    def __init__(self, where, text, now, note=""):
        self.where, self.text, self.now, self.note = where, text, now, note


def shown(prose):
    """[(line number, file name)] of the pictures in the page's prose."""
    return [(number, name) for number, line in prose for name in PICTURE.findall(line)]


def check(page_path, prose, work_dir, update):
    """(problems, copied): the page's pictures against what the fresh run drew in work_dir."""
    problems, copied = [], []
    folder = os.path.dirname(page_path)
    for number, name in shown(prose):
        where = "%s:%d" % (os.path.relpath(page_path), number)
        fresh = os.path.join(work_dir, name)
        if not os.path.exists(fresh):
            problems.append(Problem(where, name, None, "the run drew no %s (a Timeline scene of that name)" % name))
            continue
        beside = os.path.join(folder, name)
        if update:
            shutil.copyfile(fresh, beside)
            copied.append(beside)
        elif not os.path.exists(beside):
            problems.append(Problem(where, name, None, "missing beside the page; --update copies the run's picture"))
    return problems, copied
