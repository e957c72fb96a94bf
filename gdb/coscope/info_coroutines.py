"""`info coroutines [-group] [STATE | /REGEX]`: the list of every coroutine."""

import re

import gdb

from . import core_memory, grouping, registry, selection, settings, stacks
from .inferior import CoscopeError, short_error
from .tasks import TaskView

STATES = ("runnable", "running", "io_block", "sleep", "sys_block", "done")
COLUMNS = ("Id", "Name", "State", "Waiting for", "Where", "Created at")


def parse_options(argument):
    """(group, rest): gdb-style options first ("-group", or any prefix of it
    such as "-g"; "--" ends them), then the filter."""
    words = argument.split(None, 1)
    group = False
    while words and words[0].startswith("-"):
        option = words[0]
        if option == "--":
            words = words[1:]
            break
        if len(option) > 1 and "-group".startswith(option):
            group = True
        else:
            raise gdb.GdbError("info coroutines: unknown option %r (the one option is -group)" % option)
        words = words[1].split(None, 1) if len(words) > 1 else []
    return group, words[0] if words else ""


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


def more_line(count, what):
    return '... and %d more %s ("set coscope print-limit unlimited" lists all)' % (count, what)


class InfoCoroutines(gdb.Command):
    """List the coroutines: id, name, state, what each waits for, where it is, where it was created.

Usage: info coroutines [-group] [STATE | /REGEX]

  STATE   only the coroutines in this state: runnable, running, io_block, sleep,
          sys_block or done ("runnable" includes the running ones)
  /REGEX  only the coroutines whose name matches REGEX (Python syntax, searched)
  -group  one entry per distinct stack instead of one line per coroutine: the
          count, the ids ("1-3, 17"), the states and, once, the stack's
          frames outside the runtime (function at file:line), largest group
          first. Coroutines parked by the same code at the same place fall
          together, so thousands of them stay readable. (An option of this
          command, as -gid is of "info threads": it lists the same coroutines,
          only merged.)

"Where" is the coroutine's first frame outside the runtime (function at
file:line), found by unwinding its saved stack: this works on a live process
and on a core file alike. A running coroutine shows its thread instead.
The selected coroutine (see "coroutine") is marked with "*".
The list stops after "set coscope print-limit" entries (200 unless changed)."""

    def __init__(self):
        super().__init__("info coroutines", gdb.COMMAND_STATUS)

    def invoke(self, argument, from_tty):
        group, argument = parse_options(argument)
        wanted = make_filter(argument)
        try:
            tasks, problems = collect(wanted)
        except (CoscopeError, gdb.error) as e:
            raise gdb.GdbError("coscope: %s" % short_error(e))
        if not tasks:
            gdb.write("No coroutines%s.\n" % (" match %r" % argument.strip() if argument.strip() else ""))
        else:
            limit = settings.print_limit()
            with stacks.many_stacks():
                lines = self._grouped(tasks, limit) if group else self._table(tasks, limit)
            gdb.write("\n".join(lines) + "\n")
        for problem in problems:
            gdb.write("<coscope: %s>\n" % problem)
        truncated = core_memory.truncation()
        if truncated is not None:
            # Tasks and stacks in the lost memory are missing from the list or cannot be unwound.
            gdb.write("<coscope: %s: tasks or stacks there are missing from this list or cannot be shown>\n"
                      % truncated.summary())

    def _table(self, tasks, limit):
        chosen = selection.current()
        shown = tasks if limit is None else tasks[:limit]
        rows = [("",) + COLUMNS]
        for task in shown:
            mark = "*" if chosen is not None and chosen.task_id == task.id else ""
            state = task.state_text
            rows.append((mark, str(task.id), task.display_name(), state, task.waiting_for() or "-", stacks.where(task), task.created_at()))
        lines = format_table(rows)
        if len(shown) < len(tasks):
            lines.append(more_line(len(tasks) - len(shown), "coroutines"))
        return lines

    def _grouped(self, tasks, limit):
        groups = grouping.group_by_stack(tasks, stacks.stack_key)
        shown = groups if limit is None else groups[:limit]
        lines = []
        for group in shown:
            lines += grouping.format_group(group)
        if len(shown) < len(groups):
            hidden = sum(len(group.tasks) for group in groups[len(shown):])
            lines.append(more_line(len(groups) - len(shown), "groups of %d coroutines" % hidden))
        return lines


def register():
    InfoCoroutines()
