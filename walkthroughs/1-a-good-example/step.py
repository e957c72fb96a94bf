"""Step 1: a good example - std::cin holds the thread, sleep() gives it back."""

import re

from walklib.facts import expect, expect_timeline, fact, stamp_ms
from walklib.scenes import Gdb, Input, Part, Run, Say, Shell, Timeline

TITLE = "A good example"
NOTES_HEADING = "第一步：写一个合适的例子"
TARGETS = ("step1_cin", "step1_sleep")

# The calls the notes list as hooked by libgo (第一步).
NOTES_HOOKED = ("connect", "read", "readv", "recv", "recvfrom", "recvmsg", "write", "writev", "send",
                "sendto", "sendmsg", "poll", "select", "accept", "sleep", "usleep", "nanosleep",
                "gethostbyaddr_r")

SCENES = (
    Part("1.1  std::cin: a blocking call that no hook sees"),
    Say("""
        Two coroutines share one thread (co_sched.RunUntilNoTask() on main).
        Coroutine 1 reads a number with `std::cin >> i`; coroutine 2 only
        prints "Hello, coscope!". The notes: "不是所有的阻塞操作都被hook过 ...
        比如std::cin对应的系统调用就肯定没有" - not every blocking call is
        hooked, std::cin's certainly not. The number 3 arrives on stdin one
        second after the program's first line (when you run the step yourself, you type it,
        whenever you like); every line the program prints starts with the
        milliseconds since it started.
        """),
    Run("cin", ["step1_cin"], input=Input("3\n", after_s=1.0), shown="(sleep 1; echo 3) | ./step1_cin"),
    Say("""
        "Hello, coscope!" comes only after "i = 3", after the input: the notes'
        "无论你在输入3之前等多久，"Hello, libgo!"一定会在"i = 3"之后才输出".
        While coroutine 1 waited for input, nothing else ran on the thread.

        coscope says so itself. Its stall watchdog saw the thread run
        coroutine 1 for 100 ms (COSCOPE_STALL_MS) without switching, and wrote
        the "stall:" line: the task and where it was created, and what the
        thread was doing, read from /proc/self/task/TID/syscall: blocked in
        read(fd 0), a call coscope hooks - but a hooked read would have parked
        the coroutine, so this one never passed the hook: it was made inside
        libc.so.6, by stdio. "stall over" came when coroutine 1 gave the
        thread back, right after "i = 3". gdb shows why the hook was skipped.
        """),
    Part("1.2  Why, in gdb"),
    Gdb("cin-gdb", "cin.gdb", "step1_cin", stdin=True, env={}),  # with the stall watchdog
    Part("1.3  sleep(): a blocking call that is hooked"),
    Say("""
        The notes' good example: "这才是一个优秀的例子，因为sleep对应的操作系统调用是被hook过的".
        Coroutine 1 calls plain sleep(1); coroutine 2 greets, then prints every
        250 ms (with usleep, hooked too).
        """),
    Run("sleep", ["step1_sleep"]),
    Say("""
        Coroutine 2 greeted at once and printed three more times while
        coroutine 1 slept; coroutine 1 woke a second after it went to sleep.
        One thread ran both: the hook parked the sleeping coroutine on the
        scheduler's timer queue and the thread went on with the other.
        """),
    Say("""
        The same program as a picture. With COSCOPE_TRACE=FILE.json the runtime
        writes its run as a Chrome trace (Perfetto and chrome://tracing open
        it; docs/trace.md), and scripts/coscope-timeline draws it. Processer 0
        runs a box per coroutine run; coroutine 1 leaves it for the whole
        second, and the arrow from the timer's lane brings it back. Coroutine
        2's three usleeps are the timer's other arrows.
        """),
    Timeline("sleep-timeline", ["step1_sleep"], "step 1: sleep(1) parks coroutine 1, the timer brings it back"),
    Part("1.4  The sleeping coroutine, in gdb"),
    Gdb("sleep-gdb", "sleep.gdb", "step1_sleep"),
    Part("1.5  The notes' list of hooked calls"),
    Say("""
        The notes copy libgo's list of hooked calls. Each hook is a function
        exported by libcoscope under the libc name it replaces; the dynamic
        symbol table shows which of the notes' names it defines
        (docs/hooks.md has the full list, with semantics):
        """),
    Shell("hooked",
          "nm -D --defined-only ../../runtime/libcoscope.so | awk '$2 == \"T\" {print $3}' "
          "| grep -x -E '%s' | paste -sd ' '" % "|".join(NOTES_HOOKED)),
    Say("""
        All of them. std::cin's read is not missing from the list: the hook
        exists, glibc's stdio just never calls it. (In libgo the hook exists
        too, but passes any fd that is not a socket straight to glibc's read:
        read_write_mode in libgo/linux/linux_glibc_hook.cpp, 2016-2018. There
        even a direct read(0, ...) blocks the thread; coscope's parks.)
        """),
)


