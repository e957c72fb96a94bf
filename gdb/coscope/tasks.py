"""TaskView: one co::detail::Task, read from the program in one piece.

The field names and meanings are those documented in runtime/src/task.h;
nothing here depends on Boost.Context or libstdc++ layouts. The bytes are
decoded, and the TaskView's texts made, by TaskRecord (task_record.py).
"""

import gdb

from .inferior import CoscopeError, enum_name, lookup_type, read_cstring, short_error
from .task_layout import Field, Layout, LayoutError, PROCESSER_FIELDS, TASK_FIELDS
from .task_record import TaskRecord

TASK_TYPE = "co::detail::Task"
PROCESSER_TYPE = "co::detail::Processer"


def task_type():
    return lookup_type(TASK_TYPE)


def state_text(value):
    """A TaskState as the runtime's to_string() spells it: "sleep", "io_block", ..."""
    name = enum_name(value)
    return name if name is not None else "invalid(%d)" % int(value)


def wait_reason_text(value):
    """A WaitReason as the runtime's to_string() spells it: "fd readable", "channel recv", ..."""
    name = enum_name(value)
    return name.replace("_", " ") if name is not None else "invalid(%d)" % int(value)


def _field(field):
    """The Field of a gdb.Field of a struct."""
    type_ = field.type.strip_typedefs()
    signed = type_.code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_ENUM) and type_.is_signed
    names = {f.enumval: f.name.rsplit("::", 1)[-1] for f in type_.fields()} if type_.code == gdb.TYPE_CODE_ENUM else None
    return Field(field.bitpos // 8, type_.sizeof, signed, names)


def _fields(type_, names):
    return {field.name: _field(field) for field in type_.strip_typedefs().fields() if field.name in names}


def _read_layout():
    processer = lookup_type(PROCESSER_TYPE)
    try:
        return Layout(_fields(task_type(), TASK_FIELDS), _fields(processer, PROCESSER_FIELDS), str(task_type()), str(processer))
    except LayoutError as e:
        raise CoscopeError(str(e))


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
        _layout = _read_layout()
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


def _task_name(pointer):
    try:
        return read_cstring(pointer, limit=64)
    except CoscopeError:
        return None


def _read_processer(address):
    return _read(address, layout().processer_size, "Processer")


class TaskView(TaskRecord):
    """A snapshot of one Task. Raises CoscopeError if its memory is unreadable."""

    def __init__(self, value):
        """value: a Task, a pointer to one, or its address (an int)."""
        try:
            if isinstance(value, int):
                address = value
            elif value.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:
                address = int(value)
            elif value.address is not None:
                address = int(value.address)
            else:
                raise CoscopeError("cannot read Task: it is not in memory")
        except gdb.error as e:
            raise CoscopeError("cannot read Task: %s" % short_error(e))
        raw = _read(address, layout().task_size, "Task")
        super().__init__(layout(), address, raw, _read_processer, _file_name, _task_name)

    @property
    def value(self):
        """The Task as a gdb.Value."""
        return gdb.Value(self.address).cast(task_type().pointer()).dereference()
