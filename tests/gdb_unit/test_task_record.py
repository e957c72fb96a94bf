"""A Task's bytes decoded (task_layout) and what is said of them
(task_record), on a Task and a Processer laid out here by hand, without gdb."""

import struct
import unittest

import toolkit_path
from coscope.task_layout import Field, Layout, LayoutError
from coscope.task_record import TaskRecord

STATES = {0: "runnable", 1: "io_block", 2: "sleep", 3: "sys_block", 4: "done"}
REASONS = {0: "none", 1: "fd_readable", 2: "fd_writable", 3: "poll", 4: "sleep", 5: "channel_recv", 6: "blocking_call"}

# A Task as a compiler might lay it out: (name, offset, size, signed, enum names).
TASK = [
    ("id", 0, 8, False, None),
    ("name", 8, 8, False, None),  # a char* (the bytes up to 40 are fields the toolkit skips)
    ("created_file", 40, 8, False, None),
    ("created_line", 48, 4, True, None),
    ("state", 52, 4, False, STATES),
    ("wait_reason", 56, 4, False, REASONS),
    ("wait_object", 64, 8, False, None),
    ("wait_arg", 72, 8, True, None),
    ("wait_deadline_ns", 80, 8, True, None),
    ("context", 88, 8, False, None),
    ("processer", 96, 8, False, None),
    ("saved", 104, 64, False, None),
    ("stack", 168, 16, False, None),
    ("registry_next", 184, 8, False, None),  # a field the toolkit does not decode
]
PROCESSER = [("index", 0, 4, True, None), ("current", 8, 8, False, None), ("thread_id", 16, 4, True, None)]

TASK_ADDRESS = 0x7000_0000
PROCESSER_ADDRESS = 0x6000_0000
FILE_ADDRESS = 0x5000_0000
NAME_ADDRESS = 0x5100_0000


def fields(table):
    return {name: Field(offset, size, signed, names) for name, offset, size, signed, names in table}


def layout():
    return Layout(fields(TASK), fields(PROCESSER))


def task_bytes(task_id=7, name=b"reader-1", state=1, reason=1, wait_object=0, wait_arg=5, deadline=0,
               processer=PROCESSER_ADDRESS, saved_pc=0x401000, stack=(0x10000, 0x8000)):
    """name: the text its name pointer leads to (b"": a null pointer, unnamed;
    None: a pointer to memory that cannot be read)."""
    raw = bytearray(192)
    struct.pack_into("<QQ", raw, 0, task_id, NAME_ADDRESS if name != b"" else 0)
    names[NAME_ADDRESS] = name
    struct.pack_into("<QiII", raw, 40, FILE_ADDRESS, 42, state, reason)
    struct.pack_into("<QqqQQ", raw, 64, wait_object, wait_arg, deadline, 0xC0FFEE, processer)
    struct.pack_into("<8Q", raw, 104, saved_pc, 0x17f00, 0x17f80, 1, 2, 3, 4, 5)
    struct.pack_into("<2Q", raw, 168, *stack)
    return bytes(raw)


def processer_bytes(index=1, current=0, thread_id=4242):
    return struct.pack("<i4xQi4x", index, current, thread_id)


# What each name pointer leads to, as task_bytes() set it (None: unreadable).
names = {}


def record(raw, processer=None):
    """A TaskRecord of `raw`; `processer`: the Processer's bytes (default: running another task)."""
    processer = processer if processer is not None else processer_bytes(current=0x1234)

    def read_processer(address):
        assert address == PROCESSER_ADDRESS, hex(address)
        return processer

    def read_file_name(address):
        assert address == FILE_ADDRESS, hex(address)
        return "/src/app/server.cpp"

    def read_name(address):
        text = names[address]
        return text.decode() if text is not None else None

    return TaskRecord(layout(), TASK_ADDRESS, raw[:layout().task_size], read_processer, read_file_name, read_name)


class LayoutTest(unittest.TestCase):
    def test_one_read_covers_every_field(self):
        self.assertEqual(layout().task_size, 184)  # up to the end of `stack`, not registry_next
        self.assertEqual(layout().processer_size, 20)

    def test_a_missing_field_is_named(self):
        task = fields(TASK)
        del task["wait_arg"], task["saved"]
        with self.assertRaises(LayoutError) as raised:
            Layout(task, fields(PROCESSER), "co::detail::Task")
        self.assertEqual(str(raised.exception), "type co::detail::Task has no field wait_arg, saved")

    def test_field_decoding(self):
        signed = Field(0, 4, signed=True)
        self.assertEqual(signed.read(struct.pack("<i", -3)), -3)
        self.assertEqual(Field(0, 4).read(struct.pack("<i", -3)), 0xFFFFFFFD)
        self.assertEqual(Field(0, 4, names=STATES).text(struct.pack("<I", 9)), "invalid(9)")

    def test_without_gdb(self):
        toolkit_path.assert_no_gdb(self)


