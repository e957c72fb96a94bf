"""Runs a walkthrough's gdb script inside gdb, one stop at a time.

gdb loads this file with `-x`; the runner passes its settings in a JSON file
named by the environment variable WALK_GDB_CONFIG (removed from the program's
environment at once):

  script       the step's .gdb file
  batch        true: no pauses, gdb exits at the end (the runner uses -batch)
  marker       prefix for explanation lines in batch mode, so the runner can
               tell them from gdb's own output
  placeholders {"@bin@": "...", ...}: replaced in every command; and
               @line{FILE|TEXT}@ is the number of the first line of FILE
               (from the repository's top) that contains TEXT, so that a
               script breaks on a line by what it says, not by a number
               that drifts when the file changes
  stdin_fifo   (batch) a FIFO that `@stdin@` redirects the program's input
               from; `walk-input-after` writes to it

The script is plain gdb commands plus three kinds of comment lines:

  #== TITLE    starts a stop; interactively, the learner presses Enter first
  #> TEXT      explanation, printed where it stands (`#>` alone: a blank line)
  # ...        an ordinary comment, not shown

and three commands defined here (a script that uses them needs this driver):

  walk-interrupt-after SECONDS   SIGINT to the program SECONDS from now, so
                                 the next `continue` stops wherever it waits
  walk-input-after SECONDS TEXT  TEXT and a newline arrive on the program's
                                 stdin SECONDS from now, then end of input
                                 (interactively: the learner types it)
  walk-stepi-to REGEX            stepi until the next instruction to run, in
                                 the current function, matches REGEX

At every pause the learner may type gdb commands; an empty line goes on. When
the stops are over, gdb's own prompt is the learner's. Errors of a command are
printed as gdb prints them; no Python traceback reaches the learner.
"""

import json
import os
import re
import signal
import sys
import threading
import time

import gdb

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from walklib import commands  # noqa: E402


class Stop:
    """One stop of the script: a title and its items, in order."""

    def __init__(self, title):
        self.title = title
        self.items = []  # ("say", text) or ("command", text)


def parse_script(text):
    stops = [Stop("")]
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("#=="):
            stops.append(Stop(line[3:].strip()))
        elif line.startswith("#>"):
            stops[-1].items.append(("say", line[3:] if line.startswith("#> ") else line[2:]))
        elif line.strip() == "" or line.lstrip().startswith("#"):
            continue
        else:
            stops[-1].items.append(("command", line.strip()))
    return [stop for stop in stops if stop.items or stop.title]


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def source_line(path, text):
    """The number of the first line of the repository's file `path` that
    contains `text` (a gdb error if none does)."""
    with open(os.path.join(REPO, path)) as source:
        for number, line in enumerate(source, 1):
            if text in line:
                return number
    raise gdb.GdbError("%s has no line containing %r" % (path, text))


