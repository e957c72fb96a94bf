"""Coroutines grouped by identical stacks, for `info coroutines -group`.

Two coroutines are in one group when their frames outside the runtime are
the same functions at the same lines, from where each is (its first frame
outside the runtime, as `info coroutines` shows it) down to its entry: the
runtime's own frames (the switch-out, park, hooks) are left out, so that
tasks parked the same way by the same code fall together whatever the
runtime did on the way. What each waits for is told by the group's states.
Nothing here imports gdb: the frames come from stacks.stack_key.
"""


class Group:
    def __init__(self, frames):
        self.frames = frames  # "fn at file:line" texts, innermost first
        self.tasks = []

    def states(self):
        """"sleep (sleep)", or the distinct states with counts: "sys_block (channel recv) 3, runnable 1"."""
        counts = {}
        for task in self.tasks:
            # The list's State column, and the reason only while it waits.
            text = task.state_text
            if task.waiting_for():
                text = "%s (%s)" % (text, task.wait_reason)
            counts[text] = counts.get(text, 0) + 1
        if len(counts) == 1:
            return next(iter(counts))
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return ", ".join("%s %d" % item for item in ordered)


def group_by_stack(tasks, stack_key):
    """Groups, the largest first (ties: the one with the smallest id first).
    stack_key(task): the frames that decide its group, a tuple of texts
    (stacks.stack_key)."""
    groups = {}
    for task in tasks:
        key = stack_key(task)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(list(key))
        group.tasks.append(task)
    return sorted(groups.values(), key=lambda group: (-len(group.tasks), min(task.id for task in group.tasks)))


def id_ranges(ids, max_ranges=8):
    """"1-3, 17, 20-22" for sorted ids; past max_ranges ranges, "..." ends the text."""
    ranges = []
    for task_id in ids:
        if ranges and task_id == ranges[-1][1] + 1:
            ranges[-1][1] = task_id
        else:
            ranges.append([task_id, task_id])
    texts = ["%d" % first if first == last else "%d-%d" % (first, last) for first, last in ranges]
    if len(texts) > max_ranges:
        texts = texts[:max_ranges] + ["..."]
    return ", ".join(texts)


def format_group(group):
    """The group's lines: a header, then its stack once, indented."""
    ids = sorted(task.id for task in group.tasks)
    count = len(ids)
    header = "%d coroutine%s, id%s %s, %s:" % (count, "" if count == 1 else "s", "" if count == 1 else "s",
                                               id_ranges(ids), group.states())
    return [header] + ["    " + frame for frame in group.frames]
