"""Whose command a gdb command line runs: coscope's toolkit, walk's driver,
or gdb's own.

The walkthroughs mark the first two where they show a command (`# coscope`,
`# walk`), so that a learner knows which commands any gdb has. Imported by
console.py and, inside gdb, by gdb_driver.py (no gdb module here).

COSCOPE lists the commands the toolkit defines (gdb/coscope/*.py, every
gdb.Command and the `set/show coscope` settings); docs/gdb.md documents them.
"""

COSCOPE = (
    "info coroutines", "info co-timers", "info processers", "info fdctx", "info io-sentries",
    "info co-breakpoints", "coroutine", "co-break", "co-trace", "set coscope", "show coscope",
)
WALK = ("walk-interrupt-after", "walk-input-after", "walk-stepi-to")


def owner(command):
    """"coscope", "walk", or None (gdb's own) for a command line as typed."""
    words = command.split()
    for names, who in ((COSCOPE, "coscope"), (WALK, "walk")):
        for name in names:
            parts = name.split()
            if words[:len(parts)] == parts:
                return who
    return None
