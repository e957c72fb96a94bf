"""The facts a step's batch transcript must show, and how they are checked.

A step lists them in FACTS, each made with the @fact decorator:

    @fact("'Hello' comes after 'i = 3'")
    def hello_after_input(t):
        run = t.scene("cin")
        expect(run.index(r"Hello") > run.index(r"i = 3"), "Hello came first")

The function gets the Transcript; it returns quietly when the fact holds,
raises FactFailed (expect() and the lookups do) when it does not, and
NotShown when this machine cannot show it (the reason is printed; the run
then ends with exit status 77, which ctest counts as skipped, never as
passed).
"""

import re


class FactFailed(Exception):
    pass


class NotShown(Exception):
    pass


class Fact:
    def __init__(self, description, check):
        self.description = description
        self.check = check


def fact(description):
    def wrap(function):
        return Fact(description, function)

    return wrap


def expect(condition, message):
    if not condition:
        raise FactFailed(message)


def expect_timeline(t, scene, *wakers):
    """A Timeline scene (scenes.py): its trace parsed, its picture was drawn,
    and each of `wakers` (timer, reactor, task, close) woke a task."""
    line = t.scene(scene).line(r"^\[walk: the trace parses: ")
    expect(line.endswith("picture drawn]"), "no picture: %s" % line)
    for waker in wakers:
        expect(re.search(r"\b%s [1-9]" % re.escape(waker), line), "no wake by the %s: %s" % (waker, line))


STAMP = re.compile(r"\[\s*(\d+) ms\]")


def stamp_ms(line):
    """The milliseconds of a "[ 1000 ms] ..." line."""
    match = STAMP.search(line)
    if match is None:
        raise FactFailed("no [N ms] stamp in %r" % line)
    return int(match.group(1))


class SceneView:
    def __init__(self, record):
        self.record = record
        self.name = record.name
        self.lines = [line.strip() for line in record.lines]
        self.outcome = record.outcome
        self.data = record.data

    @property
    def text(self):
        return "\n".join(self.lines)

    def index(self, pattern, start=0):
        """Index of the first line from `start` on that matches pattern."""
        for i in range(start, len(self.lines)):
            if re.search(pattern, self.lines[i]):
                return i
        raise FactFailed("scene %s: no line matches /%s/" % (self.name, pattern))

    def line(self, pattern, start=0):
        return self.lines[self.index(pattern, start)]

    def has(self, pattern):
        return any(re.search(pattern, line) for line in self.lines)

    def after_command(self, command, occurrence=1, regex=False):
        """A gdb scene: the lines printed by `(gdb) command` (its n-th run);
        with regex=True, command is a pattern for the whole command line."""
        seen = 0
        for i, line in enumerate(self.lines):
            if (re.fullmatch(command, line[6:]) if regex else line[6:] == command) and line.startswith("(gdb) "):
                seen += 1
                if seen == occurrence:
                    end = i + 1
                    while end < len(self.lines) and not self.lines[end].startswith("(gdb) "):
                        end += 1
                    return SceneSlice(self, self.lines[i + 1:end], command)
        raise FactFailed("scene %s: `%s` was not run %d time(s)" % (self.name, command, occurrence))


class SceneSlice(SceneView):
    def __init__(self, scene, lines, command):
        self.record = scene.record
        self.name = "%s, `%s`" % (scene.name, command)
        self.lines = lines
        self.outcome = scene.outcome
        self.data = scene.data


class Transcript:
    def __init__(self, console):
        self.records = console.scenes

    def scene(self, name):
        if name not in self.records:
            raise FactFailed("scene %s did not run" % name)
        return SceneView(self.records[name])


def check_all(facts, console, compact=False):
    """Checks every fact; returns (failed, not_shown) counts. Prints one line
    per fact, as a list for a test log (`Facts this transcript must show:`,
    `ok` / `FAILED` / `NOT SHOWN`), or, compact, as the step's summary for a
    reader: what it showed, each fact a bullet, what failed said first."""
    transcript = Transcript(console)
    results = [(item, outcome(item, transcript)) for item in facts]
    failed = sum(1 for _, (kind, _) in results if kind == "FAILED")
    not_shown = sum(1 for _, (kind, _) in results if kind == "NOT SHOWN")
    if compact:
        print_summary(results, console)
    else:
        console.write("")
        console.write("Facts this transcript must show:")
        for item, (kind, why) in results:
            if kind == "ok":
                console.write("  ok         %s" % item.description)
            else:
                console.write("  %-10s %s\n             (%s)" % (kind, item.description, why))
    return failed, not_shown


def outcome(item, transcript):
    """("ok", None), ("FAILED", why) or ("NOT SHOWN", why)."""
    try:
        item.check(transcript)
    except FactFailed as error:
        return "FAILED", str(error)
    except NotShown as error:
        return "NOT SHOWN", str(error)
    except Exception as error:  # a check that breaks is a failure too
        return "FAILED", "the check broke: %r" % error
    return "ok", None


def print_summary(results, console):
    console.write("")
    console.write("What this run showed, each point checked against the transcript above:")
    for item, (kind, why) in sorted(results, key=lambda result: result[1][0] == "ok"):
        if kind == "ok":
            console.indented(item.description, "    ", first="  * ")
        else:
            console.indented("%s: %s" % (kind, item.description), "    ", first="  ")
            console.indented("(%s)" % why, "      ")
