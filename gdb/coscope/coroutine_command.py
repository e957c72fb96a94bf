"""`coroutine`: select a coroutine, or show one's backtrace or frame."""

import gdb

from . import registry, selection, stacks, switches
from .inferior import CoscopeError, short_error
from .tasks import TaskView


def find(task_id):
    pointer = registry.find_task(task_id)
    if pointer is None:
        raise gdb.GdbError("No coroutine %d." % task_id)
    return TaskView(pointer)


def show_stack_of(task):
    """Makes gdb's stack commands show `task` (stacks.show_stack) and selects
    its innermost frame; a task without a stack is a one-line gdb error."""
    switch = switches.switch_of(task)
    try:
        stacks.show_stack(task, switch).select()
    except stacks.NoStack as e:
        raise gdb.GdbError("Coroutine %d has no stack to show: %s." % (task.id, e))
    if switch is not None:
        # Not a task at rest, nor one the runtime calls running: say which stack this is.
        source = ("thread %d's stack, which is the coroutine's" % switch.position.num if gdb.selected_frame().level() == 0
                  else "its registers saved before the switch")
        gdb.write("[Coroutine %d is %s; shown from %s]\n" % (task.id, switch.text(), source))


class CoroutineCommand(gdb.Command):
    """Select a coroutine, or show its backtrace or one of its frames.

Usage: coroutine                 show the selected coroutine
       coroutine ID [select]     select coroutine ID: from now on bt, frame, up,
                                 down, info locals ... show its stack
       coroutine ID bt [full]    print its backtrace (with locals: full); the
                                 selection stays as it was
       coroutine ID frame SPEC   select coroutine ID and its frame SPEC, as
                                 "frame" takes it: N, function NAME, ...
       coroutine deselect        back to the thread's own stack

The coroutine's stack is shown above the current thread's frame #0, which
stays the thread's own (backtraces leave it out): the coroutine's innermost
frame is #1 (#2 or more when the thread stopped in inlined code), the
runtime's switch-out point; its own functions come above,
down to its entry, co::detail::task_main, where its backtrace ends ("set
coscope hide-runtime-frames on" leaves the runtime's frames out).
Nothing in the program is changed, so this works on core files too. The
selection ends when the program runs again. A running coroutine has no saved
stack: selecting it switches to the thread that runs it, and bt shows that
thread's backtrace. A coroutine caught in the middle of a switch is said to
be so, and shown from the switching thread's stack when that is its own.
IDs are those of "info coroutines"."""

    def __init__(self):
        # A prefix command: "coroutine apply" is its subcommand; every other
        # argument ("5 bt", "deselect") comes to invoke().
        super().__init__("coroutine", gdb.COMMAND_STACK, gdb.COMPLETE_NONE, True)

    def invoke(self, argument, from_tty):
        try:
            self._invoke(gdb.string_to_argv(argument), from_tty)
        except gdb.GdbError:
            raise
        except (CoscopeError, gdb.error, gdb.MemoryError) as e:
            raise gdb.GdbError("coscope: %s" % short_error(e))

    def _invoke(self, argv, from_tty):
        if not argv:
            return self._show()
        if argv[0] == "deselect":
            selection.deselect()
            gdb.write("Coroutine deselected; the stack is thread %d's own.\n" % gdb.selected_thread().num)
            return
        try:
            task_id = int(argv[0], 0)
        except ValueError:
            raise gdb.GdbError("coroutine: expected an ID or \"deselect\", got %r (see \"help coroutine\")" % argv[0])
        action, rest = (argv[1], argv[2:]) if len(argv) > 1 else ("select", [])
        task = find(task_id)
        if action == "select" and not rest:
            self._select(task, from_tty)
        elif action in ("bt", "backtrace"):
            self._backtrace(task, rest, from_tty)
        elif action == "frame" and rest:
            self._frame(task, " ".join(rest), from_tty)
        else:
            raise gdb.GdbError("coroutine: unknown action %r (see \"help coroutine\")" % " ".join(argv[1:]))

    def _show(self):
        chosen = selection.current()
        if chosen is None:
            gdb.write("No coroutine selected.\n")
        else:
            gdb.write('Coroutine %d "%s" is selected, on thread %d.\n' % (chosen.task_id, chosen.name, gdb.selected_thread().num))

    def _select(self, task, from_tty):
        show_stack_of(task)
        if selection.current() is None:  # its stack is a thread's: running, or caught in a switch
            how = "running" if task.running else "on a thread's stack"
            gdb.write('Coroutine %d "%s" is %s: switched to thread %d.\n' % (task.id, task.name, how, gdb.selected_thread().num))
            return
        gdb.write('[Coroutine %d "%s" (%s), its innermost frame is #%d]\n'
                  % (task.id, task.name, task.waiting_for() or task.state, selection.current().innermost_level))
        gdb.execute("frame", from_tty)

    def _backtrace(self, task, rest, from_tty):
        command = " ".join(["backtrace"] + rest)
        with selection.preserved_view():
            show_stack_of(task)
            gdb.execute(command, from_tty)

    def _frame(self, task, frame_spec, from_tty):
        show_stack_of(task)
        gdb.execute("frame " + frame_spec, from_tty)


def register():
    CoroutineCommand()
