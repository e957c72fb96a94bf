"""`info coroutines -group`'s grouping and its text (grouping.py), on
stand-in tasks and stack keys, without gdb."""

import unittest

import toolkit_path
from coscope.grouping import Group, format_group, group_by_stack, id_ranges


class StandInTask:
    """What grouping reads of a TaskView."""

    def __init__(self, task_id, state, wait_reason="none", running=False):
        self.id = task_id
        self.state = state
        self.wait_reason = wait_reason
        self.running = running

    @property
    def state_text(self):
        return "running" if self.running and self.state == "runnable" else self.state

    def waiting_for(self):
        return "" if self.state in ("runnable", "done") else self.wait_reason


READ = ("read_line at server.cpp:40", "serve at server.cpp:90")
SLEEP = ("nap at timer.cpp:12",)


class GroupByStackTest(unittest.TestCase):
    def test_largest_group_first_ties_by_smallest_id(self):
        stacks = {1: SLEEP, 2: READ, 3: READ, 4: SLEEP, 5: READ, 6: ("other at x.cpp:1",)}
        tasks = [StandInTask(i, "io_block", "fd readable") for i in (6, 5, 4, 3, 2, 1)]
        groups = group_by_stack(tasks, lambda task: stacks[task.id])
        self.assertEqual([tuple(g.frames) for g in groups], [READ, SLEEP, ("other at x.cpp:1",)])
        self.assertEqual([sorted(t.id for t in g.tasks) for g in groups], [[2, 3, 5], [1, 4], [6]])

    def test_equal_groups_ordered_by_their_smallest_id(self):
        stacks = {9: READ, 3: SLEEP}
        groups = group_by_stack([StandInTask(9, "sleep"), StandInTask(3, "sleep")], lambda task: stacks[task.id])
        self.assertEqual([g.tasks[0].id for g in groups], [3, 9])

    def test_without_gdb(self):
        toolkit_path.assert_no_gdb(self)


class StatesTest(unittest.TestCase):
    def group(self, *tasks):
        group = Group(list(READ))
        group.tasks.extend(tasks)
        return group

    def test_one_state(self):
        self.assertEqual(self.group(StandInTask(1, "sleep", "sleep"), StandInTask(2, "sleep", "sleep")).states(), "sleep (sleep)")

    def test_the_list_state_column_and_no_stale_reason(self):
        # A woken task keeps its last wait reason: not shown. A running one says "running".
        group = self.group(StandInTask(1, "io_block", "fd readable"), StandInTask(2, "io_block", "fd readable"),
                           StandInTask(3, "runnable", "fd readable"), StandInTask(4, "runnable", running=True),
                           StandInTask(5, "done", "channel recv"))
        self.assertEqual(group.states(), "io_block (fd readable) 2, done 1, runnable 1, running 1")


class TextTest(unittest.TestCase):
    def test_id_ranges(self):
        self.assertEqual(id_ranges([1, 2, 3, 17, 20, 21, 22]), "1-3, 17, 20-22")
        self.assertEqual(id_ranges([5]), "5")
        self.assertEqual(id_ranges(list(range(1, 40, 2)), max_ranges=3), "1, 3, 5, ...")

    def test_format_group(self):
        group = Group(list(READ))
        group.tasks.extend([StandInTask(4, "io_block", "fd readable"), StandInTask(2, "io_block", "fd readable"),
                            StandInTask(3, "io_block", "fd readable")])
        self.assertEqual(format_group(group), [
            "3 coroutines, ids 2-4, io_block (fd readable):",
            "    read_line at server.cpp:40",
            "    serve at server.cpp:90",
        ])
        single = Group(list(SLEEP))
        single.tasks.append(StandInTask(8, "sleep", "sleep"))
        self.assertEqual(format_group(single)[0], "1 coroutine, id 8, sleep (sleep):")


if __name__ == "__main__":
    unittest.main()
