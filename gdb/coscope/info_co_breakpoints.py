"""`info co-breakpoints`: the co-break breakpoints and the co-trace traces."""

import gdb

from .co_break_command import HookBreakpoint, StateBreakpoint
from .co_trace_command import status_lines
from .probe_breakpoints import live


class InfoCoBreakpoints(gdb.Command):
    """List the coroutine breakpoints (co-break) and say which traces (co-trace) are on.

Usage: info co-breakpoints

For each co-break breakpoint: its number (as "info breakpoints" shows it),
whether it is enabled, gdb's hit count (the stops, and the crossings that
"ignore" skipped), and what it waits for."""

    def __init__(self):
        super().__init__("info co-breakpoints", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, argument, from_tty):
        if argument.strip():
            raise gdb.GdbError("info co-breakpoints takes no argument")
        breakpoints = sorted(live(StateBreakpoint) + live(HookBreakpoint), key=lambda bp: bp.number)
        if not breakpoints:
            gdb.write("No coroutine breakpoints.\n")
        else:
            rows = [("Num", "Enb", "Hits", "What")]
            rows += [(str(bp.number), "y" if bp.enabled else "n", str(bp.hit_count), bp.describe()) for bp in breakpoints]
            widths = [max(len(row[i]) for row in rows) for i in range(3)]
            for row in rows:
                gdb.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3] + "\n")
        gdb.write("\n".join(status_lines()) + "\n")


def register():
    InfoCoBreakpoints()