class TaskRecordTest(unittest.TestCase):
    def test_fields(self):
        task = record(task_bytes())
        self.assertEqual((task.id, task.name, task.state, task.wait_reason), (7, "reader-1", "io_block", "fd readable"))
        self.assertEqual(task.created_at(), "server.cpp:42")
        self.assertEqual(task.created_at(full_path=True), "/src/app/server.cpp:42")
        self.assertEqual(task.saved["pc"], 0x401000)
        self.assertEqual(task.saved["r15"], 5)
        self.assertEqual(task.saved_address, TASK_ADDRESS + 104)
        self.assertTrue(task.has_context)
        self.assertEqual(task.processer_index, 1)
        self.assertIsNone(task.thread_id)  # not its processer's current task

    def test_stack_bounds(self):
        task = record(task_bytes(stack=(0x10000, 0x8000)))
        self.assertTrue(task.stack_holds(0x10000))
        self.assertTrue(task.stack_holds(0x17fff))
        self.assertFalse(task.stack_holds(0x18000))
        self.assertFalse(record(task_bytes(stack=(0, 0))).stack_holds(0))

    def test_suspended_task(self):
        task = record(task_bytes(saved_pc=0x401000))
        self.assertEqual((task.running, task.being_resumed, task.suspended), (False, False, True))

    def test_running_task_is_current_with_no_registers_saved(self):
        task = record(task_bytes(state=0, saved_pc=0), processer_bytes(current=TASK_ADDRESS, thread_id=4242))
        self.assertEqual((task.running, task.being_resumed, task.suspended), (True, False, False))
        self.assertEqual(task.thread_id, 4242)
        self.assertEqual(task.state_text, "running")

    def test_task_at_its_park_probe_runs_but_says_its_new_state(self):
        task = record(task_bytes(state=2, reason=4, saved_pc=0), processer_bytes(current=TASK_ADDRESS))
        self.assertTrue(task.running)
        self.assertEqual(task.state_text, "sleep")

    def test_current_task_with_registers_saved_is_being_switched_in(self):
        task = record(task_bytes(state=0, saved_pc=0x401000), processer_bytes(current=TASK_ADDRESS))
        self.assertEqual((task.running, task.being_resumed), (False, True))
        self.assertEqual(task.state_text, "runnable")

    def test_a_woken_task_waits_for_nothing(self):
        # Woken from a sleep, queued, not run since: wait_reason still says sleep.
        woken = record(task_bytes(state=0, reason=4))
        self.assertEqual(woken.waiting_for(), "")
        self.assertEqual(woken.wait_text(), "sleep")  # what it last waited for
        done = record(task_bytes(state=4, reason=5, wait_object=0xABC))
        self.assertEqual(done.waiting_for(), "")

    def test_wait_texts(self):
        cases = [
            (dict(state=1, reason=1, wait_arg=5), "fd 5 readable"),
            (dict(state=1, reason=2, wait_arg=9, deadline=10**9), "fd 9 writable, timed"),
            (dict(state=1, reason=3, wait_arg=1), "poll on 1 fd"),
            (dict(state=1, reason=3, wait_arg=2, deadline=5), "poll on 2 fds, timed"),
            (dict(state=2, reason=4, deadline=10**9), "sleep"),  # a sleep's deadline is no news
            (dict(state=3, reason=5, wait_object=0xbeef), "channel recv 0xbeef"),
            (dict(state=3, reason=6, wait_object=0xbeef), "blocking call"),
            (dict(state=1, reason=0), ""),
            (dict(state=1, reason=77), "invalid(77)"),
        ]
        for values, text in cases:
            with self.subTest(values=values):
                self.assertEqual(record(task_bytes(**values)).waiting_for(), text)

    def test_display_name_and_summary(self):
        unnamed = record(task_bytes(name=b"", state=2, reason=4), processer_bytes(index=0, current=1))
        self.assertEqual(unnamed.display_name(), "-")
        self.assertEqual(unnamed.summary(), '#7 "" sleep (sleep) created at /src/app/server.cpp:42 processer 0')
        unqueued = record(task_bytes(state=0, reason=0, processer=0))
        self.assertEqual(unqueued.summary(), '#7 "reader-1" runnable created at /src/app/server.cpp:42')


class NameTest(unittest.TestCase):
    def test_a_name_that_cannot_be_read_is_said_so(self):
        task = record(task_bytes(name=None))
        self.assertEqual(task.name, "<name unreadable at 0x51000000>")


if __name__ == "__main__":
    unittest.main()
