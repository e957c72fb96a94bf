"""Step 3: one hooked call traced in gdb - Processer::Run, the Task printer,
SwapIn, the sleep hook, and TaskState::sleep."""

import re

from walklib.facts import expect, expect_timeline, fact
from walklib.scenes import Gdb, Part, Run, Say, Timeline

TITLE = "Trace one hooked call"
NOTES_HEADING = "第三步：跟踪其中一个被hook过的系统调用"
TARGETS = ("step3_sleep",)

SCENES = (
    Part("3.1  The program"),
    Say("""
        The notes trace the good example of step 1 in gdb. step3_sleep submits
        two coroutines with `go` and runs them on the main thread
        (co_sched.RunUntilNoTask()); the first calls plain sleep(1).
        """),
    Run("run", ["step3_sleep"]),
    Say("""
        Its timeline (COSCOPE_TRACE=FILE.json, drawn by scripts/coscope-timeline;
        docs/trace.md): the sleep(1) that the rest of this step follows in gdb
        is the hooked call under coroutine 1's lane, and the timer's arrow ends it.
        """),
    Timeline("run-timeline", ["step3_sleep"], "step 3: the traced sleep(1)"),
    Part("3.2  From Processer::Run into the sleep hook, the notes' way"),
    Say("""
        gdb follows the notes: a breakpoint in Processer::Run before the task
        runs, `print tk`, a step into SwapIn that misses, the switch into the
        task (boost.context), the notes' trick of a breakpoint on sleep, and
        then what they asked: what the hook does before the task stops.
        """),
    Gdb("trace", "trace.gdb", "step3_sleep"),
    Part("3.3  The same, in one command"),
    Say("""
        The toolkit's breakpoint scripts (docs/gdb.md) stop at, or log, what
        coroutines do: the whole search above is one command.
        """),
    Gdb("co-break", "co_break.gdb", "step3_sleep"),
)


def between(scene, first_command, last_command):
    """The lines of a gdb scene from `(gdb) first_command` up to, not
    including, `(gdb) last_command`."""
    start = scene.index(r"^\(gdb\) %s$" % re.escape(first_command))
    return scene.lines[start:scene.index(r"^\(gdb\) %s$" % re.escape(last_command), start)]


def frames(lines):
    """The function of each frame line of a backtrace, in order."""
    return [re.sub(r"^#\d+\s+(0x[0-9a-f]+ in )?", "", line).split(" (")[0] for line in lines
            if re.match(r"^#\d+\s", line)]


def short_name(function):
    """co::detail::(anonymous namespace)::poll_wait(pollfd*, ...) -> poll_wait"""
    return re.sub(r"\(.*", "", function.replace("(anonymous namespace)", "")).split("::")[-1]


@fact("run: coroutine 2 greets while coroutine 1 sleeps, coroutine 1 wakes after it, exit status 0")
def program_runs(t):
    run = t.scene("run")
    went = run.index(r"^coroutine 1: going to sleep\(1\)$")
    hello = run.index(r"^coroutine 2: Hello, coscope!$")
    woke = run.index(r"^coroutine 1: woke up$")
    expect(went < hello < woke < run.index(r"^main: no task left$"), "the lines are out of order")
    expect(run.outcome.returncode == 0, "step3_sleep: " + run.outcome.describe())


@fact("trace: SwapIn's caller is Processer::Run; tk is the first go task (#1, step3_sleep.cpp:26), runnable")
def first_task_before_swap_in(t):
    gdb = t.scene("trace")
    calls = frames(gdb.after_command("bt").lines)
    expect(calls[:2] == ["co::detail::Processer::SwapIn(co::detail::Task*)", "co::detail::Processer::Run()"],
           "the first frames are %s" % calls[:2])
    expect(gdb.after_command("print *tk").has(r'= #1 "" runnable created at .*step3_sleep\.cpp:26$'),
           "*tk is not task #1, runnable, created at step3_sleep.cpp:26")
    expect(gdb.after_command("print tk->state").has(r"= runnable$"), "tk->state is not runnable")


