"""Running a program on a pseudo-terminal and reading what it prints.

A program's output goes to a pty, not a pipe, so that stdio buffers it as it
would on the learner's terminal (line by line): a program that crashes shows
the lines it printed before the crash, as in the notes. Runs of one repeated
line are folded ("... the same line 41230 more times"), so a program that
recurses while printing does not flood the screen.
"""

import os
import pty
import resource
import select
import signal
import subprocess
import time

FOLD_AFTER = 3  # identical lines shown before the rest are counted
DEFAULT_STACK_LIMIT = 8 << 20  # bytes: the usual `ulimit -s`


def set_limits(stack_limit=DEFAULT_STACK_LIMIT):
    """In the child, before exec: a known stack size, so that a runaway
    recursion ends at the same depth on every machine (an unlimited stack
    would let it eat memory instead), and no core files (the crashes are the
    lesson, their cores would be litter)."""
    _, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if hard == resource.RLIM_INFINITY or hard >= stack_limit:
        resource.setrlimit(resource.RLIMIT_STACK, (stack_limit, hard))
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))


class LineFolder:
    """Turns a byte stream into lines, folding runs of identical lines."""

    def __init__(self, emit):
        self.emit = emit  # called with each line to show (no newline)
        self.partial = b""
        self.last = None
        self.repeats = 0

    def feed(self, data):
        self.partial += data.replace(b"\r\n", b"\n")
        *lines, self.partial = self.partial.split(b"\n")
        for raw in lines:  # a "\r\n" split across two reads leaves a "\r"
            self.line(raw.rstrip(b"\r").decode("utf-8", errors="replace"))

    def line(self, text):
        if text == self.last:
            self.repeats += 1
            if self.repeats < FOLD_AFTER:
                self.emit(text)
            return
        self.flush_repeats()
        self.last = text
        self.repeats = 0
        self.emit(text)

    def flush_repeats(self):
        hidden = self.repeats - (FOLD_AFTER - 1)
        if hidden > 0:
            self.emit("... the same line %d more times" % hidden)
        self.repeats = 0

    def close(self):
        if self.partial:
            self.line(self.partial.decode("utf-8", errors="replace"))
            self.partial = b""
        self.flush_repeats()
        self.last = None


class Outcome:
    """How a program ended."""

    def __init__(self, returncode, timed_out=False):
        self.returncode = returncode
        self.timed_out = timed_out

    @property
    def signal_name(self):
        if self.returncode is not None and self.returncode < 0:
            return signal.Signals(-self.returncode).name
        return None

    def describe(self):
        if self.timed_out:
            return "[stopped by walk: no exit within the time limit]"
        if self.signal_name:
            number = -self.returncode
            return "[killed by %s (%s)]" % (self.signal_name, signal.strsignal(number))
        return "[exit status %d]" % self.returncode


def run_on_pty(argv, *, env, cwd, emit, stdin_text=None, stdin_after_s=0.0, on_input=None,
               inherit_stdin=False, timeout_s=60.0, stack_limit=DEFAULT_STACK_LIMIT):
    """Runs argv with stdout and stderr on a new pty; emit(line) for each line.

    stdin: the text stdin_text, written stdin_after_s seconds after the
    program's first output (or after its start, if it prints nothing by then),
    then end of input; on_input(ms) is called right after the write with the
    milliseconds since that first output. Or the walk's own stdin
    (inherit_stdin: an interactive learner types). Or empty.
    The main thread's stack is limited to stack_limit bytes.
    """
    master, slave = pty.openpty()
    if stdin_text is not None:
        stdin = subprocess.PIPE
    elif inherit_stdin:
        stdin = None
    else:
        stdin = subprocess.DEVNULL
    started = time.monotonic()
    try:
        child = subprocess.Popen(argv, stdin=stdin, stdout=slave, stderr=slave, env=env, cwd=cwd,
                                 close_fds=True, preexec_fn=lambda: set_limits(stack_limit))
    finally:
        os.close(slave)
    folder = LineFolder(emit)
    input_pending = stdin_text is not None
    first_output = None
    deadline = started + timeout_s
    timed_out = False
    try:
        while True:
            now = time.monotonic()
            input_due = (first_output or started) + stdin_after_s if input_pending else None
            if input_due is not None and now >= input_due:
                drain(master, folder)  # what came before the input is shown before it
                try:
                    child.stdin.write(stdin_text.encode())
                    child.stdin.close()
                except OSError:
                    pass
                if on_input:
                    on_input(int((time.monotonic() - (first_output or started)) * 1000))
                input_pending = False
                continue
            if now >= deadline:
                timed_out = True
                child.kill()
                break
            wait = deadline - now if input_due is None else min(input_due, deadline) - now
            ready, _, _ = select.select([master], [], [], max(0.0, min(wait, 0.5)))
            if ready:
                if not read_into(master, folder):
                    break  # every writer closed the pty: the program ended
                if first_output is None:
                    first_output = time.monotonic()
    finally:
        drain(master, folder)
        os.close(master)
    returncode = child.wait()
    if child.stdin and not child.stdin.closed:
        child.stdin.close()
    folder.close()
    return Outcome(returncode, timed_out)


def read_into(master, folder):
    try:
        data = os.read(master, 65536)
    except OSError:  # EIO: no writer left
        return False
    if not data:
        return False
    folder.feed(data)
    return True


def drain(master, folder):
    while True:
        ready, _, _ = select.select([master], [], [], 0)
        if not ready or not read_into(master, folder):
            return