class Driver:
    def __init__(self, config):
        self.batch = bool(config.get("batch"))
        self.marker = config.get("marker", "")
        self.placeholders = dict(config.get("placeholders", {}))
        self.stdin_fifo = config.get("stdin_fifo")
        self.stdin_writer = None
        if self.stdin_fifo:
            self.placeholders["@stdin@"] = "< " + self.stdin_fifo
        else:
            self.placeholders["@stdin@"] = ""

    # ---- output -------------------------------------------------------------

    def say(self, text):
        gdb.write((self.marker if self.batch else "") + text + "\n")
        gdb.flush()

    def substitute(self, command):
        for name, value in self.placeholders.items():
            command = command.replace(name, value)
        command = re.sub(r"@line\{([^|}]+)\|([^}]+)\}@", lambda m: str(source_line(m.group(1), m.group(2))), command)
        return re.sub(r"\s+$", "", command)

    # ---- running ------------------------------------------------------------

    def execute(self, command):
        command = self.substitute(command)
        if self.stdin_fifo and "< " + self.stdin_fifo in command:
            self.open_stdin_writer()
        gdb.write(self.shown_command(command) + "\n")
        gdb.flush()
        try:
            gdb.execute(command, from_tty=False)
        except gdb.error as error:
            gdb.write(str(error) + "\n")
        except KeyboardInterrupt:
            gdb.write("Quit\n")
        gdb.flush()

    def shown_command(self, command):
        """`(gdb) COMMAND`; interactively marked `# coscope` or `# walk` when
        it is not gdb's own (in batch, walk's console marks what it prints)."""
        owner = None if self.batch else commands.owner(command)
        return "(gdb) " + command + ("    # " + owner if owner else "")

    def open_stdin_writer(self):
        """The program's stdin is a FIFO: its open blocks until a writer opens
        it too, so a writer thread opens it now and waits for its text."""
        if self.stdin_writer is None:
            self.stdin_writer = FifoWriter(self.stdin_fifo)
            self.stdin_writer.start()

    def pause(self, index, count, next_title):
        """Interactive only: Enter goes on; anything else runs as a command."""
        if self.batch:
            return True
        what = "next stop (%d of %d): %s" % (index, count, next_title) if next_title else "next stop"
        while True:
            try:
                line = input("-- Enter: %s; or type a gdb command -- " % what)
            except (EOFError, KeyboardInterrupt):
                gdb.write("\n")
                return False
            if line.strip() == "":
                return True
            try:
                gdb.execute(line, from_tty=True)
            except gdb.error as error:
                gdb.write(str(error) + "\n")
            except KeyboardInterrupt:
                gdb.write("Quit\n")

    def run(self, script_text):
        stops = parse_script(script_text)
        for index, stop in enumerate(stops):
            if index > 0 and not self.pause(index + 1, len(stops), stop.title):
                self.say("(The remaining stops were skipped.)")
                break
            if stop.title:
                self.say("")
                self.say("-- stop %d of %d: %s" % (index + 1, len(stops), stop.title))
            for kind, text in stop.items:
                if kind == "say":
                    self.say(text)
                else:
                    self.execute(text)
        if not self.batch:
            self.say("")
            self.say("The scripted stops are over: the gdb prompt is yours (`help coroutine`, `info coroutines`,")
            self.say("`bt`, ...). `quit` leaves gdb and goes on with the walkthrough.")


class FifoWriter(threading.Thread):
    """Opens the program's stdin FIFO for writing (which waits for the
    program's side to open it), then writes the text walk-input-after gives,
    at its time, and closes it: end of input."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.request = None  # (due, text), set once
        self.requested = threading.Event()

    def send_at(self, due, text):
        self.request = (due, text)
        self.requested.set()

    def run(self):
        try:
            fd = os.open(self.path, os.O_WRONLY)
        except OSError:
            return
        try:
            self.requested.wait()
            due, text = self.request
            time.sleep(max(0.0, due - time.monotonic()))
            os.write(fd, text.encode())
        except OSError:
            pass  # the program is gone
        finally:
            os.close(fd)


class InterruptAfter(gdb.Command):
    """Send SIGINT to the program SECONDS from now (walkthrough scripts).

Usage: walk-interrupt-after SECONDS
The next `continue` then stops wherever the program waits at that moment,
with "Program received signal SIGINT"."""

    def __init__(self, driver):
        super().__init__("walk-interrupt-after", gdb.COMMAND_RUNNING)
        self.driver = driver

    def invoke(self, argument, from_tty):
        try:
            seconds = float(argument)
        except ValueError:
            raise gdb.GdbError("walk-interrupt-after: SECONDS expected, got %r" % argument)
        pid = gdb.selected_inferior().pid
        if pid <= 0:
            raise gdb.GdbError("walk-interrupt-after: the program is not running")

        def interrupt():
            try:
                os.kill(pid, signal.SIGINT)
            except OSError:
                pass

        timer = threading.Timer(seconds, interrupt)
        timer.daemon = True
        timer.start()
        gdb.write("[the program gets SIGINT in %g s]\n" % seconds)


class InputAfter(gdb.Command):
    """Make TEXT arrive on the program's stdin SECONDS from now (walkthrough scripts).

Usage: walk-input-after SECONDS TEXT
TEXT and a newline are written, then the input ends. In an interactive
walkthrough the program reads the terminal: type TEXT yourself, when you like."""

    def __init__(self, driver):
        super().__init__("walk-input-after", gdb.COMMAND_RUNNING)
        self.driver = driver

    def invoke(self, argument, from_tty):
        seconds, _, text = argument.partition(" ")
        try:
            delay = float(seconds)
        except ValueError:
            raise gdb.GdbError("walk-input-after: SECONDS TEXT expected, got %r" % argument)
        writer = self.driver.stdin_writer
        if writer is None:
            gdb.write("[the program reads your terminal: type %s and Enter when you like, after `continue`]\n" % text)
            return
        writer.send_at(time.monotonic() + delay, text + "\n")
        gdb.write("[%r arrives on the program's stdin in %g s]\n" % (text, delay))


class StepiTo(gdb.Command):
    """Step instructions until the next one to run matches REGEX (walkthrough scripts).

