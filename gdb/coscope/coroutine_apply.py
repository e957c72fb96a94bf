"""`coroutine apply all|ID... [-q] [-s] CMD`: a command on each coroutine's stack,
as `thread apply` runs one on each thread."""

import gdb

from . import apply_arguments, frames, registry, selection, stacks, switches
from .inferior import CoscopeError, short_error
from .info_coroutines import collect
from .tasks import TaskView


def parse(argument):
    """(ids or None for all, flags, command) from the command's argument."""
    try:
        return apply_arguments.parse(argument)
    except apply_arguments.ArgumentError as e:
        raise gdb.GdbError(str(e))


def header(task):
    """'Coroutine 5 "reader-1" (fd 7 readable):', as thread apply heads each thread."""
    name = ' "%s"' % task.name if task.name else ""
    switch = switches.switch_of(task)
    if switch is not None:
        status = switch.text()
    elif task.running:
        thread = stacks.thread_by_lwp(task.thread_id)
        status = "running on thread %d" % thread.num if thread is not None else "running"
    else:
        status = task.waiting_for() or task.state
    return "Coroutine %d%s (%s):" % (task.id, name, status)


def tasks_for(ids):
    """[(id, TaskView or None)] in the order asked; all of them by id if ids is None."""
    if ids is None:
        tasks, problems = collect(lambda task: True)
        for problem in problems:
            gdb.write("<coscope: %s>\n" % problem)
        return [(task.id, task) for task in tasks]
    found = []
    for task_id in ids:
        pointer = registry.find_task(task_id)
        found.append((task_id, TaskView(pointer) if pointer is not None else None))
    return found


def run_on(task, command, from_tty):
    """Shows task's stack, selects the frame where it is, runs command; returns its output."""
    innermost = stacks.show_stack(task)
    where = frames.first_outside_runtime(innermost)
    (where[0] if where is not None else innermost).select()
    return gdb.execute(command, from_tty, True)


class CoroutineApply(gdb.Command):
    """Apply a command to a list of coroutines, each with its stack shown.

Usage: coroutine apply all [FLAG]... COMMAND
       coroutine apply ID... [FLAG]... COMMAND

ID is a coroutine id as "info coroutines" lists it, or a range: 1-3.
"all" takes every coroutine, in id order. For each, COMMAND runs with that
coroutine's stack shown, as after "coroutine ID select", and the frame where
it is selected (its first frame outside the runtime, the "Where" of "info
coroutines"), so that "bt", "info locals", "print VAR", "frame" ... see it.
A running coroutine's COMMAND runs on the thread running it. Afterwards the
thread, the selected coroutine and the frame are what they were.

A coroutine without a stack (not started, finished) or an unknown ID gets
one line, and the next one follows; so does a COMMAND that fails.

FLAG:
  -q  no "Coroutine ID ..." header before each coroutine's output
  -s  silent: leave out the coroutines where COMMAND fails or prints
      nothing, and those without a stack"""

    def __init__(self):
        super().__init__("coroutine apply", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        ids, flags, command = parse(argument)
        quiet, silent = "-q" in flags, "-s" in flags
        try:
            targets = tasks_for(ids)
        except (CoscopeError, gdb.error) as e:
            raise gdb.GdbError("coscope: %s" % short_error(e))
        with stacks.many_stacks():
            generation = selection.generation()
            for task_id, task in targets:
                self._apply(task_id, task, command, quiet, silent, from_tty)
                if selection.generation() != generation:
                    gdb.write("The program ran: coroutine apply stops here.\n")
                    break

    def _apply(self, task_id, task, command, quiet, silent, from_tty):
        if task is None:
            if not silent:
                gdb.write("\nNo coroutine %d.\n" % task_id)
            return
        try:
            output = run_on(task, command, from_tty)
        except stacks.NoStack as e:
            if not silent:
                gdb.write("\n%s no stack (%s)\n" % (header(task), e))
            return
        except gdb.error as e:
            if not silent:
                if not quiet:
                    gdb.write("\n%s\n" % header(task))
                gdb.write("%s\n" % short_error(e))
            return
        if silent and not output:
            return
        if not quiet:
            gdb.write("\n%s\n" % header(task))
        gdb.write(output)


def register():
    CoroutineApply()
