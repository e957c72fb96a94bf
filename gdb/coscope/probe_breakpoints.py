"""gdb.Breakpoint on a runtime probe, whose verdict never lets an error out.

co-break and co-trace both build on ProbeBreakpoint: a subclass says what
the probe hit means (on_hit) and whether the program stops there; verdict()
asks it. A trace (ProbeTrace) gives its verdict from a stop() method; a
co-break breakpoint from its gdb condition (co_break_condition.py), so that
the user can add a condition of their own. Either only reads memory and
registers; "go on" lets the program go on exactly as it would have without
the breakpoint (gdb steps over the probe's nop). A failure to read becomes
one `<coscope: ...>` line.

The toolkit's breakpoints are kept here so that `info co-breakpoints` and
`co-trace ... off` find them; ones the user deleted (`delete N`) drop out.
"""

import gdb

from . import probe_points
from .inferior import CoscopeError, short_error

_live = []


class ProbeBreakpoint(gdb.Breakpoint):
    """A breakpoint on every site of one probe.

    Subclasses define on_hit(), which returns True to stop, and describe(),
    one line for `info co-breakpoints`."""

    # When reading the probe fails: stop (a breakpoint the user asked for)
    # or go on (a trace).
    stop_on_error = True

    def __init__(self, probe_name, internal=False):
        super().__init__(probe_points.location(probe_name), internal=internal)
        self.probe_name = probe_name
        _live.append(self)

    def verdict(self):
        """True to stop: on_hit(), with any error told in one line."""
        try:
            return bool(self.on_hit())
        except (CoscopeError, gdb.error, gdb.MemoryError) as e:
            gdb.write("<coscope: %s: %s>\n" % (self.probe_name, short_error(e)))
            return self.stop_on_error
        except Exception as e:  # a bug of ours must not reach the user as a traceback
            gdb.write("<coscope: %s: internal error: %s: %s>\n" % (self.probe_name, type(e).__name__, short_error(e)))
            return self.stop_on_error

    def on_hit(self):
        raise NotImplementedError

    def describe(self):
        raise NotImplementedError


class ProbeTrace(ProbeBreakpoint):
    """A probe breakpoint whose verdict is its stop() method (gdb then refuses a
    user's `condition` on it: the co-trace breakpoints are internal anyway)."""

    def stop(self):
        return self.verdict()


def live(kind=None):
    """The toolkit's breakpoints that still exist (of one class, if given)."""
    _live[:] = [bp for bp in _live if bp.is_valid()]
    return [bp for bp in _live if kind is None or isinstance(bp, kind)]
