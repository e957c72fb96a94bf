"""The system call a thread is in, from its registers (live or core file).

On x86-64 Linux the kernel keeps the number of the system call a thread is
in (or was interrupted in, when gdb stopped it) in orig_rax, -1 outside any
system call; the first arguments are still in rdi, rsi, rdx. gdb reads the
same registers from a live thread and from a core file's notes, so this
works on both. The names and the formatting follow the runtime's stall
report (runtime/src/thread_syscall.cpp): `read(fd 0)`,
`futex(0x7ffd..., FUTEX_WAIT_PRIVATE)`, `running (no system call)`.
"""

import gdb

from .inferior import short_error

# x86-64 system call numbers (<asm/unistd_64.h>) for the calls that block.
NAMES = {
    0: "read", 1: "write", 7: "poll", 17: "pread64", 18: "pwrite64", 19: "readv", 20: "writev",
    23: "select", 34: "pause", 35: "nanosleep", 40: "sendfile", 42: "connect", 43: "accept",
    44: "sendto", 45: "recvfrom", 46: "sendmsg", 47: "recvmsg", 61: "wait4", 64: "semop",
    70: "msgrcv", 72: "fcntl", 73: "flock", 74: "fsync", 75: "fdatasync", 16: "ioctl",
    128: "rt_sigtimedwait", 130: "rt_sigsuspend", 202: "futex", 208: "io_getevents",
    220: "semtimedop", 230: "clock_nanosleep", 232: "epoll_wait", 247: "waitid", 257: "openat",
    270: "pselect6", 271: "ppoll", 275: "splice", 281: "epoll_pwait", 288: "accept4",
    295: "preadv", 296: "pwritev", 299: "recvmmsg", 307: "sendmmsg", 426: "io_uring_enter",
    441: "epoll_pwait2",
}
FD_CALLS = {"read", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg", "sendmsg",
            "recvmmsg", "sendmmsg", "connect", "accept", "accept4"}
EPOLL_CALLS = {"epoll_wait", "epoll_pwait", "epoll_pwait2"}
FUTEX_OPS = {0: "FUTEX_WAIT", 9: "FUTEX_WAIT_BITSET", 6: "FUTEX_LOCK_PI", 11: "FUTEX_WAIT_REQUEUE_PI"}
FUTEX_PRIVATE_FLAG = 128
FUTEX_CMD_MASK = ~(128 | 256)


def signed(value):
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def describe(number, args):
    """The call as the stall report writes it; number -1: running."""
    if number < 0:
        return "running (no system call)"
    name = NAMES.get(number)
    if name is None:
        return "system call %d(0x%x, 0x%x, 0x%x)" % (number, args[0], args[1], args[2])
    if name in FD_CALLS:
        return "%s(fd %d)" % (name, signed(args[0]))
    if name == "poll":
        timeout = signed(args[2]) & 0xffffffff
        timeout = timeout - (1 << 32) if timeout >= 1 << 31 else timeout
        return "poll(nfds %d, %s)" % (args[1], "no timeout" if timeout < 0 else "%d ms" % timeout)
    if name == "ppoll":
        return "ppoll(nfds %d)" % args[1]
    if name in ("select", "pselect6"):
        return "%s(nfds %d)" % (name, signed(args[0]))
    if name in EPOLL_CALLS:
        return "%s(epfd %d)" % (name, signed(args[0]))
    if name == "futex":
        op = FUTEX_OPS.get(args[1] & FUTEX_CMD_MASK)
        if op is not None:
            return "futex(0x%x, %s%s)" % (args[0], op, "_PRIVATE" if args[1] & FUTEX_PRIVATE_FLAG else "")
    return "%s(0x%x, 0x%x, 0x%x)" % (name, args[0], args[1], args[2])


def register_value(name):
    return int(gdb.parse_and_eval("$" + name)) & ((1 << 64) - 1)


def thread_syscall(thread):
    """describe() for gdb's InferiorThread `thread`, or "?" when its registers
    cannot be read (another architecture, an exited thread). Selects the
    thread for the read and selects the previous thread and frame again."""
    if thread is None or not thread.is_valid():
        return "?"
    previous = gdb.selected_thread()
    try:
        frame = gdb.selected_frame()
    except gdb.error:
        frame = None
    try:
        thread.switch()
        number = signed(register_value("orig_rax"))
        args = [register_value(r) for r in ("rdi", "rsi", "rdx")]
        return describe(number, args)
    except (gdb.error, gdb.MemoryError) as e:
        return "? (%s)" % short_error(e)
    finally:
        if previous is not None and previous.is_valid():
            previous.switch()
            if frame is not None and frame.is_valid():
                frame.select()
