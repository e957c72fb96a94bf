"""The program's "now", which due times (timers, io_sentry deadlines) count from.

The runtime's clock, now_ns(), is CLOCK_MONOTONIC (runtime/src/park.cpp). In
a live process on this machine gdb's Python reads the same clock. A core
file records no clock at all: there the best known "now" is the latest
timer pass of any scheduler (SchedulerCore::last_timer_pass_ns), a moment
the program had certainly reached - so a due time counted from it is an
upper bound of how far off the timer was when the core was written. A
remote target's clock is not ours either: it is treated like a core file.
"""

import time

import gdb

LIVE = "live"
LAST_TIMER_PASS = "last timer pass"


class Now:
    """ns: CLOCK_MONOTONIC nanoseconds; source: LIVE or LAST_TIMER_PASS."""

    def __init__(self, ns, source, source_note=""):
        self.ns = ns
        self.source = source
        self.source_note = source_note  # why the live clock was not used

    @property
    def exact(self):
        return self.source == LIVE

    def describe(self):
        """One sentence saying where "now" comes from."""
        if self.exact:
            return "now is %s (CLOCK_MONOTONIC, read from this host)" % seconds_text(self.ns)
        return ("%s: due times count from the last timer pass at %s, which the program had reached, "
                "so each is an upper bound" % (self.source_note, seconds_text(self.ns)))


def is_live_native():
    """True for a process gdb runs or attached to on this machine (not a core, not remote)."""
    inferior = gdb.selected_inferior()
    if inferior is None or inferior.pid == 0:
        return False
    connection = getattr(inferior, "connection", None)
    return connection is not None and connection.type == "native"


def program_now(last_timer_pass_ns=None):
    """A Now, or None when nothing tells the time.

    last_timer_pass_ns: a callable giving the latest SchedulerCore
    last_timer_pass_ns (or 0), used when the live clock cannot be read."""
    if is_live_native():
        return Now(time.clock_gettime_ns(time.CLOCK_MONOTONIC), LIVE)
    latest = last_timer_pass_ns() if last_timer_pass_ns is not None else 0
    if latest <= 0:
        return None
    connection = getattr(gdb.selected_inferior(), "connection", None)
    if connection is not None and connection.type == "core":
        note = "a core file records no clock"
    else:
        note = "the target's clock cannot be read from here"
    return Now(latest, LAST_TIMER_PASS, note)


def duration_text(ns):
    """59m59s, 1h00m00s, 2d03h, 4.250s, 12ms, 800us."""
    if ns >= 86_400 * 10**9:
        days, rest = divmod(ns // 10**9, 86_400)
        return "%dd%02dh" % (days, rest // 3600)
    if ns >= 3600 * 10**9:
        seconds = ns // 10**9
        return "%dh%02dm%02ds" % (seconds // 3600, seconds // 60 % 60, seconds % 60)
    if ns >= 60 * 10**9:
        seconds = ns // 10**9
        return "%dm%02ds" % (seconds // 60, seconds % 60)
    if ns >= 10**9:
        return "%.3fs" % (ns / 1e9)
    if ns >= 10**6:
        return "%dms" % (ns // 10**6)
    return "%dus" % (ns // 1000)


def seconds_text(ns):
    """An absolute CLOCK_MONOTONIC time: 7902.778604085 s."""
    return "%d.%09d s" % divmod(ns, 10**9)


def due_text(due_ns, now):
    """"in 59m59s" (live), "in at most 59m59s" (counted from the last timer
    pass), "overdue by 3ms", or the absolute time when now is None."""
    if now is None:
        return "at %s (no clock to compare with)" % seconds_text(due_ns)
    left = due_ns - now.ns
    if left < 0:
        return "overdue by %s" % duration_text(-left) if now.exact else "due before the last timer pass"
    return ("in %s" if now.exact else "in at most %s") % duration_text(left)