@fact("trace: one `step` over the jump in context_resume ran the task up to its sleep; the switch returned tk")
def step_runs_the_task(t):
    gdb = t.scene("trace")
    step = gdb.after_command("step")
    expect(step.has(r"^coroutine 1: going to sleep\(1\)$"), "the task's line did not come out during the step")
    expect(not step.has(r"Breakpoint|task_trampoline|task_main"), "the step stopped inside the task")
    tk = re.search(r"= \(co::detail::Task \*\) (0x[0-9a-f]+)$", gdb.after_command("print tk", 2).lines[0])
    expect(tk is not None, "`print tk` in SwapIn did not print a Task pointer")
    finish = gdb.after_command("finish")
    expect(finish.has(r"^(?:0x[0-9a-f]+ in )?co::detail::Processer::SwapIn \("), "finish did not return to SwapIn")
    expect(finish.has(r"^Value returned is \$\d+ = \(co::detail::Task \*\) %s$" % tk.group(1)),
           "context_resume did not return tk (%s)" % tk.group(1))
    expect(not gdb.has(r"^coroutine 2: Hello") or gdb.index(r"^coroutine 2: Hello") > gdb.index(r"^\(gdb\) finish$"),
           "coroutine 2 ran before SwapIn got coroutine 1 back")


@fact("trace: after the switch returns, tk->state is sleep and the Task printer shows `sleep (sleep)`")
def sleep_after_swap_in(t):
    gdb = t.scene("trace")
    expect(gdb.after_command("print tk->state", 2).has(r"= sleep$"), "tk->state is not sleep")
    expect(gdb.after_command("print *tk", 2).has(r'= #1 "" sleep \(sleep\) created at .*step3_sleep\.cpp:26 '),
           "*tk does not show #1 in state sleep, waiting for sleep")


# trace.gdb's steps through Boost.Context's jump_fcontext: patterns, not
# counts or offsets, so that any Boost's version of it is followed.
TO_THE_SWITCH = r"walk-stepi-to mov %\w+,%rsp$"
TO_THE_JUMP = r"walk-stepi-to jmp \*%\w+$"


def instructions(scene):
    """`disassemble`'s listing: (address, instruction) for each line."""
    listed = []
    for line in scene.lines:
        match = re.search(r"^(?:=>)?\s*(0x[0-9a-f]+) <\+\d+>:\s+(.*)$", line)
        if match:
            listed.append((int(match.group(1), 16), " ".join(match.group(2).split())))
    return listed


def stepped_to(scene):
    """Where walk-stepi-to stopped, from its `x/i $pc` line: (address,
    function, instruction), or None."""
    for line in scene.lines:
        match = re.search(r"^=> (0x[0-9a-f]+) <([\w.]+)\+\d+>:\s+(.*)$", line)
        if match:
            return int(match.group(1), 16), match.group(2), " ".join(match.group(3).split())
    return None


def pointer(scene):
    """The value of a `print $sp`: (void *) 0x..."""
    match = re.search(r"= \(void \*\) (0x[0-9a-f]+)$", scene.lines[0] if scene.lines else "")
    expect(match is not None, "`print $sp` printed %s" % scene.lines[:1])
    return int(match.group(1), 16)


def task_stack(gdb):
    """[base, base + size) of the task's stack, from `print task->stack`."""
    match = re.search(r"\{base = (0x[0-9a-f]+), size = (\d+),", gdb.after_command("print task->stack").text)
    expect(match is not None, "`print task->stack` did not print base and size")
    base = int(match.group(1), 16)
    return base, base + int(match.group(2))


@fact("trace: jump_fcontext (from context_resume, SwapIn): the mov into %rsp that walk-stepi-to finds in its "
      "disassembly moves $sp into the task's stack; its last instruction, an indirect jmp, lands in "
      "make_fcontext, whose jmp lands in task_trampoline, with nothing below it")
