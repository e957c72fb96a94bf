"""`info coroutines [STATE | /REGEX]`: the list of every coroutine."""

import re

import gdb

from . import registry, selection, stacks
from .inferior import CoscopeError, short_error
from .tasks import TaskView

STATES = ("runnable", "running", "io_block", "sleep", "sys_block", "done")
COLUMNS = ("Id", "Name", "State", "Waiting for", "Where", "Created at")


def make_filter(argument):
    """A predicate on TaskView from the command's argument."""
    argument = argument.strip()
    if not argument:
        return lambda task: True
    if argument.startswith("/"):
        try:
            pattern = re.compile(argument[1:])
        except re.error as e:
            raise gdb.GdbError("info coroutines: bad regular expression: %s" % e)
        return lambda task: pattern.search(task.name) is not None
    if argument == "running":
        return lambda task: task.running
    if argument in STATES:
        return lambda task: task.state == argument
    raise gdb.GdbError("info coroutines: expected a state (%s) or /REGEX, got %r" % (", ".join(STATES), argument))


def collect(wanted):
    """(tasks, problems): the TaskViews that pass `wanted`, by id, and one-line notes."""
    problems = []
    tasks = []
    for pointer in registry.task_pointers(problems):
        try:
            task = TaskView(pointer)
        except CoscopeError as e:
            problems.append(str(e))
            continue
        if wanted(task):
            tasks.append(task)
    tasks.sort(key=lambda task: task.id)
    return tasks, problems


def format_table(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        lines.append("  ".join(cells).rstrip())
    return lines


class InfoCoroutines(gdb.Command):
    """List the coroutines: id, name, state, what each waits for, where it is, where it was created.

Usage: info coroutines [STATE | /REGEX]

  STATE   only the coroutines in this state: runnable, running, io_block, sleep,
          sys_block or done ("runnable" includes the running ones)
  /REGEX  only the coroutines whose name matches REGEX (Python syntax, searched)

"Where" is the coroutine's first frame outside the runtime (function at
file:line), found by unwinding its saved stack: this works on a live process
and on a core file alike. A running coroutine shows its thread instead.
The selected coroutine (see "coroutine") is marked with "*"."""

    def __init__(self):
        super().__init__("info coroutines", gdb.COMMAND_STATUS)

    def invoke(self, argument, from_tty):
        wanted = make_filter(argument)
        try:
            tasks, problems = collect(wanted)
        except (CoscopeError, gdb.error) as e:
            raise gdb.GdbError("coscope: %s" % short_error(e))
        chosen = selection.current()
        rows = [("",) + COLUMNS]
        for task in tasks:
            mark = "*" if chosen is not None and chosen.task_id == task.id else ""
            state = "running" if task.running else task.state
            rows.append((mark, str(task.id), task.display_name(), state, task.wait_text() or "-", stacks.where(task), task.created_at()))
        if len(rows) == 1:
            gdb.write("No coroutines%s.\n" % (" match %r" % argument.strip() if argument.strip() else ""))
        else:
            gdb.write("\n".join(format_table(rows)) + "\n")
        for problem in problems:
            gdb.write("<coscope: %s>\n" % problem)


def register():
    InfoCoroutines()
