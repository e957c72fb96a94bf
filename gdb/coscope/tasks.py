"""TaskView: one co::detail::Task, its fields read once into Python values.

The field names and meanings are those documented in runtime/src/task.h;
nothing here depends on Boost.Context or libstdc++ layouts.
"""

import os
import struct

import gdb

from .inferior import CoscopeError, enum_name, lookup_type, read_cstring, short_error

TASK_TYPE = "co::detail::Task"
PROCESSER_TYPE = "co::detail::Processer"
SAVED_REGISTER_NAMES = ("pc", "sp", "fp", "rbx", "r12", "r13", "r14", "r15")  # SavedRegisters order


def task_type():
    return lookup_type(TASK_TYPE)


def _enum_text(field, raw):
    number = field.read(raw)
    name = field.names.get(number)
    return name if name is not None else "invalid(%d)" % number


def state_text(value):
    """A TaskState as the runtime's to_string() spells it: "sleep", "io_block", ..."""
    name = enum_name(value)
    return name if name is not None else "invalid(%d)" % int(value)


def wait_reason_text(value):
    """A WaitReason as the runtime's to_string() spells it: "fd readable", "channel recv", ..."""
    name = enum_name(value)
    return name.replace("_", " ") if name is not None else "invalid(%d)" % int(value)


class _Field:
    """Where an integer, enum or pointer field lies in a struct, and how to decode it."""

    __slots__ = ("offset", "size", "signed", "names")

    def __init__(self, field):
        type_ = field.type.strip_typedefs()
        self.offset = field.bitpos // 8
        self.size = type_.sizeof
        self.signed = type_.code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_ENUM) and type_.is_signed
        # An enum's values -> its enumerators' names without their scope.
        self.names = {f.enumval: f.name.rsplit("::", 1)[-1] for f in type_.fields()} if type_.code == gdb.TYPE_CODE_ENUM else None

    def read(self, raw):
        return int.from_bytes(raw[self.offset:self.offset + self.size], "little", signed=self.signed)


class _Layout:
    """The Task and Processer fields a TaskView reads, so that one read_memory
    per Task (and one per Processer) fetches them all: reading field by field
    through gdb.Value costs ~100 times more, which a list of 10,000 tasks feels."""

    TASK_FIELDS = ("id", "name", "created_file", "created_line", "state", "wait_reason", "wait_object", "wait_arg",
                   "wait_deadline_ns", "context", "processer", "saved", "stack")
    PROCESSER_FIELDS = ("index", "current", "thread_id")

    def __init__(self):
        self.task = self._fields(task_type(), self.TASK_FIELDS)
        self.task_size = max(f.offset + f.size for f in self.task.values())
        self.processer = self._fields(lookup_type(PROCESSER_TYPE), self.PROCESSER_FIELDS)
        self.processer_size = max(f.offset + f.size for f in self.processer.values())

    @staticmethod
    def _fields(type_, names):
        found = {field.name: _Field(field) for field in type_.strip_typedefs().fields() if field.name in names}
        missing = [name for name in names if name not in found]
        if missing:
            raise CoscopeError("type %s has no field %s" % (type_, ", ".join(missing)))
        return found


_layout = None
# created_file points to a string literal (a `go` site's __FILE__): read once.
_file_names = {}


def _forget_layout(event=None):
    global _layout
    _layout = None
    _file_names.clear()


# A program loaded or replaced may lay Task out differently.
gdb.events.new_objfile.connect(_forget_layout)
gdb.events.clear_objfiles.connect(_forget_layout)


def layout():
    global _layout
    if _layout is None:
        _layout = _Layout()
    return _layout


def _read(address, size, what):
    try:
        return bytes(gdb.selected_inferior().read_memory(address, size))
    except (gdb.error, gdb.MemoryError) as e:
        raise CoscopeError("cannot read %s at 0x%x: %s" % (what, address, short_error(e)))


def _file_name(pointer):
    name = _file_names.get(pointer)
    if name is None:
        name = _file_names[pointer] = read_cstring(pointer)
    return name