def into_the_switch(t):
    gdb = t.scene("trace")
    calls = frames(gdb.after_command("bt", 2).lines)
    expect(calls[:4] == ["jump_fcontext", "co::detail::context_resume(co::detail::Task*)",
                         "co::detail::Processer::SwapIn(co::detail::Task*)", "co::detail::Processer::Run()"],
           "jump_fcontext's callers are %s" % calls[:4])
    listing = instructions(gdb.after_command("disassemble"))
    expect(len(listing) > 2, "`disassemble` listed no instructions")
    switch = stepped_to(gdb.after_command(TO_THE_SWITCH))
    expect(switch is not None and switch[1] == "jump_fcontext" and (switch[0], switch[2]) in listing
           and re.fullmatch(r"mov %(?!rsp,)\w+,%rsp", switch[2]),
           "walk-stepi-to did not stop at a mov into %%rsp of the listing: %s" % (switch,))
    low, high = task_stack(gdb)
    before, after = pointer(gdb.after_command("print $sp", 1)), pointer(gdb.after_command("print $sp", 2))
    expect(not low <= before < high, "$sp was already in the task's stack before the switch")
    expect(low <= after < high, "$sp %#x after the switch is not in the task's stack [%#x, %#x)" % (after, low, high))
    jump = stepped_to(gdb.after_command(TO_THE_JUMP, 1))
    expect(jump is not None and jump[1] == "jump_fcontext" and (jump[0], jump[2]) == listing[-1],
           "walk-stepi-to did not stop at the listing's last instruction %s: %s" % (listing[-1], jump))
    # A packaged libboost_context keeps only exported symbols: the trampoline
    # is then make_fcontext+N; a library with its local symbols names it.
    expect(gdb.after_command("stepi", 2).has(r"^0x[0-9a-f]+ in (make_fcontext|trampoline) \(\)"),
           "the jump did not land in make_fcontext's trampoline")
    trampoline = stepped_to(gdb.after_command(TO_THE_JUMP, 2))
    expect(trampoline is not None and trampoline[1] in ("make_fcontext", "trampoline"),
           "no indirect jmp in make_fcontext's trampoline: %s" % (trampoline,))
    expect(gdb.after_command("stepi", 3).has(r"task_trampoline \(from=.*\) at .*context\.cpp:\d+"),
           "make_fcontext's trampoline did not go to task_trampoline")
    bottom = frames(gdb.after_command("bt", 3).lines)
    expect(len(bottom) == 1 and "task_trampoline" in bottom[0], "the task's stack is not one frame: %s" % bottom)


@fact("trace: `break sleep` finds glibc's __sleep and the hook; the hook stops, called from step3_sleep.cpp:28 "
      "on the task's own stack")
def break_on_the_hook(t):
    gdb = t.scene("trace")
    where = gdb.after_command("info breakpoints")
    expect(where.has(r"^\d+\.1\s+y\s+0x[0-9a-f]+ in __sleep at .*sleep\.c:\d+$"), "no location in glibc's __sleep")
    expect(where.has(r"^\d+\.2\s+y\s+0x[0-9a-f]+ in sleep\(unsigned int\) at .*hooks/sleep_hooks\.cpp:\d+$"),
           "no location in the hook")
    expect(any(re.match(r"^(?:Thread \d+ \"[^\"]*\" hit )?Breakpoint \d+\.2, sleep \(seconds=1\) at .*hooks/sleep_hooks\.cpp", line)
               for line in between(gdb, "break sleep", "catch syscall")),
           "the stop is not the hook's location")
    stack = gdb.after_command("bt", 4).lines  # the stop's
    calls = frames(stack)
    expect(calls[0] == "sleep(unsigned int)" and re.search(r"step3_sleep\.cpp:28$", stack[1]),
           "frame #1 is not step3_sleep.cpp:28")
    expect(calls[-1] == "co::detail::task_main(co::detail::Task*)", "the stack does not end at task_main")
    expect(not any("Processer::Run" in call for call in calls), "Processer::Run is on the task's stack")


@fact("trace: from the hook's entry to the park: one system call, poll(NULL, 0, 0), then prepare_park, "
      "arm_timer, park(state=sleep, reason=sleep)")
def before_it_stops(t):
    gdb = t.scene("trace")
    lines = between(gdb, "catch syscall", "info co-timers")
    stops = []
    for line in lines:
        caught = re.match(r"^Catchpoint \d+ \((call to|returned from) syscall (\w+)\)", line)
        if caught:
            stops.append("%s %s" % caught.groups())
        hit = re.match(r"^(?:Thread \d+ \"[^\"]*\" hit )?Breakpoint \d+, co::detail::(\w+) \((.*)\) at ", line)
        if hit:
            stops.append(hit.group(1) + ("(state=sleep, reason=sleep)" if hit.group(2).startswith(
                "state=sleep, reason=sleep,") else ""))
    expected = ["call to poll", "returned from poll", "prepare_park", "arm_timer", "park(state=sleep, reason=sleep)"]
    expect(stops == expected, "the stops were %s" % stops)
    expect(gdb.after_command("bt 5").has(r"co::detail::sys::poll\(.*\(timeout_ms=0, nfds=0, fds=0x0\)"),
           "the system call is not poll with no fds and timeout 0")


