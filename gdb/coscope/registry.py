"""Every live Task, found by walking `coscope_task_registry` (task_registry.h).

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


def task_pointers(problems=None):
    """Yields a gdb.Value `Task*` for each task, shard by shard.

    A shard that cannot be walked to its end adds a one-line note to
    `problems` (a list) instead of raising."""
    value = registry()
    shards = value["shards"]
    shard_count = int(value["shard_count"])
    for index in range(shard_count):
        seen = set()
        try:
            task = shards[index]["head"]
            while int(task) != 0:
                address = int(task)
                if address in seen or len(seen) >= MAX_TASKS_PER_SHARD:
                    raise CoscopeError("loop in shard %d at 0x%x" % (index, address))
                seen.add(address)
                yield task
                task = task.dereference()["registry_next"]
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