@fact("cin: 'i = 3', then 'Hello, coscope!', only after the input came, 1000 ms after the first line")
def hello_after_input(t):
    run = t.scene("cin")
    first = run.index(r"^\[\s*\d+ ms\] main: two coroutines spawned")
    written = run.index(r"\[walk: '3\\n' written to stdin \d+ ms after the first line")
    number = run.index(r"\] i = 3$")
    hello = run.index(r"\] Hello, coscope!$")
    expect(written < number < hello, "order was: input at line %d, i = 3 at %d, Hello at %d" % (written, number, hello))
    waited = stamp_ms(run.lines[hello]) - stamp_ms(run.lines[first])
    expect(waited >= 990, "Hello came %d ms after the first line, before the input" % waited)
    expect(run.outcome.returncode == 0, "step1_cin: " + run.outcome.describe())


@fact("cin: the stall watchdog reports coroutine 1 once, blocked in read(fd 0) made inside libc, not through "
      "the hook; its end comes right after 'i = 3'")
def stall_reported(t):
    run = t.scene("cin")
    waiting = run.index(r"coroutine 1: waiting for a number")
    warning = run.index(r"\bstall: task #1 \(created at .*step1_cin\.cpp:\d+\) has run for \d+ ms on processer 0")
    text = " ".join(run.lines[warning:warning + 8])
    expect("its thread is in read(fd 0): read is hooked, but this call did not pass through the hook" in text,
           "the warning does not name read(fd 0) and the bypassed hook")
    expect("it was made inside libc.so" in text, "the warning does not say the call was made inside libc")
    written = run.index(r"\[walk: '3\\n' written to stdin")
    number = run.index(r"\] i = 3$")
    over = run.index(r"\bstall over: task #1 \(created at ")
    hello = run.index(r"\] Hello, coscope!$")
    expect(waiting < warning < written < number < over < hello, "the stall lines are out of place")
    expect(sum(1 for line in run.lines if re.search(r"\bstall: task #", line)) == 1, "more than one warning")


@fact("cin in gdb: glibc's read of fd 0 was called from _IO_new_file_underflow, under istream's operator>>")
def cin_read_from_stdio(t):
    bt = t.scene("cin-gdb").after_command("bt")
    expect(bt.has(r"^#0 .*__GI___libc_read \(fd=0"), "frame #0 is not glibc's read of fd 0")
    expect(bt.has(r"^#1 .*_IO_new_file_underflow"), "frame #1 is not _IO_new_file_underflow")
    expect(bt.has(r"operator>>\(int&\)"), "no istream operator>> in the backtrace")
    expect(bt.has(r"step1_cin\.cpp:\d+"), "the coroutine's own frame is missing")


@fact("cin in gdb: _IO_file_read jumps straight to __GI___libc_read, while the name read is the hook")
def direct_internal_call(t):
    gdb = t.scene("cin-gdb")
    expect(gdb.after_command("disassemble _IO_file_read").has(r"jmp\s+0x[0-9a-f]+ <__GI___libc_read>"),
           "no direct jmp to __GI___libc_read")
    expect(gdb.after_command("info address read").has(r'Symbol "read\(int, void\*, size_t\)" is a function'),
           "`read` is not the hook's read(int, void*, size_t)")