@fact("trace: the park's backtrace: sleep -> sleep_body -> task_sleep_ns -> io_poll_until -> poll_wait -> "
      "sleep_in_poll -> park; #1's timer armed before it")
def path_to_the_park(t):
    gdb = t.scene("trace")
    calls = [short_name(call) for call in frames(gdb.after_command("bt", 5).lines)]
    expected = ["park", "sleep_in_poll", "poll_wait", "io_poll_until", "task_sleep_ns", "sleep_body", "sleep"]
    expect(calls[:7] == expected, "the frames are %s" % calls)
    timers = gdb.after_command("info co-timers")
    expect(timers.has(r"^1 armed timer"), "not one armed timer")
    expect(timers.has(r"^(in|overdue by) \S+\s+[\d.]+ s\s+1\s+-\s+runnable\s+-$"), "no timer of task #1")


@fact("trace: the switch out goes from park -> SwapOut -> context_suspend through jump_fcontext's jmp to "
      "context_resume under SwapIn and Run, $sp off the task's stack; then the program ends normally")
def the_way_back(t):
    gdb = t.scene("trace")
    calls = frames(gdb.after_command("bt 4").lines)
    expect(calls == ["jump_fcontext", "co::detail::context_suspend(co::detail::Task*)",
                     "co::detail::Processer::SwapOut(co::detail::Task*)",
                     "co::detail::park(co::TaskState, co::WaitReason, void const*, long, co::detail::SpinLock*, bool)"],
           "the frames are %s" % calls)
    jump = stepped_to(gdb.after_command(TO_THE_JUMP, 3))
    expect(jump is not None and jump[1] == "jump_fcontext", "walk-stepi-to did not stop in jump_fcontext: %s" % (jump,))
    landed = frames(gdb.after_command("bt 3", 2).lines)
    expect(landed == ["co::detail::context_resume(co::detail::Task*)",
                      "co::detail::Processer::SwapIn(co::detail::Task*)", "co::detail::Processer::Run()"],
           "the jump landed in %s" % landed)
    low, high = task_stack(gdb)
    expect(not low <= pointer(gdb.after_command("print $sp", 3)) < high, "$sp is still in the task's stack")
    end = gdb.lines[gdb.index(r"^\(gdb\) bt 4$"):]
    expect(any(re.match(r"^\[Inferior 1 \(process \d+\) exited normally\]$", line) for line in end),
           "the program did not exit normally")


TRACE_BEFORE = [
    '#1 "" created -> runnable created at step3_sleep.cpp:26',
    '#2 "" created -> runnable created at step3_sleep.cpp:31',
    '#1 "" runnable -> running on processer 0',
    '#1 "" call sleep(seconds=1)',
    '#1 "" running -> sleep (sleep)',
]
TRACE_AFTER = [
    '#2 "" runnable -> running on processer 0',
    '#2 "" running -> done',
    '#1 "" sleep -> runnable',
    '#1 "" runnable -> running on processer 0',
    '#1 "" sleep(seconds=1) = 0',
    '#1 "" running -> done',
]


def traced(lines):
    return [line[len("[co-trace] "):] for line in lines if line.startswith("[co-trace] ")]


@fact("co-break: `co-break state sleep` stops once, in park, printing #1 in state sleep (sleep)")
def one_command(t):
    gdb = t.scene("co-break")
    stop = gdb.after_command("continue")
    marks = [line for line in stop.lines if line.startswith("[co-break")]
    expect(len(marks) == 1 and re.match(
        r'^\[co-break \d+\] running -> sleep: #1 "" sleep \(sleep\) created at .*step3_sleep\.cpp:26 ', marks[0]),
        "the co-break lines were %s" % marks)
    expect(stop.has(r"^(?:Thread \d+ \"[^\"]*\" hit )?Breakpoint \d+\.\d+, 0x[0-9a-f]+ in co::detail::park "), "the stop is not in park")
    expect(gdb.after_command("info co-timers").has(r"^(in|overdue by) \S+\s+[\d.]+ s\s+1\s+-\s+sleep\s+sleep$"),
           "#1's timer does not show it in state sleep")


@fact("co-break: before the stop, the trace shows only #1 and #2 created, #1 running, its call to sleep, "
      "#1 entering sleep")
def trace_before_the_stop(t):
    got = traced(t.scene("co-break").after_command("continue").lines)
    expect(got == TRACE_BEFORE, "the trace was %s" % got)