class TaskView:
    """A snapshot of one Task. Raises CoscopeError if its memory is unreadable."""

    def __init__(self, value):
        """value: a Task, or a pointer to one."""
        try:
            if value.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:
                self.address = int(value)
            elif value.address is not None:
                self.address = int(value.address)
            else:
                raise CoscopeError("cannot read Task: it is not in memory")
        except gdb.error as e:
            raise CoscopeError("cannot read Task: %s" % short_error(e))
        fields = layout().task
        raw = _read(self.address, layout().task_size, "Task")
        self.id = fields["id"].read(raw)
        name = fields["name"]
        self.name = raw[name.offset:name.offset + name.size].split(b"\0", 1)[0].decode("utf-8", errors="replace")
        created_file = fields["created_file"].read(raw)
        self.created_file = _file_name(created_file) if created_file != 0 else None
        self.created_line = fields["created_line"].read(raw)
        self.state = _enum_text(fields["state"], raw)
        self.wait_reason = _enum_text(fields["wait_reason"], raw).replace("_", " ")
        self.wait_object = fields["wait_object"].read(raw)
        self.wait_arg = fields["wait_arg"].read(raw)
        self.wait_deadline_ns = fields["wait_deadline_ns"].read(raw)
        self.has_context = fields["context"].read(raw) != 0
        self.processer_address = fields["processer"].read(raw)
        # TaskStack begins with base and size: [base, base + size) is the stack.
        self.stack_base, self.stack_size = struct.unpack_from("<2Q", raw, fields["stack"].offset)
        saved = fields["saved"].offset
        self.saved_address = self.address + saved
        self.saved = dict(zip(SAVED_REGISTER_NAMES, struct.unpack_from("<%dQ" % len(SAVED_REGISTER_NAMES), raw, saved)))
        self.processer_index = None
        self.thread_id = None
        self.running = False
        # The processer's current task but registers still saved: a switch into it is under way.
        self.being_resumed = False
        if self.processer_address != 0:
            processer = layout().processer
            raw_processer = _read(self.processer_address, layout().processer_size, "Processer")
            self.processer_index = processer["index"].read(raw_processer)
            current = processer["current"].read(raw_processer)
            # On a CPU: its processer's current task, with no registers saved.
            # (Registers are saved just before a switch-out, so a task at a
            # park probe - its new state already set - still runs, and one
            # caught between the save and the jump is suspended.)
            self.running = current == self.address and self.saved["pc"] == 0
            self.being_resumed = current == self.address and self.saved["pc"] != 0
            if current == self.address:
                self.thread_id = processer["thread_id"].read(raw_processer)

    @property
    def state_text(self):
        """The State column: "running" for a runnable task on a CPU, else its
        TaskState (a task at its park probe runs, but is already "sleep")."""
        return "running" if self.running and self.state == "runnable" else self.state

    @property
    def value(self):
        """The Task as a gdb.Value."""
        return gdb.Value(self.address).cast(task_type().pointer()).dereference()

    @property
    def suspended(self):
        """True when its registers were saved at a switch-out: its stack can be unwound."""
        return not self.running and self.saved["pc"] != 0 and self.state != "done"

    def stack_holds(self, address):
        """True when address lies in this task's stack."""
        return self.stack_base != 0 and self.stack_base <= address < self.stack_base + self.stack_size

    def display_name(self):
        return self.name if self.name else "-"

    def created_at(self, full_path=False):
        if self.created_file is None:
            return "?"
        path = self.created_file if full_path else os.path.basename(self.created_file)
        return "%s:%d" % (path, self.created_line)

    def waiting_for(self):
        """What it waits for now: wait_text(), or "" for a task that waits for
        nothing any more (runnable: woken, queued to run; done). Such a task
        keeps the wait reason of its last park until it runs again."""
        if self.state in ("runnable", "done"):
            return ""
        return self.wait_text()

    def wait_text(self):
        """Why it waits, with the object: "fd 5 readable", "channel recv 0x...", "" when it does not."""
        reason = self.wait_reason
        if reason == "none":
            return ""
        if reason in ("fd readable", "fd writable"):
            text = "fd %d %s" % (self.wait_arg, reason.split()[1])
        elif reason == "poll":
            text = "poll on %d fd%s" % (self.wait_arg, "" if self.wait_arg == 1 else "s")
        elif self.wait_object != 0 and reason not in ("sleep", "blocking call"):
            text = "%s 0x%x" % (reason, self.wait_object)
        else:
            text = reason
        if self.wait_deadline_ns != 0 and reason != "sleep":
            text += ", timed"
        return text

    def summary(self):
        """One line: #id "name" state (wait) created at file:line, processer N."""
        parts = ['#%d "%s" %s' % (self.id, self.name, self.state_text)]
        wait = self.wait_text()
        if wait:
            parts.append("(%s)" % wait)
        parts.append("created at %s" % self.created_at(full_path=True))
        if self.processer_index is not None:
            parts.append("processer %d" % self.processer_index)
        return " ".join(parts)
