"""TaskRecord: one Task's fields as plain Python values, and what the
toolkit says of them (its State column, what it waits for, one summary line).

Built from the raw bytes of a Task and of its Processer (task_layout.py);
tasks.TaskView reads those bytes from the program. Nothing here imports gdb.
"""

import os


class TaskRecord:
    """A snapshot of one Task.

    A task is "running" while it is its processer's current task with no
    registers saved. Registers are saved just before a switch-out, so a task
    at a park probe (its new state already set) still runs, and one caught
    between the save and the jump is suspended; the processer's current task
    with registers still saved is being switched in (being_resumed)."""

    def __init__(self, layout, address, raw, read_processer, read_file_name, read_name):
        """raw: the Task's first layout.task_size bytes; read_processer(address):
        a Processer's first layout.processer_size bytes; read_file_name(pointer):
        the C string at `pointer`, a string literal (may be cached);
        read_name(pointer): the C string at `pointer`, on the heap (read each
        time: the address may hold another task's name later), None if
        unreadable."""
        fields = layout.task
        self.address = address
        self.id = fields["id"].read(raw)
        name = fields["name"].read(raw)  # a pointer; 0 for an unnamed task
        if name == 0:
            self.name = ""
        else:
            text = read_name(name)
            self.name = text if text is not None else "<name unreadable at 0x%x>" % name
        created_file = fields["created_file"].read(raw)
        self.created_file = read_file_name(created_file) if created_file != 0 else None
        self.created_line = fields["created_line"].read(raw)
        self.state = fields["state"].text(raw)
        self.wait_reason = fields["wait_reason"].text(raw).replace("_", " ")
        self.wait_object = fields["wait_object"].read(raw)
        self.wait_arg = fields["wait_arg"].read(raw)
        self.wait_deadline_ns = fields["wait_deadline_ns"].read(raw)
        self.has_context = fields["context"].read(raw) != 0
        self.processer_address = fields["processer"].read(raw)
        self.stack_base, self.stack_size = layout.stack_bounds(raw)
        self.saved_address = address + fields["saved"].offset
        self.saved = layout.saved_registers(raw)
        self.processer_index = None
        self.thread_id = None
        self.running = False
        self.being_resumed = False
        if self.processer_address != 0:
            processer = layout.processer
            raw_processer = read_processer(self.processer_address)
            self.processer_index = processer["index"].read(raw_processer)
            current = processer["current"].read(raw_processer) == address
            self.running = current and self.saved["pc"] == 0
            self.being_resumed = current and self.saved["pc"] != 0
            if current:
                self.thread_id = processer["thread_id"].read(raw_processer)

    @property
    def state_text(self):
        """The State column: "running" for a runnable task on a CPU, else its
        TaskState (a task at its park probe runs, but is already "sleep")."""
        return "running" if self.running and self.state == "runnable" else self.state

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