@fact("co-break: after it, #2 runs and ends, then #1 wakes (sleep -> runnable), runs, sleep returns 0, "
      "and the program exits normally")
def trace_after_the_stop(t):
    end = t.scene("co-break").after_command("continue", 2)
    got = traced(end.lines)
    expect(got == TRACE_AFTER, "the trace was %s" % got)
    expect(end.has(r"^\[Inferior 1 \(process \d+\) exited normally\]$"), "the program did not exit normally")


@fact("the run, traced: the JSON trace parses, the timer wakes the sleeper, the picture is drawn")
def run_timeline(t):
    expect_timeline(t, "run-timeline", "timer")


FACTS = (program_runs, first_task_before_swap_in, step_runs_the_task, sleep_after_swap_in, into_the_switch,
         break_on_the_hook, before_it_stops, path_to_the_park, the_way_back, one_command, trace_before_the_stop,
         trace_after_the_stop, run_timeline)


# The step's map, printed before it begins (walklib/runner.py); README.md has it as a
# diagram ("The map").
DIAGRAM = r"""
One hooked call, sleep(1), from the task's first run to its wake. Two stacks: the thread's
own (left) and the task's (right); jump_fcontext moves %rsp from one to the other.

  thread 1's own stack                         coroutine 1's stack (its Task)
  -----------------------------------------    ----------------------------------------------
  go[] { ... ::sleep(1); ... }: a Task, runnable
  co_sched.RunUntilNoTask()
    Processer::Run: picks the runnable task
      SwapIn(tk) -> context_resume
        jump_fcontext  ===== %rsp =========>   task_trampoline -> task_main (the first time)
                                                 the task's code: sleep(1)
                                                   coscope's hook (hooks/sleep_hooks.cpp)
                                                   io_poll_until -> poll_wait -> sleep_in_poll
                                                   prepare_park, arm_timer (the timer queue)
                                                   park(sleep) -> SwapOut -> context_suspend
      back in SwapIn   <==== %rsp ==========       jump_fcontext
    Processer::Run: other tasks, or idle until
    the timer (FireTimers -> wake_by_timer)
    or the reactor (Harvest -> Dispatch -> wake)
    makes the task runnable again
      SwapIn -> jump_fcontext ===== %rsp ===>   back in context_suspend: park() returns,
                                                 sleep(1) returns 0, the task goes on
"""


# `walk 3 --exercise K` (walklib/exercises.py): each answer is checked against a fresh run.
from walklib.exercises import Exercise, gdb_output, same_number, search, stepi_count  # noqa: E402

EXERCISES = (
    Exercise(
        "Find the switch of stacks yourself",
        task="""
            In the programs' directory, {dir}, start gdb on step3_sleep and stop at
            the first switch into a task:

                {gdb:step3_sleep}
                (gdb) break jump_fcontext
                (gdb) run

            Then run one instruction at a time, looking at the next one each time,
            until the next instruction is the mov that loads %rsp from another
            register (do not run it):

                (gdb) x/i $pc
                (gdb) stepi
            """,
        question="How many stepi did it take, from the stop at jump_fcontext to that mov?",
        truth=lambda ctx: stepi_count(ctx, "step3_sleep", ["break jump_fcontext", "run"], r"mov\s+%\w+,%rsp$"),
        compare=same_number,
        why="One stepi more and $sp points into the task's stack (print $sp before and after). Where the "
            "mov is depends on the Boost release, which is why the step finds it by its instruction, as "
            "you did."),
    Exercise(
        "One command instead of six stops",
        task="""
            Let the toolkit stop the program when a coroutine goes to sleep:

                {gdb:step3_sleep}
                (gdb) start
                (gdb) co-break state sleep
                (gdb) continue
                (gdb) info coroutines
            """,
        question="At which line of step3_sleep.cpp is coroutine 1 at that stop (its Where column)?",
        truth=lambda ctx: search(r"^\s*1\s.*?step3_sleep\.cpp:(\d+)",
                                 gdb_output(ctx, "step3_sleep", ["start", "co-break state sleep", "continue",
                                                                 "info coroutines"]),
                                 "coroutine 1's row in info coroutines"),
        compare=same_number,
        why="The line of its sleep(1): the stop comes as the task enters the state, in park(), with the "
            "hook's frames between it and that line (bt shows them)."),
)