Usage: walk-stepi-to REGEX
Reads the instruction at $pc (as `x/i $pc` shows it, runs of spaces made one)
and runs `stepi` until it matches REGEX, a Python regular expression: the
matching instruction is the next to run, not run yet. Stops with an error if
the program leaves the current function first, or after 500 instructions.
Example: `walk-stepi-to mov %\\w+,%rsp$` stops at the instruction that loads
the stack pointer from another register."""

    LIMIT = 500

    def __init__(self):
        super().__init__("walk-stepi-to", gdb.COMMAND_RUNNING)

    @staticmethod
    def next_instruction():
        """The innermost frame's function and the instruction at its pc."""
        frame = gdb.newest_frame()
        insn = frame.architecture().disassemble(frame.pc())[0]
        return frame.name() or "??", re.sub(r"\s+", " ", insn["asm"].strip())

    def step_until(self, pattern):
        """stepi until the next instruction matches; the number of steps."""
        function, insn = self.next_instruction()
        steps = 0
        while not pattern.search(insn):
            if steps == self.LIMIT:
                raise gdb.GdbError("walk-stepi-to: no match in %d instructions" % steps)
            gdb.execute("stepi", to_string=True)
            steps += 1
            if gdb.selected_inferior().pid <= 0:
                raise gdb.GdbError("walk-stepi-to: the program ended after %d instructions" % steps)
            now, insn = self.next_instruction()
            if now != function:
                raise gdb.GdbError("walk-stepi-to: left %s for %s after %d instructions, no match"
                                   % (function, now, steps))
        return steps

    def invoke(self, argument, from_tty):
        if not argument.strip():
            raise gdb.GdbError("walk-stepi-to: REGEX expected")
        try:
            pattern = re.compile(argument.strip())
        except re.error as error:
            raise gdb.GdbError("walk-stepi-to: not a regular expression: %s" % error)
        if gdb.selected_inferior().pid <= 0:
            raise gdb.GdbError("walk-stepi-to: the program is not running")
        gdb.newest_frame().select()
        # Each stepi would print where it stopped: only the last place is
        # shown (gdb 12 on; an older gdb prints every step).
        try:
            quiet = gdb.parameter("suppress-cli-notifications")
            gdb.execute("set suppress-cli-notifications on", to_string=True)
        except (RuntimeError, gdb.error):
            quiet = None
        try:
            steps = self.step_until(pattern)
        finally:
            if quiet is not None:
                gdb.execute("set suppress-cli-notifications %s" % ("on" if quiet else "off"), to_string=True)
        gdb.write("[%d instruction%s stepped: `stepi %d`]\n" % (steps, "" if steps == 1 else "s", steps))
        gdb.execute("x/i $pc")


def main():
    path = os.environ.get("WALK_GDB_CONFIG")
    if not path:
        gdb.write("walk: this script is run by walkthroughs/walk (WALK_GDB_CONFIG is not set)\n")
        return
    gdb.execute("unset environment WALK_GDB_CONFIG", to_string=True)
    try:
        with open(path) as config_file:
            config = json.load(config_file)
        with open(config["script"]) as script_file:
            script = script_file.read()
    except (OSError, ValueError, KeyError) as error:
        gdb.write("walk: cannot read the walkthrough's gdb settings: %s\n" % error)
        return
    driver = Driver(config)
    InterruptAfter(driver)
    InputAfter(driver)
    StepiTo()
    gdb.execute("set pagination off", to_string=True)
    gdb.execute("set confirm off", to_string=True)
    # The hooks live in libcoscope, loaded only when the program starts.
    gdb.execute("set breakpoint pending on", to_string=True)
    # Short frames: a parameter's value at the function's entry only when its
    # value now is unknown (`x@entry=1`, not `x=x@entry=1`); struct arguments
    # as `...`. The width: the terminal's interactively; in batch none, so
    # that gdb never splits a line (walk's console wraps what it prints).
    gdb.execute("set print entry-values if-needed", to_string=True)
    gdb.execute("set print frame-arguments scalars", to_string=True)
    if driver.batch:
        gdb.execute("set width 0", to_string=True)
        gdb.execute("set style enabled off", to_string=True)
    try:
        driver.run(script)
    except Exception as error:  # the learner sees one line, never a traceback
        gdb.write("walk: the script stopped: %s\n" % error)


main()
