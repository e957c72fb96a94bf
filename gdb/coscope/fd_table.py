"""The FdCtx table (`coscope_fd_table`, runtime/src/io/fd_ctx.h) and each
context's waiters.

A chunk of contexts is read in one piece and only the slots in use (fd >= 0)
become gdb values. Each context's waiters are the IoWaiters linked from
`waiters_head`: one per fd of a waiting io_sentry, each naming the task.
Memory is only read, so this works on a core file as on a live process.
"""

import struct

import gdb

from .clock import duration_text
from .inferior import CoscopeError, address_of, field_offset, global_value, lookup_type, pointee, read_words, short_error
from .tasks import TaskView

TABLE_SYMBOL = "coscope_fd_table"
KNOWN_LAYOUT_VERSION = 1
FD_CTX_TYPE = "co::detail::FdCtx"
IO_WAITER_TYPE = "co::detail::IoWaiter"
SIGNAL_WAKE_FD_SYMBOL = "co::detail::(anonymous namespace)::g_wake_fd"
# A waiter list longer than this is taken as corrupted (looping).
MAX_WAITERS_PER_FD = 100_000

# <poll.h> on Linux, in the order poll(2) lists them.
POLL_EVENTS = (
    (0x001, "POLLIN"), (0x002, "POLLPRI"), (0x004, "POLLOUT"), (0x008, "POLLERR"), (0x010, "POLLHUP"),
    (0x020, "POLLNVAL"), (0x040, "POLLRDNORM"), (0x080, "POLLRDBAND"), (0x100, "POLLWRNORM"),
    (0x200, "POLLWRBAND"), (0x400, "POLLMSG"), (0x1000, "POLLREMOVE"), (0x2000, "POLLRDHUP"),
)


def poll_events_text(bits):
    """POLLIN|POLLOUT, 0 for none; unknown bits in hex."""
    bits &= 0xFFFF
    if bits == 0:
        return "0"
    names = [name for bit, name in POLL_EVENTS if bits & bit]
    rest = bits & ~sum(bit for bit, _ in POLL_EVENTS)
    if rest:
        names.append("0x%x" % rest)
    return "|".join(names)


def signal_wake_fd():
    """The runtime's signal-wake eventfd (io/signal_interrupt.cpp), or -1.

    Every hooked wait links one extra IoWaiter on it, so that a caught signal
    wakes the wait. Read from a private variable: if it is not found, the fd
    is simply listed as "other"."""
    symbol = gdb.lookup_static_symbol(SIGNAL_WAKE_FD_SYMBOL)
    if symbol is None:
        return -1
    try:
        value = symbol.value()
        return int.from_bytes(bytes(gdb.selected_inferior().read_memory(value.address, 4)), "little", signed=True)
    except (gdb.error, gdb.MemoryError):
        return -1


def table():
    value = global_value(TABLE_SYMBOL)
    version = int(value["version"])
    if version != KNOWN_LAYOUT_VERSION:
        raise CoscopeError("fd table layout version %d, this toolkit reads version %d" % (version, KNOWN_LAYOUT_VERSION))
    return value


def contexts_in_use(problems=None):
    """Yields a gdb.Value FdCtx for each slot in use, by fd.

    A chunk that cannot be read adds a one-line note to `problems` (a list)
    instead of raising, when a list is given."""
    value = table()
    chunk_size = int(value["chunk_size"])
    chunk_count = int(value["chunk_count"])
    ctx_type = lookup_type(FD_CTX_TYPE)
    fd_offset = field_offset(ctx_type, "fd")
    chunks = read_words(int(value["chunks"].address), chunk_count)
    inferior = gdb.selected_inferior()
    for index, chunk in enumerate(chunks):
        if chunk == 0:
            continue
        try:
            raw = bytes(inferior.read_memory(chunk, chunk_size * ctx_type.sizeof))
        except (gdb.error, gdb.MemoryError) as e:
            note = "fd table chunk %d at 0x%x: %s" % (index, chunk, short_error(e))
            if problems is None:
                raise CoscopeError(note)
            problems.append(note)
            continue
        for slot in range(chunk_size):
            (fd,) = struct.unpack_from("<i", raw, slot * ctx_type.sizeof + fd_offset)
            if fd >= 0:
                address = chunk + slot * ctx_type.sizeof
                yield gdb.Value(address).cast(ctx_type.pointer()).dereference()


