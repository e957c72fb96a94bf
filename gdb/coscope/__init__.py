"""The coscope gdb toolkit: see docs/gdb.md.

One concept per module:
  inferior      reading the program's memory safely (types, strings, enums)
  tasks         TaskView: one Task's fields, read once, as plain Python values
  registry      every live Task, by walking `coscope_task_registry`
  frames        which frames belong to the runtime; how to name a location
  selection     the coroutine whose stack `bt`, `frame`, ... show
  unwinder      the gdb.unwinder.Unwinder that puts that stack under frame #0
  frame_filter  hides the thread's own frame #0 while a coroutine is selected
  stacks        where a task is now (its first frame outside the runtime)
  printers      pretty-printers for Task, TaskState, WaitReason, Processer, ...
  info_coroutines, coroutine_command   the commands
"""

import gdb

# Tells a loader that this is the toolkit and not some other `coscope` module.
COSCOPE_TOOLKIT = True

_registered = False


# The modules that install something into gdb, each through its register().
REGISTERED_MODULES = (
    "printers",
    "unwinder",
    "frame_filter",
    "selection",
    "info_coroutines",
    "coroutine_command",
)


def register():
    """Installs printers, unwinder, frame filter and commands (once)."""
    global _registered
    if _registered:
        return
    import importlib

    for name in REGISTERED_MODULES:
        importlib.import_module("." + name, __name__).register()
    _registered = True