@fact("cin in gdb: while it waits, coroutine 1 is running (not parked) in glibc's read, coroutine 2 never started")
def cin_blocks_thread(t):
    gdb = t.scene("cin-gdb")
    expect(gdb.has(r"received signal SIGINT"), "the program was not interrupted while waiting")
    coroutines = gdb.after_command("info coroutines")
    expect(coroutines.has(r"^1\s+-\s+running\s+-\s+running on thread 1: __GI___libc_read"),
           "coroutine 1 is not shown running in __GI___libc_read")
    expect(coroutines.has(r"^2\s+-\s+runnable\s+-\s+not started"), "coroutine 2 is not shown as not started")
    processers = gdb.after_command("info processers")
    expect(processers.has(r'(?:^|\s)0\s+LWP \d+, thread 1\s+#1 ""\s+1\s+0\s+-\s+no\s+\d+\s+\d+ ms\s+read\(fd 0\)$'),
           "info processers does not show processer 0 running #1 for some ms, in read(fd 0)")


@fact("cin in gdb: the breakpoint on the hook's read was never hit; glibc's read once")
def hook_never_hit(t):
    breakpoints = t.scene("cin-gdb").after_command("info breakpoints")
    hook = breakpoints.index(r"^1\s+breakpoint .* in read\(int, void\*, size_t\) at .*hooks/io_hooks\.cpp")
    libc = breakpoints.index(r"^2\s+breakpoint .* in __GI___libc_read")
    expect(not any("already hit" in line for line in breakpoints.lines[hook:libc]), "the hook's breakpoint was hit")
    expect(breakpoints.has(r"breakpoint already hit 1 time"), "glibc's read breakpoint was not hit once")


@fact("cin in gdb: after the input, 'i = 3' comes before 'Hello, coscope!'")
def cin_gdb_order(t):
    end = t.scene("cin-gdb").after_command("continue", occurrence=2)
    expect(end.index(r"\] i = 3$") < end.index(r"\] Hello, coscope!$"), "Hello came first")


@fact("sleep: coroutine 2 printed 3 times while coroutine 1 slept; coroutine 1 woke >= 1000 ms after it slept")
def other_task_ran(t):
    run = t.scene("sleep")
    went = run.index(r"coroutine 1: going to sleep")
    hello = run.index(r"\] Hello, coscope!$")
    ticks = [run.index(r"still running while coroutine 1 sleeps \(%d\)" % n) for n in (1, 2, 3)]
    woke = run.index(r"coroutine 1: woke up")
    expect(went < hello < ticks[0] < ticks[1] < ticks[2] < woke, "the lines are out of order")
    slept = stamp_ms(run.lines[woke]) - stamp_ms(run.lines[went])
    expect(slept >= 999, "coroutine 1 slept only %d ms" % slept)
    expect(stamp_ms(run.lines[hello]) - stamp_ms(run.lines[went]) < 250,
           "coroutine 2 did not greet at once (%d ms)" % (stamp_ms(run.lines[hello]) - stamp_ms(run.lines[went])))
    expect(run.outcome.returncode == 0, "step1_sleep: " + run.outcome.describe())


@fact("sleep in gdb: sleep() called from the coroutine is the hook (hooks/sleep_hooks.cpp)")
def sleep_is_hooked(t):
    bt = t.scene("sleep-gdb").after_command("bt 3")
    expect(bt.has(r"^#0\s+sleep\(unsigned int\) \(seconds=1\) at .*hooks/sleep_hooks\.cpp"),
           "frame #0 is not the sleep hook")
    expect(bt.has(r"step1_sleep\.cpp:26"), "the caller is not step1_sleep.cpp:26")


@fact("sleep in gdb: while coroutine 2 runs, coroutine 1 is parked in state sleep, its stack through park()")
def sleeping_task_parked(t):
    gdb = t.scene("sleep-gdb")
    coroutines = gdb.after_command("info coroutines", occurrence=2)
    expect(coroutines.has(r"^1\s+-\s+sleep\s+sleep\s+.*step1_sleep\.cpp:26"), "coroutine 1 is not in state sleep")
    expect(coroutines.has(r"^2\s+-\s+running\s+"), "coroutine 2 is not running")
    stack = gdb.after_command("coroutine 1 bt")
    expect(stack.has(r"co::detail::park\("), "no park() on coroutine 1's stack")
    expect(stack.has(r"sleep\(unsigned int\) \(seconds=1\) at .*hooks/sleep_hooks\.cpp"),
           "no sleep hook on coroutine 1's stack")


