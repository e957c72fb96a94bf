"""TaskView: one co::detail::Task, its fields read once into Python values.

The field names and meanings are those documented in runtime/src/task.h;
nothing here depends on Boost.Context or libstdc++ layouts.
"""

import os

import gdb

from .inferior import CoscopeError, enum_name, field_offset, lookup_type, read_char_array, read_cstring, read_words, short_error

TASK_TYPE = "co::detail::Task"
SAVED_REGISTER_NAMES = ("pc", "sp", "fp", "rbx", "r12", "r13", "r14", "r15")  # SavedRegisters order


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


class TaskView:
    """A snapshot of one Task. Raises CoscopeError if its memory is unreadable."""

    def __init__(self, value):
        """value: a Task, or a pointer to one."""
        try:
            if value.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:
                value = value.dereference()
            else:
                value = value.cast(task_type())
            self.address = int(value.address)
            self.value = value
            self.id = int(value["id"])
            self.name = read_char_array(value["name"])
            self.created_file = read_cstring(value["created_file"])
            self.created_line = int(value["created_line"])
            self.state = state_text(value["state"])
            self.wait_reason = wait_reason_text(value["wait_reason"])
            self.wait_object = int(value["wait_object"])
            self.wait_arg = int(value["wait_arg"])
            self.wait_deadline_ns = int(value["wait_deadline_ns"])
            self.has_context = int(value["context"]) != 0
            self.processer_address = int(value["processer"])
            self.processer_index = None
            self.thread_id = None
            self.running = False
            if self.processer_address != 0:
                processer = value["processer"].dereference()
                self.processer_index = int(processer["index"])
                current = int(processer["current"])
                self.running = current == self.address and self.state == "runnable"
                if self.running:
                    self.thread_id = int(processer["thread_id"])
        except gdb.MemoryError as e:
            raise CoscopeError("cannot read Task at 0x%x: %s" % (int(value.address or 0), short_error(e)))
        except gdb.error as e:
            raise CoscopeError("cannot read Task: %s" % short_error(e))
        self.saved = self._read_saved()

    def _read_saved(self):
        address = self.address + field_offset(task_type(), "saved")
        return dict(zip(SAVED_REGISTER_NAMES, read_words(address, len(SAVED_REGISTER_NAMES))))

    @property
    def suspended(self):
        """True when its registers were saved at a switch-out: its stack can be unwound."""
        return not self.running and self.saved["pc"] != 0 and self.state != "done"

    @property
    def saved_address(self):
        return self.address + field_offset(task_type(), "saved")

    def display_name(self):
        return self.name if self.name else "-"

    def created_at(self, full_path=False):
        if self.created_file is None:
            return "?"
        path = self.created_file if full_path else os.path.basename(self.created_file)
        return "%s:%d" % (path, self.created_line)

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
        parts = ['#%d "%s" %s' % (self.id, self.name, "running" if self.running else self.state)]
        wait = self.wait_text()
        if wait:
            parts.append("(%s)" % wait)
        parts.append("created at %s" % self.created_at(full_path=True))
        if self.processer_index is not None:
            parts.append("processer %d" % self.processer_index)
        return " ".join(parts)
