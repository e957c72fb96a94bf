"""The runtime's probe points as a stopped gdb sees them.

libcoscope carries USDT probes of provider "coscope" (runtime/src/debug/probes.h,
hooks/hook_probes.h): `task_state` at every task state change, and
`NAME_enter` / `NAME_exit` in the hooks. A breakpoint is placed on every
site of one probe with the location "-probe-stap coscope:NAME"; when it is
hit, gdb gives the probe's arguments as $_probe_arg0, $_probe_arg1, ...

Only memory and registers are read here, never a function of the program
called, so looking at a probe changes nothing in what the program does.
"""

import gdb

from .inferior import CoscopeError, global_value, short_error

PROVIDER = "coscope"


def location(probe_name):
    """The breakpoint location of every site of a probe."""
    return "-probe-stap %s:%s" % (PROVIDER, probe_name)


def argument(index):
    """The probe argument `index` of the probe the selected thread stopped at, as an int."""
    try:
        return int(gdb.parse_and_eval("$_probe_arg%d" % index))
    except gdb.error as e:
        raise CoscopeError("cannot read probe argument %d: %s" % (index, short_error(e)))


def argument_value(index):
    """The same, as the gdb.Value gdb made of it (for pointers to cast)."""
    try:
        return gdb.parse_and_eval("$_probe_arg%d" % index)
    except gdb.error as e:
        raise CoscopeError("cannot read probe argument %d: %s" % (index, short_error(e)))


def thread_errno():
    """The stopped thread's errno, or None when gdb cannot read it.

    errno is a thread-local variable of the C library; gdb finds it through
    libthread_db, as it finds any thread-local variable."""
    try:
        return int(gdb.parse_and_eval("(int) errno"))
    except gdb.error:
        return None


def current_task():
    """The Task* that the selected thread is running (a gdb.Value), or None
    when that thread is not in a coroutine.

    "In a coroutine" means: the thread's processer (the thread-local
    co::detail::t_processer, processer.h) has a current task. Read at a probe,
    this follows the task: a task that parked inside a hook and resumed on
    another worker is found on the thread it resumed on. Where gdb cannot
    read the thread-local variable, the processer whose thread_id is this
    thread's LWP is looked up from coscope_scheduler_registry instead."""
    try:
        processer = gdb.parse_and_eval("co::detail::t_processer")
    except gdb.error:
        processer = _processer_of_this_thread()
    if processer is None or int(processer) == 0:
        return None
    try:
        task = processer.dereference()["current"]
        return task if int(task) != 0 else None
    except (gdb.error, gdb.MemoryError) as e:
        raise CoscopeError("cannot read the processer at 0x%x: %s" % (int(processer), short_error(e)))


def _processer_of_this_thread():
    thread = gdb.selected_thread()
    if thread is None:
        return None
    lwp = thread.ptid[1]
    try:
        core = global_value("coscope_scheduler_registry")["head"]
        seen = set()
        while int(core) != 0 and int(core) not in seen:
            seen.add(int(core))
            table = core.dereference()["processer_table"]
            for index in range(int(core.dereference()["processer_count"])):
                processer = table[index]
                if int(processer) != 0 and int(processer.dereference()["thread_id"]) == lwp:
                    return processer
            core = core.dereference()["registry_next"]
    except (gdb.error, gdb.MemoryError) as e:
        raise CoscopeError("cannot tell which coroutine thread %d runs: %s" % (lwp, short_error(e)))
    return None
