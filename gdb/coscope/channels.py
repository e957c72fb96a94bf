"""co::Channel<T> (runtime/include/coscope/channel.h), for any T.

The channel's plain fields: capacity_, size_, head_, buffer_ (a ring of
capacity_ slots, the oldest value at head_), closed_, and the senders_ /
receivers_ waiter lists (detail/wait_list.h), whose Waiters name a parked
task (ticket.task) or, with no task, a blocked plain thread.
"""

import gdb

from .inferior import CoscopeError, address_of, short_error
from .tasks import TaskView

# A waiter list longer than this is taken as corrupted (looping).
MAX_WAITERS = 1_000_000
# More buffered values than this is taken as a corrupted channel.
MAX_CAPACITY = 1 << 40


def waiter_labels(wait_list):
    """`#7 "channel-waiter"` or `a thread` for each Waiter of a WaitList value, oldest first."""
    labels = []
    seen = set()
    waiter = wait_list["head"]
    while int(waiter) != 0:
        if int(waiter) in seen or len(seen) >= MAX_WAITERS:
            raise CoscopeError("loop in a channel's waiter list at 0x%x" % int(waiter))
        seen.add(int(waiter))
        try:
            task = waiter.dereference()["ticket"]["task"]
            if int(task) == 0:
                labels.append("a thread (not a task)")
            else:
                view = TaskView(task)
                labels.append('#%d "%s"' % (view.id, view.name))
            waiter = waiter.dereference()["next"]
        except (gdb.error, gdb.MemoryError) as e:
            raise CoscopeError("cannot read a channel waiter at 0x%x: %s" % (int(waiter), short_error(e)))
    return labels


class ChannelView:
    """One Channel<T>, read once; `values()` reads the buffered values."""

    def __init__(self, value):
        try:
            self.value = value
            self.element_type = value.type.strip_typedefs().template_argument(0)
            self.capacity = int(value["capacity_"])
            self.size = int(value["size_"])
            self.head = int(value["head_"])
            self.closed = bool(value["closed_"])
            self.sender_count = int(value["senders_"]["count"])
            self.receiver_count = int(value["receivers_"]["count"])
        except (gdb.error, gdb.MemoryError, RuntimeError) as e:
            where = " at 0x%x" % address_of(value) if address_of(value) else ""
            raise CoscopeError("cannot read Channel%s: %s" % (where, short_error(e)))
        if self.capacity > MAX_CAPACITY or self.size > self.capacity or (self.capacity and self.head >= self.capacity):
            raise CoscopeError("Channel with capacity %d, size %d, head %d: not a live channel" % (self.capacity, self.size, self.head))

    def summary(self):
        """capacity 0 (unbuffered), size 0, open, 0 senders, 1 receiver waiting"""
        return "capacity %d%s, size %d, %s, %d sender%s, %d receiver%s waiting" % (
            self.capacity, " (unbuffered)" if self.capacity == 0 else "", self.size,
            "closed" if self.closed else "open", self.sender_count, "" if self.sender_count == 1 else "s",
            self.receiver_count, "" if self.receiver_count == 1 else "s")

    def values(self):
        """The buffered values, oldest first, as gdb values of T."""
        buffer = self.value["buffer_"]
        for i in range(self.size):
            yield buffer[(self.head + i) % self.capacity]

    def senders(self):
        return waiter_labels(self.value["senders_"])

    def receivers(self):
        return waiter_labels(self.value["receivers_"])
