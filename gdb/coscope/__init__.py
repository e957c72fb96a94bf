"""The coscope gdb toolkit: see docs/gdb.md.

One concept per module:
  inferior      reading the program's memory safely (types, strings, enums)
  tasks         TaskView: one Task's fields, read once, as plain Python values
  task_layout, task_record   where those fields lie; the texts made of them
  registry      every live Task, by walking `coscope_task_registry`
  frames        which frames belong to the runtime, the coroutine entry; naming a location
  selection     the coroutine whose stack `bt`, `frame`, ... show
  unwinder      the gdb.unwinder.Unwinder that puts that stack under frame #0
  frame_filter  a coroutine's backtrace: without the thread's frame #0, ending at
                the coroutine's entry, without the runtime's frames if asked
  stacks        where a task is now (its first frame outside the runtime), its frames
  stack_shapes  the frames of tasks parked the same way, unwound once
  settings      `set coscope ...` / `show coscope ...`
  apply_arguments   the arguments of `coroutine apply`
  grouping      coroutines grouped by identical stacks (`info coroutines -group`)
  printers      pretty-printers for Task, TaskState, WaitReason, Processer, ...
  probe_points  the runtime's probe points: their arguments, the coroutine a thread runs
  transitions   task state transitions (the task_state probe)
  hook_probes   hooked calls (each hook's enter / exit probes)
  probe_breakpoints   gdb.Breakpoint on a probe, whose stop() never raises
  co_break_command, co_trace_command, info_co_breakpoints   breakpoint scripts
  co_break_condition   a co-break breakpoint's condition: the toolkit's check, then the user's
  core_memory, core_segments   what a truncated core file lost (its ELF headers)
  clock         the program's "now" (live clock, or the last timer pass of a core)
  fd_table      the FdCtx table (`coscope_fd_table`) and each fd's waiters
  io_sentries   the poll-style waits of tasks, found from io_block tasks
  timers        armed timers (TaskTimer, TimerQueue)
  schedulers    every scheduler (`coscope_scheduler_registry`) and its processers
  thread_syscalls   the system call a thread is in (its registers)
  channels      co::Channel<T>: values and waiting senders / receivers
  info_coroutines, coroutine_command, coroutine_apply, info_io, info_co_timers,
  info_processers   the commands

The modules of pure logic import no gdb, so that they are unit-tested
without it (tests/gdb_unit): task_layout and task_record (a Task's bytes and
what is said of them), apply_arguments (`coroutine apply`'s arguments),
grouping, core_segments (a core file's segments). register() needs gdb.
"""

# Tells a loader that this is the toolkit and not some other `coscope` module.
COSCOPE_TOOLKIT = True

_registered = False


# The modules that install something into gdb, each through its register().
REGISTERED_MODULES = (
    "printers",
    "settings",
    "frames",
    "stack_shapes",
    "unwinder",
    "frame_filter",
    "selection",
    "info_coroutines",
    "coroutine_command",
    "co_break_condition",
    "co_break_command",
    "co_trace_command",
    "info_co_breakpoints",
    "coroutine_apply",
    "info_io",
    "info_co_timers",
    "info_processers",
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