def find(fd):
    """The FdCtx value in use for `fd`, or None."""
    value = table()
    chunk_size = int(value["chunk_size"])
    if fd < 0 or fd >= chunk_size * int(value["chunk_count"]):
        return None
    (chunk,) = read_words(int(value["chunks"].address) + 8 * (fd // chunk_size), 1)
    if chunk == 0:
        return None
    ctx = gdb.Value(chunk).cast(lookup_type(FD_CTX_TYPE).pointer())[fd % chunk_size]
    return ctx if int(ctx["fd"]) == fd else None


class IoWaiterView:
    """One IoWaiter: an fd of an io_sentry, with the task that waits."""

    def __init__(self, value):
        """value: an IoWaiter, or a pointer to one. Raises CoscopeError if unreadable."""
        try:
            value = pointee(value)
            self.address = address_of(value)
            self.fd = int(value["fd"])
            self.events = int(value["events"])
            self.revents = int(value["revents"])
            self.linked = bool(value["linked"])
            self.sentry_address = int(value["sentry"])
            self.task_address = 0
            if self.sentry_address:
                self.task_address = int(value["sentry"].dereference()["ticket"]["task"])
        except (gdb.error, gdb.MemoryError) as e:
            raise CoscopeError("cannot read IoWaiter at 0x%x: %s" % (address_of(value), short_error(e)))
        self.next = value["next"]

    def task_label(self):
        """`#5 "reader-1"`, or why there is none."""
        if self.task_address == 0:
            return "no task" if self.sentry_address else "no io_sentry"
        try:
            task = TaskView(gdb.Value(self.task_address).cast(lookup_type("co::detail::Task").pointer()))
        except CoscopeError as e:
            return "<coscope: %s>" % e
        return '#%d "%s"' % (task.id, task.name)

    def fd_text(self):
        """fd 7 events POLLIN revents 0, linked"""
        linked = "linked" if self.linked else "not linked"
        return "fd %d events %s revents %s, %s" % (self.fd, poll_events_text(self.events), poll_events_text(self.revents),
                                                   linked)

    def summary(self):
        return "%s, io_sentry 0x%x of %s" % (self.fd_text(), self.sentry_address, self.task_label())


def waiters(ctx):
    """The IoWaiterViews linked into an FdCtx value, oldest first (raises CoscopeError)."""
    result = []
    seen = set()
    pointer = ctx["waiters_head"]
    while int(pointer) != 0:
        address = int(pointer)
        if address in seen or len(seen) >= MAX_WAITERS_PER_FD:
            raise CoscopeError("loop in the waiter list of fd %d at 0x%x" % (int(ctx["fd"]), address))
        seen.add(address)
        waiter = IoWaiterView(pointer)
        result.append(waiter)
        pointer = waiter.next
    return result


class FdCtxView:
    """One FdCtx, its fields read once."""

    def __init__(self, value):
        """value: an FdCtx, or a pointer to one. Raises CoscopeError if unreadable."""
        try:
            value = pointee(value)
            self.value = value
            self.address = address_of(value)
            self.fd = int(value["fd"])
            self.is_socket = bool(value["is_socket"])
            self.managed = bool(value["managed"])
            self.stream = bool(value["stream"])
            self.user_nonblocking = bool(value["user_nonblocking"])
            self.sys_nonblocking = bool(value["sys_nonblocking"])
            self.registered = bool(value["registered"])
            self.file_shared = bool(value["file_shared"])
            self.recv_timeout_ns = int(value["recv_timeout_ns"])
            self.send_timeout_ns = int(value["send_timeout_ns"])
            self.waiter_count = int(value["waiter_count"])
        except (gdb.error, gdb.MemoryError) as e:
            raise CoscopeError("cannot read FdCtx at 0x%x: %s" % (address_of(value), short_error(e)))

    def kind(self):
        """socket (stream), socket (datagram), pipe, signal eventfd (the runtime's own), or
        other (an fd the hooks did not create, first seen in a wait)."""
        if self.fd >= 0 and self.fd == signal_wake_fd():
            return "signal eventfd"
        if self.is_socket:
            return "socket (stream)" if self.stream else "socket (datagram)"
        if self.managed and self.stream:
            return "pipe"
        return "other"

    def nonblocking_text(self):
        """Who set O_NONBLOCK: user, runtime, user+runtime, or no."""
        who = [name for name, on in (("user", self.user_nonblocking), ("runtime", self.sys_nonblocking)) if on]
        return "+".join(who) if who else "no"

    def timeouts_text(self):
        """SO_RCVTIMEO / SO_SNDTIMEO: "recv 1.500s, send -", or "-" for none."""
        if not self.recv_timeout_ns and not self.send_timeout_ns:
            return "-"
        return "recv %s, send %s" % tuple(duration_text(ns) if ns else "-" for ns in (self.recv_timeout_ns, self.send_timeout_ns))

    def summary(self):
        """fd 7: pipe, non-blocking runtime, in reactor, timeouts -, 1 waiter"""
        if self.fd < 0:
            return "unused FdCtx slot"
        text = "fd %d: %s, non-blocking %s, %s, timeouts %s" % (
            self.fd, self.kind(), self.nonblocking_text(), "in reactor" if self.registered else "not in reactor",
            self.timeouts_text())
        if self.file_shared:
            text += ", shares its file with a dup"
        return text + ", %d waiter%s" % (self.waiter_count, "" if self.waiter_count == 1 else "s")