@fact("libcoscope defines every call the notes list as hooked")
def notes_list_hooked(t):
    listed = set(t.scene("hooked").text.split())
    missing = [name for name in NOTES_HOOKED if name not in listed]
    expect(not missing, "not exported: " + " ".join(missing))


@fact("sleep, traced: the JSON trace parses, the timer wakes the coroutines, the picture is drawn")
def sleep_timeline(t):
    expect_timeline(t, "sleep-timeline", "timer")


FACTS = (hello_after_input, stall_reported, cin_read_from_stdio, direct_internal_call, cin_blocks_thread, hook_never_hit,
         cin_gdb_order, other_task_ran, sleep_is_hooked, sleeping_task_parked, notes_list_hooked, sleep_timeline)


# The step's map, printed before it begins (walklib/runner.py); README.md has it as a
# diagram ("The map").
DIAGRAM = r"""
One thread, two coroutines. Where each call runs, and what thread 1 does while coroutine 1
waits (thread 1's own stack on the left, coroutine 1's stack on the right):

  std::cin >> i   (step1_cin)                     sleep(1)   (step1_sleep)
  ---------------------------------------------   ----------------------------------------------
  coroutine 1's stack                              coroutine 1's stack
    operator>> (libstdc++'s istream)                 sleep: coscope's hook (sleep_hooks.cpp)
    _IO_new_file_underflow (glibc's stdio)           task_sleep_ns -> io_poll_until -> poll_wait
    _IO_file_read: jmp __GI___libc_read              arm_timer, park(sleep) -> SwapOut
    read(0) in the kernel                              | jump_fcontext: to the thread's stack
      the whole of thread 1 waits here:                v
      coroutine 2 cannot even start                thread 1's stack
                                                     Processer::Run: coroutine 2 runs
  coscope's read hook (io_hooks.cpp) is              the timer: FireTimers -> wake_by_timer
  never called: glibc calls its internal             SwapIn: jump_fcontext to coroutine 1
  read, not the name `read`                        coroutine 1's stack: park(), sleep(1) return
"""


# `walk 1 --exercise K` (walklib/exercises.py): each answer is checked against a fresh run.
from walklib.exercises import Exercise, gdb_output, same_number, same_word, search  # noqa: E402

EXERCISES = (
    Exercise(
        "Coroutine 1, while coroutine 2 greets",
        task="""
            In the programs' directory, {dir}, start gdb on step1_sleep with the
            coscope toolkit, stop where coroutine 2 prints its greeting, and list
            the coroutines:

                {gdb:step1_sleep}
                (gdb) break step1_sleep.cpp:31
                (gdb) run
                (gdb) info coroutines
            """,
        question="In which State is coroutine 1 at that stop (the State column of its row)?",
        truth=lambda ctx: search(r"^\s*1\s+\S+\s+(\w+)\s",
                                 gdb_output(ctx, "step1_sleep", ["break step1_sleep.cpp:31", "run", "info coroutines"]),
                                 "coroutine 1's row in info coroutines"),
        compare=same_word,
        why="Coroutine 1 parked itself inside sleep(1)'s hook, so thread 1 is free to run coroutine 2 "
            "(the map of step 1, right-hand side)."),
    Exercise(
        "Who calls glibc's read",
        task="""
            Start gdb on step1_cin, stop at glibc's read of stdin (fd 0 is in $rdi
            when a function starts), and look at the backtrace:

                {gdb:step1_cin}
                (gdb) break __read if $rdi == 0
                (gdb) run
                (gdb) bt
            """,
        question="What is the number (#N) of the frame of std::basic_istream<...>::operator>>(int&)?",
        truth=lambda ctx: search(r"^#(\d+)\s.*::operator>>\(int&\)",
                                 gdb_output(ctx, "step1_cin", ["break __read if $rdi == 0", "run < /dev/null", "bt"]),
                                 "operator>>(int&) in the backtrace"),
        compare=same_number,
        why="Every frame between it and #0 is libstdc++'s or glibc's: std::cin reaches the read system call "
            "without calling the name read, so coscope's hook never sees it."),
)
