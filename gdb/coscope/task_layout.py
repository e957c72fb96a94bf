"""Where the fields a TaskView reads lie in a Task and in a Processer, and
how to decode them from the raw bytes of one read.

Reading a struct field by field through gdb.Value costs ~100 times more
than one read_memory of the whole struct, which a list of 10,000 tasks
feels; so a TaskView reads each struct once and decodes it here. Nothing
here imports gdb: tasks.py builds the Layout from the program's types, and
the unit tests (tests/gdb_unit) build one by hand.
"""

import struct

# The Task fields a TaskView reads (runtime/src/task.h).
TASK_FIELDS = ("id", "name", "created_file", "created_line", "state", "wait_reason", "wait_object", "wait_arg",
               "wait_deadline_ns", "context", "processer", "saved", "stack")
# The Processer fields (runtime/src/processer.h).
PROCESSER_FIELDS = ("index", "current", "thread_id")
# Task::saved, a SavedRegisters: eight 64-bit words in this order.
SAVED_REGISTER_NAMES = ("pc", "sp", "fp", "rbx", "r12", "r13", "r14", "r15")


class LayoutError(Exception):
    """The program's struct lacks a field the toolkit reads."""


class Field:
    """Where an integer, enum or pointer field lies in a struct, and how to decode it.

    names: for an enum, its values -> its enumerators' names without their scope."""

    __slots__ = ("offset", "size", "signed", "names")

    def __init__(self, offset, size, signed=False, names=None):
        self.offset = offset
        self.size = size
        self.signed = signed
        self.names = names

    def read(self, raw):
        """The field's integer value in `raw`, the struct's bytes (little-endian)."""
        return int.from_bytes(raw[self.offset:self.offset + self.size], "little", signed=self.signed)

    def text(self, raw):
        """An enum field's enumerator name, or "invalid(N)" for a value it does not name."""
        number = self.read(raw)
        name = self.names.get(number) if self.names is not None else None
        return name if name is not None else "invalid(%d)" % number


def _checked(fields, wanted, struct_name):
    missing = [name for name in wanted if name not in fields]
    if missing:
        raise LayoutError("type %s has no field %s" % (struct_name, ", ".join(missing)))
    return {name: fields[name] for name in wanted}


class Layout:
    """The Task and Processer fields a TaskView reads: {name: Field} each, and
    how many bytes of each struct hold them all (one read_memory per struct)."""

    def __init__(self, task_fields, processer_fields, task_name="Task", processer_name="Processer"):
        self.task = _checked(task_fields, TASK_FIELDS, task_name)
        self.processer = _checked(processer_fields, PROCESSER_FIELDS, processer_name)
        self.task_size = max(f.offset + f.size for f in self.task.values())
        self.processer_size = max(f.offset + f.size for f in self.processer.values())

    def saved_registers(self, raw):
        """Task::saved as {register name: value}."""
        return dict(zip(SAVED_REGISTER_NAMES, struct.unpack_from("<%dQ" % len(SAVED_REGISTER_NAMES), raw,
                                                                 self.task["saved"].offset)))

    def stack_bounds(self, raw):
        """(base, size) of Task::stack: TaskStack begins with the two."""
        return struct.unpack_from("<2Q", raw, self.task["stack"].offset)
