"""Every live Task, found by walking `coscope_task_registry` (runtime/src/debug/task_registry.h).

Only memory is read: no lock is taken and no function of the program is
called, so this works on a core file and on a process stopped anywhere. A
list being changed at the moment the program stopped, or a corrupted one, can
only end the walk of its shard early (a loop or a bad pointer is detected).
"""

import gdb

from .inferior import CoscopeError, global_value, short_error

REGISTRY_SYMBOL = "coscope_task_registry"
KNOWN_LAYOUT_VERSION = 1
# A shard longer than this is taken as a corrupted (looping) list.
MAX_TASKS_PER_SHARD = 10_000_000


def registry():
    value = global_value(REGISTRY_SYMBOL)
    version = int(value["version"])
    if version != KNOWN_LAYOUT_VERSION:
        raise CoscopeError("task registry layout version %d, this toolkit reads version %d" % (version, KNOWN_LAYOUT_VERSION))
    return value


_next_offset = None


def _forget_offset(event=None):
    global _next_offset
    _next_offset = None


# A program loaded or replaced may lay Task out differently.
gdb.events.new_objfile.connect(_forget_offset)
gdb.events.clear_objfiles.connect(_forget_offset)


def _registry_next_offset():
    """Where Task::registry_next lies in a Task: the walk reads that word
    alone, rather than through gdb.Value (ten times the cost per task)."""
    global _next_offset
    if _next_offset is None:
        from .tasks import task_type

        _next_offset = task_type()["registry_next"].bitpos // 8
    return _next_offset


def task_pointers(problems=None):
    """Yields the address (an int) of each task, shard by shard.

    A shard that cannot be walked to its end adds a one-line note to
    `problems` (a list) instead of raising."""
    value = registry()
    shards = value["shards"]
    shard_count = int(value["shard_count"])
    next_offset = _registry_next_offset()
    inferior = gdb.selected_inferior()
    for index in range(shard_count):
        seen = set()
        try:
            address = int(shards[index]["head"])
            while address != 0:
                if address in seen or len(seen) >= MAX_TASKS_PER_SHARD:
                    raise CoscopeError("loop in shard %d at 0x%x" % (index, address))
                seen.add(address)
                yield address
                address = int.from_bytes(inferior.read_memory(address + next_offset, 8), "little")
        except (gdb.error, gdb.MemoryError, CoscopeError) as e:
            if problems is None:
                raise CoscopeError("task registry shard %d: %s" % (index, short_error(e)))
            problems.append("task registry shard %d: %s" % (index, short_error(e)))


def find_task(task_id):
    """The Task* with this id, or None."""
    shard_count = int(registry()["shard_count"])
    shard = registry()["shards"][task_id % shard_count]
    task = shard["head"]
    seen = 0
    while int(task) != 0 and seen < MAX_TASKS_PER_SHARD:
        if int(task.dereference()["id"]) == task_id:
            return task
        task = task.dereference()["registry_next"]
        seen += 1
    return None
