"""The toolkit's settings: `set coscope ...` / `show coscope ...` (gdb.Parameter).

  print-limit          how many coroutines `info coroutines` lists (200)
  hide-runtime-frames  leave the runtime's frames out of a selected
                       coroutine's backtraces (off)
"""

import gdb

DEFAULT_PRINT_LIMIT = 200


class SetCoscope(gdb.Command):
    """Set the coscope toolkit's options.

Use "show coscope" to see them all, "help set coscope NAME" for one."""

    def __init__(self):
        super().__init__("set coscope", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)

    def invoke(self, argument, from_tty):
        # As "set print" does: a prefix alone lists what it can set.
        gdb.execute("help set coscope", from_tty)


class ShowCoscope(gdb.Command):
    """Show the coscope toolkit's options.

With no argument, shows them all; "show coscope NAME" shows one."""

    def __init__(self):
        super().__init__("show coscope", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)

    def invoke(self, argument, from_tty):
        if argument.strip():
            raise gdb.GdbError('Undefined show coscope command: "%s".  Try "help show coscope".' % argument.strip())
        for name in _parameters:
            shown = gdb.execute("show coscope " + name, False, True).strip()
            gdb.write("%s:  %s\n" % (name, shown))


class PrintLimit(gdb.Parameter):
    """The list stops after this many coroutines (those passing the command's
STATE or /REGEX filter, in id order) with a line saying how many more there
are. With -group, it is the most groups listed. 0 or "unlimited" lists all.
Only the coroutines listed are unwound, so a small limit keeps the command
fast on a program with many thousands of them."""

    set_doc = 'Set the most coroutines "info coroutines" lists.'
    show_doc = 'Show the most coroutines "info coroutines" lists.'
    name = "print-limit"

    def __init__(self):
        super().__init__("coscope " + self.name, gdb.COMMAND_DATA, gdb.PARAM_UINTEGER)
        self.value = DEFAULT_PRINT_LIMIT

    def get_set_string(self):
        return ""

    def get_show_string(self, value):
        return 'The most coroutines "info coroutines" lists is %s.' % value


class HideRuntimeFrames(gdb.Parameter):
    """When on, "bt" (and "coroutine ID bt", "coroutine apply ... bt") on a
suspended coroutine's stack shows only the coroutine's own code and the
libraries it calls: not the runtime's switch-out, park and hook frames
above it, nor the runtime code between its entry and its function. The
bottom frame, co::detail::task_main (the coroutine's entry), stays. Frame
numbers stay gdb's, so "frame N" still reaches a hidden frame;
"bt -no-filters" shows every frame. The thread's own stack, and that of a
coroutine running on a thread, are never filtered. Off by default: the
switch-out path is the part of the stack that shows why a coroutine waits."""

    set_doc = "Set whether a selected coroutine's backtraces leave out the runtime's frames."
    show_doc = "Show whether a selected coroutine's backtraces leave out the runtime's frames."
    name = "hide-runtime-frames"

    def __init__(self):
        super().__init__("coscope " + self.name, gdb.COMMAND_STACK, gdb.PARAM_BOOLEAN)
        self.value = False

    def get_set_string(self):
        return ""

    def get_show_string(self, value):
        return "Leaving the runtime's frames out of a selected coroutine's backtraces is %s." % value


# The installed parameters, by name (see register()).
_parameters = {}


def print_limit():
    """The most rows to print, or None for all."""
    parameter = _parameters.get(PrintLimit.name)
    return parameter.value if parameter is not None else DEFAULT_PRINT_LIMIT  # gdb gives None for unlimited


def hide_runtime_frames():
    parameter = _parameters.get(HideRuntimeFrames.name)
    return bool(parameter.value) if parameter is not None else False


def register():
    SetCoscope()
    ShowCoscope()
    for parameter in (PrintLimit(), HideRuntimeFrames()):
        _parameters[parameter.name] = parameter
