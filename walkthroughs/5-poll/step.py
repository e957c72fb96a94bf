"""Step 5: settling step 4's debts - man poll's rules run live, the io_sentry,
and who wakes a coroutine parked in poll (the reactor, or the timer)."""

import os
import re

from walklib.facts import FactFailed, expect, expect_timeline, fact
from walklib.scenes import Gdb, Part, Run, Say, Timeline

TITLE = "Settling step 4's debts: poll"
NOTES_HEADING = "第五步：收第四步的烂账"
TARGETS = ("step5_programs",)
# A gdb session takes seconds; one that waits for a wake that never comes
# ends here.
GDB_TIMEOUT_S = 60.0

SCENES = (
    Part("5.1  man poll, run by a thread and by a coroutine"),
    Say("""
        The notes read man poll and keep its rules: a negative fd is ignored
        and its revents is 0 ("何时返回没有说明" - when such a call returns is not
        said); timeout 0 returns at once, -1 waits forever; POLLHUP, POLLERR and
        POLLNVAL come back even when events is 0. step5_poll_rules runs each rule
        twice, with fresh pipes: first on main, a plain thread, where poll() goes
        straight to the kernel; then in a coroutine on that same thread, where
        the hook waits through io_poll (the role of libgo's libgo_poll). The
        table at the end puts the two results side by side: poll's return
        value, every revents (or errno), and the time it took.
        """),
    Run("rules", ["step5_poll_rules"]),
    Say("""
        Row for row, the coroutine gets what the thread got: the hook changes
        how the caller waits, never the answer, which always comes from the
        kernel's own poll. Only negative fds: poll waits out its timeout and
        returns 0 - in a coroutine that wait is a sleep that parks it. Rule 4
        answers the notes' question "poll操作是线程阻塞的还是线程非阻塞的？": while the
        coroutine waited in poll with timeout -1, the writer coroutine ran on
        the same thread and wrote the pipe. The hooked poll blocks the
        coroutine, not the thread.
        """),
    Part("5.2  A coroutine parked in poll, and who wakes it"),
    Say("""
        step5_wake: one thread, two coroutines. The poller polls pipes A and B
        with timeout -1; the writer writes B. Then the poller polls A alone for
        500 ms, and nobody writes A. Alone, it runs in half a second:
        """),
    Run("wake", ["step5_wake"]),
    Say("""
        The notes guessed that io_sentry only records the wait and that
        something else - "很有可能要通过全局的IO管理器或者调度器" - wakes the coroutine. In
        gdb, each of the two wakes is stopped at the moment it happens.
        """),
    Gdb("wake-gdb", "wake.gdb", "step5_wake", timeout_s=GDB_TIMEOUT_S),
    Say("""
        Both wakes in one picture (COSCOPE_TRACE=FILE.json, drawn by
        scripts/coscope-timeline; docs/trace.md): the first poll ends with an
        arrow from the reactor's lane (the epoll event of B), the second, half
        a second later, with one from the timer's.
        """),
    Timeline("wake-timeline", ["step5_wake"], "step 5: the epoll wake and the timer wake"),
    Part("5.3  Ready while poll arms its wait"),
    Say("""
        The notes ask "会不会出现刚好有文件准备好读或者写的情况？如果有，怎么处理？" - can a
        file become ready just as poll registers it, and what then?
        step5_race polls the read end of a FIFO three times: once with a byte
        already there, then twice on an empty FIFO, while gdb stops it inside
        the hook's wait and a shell writes the FIFO (through its name,
        work/race.fifo) at two chosen moments: before and after the kernel is
        asked again.
        """),
    Gdb("race-gdb", "race.gdb", "step5_race", args=["work/race.fifo"], timeout_s=GDB_TIMEOUT_S),
    Say("""
        Either way the byte is seen. Before the check, the check itself
        reports it (triggered) and the coroutine never parks; after the check,
        the fd is already in the reactor and the waiter already linked, so the
        write's epoll event finds the waiter and wakes it. There is no moment
        in between where a readiness could be missed: the link comes first,
        then the check.
        """),
    Part("5.4  The reactor's side: epoll_ctl, a regular file, the timer, select"),
    Say("""
        The notes read add_into_reactor ("如果文件描述符不在epoll之中，则把它添加进去"),
        the case where every add fails ("所有的添加操作都失败了，直接返回吧"), the timer a
        wait arms, and nonblocking_check, which select passes. step5_reactor
        runs them: main, a plain thread, polls a regular file for
        POLLIN|POLLOUT, then for POLLPRI alone with a 300 ms timeout; a
        coroutine does the same, then polls pipe A twice (5 s timeout) while a
        writer coroutine writes A, then select()s A with a byte already there.
        """),
    Run("reactor", ["step5_reactor"]),
    Say("""
        The regular file gives the coroutine what it gives the thread: always
        readable and writable (POSIX: regular files always poll true for
        reading and writing), never POLLPRI, so that poll waits out its
        timeout. In gdb, each of the reactor's moments:
        """),
    Gdb("reactor-gdb", "reactor.gdb", "step5_reactor", timeout_s=GDB_TIMEOUT_S),
    Say("""
        add_into_reactor makes one epoll_ctl per fd, the first time a wait
        needs it: EPOLL_CTL_ADD, for every event, edge-triggered. epoll
        refuses a regular file (EPERM); that wait then has no fd in the
        reactor (added false) and ends as the kernel's would - at once if the
        kernel check finds the file ready, else by its timer. A later wait on
        a registered fd makes no epoll_ctl at all. A wait that epoll ends
        leaves its timer queued until the task runs again and park() disarms
        it. select, with no kernel check of its own before io_poll, passes
        nonblocking_check true, and io_poll's first act is that check.
        """),
)

RULE_COUNT = 9


def rule_rows(t):
    """{rule number: (thread row, coroutine row)} of the table, the time cut off,
    and the times: {rule number: (thread ms, coroutine ms)}."""
    run = t.scene("rules")
    rows, times = {}, {}
    for number in range(1, RULE_COUNT + 1):
        start = run.index(r"^%d\. " % number)
        thread = run.line(r"^thread\s+poll = ", start)
        coroutine = run.line(r"^coroutine\s+poll = ", start)
        pair = []
        for line in (thread, coroutine):
            match = re.search(r"^\w+\s+(poll = .*?)\s+after (\d+) ms$", line)
            expect(match is not None, "rule %d: no result in %r" % (number, line))
            pair.append(match)
        rows[number] = tuple(re.sub(r"\s+", " ", m.group(1)) for m in pair)
        times[number] = tuple(int(m.group(2)) for m in pair)
    return rows, times


def expect_rule(rows, number, result):
    thread, coroutine = rows[number]
    expect(thread == result, "rule %d, the thread: %r, not %r" % (number, thread, result))
    expect(coroutine == result, "rule %d, the coroutine: %r, not %r" % (number, coroutine, result))


@fact("rules: the coroutine's poll returns what the thread's did, on all 9 rules (value, revents, errno)")
def same_answers(t):
    rows, _ = rule_rows(t)
    for number, (thread, coroutine) in rows.items():
        expect(thread == coroutine, "rule %d: thread %r, coroutine %r" % (number, thread, coroutine))
    expect(t.scene("rules").outcome.returncode == 0, "step5_poll_rules: " + t.scene("rules").outcome.describe())


@fact("rules: a negative fd gets revents 0; with only negative fds poll returns 0 after its 200 ms timeout")
def negative_fds(t):
    rows, times = rule_rows(t)
    expect_rule(rows, 1, "poll = 1 revents [0, POLLIN]")
    expect_rule(rows, 2, "poll = 0 revents [0, 0]")
    expect(all(ms >= 195 for ms in times[2]), "only negative fds returned after %s ms" % (times[2],))


@fact("rules: timeout 0 returns 0 at once; timeout -1 returns POLLIN when the pipe is written, >= 200 ms later")
def timeouts(t):
    rows, times = rule_rows(t)
    expect_rule(rows, 3, "poll = 0 revents [0]")
    expect(all(ms < 150 for ms in times[3]), "timeout 0 took %s ms" % (times[3],))
    expect_rule(rows, 4, "poll = 1 revents [POLLIN]")
    expect(all(ms >= 195 for ms in times[4]), "timeout -1 returned after %s ms" % (times[4],))


@fact("rules: POLLHUP, POLLERR and POLLNVAL come with events 0 too; events 0 on an idle pipe waits out the timeout")
def special_events(t):
    rows, times = rule_rows(t)
    expect_rule(rows, 5, "poll = 2 revents [POLLHUP, POLLHUP]")
    expect_rule(rows, 6, "poll = 2 revents [POLLOUT|POLLERR, POLLERR]")
    expect_rule(rows, 7, "poll = 2 revents [POLLNVAL, POLLNVAL]")
    expect_rule(rows, 8, "poll = 0 revents [0]")
    expect(all(ms >= 195 for ms in times[8]), "events 0 returned after %s ms" % (times[8],))
    expect_rule(rows, 9, "poll = -1 errno EFAULT")


@fact("rules: while the coroutine waited in poll(-1), the writer coroutine ran on the same thread")
def poll_parks_not_thread(t):
    run = t.scene("rules")
    writer = run.line(r"^\(rule 4: the writer coroutine runs while the poller waits in poll, on (.*?);")
    expect("on the same thread;" in writer, "the writer ran " + writer)
    expect(run.index(r"^a coroutine on this same thread") < run.index(r"^\(rule 4: ") < run.index(r"^1\. "),
           "the writer's line is not inside the coroutine run")


@fact("wake alone: poll returned 1 (B POLLIN), then 0 after its 500 ms timeout")
def wake_alone(t):
    run = t.scene("wake")
    first = run.index(r"poller: poll returned 1: A revents 0, B revents POLLIN$")
    expect(run.index(r"writer: running while the poller waits") < first, "the poller returned before the write")
    second = run.line(r"poller: poll returned 0 after (\d+) ms: A revents 0$", first)
    waited = int(re.search(r"after (\d+) ms", second).group(1))
    expect(waited >= 495, "the timed poll returned after %d ms" % waited)
    expect(run.outcome.returncode == 0, "step5_wake: " + run.outcome.describe())


@fact("wake in gdb: the poller is parked in io_block (poll on 2 fds) while the writer runs on the one processer")
def poller_parked(t):
    gdb = t.scene("wake-gdb")
    coroutines = gdb.after_command("info coroutines")
    expect(coroutines.has(r"^1\s+poller\s+io_block\s+poll on 2 fds\s+.*poller at step5_wake\.cpp:\d+"),
           "the poller is not parked in io_block, poll on 2 fds")
    expect(coroutines.has(r"^2\s+writer\s+running\s+-\s+running on thread 1: .*writer at step5_wake\.cpp"),
           "the writer is not running on thread 1")
    processers = gdb.after_command("info processers")
    expect(processers.has(r"1 processer,"), "not one processer")
    expect(processers.has(r"^0\s+LWP \d+, thread 1\s+#2 \"writer\""), "processer 0 does not run the writer")
    stack = gdb.after_command("coroutine 1 bt")
    order = [stack.index(pattern) for pattern in (
        r"^#\d+ .*co::detail::Processer::SwapOut", r"^#\d+ .*co::detail::park\(", r"^#5 .*poll_wait",
        r"^#\d+ .*co::detail::io_poll\(", r"^#\d+ .*poll\(pollfd\*, nfds_t, int\) .*hooks/poll_hooks\.cpp",
        r"^#\d+ .*poller\(\) .*step5_wake\.cpp")]
    expect(order == sorted(order), "the poller's stack is not poll -> io_poll -> poll_wait -> park -> SwapOut")


SENTRY_OF_TWO = (r"io_sentry of #1 \"poller\": 2 fds, triggered false, added true, no deadline = "
                 r"\{\[0\] = fd (\d+) events POLLIN revents %s, linked, \[1\] = fd (\d+) events POLLIN revents %s, linked\}")


@fact("wake in gdb: the io_sentry has both fds (POLLIN, revents 0, linked), triggered false, added true")
def the_io_sentry(t):
    gdb = t.scene("wake-gdb")
    listed = gdb.after_command("info io-sentries")
    expect(listed.has(r"^io_sentry 0x[0-9a-f]+ of #1 \"poller\" \(poll on 2 fds\): 2 fds, triggered false, "
                      r"added true, no deadline$"), "info io-sentries does not list the poller's io_sentry")
    called = re.search(r"poll\(\{A \(fd (\d+)\), POLLIN\}, \{B \(fd (\d+)\), POLLIN\}, timeout -1\)",
                       gdb.line(r"poller: poll\(\{A \(fd"))
    fds = [int(fd) for fd in called.groups()]
    for fd in fds:
        expect(listed.has(r"^%d\s+POLLIN\s+0\s+linked$" % fd), "info io-sentries: no row for fd %d" % fd)
    printed = gdb.after_command("print sentry")
    expect(printed.has(r"^\$\d+ = " + SENTRY_OF_TWO % ("0", "0")), "print sentry does not show the io_sentry")
    expect(printed.has(r"\[0\] = fd %d .*\[1\] = fd %d " % tuple(fds)), "the waiters are not A's and B's fds")
    expect(gdb.after_command("print sentry.waiters[1]").has(
        r"= fd %d events POLLIN revents 0, linked, io_sentry 0x[0-9a-f]+ of #1 \"poller\"" % fds[1]),
        "waiter 1 is not B's")
    fdctx = gdb.after_command("info fdctx")
    for fd in fds:
        expect(fdctx.has(r"^%d\s+pipe\s+\S+\s+yes\s+-\s+#1 \"poller\" POLLIN$" % fd),
               "info fdctx: fd %d has not the poller waiting, in the reactor" % fd)


@fact("wake in gdb: epoll woke it - claim <- wake <- Dispatch <- Harvest <- IdleWaiter::Wait; by 0; B's revents POLLIN")
def epoll_wake(t):
    gdb = t.scene("wake-gdb")
    expect(gdb.has(r"^\[co-break \d+\] io_block -> runnable: #1 \"poller\" runnable \(poll on 2 fds\)"),
           "no stop as the poller left io_block (poll on 2 fds)")
    bt = gdb.after_command("bt", occurrence=1)
    order = [bt.index(pattern) for pattern in (
        r"^#0 .*co::detail::\(anonymous namespace\)::claim", r"^#1 .*co::detail::wake\(",
        r"^#\d+ .*EpollReactor::Dispatch", r"^#\d+ .*EpollReactor::Harvest", r"^#\d+ .*IdleWaiter::Wait",
        r"^#\d+ .*Processer::Run")]
    expect(order == sorted(order), "the waker's stack is not Run -> Wait -> Harvest -> Dispatch -> wake -> claim")
    expect(not bt.has(r"writer"), "the writer is on the waker's stack")
    expect(gdb.after_command("print by", occurrence=1).has(r"^\$\d+ = 0$"), "by is not 0 (woken)")
    expect(gdb.after_command("print *(co::detail::IoSentry*)ticket.task->wait_object").has(
        r"^\$\d+ = " + SENTRY_OF_TWO % ("0", "POLLIN")), "the reactor did not mark B's waiter POLLIN")


@fact("wake in gdb: the processer's Run switches into the woken poller (SwapIn); park() returned true; poll gave B POLLIN")
def wake_reaches(t):
    gdb = t.scene("wake-gdb")
    bt = gdb.after_command("bt", occurrence=2)
    expect(bt.index(r"^#\d+ .*Processer::SwapIn") < bt.index(r"^#\d+ .*Processer::Run"),
           "no SwapIn from Processer::Run")
    expect(gdb.after_command("print woken", occurrence=1).has(r"^\$\d+ = true$"), "park() did not return true")
    after = gdb.index(r"^\(gdb\) print woken")
    expect(gdb.index(r"poller: poll returned 1: A revents 0, B revents POLLIN$", after) > after,
           "poll did not return B readable")


@fact("wake in gdb: the timer woke the timed poll - wake_by_timer <- FireTimers; by 3; park() false; poll returned 0")
def timer_wake(t):
    gdb = t.scene("wake-gdb")
    sentries = gdb.after_command("info io-sentries", occurrence=2)
    expect(sentries.has(r"of #1 \"poller\" \(poll on 1 fd, timed\): 1 fd, triggered false, added true, deadline "),
           "the timed io_sentry has no deadline")
    timers = gdb.after_command("info co-timers")
    expect(timers.has(r"^1 armed timer"), "not one armed timer")
    expect(timers.has(r"\s1\s+poller\s+io_block\s+poll on 1 fd, timed$"), "the poller's timer is not listed")
    bt = gdb.after_command("bt", occurrence=3)
    order = [bt.index(pattern) for pattern in (
        r"^#0 .*claim", r"^#1 .*co::detail::wake_by_timer", r"^#\d+ .*SchedulerCore::FireTimers",
        r"^#\d+ .*Processer::Run")]
    expect(order == sorted(order), "the waker's stack is not Run -> FireTimers -> wake_by_timer -> claim")
    expect(not bt.has(r"Harvest"), "the reactor is on the timer's stack")
    expect(gdb.after_command("print by", occurrence=2).has(r"^\$\d+ = 3$"), "by is not 3 (timed out)")
    expect(gdb.after_command("print woken", occurrence=2).has(r"^\$\d+ = false$"), "park() did not return false")
    line = gdb.line(r"poller: poll returned 0 after (\d+) ms: A revents 0$")
    expect(int(re.search(r"after (\d+) ms", line).group(1)) >= 495, "the timed poll returned early: " + line)
    expect(gdb.has(r"\[Inferior 1 \(process \d+\) exited normally\]"), "step5_wake did not end normally in gdb")


def poll_trace(gdb, number):
    """The [co-trace] lines of poll NUMBER (from its call to its return)."""
    begin = gdb.index(r"^poller: poll %d: " % number)
    call = gdb.index(r"^\[co-trace\] #1 \"poller\" call poll\(nfds=1\)$", begin)
    end = gdb.index(r"^\[co-trace\] #1 \"poller\" poll\(nfds=1\) = 1$", call)
    expect(gdb.index(r"^poller: poll %d returned 1 after \d+ ms, revents POLLIN$" % number, end) > end,
           "poll %d did not return 1, POLLIN" % number)
    return [line for line in gdb.lines[call + 1:end] if line.startswith("[co-trace]")]


@fact("race in gdb: a byte already there - poll 1 returned 1 without parking, and never reached io_poll")
def already_ready(t):
    gdb = t.scene("race-gdb")
    between = poll_trace(gdb, 1)
    expect(between == [], "poll 1 changed state: %s" % between)
    stop = gdb.index(r"^(?:Thread \d+ \"[^\"]*\" hit )?Breakpoint 2, co::detail::io_poll")
    expect(gdb.index(r"^poller: poll 1 returned 1") < gdb.index(r"^poller: poll 2: the FIFO is empty") < stop,
           "io_poll was reached before poll 2")


@fact("race in gdb: written after the link, before the check - triggered true, n 1, poll 2 returned 1 without parking")
def ready_before_check(t):
    gdb = t.scene("race-gdb")
    fd = int(re.search(r"read end fd (\d+)", gdb.line(r"^main: FIFO work/race\.fifo, read end fd \d+")).group(1))
    expect(gdb.after_command("print sentry", occurrence=1).has(
        r"io_sentry of #1 \"poller\": 1 fd, triggered false, added true, no deadline = "
        r"\{\[0\] = fd %d events POLLIN revents 0, linked\}" % fd), "the io_sentry is not linked, untriggered")
    expect(gdb.after_command("info fdctx fds[0].fd").has(r"^%d\s+.*\s+yes\s+-\s+#1 \"poller\" POLLIN$" % fd),
           "the FIFO's fd %d has not the poller waiting, in the reactor" % fd)
    expect(gdb.after_command("info coroutines").has(r"^1\s+poller\s+running\s"), "the poller is not running")
    expect(gdb.after_command("print n").has(r"^\$\d+ = 1$"), "the kernel check did not see the byte")
    expect(gdb.after_command("print sentry", occurrence=2).has(r"triggered true, added true"), "triggered is not true")
    between = poll_trace(gdb, 2)
    expect(between == [], "poll 2 changed state: %s" % between)


@fact("race in gdb: written after the check, before the park - it parked and the reactor's Harvest woke it; poll 3 returned 1")
def ready_after_check(t):
    gdb = t.scene("race-gdb")
    expect(gdb.after_command("print sentry.triggered").has(r"^\$\d+ = false$"), "triggered was true")
    bt = gdb.after_command("bt")
    expect(bt.index(r"^#\d+ .*EpollReactor::Harvest") < bt.index(r"^#\d+ .*Processer::Run"),
           "the reactor did not wake it")
    between = poll_trace(gdb, 3)
    expect(between[:3] == ['[co-trace] #1 "poller" running -> io_block (poll on 1 fd)',
                           '[co-trace] #1 "poller" io_block -> runnable',
                           '[co-trace] #1 "poller" runnable -> running on processer 0'],
           "poll 3's states: %s" % between)
    expect(gdb.has(r"\[Inferior 1 \(process \d+\) exited normally\]"), "step5_race did not end normally in gdb")


@fact("the scripts' breakpoints in io_poll.cpp are on the lines they explain (after linking, the check, park, after it)")
def script_lines(t):
    race, wake = t.scene("race-gdb"), t.scene("wake-gdb")
    linked = io_poll_line("io_waiters_added(linked);")
    listing = race.after_command(r"list \d+,\d+", regex=True)
    expect(listing.has(r"^%d\s+io_waiters_added\(linked\);$" % linked) and listing.has(r"^\d+\s+int n = ready_now\(fds, nfds, edge_answer\);$"),
           "the listing does not show the linking loop's end, then the kernel check")
    for scene, text in ((race, "io_waiters_added(linked);"),
                        (race, "if (sentry.triggered || signal_interrupts"),
                        (race, "bool woken = park(TaskState::io_block"),
                        (wake, "= unlink_all(sentry);")):
        line = io_poll_line(text)
        stop = scene.index(r"^(?:Thread \d+ \"[^\"]*\" hit )?Temporary breakpoint \d+, .*io_poll\.cpp:%d$" % line)
        expect(re.match(r"%d\s+.*%s" % (line, re.escape(text)), scene.lines[stop + 1]),
               "the stop at io_poll.cpp:%d shows %r, not %r" % (line, scene.lines[stop + 1], text))


def io_poll_line(text):
    """The number of io_poll.cpp's first line that contains text (the scripts
    find their lines the same way, with @line{...}@)."""
    with open(IO_POLL_CPP) as source:
        for number, line in enumerate(source, 1):
            if text in line:
                return number
    raise FactFailed("io_poll.cpp has no line containing %r" % text)


# ---- 5.4 --------------------------------------------------------------------

IO_POLL_CPP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime", "src", "io",
                           "io_poll.cpp")


def nonblocking_check_line():
    """The line of io_poll.cpp that asks the kernel for nonblocking_check: the
    one after `if (nonblocking_check) {` (searched, so the fact follows edits)."""
    with open(IO_POLL_CPP) as source:
        lines = source.read().splitlines()
    for number, text in enumerate(lines, start=1):
        if text.strip() == "if (nonblocking_check) {":
            expect("kernel_poll(fds, nfds, 0)" in lines[number], "io_poll.cpp:%d: no kernel check after it" % number)
            return number + 1
    raise FactFailed("io_poll.cpp has no `if (nonblocking_check) {` line")


def reactor_fds(scene):
    """(the regular file's fd, pipe A's read end) from step5_reactor's lines."""
    regular = re.search(r"regular file \(fd (\d+)\)", scene.line(r"poller: poll 1: \{regular file"))
    pipe = re.search(r"\{A \(fd (\d+)\)", scene.line(r"poller: poll 3: \{A \(fd"))
    return int(regular.group(1)), int(pipe.group(1))


def file_rows(scene):
    """{1 or 2: (thread row, coroutine row)} of the regular-file table, times cut off, and the times."""
    rows, times = {}, {}
    start = scene.index(r"^the regular file, polled by a thread and by a coroutine:$")
    for number in (1, 2):
        at = scene.index(r"^%d\. " % number, start)
        pair = [re.match(r"^(thread|coroutine)\s+(poll = .*?)\s+after (\d+) ms$", scene.lines[at + k]) for k in (1, 2)]
        expect(all(pair) and pair[0].group(1) == "thread" and pair[1].group(1) == "coroutine",
               "regular file row %d: %r" % (number, scene.lines[at + 1:at + 3]))
        rows[number] = tuple(re.sub(r"\s+", " ", m.group(2)) for m in pair)
        times[number] = tuple(int(m.group(3)) for m in pair)
    return rows, times


@fact("reactor: a regular file gives the coroutine the thread's answers - POLLIN|POLLOUT at once; "
      "POLLPRI: 0 after its 300 ms timeout")
def regular_file_answers(t):
    for name in ("reactor", "reactor-gdb"):
        scene = t.scene(name)
        rows, times = file_rows(scene)
        expect(rows[1] == ("poll = 1 revents [POLLIN|POLLOUT]",) * 2, "%s: POLLIN|POLLOUT: %s" % (name, rows[1]))
        expect(times[1][0] < 150 and times[1][1] < 150, "%s: POLLIN|POLLOUT took %s ms" % (name, times[1]))
        expect(rows[2] == ("poll = 0 revents [0]",) * 2, "%s: POLLPRI: %s" % (name, rows[2]))
        expect(all(ms >= 295 for ms in times[2]), "%s: POLLPRI returned after %s ms" % (name, times[2]))
    run = t.scene("reactor")
    expect(run.has(r"poller: poll 3 returned 1 after \d+ ms, revents POLLIN$") and
           run.has(r"poller: select 5 returned 1 after \d+ ms, A readable$"), "the pipe's poll or select failed")
    expect(run.outcome.returncode == 0, "step5_reactor: " + run.outcome.describe())


@fact("reactor in gdb: poll 1 of the regular file never reached add_into_reactor; poll 2's epoll_ctl(ADD, the "
      "file) returned -1 (EPERM); its io_sentry has added false; the file is not in the reactor")
def regular_file_refused(t):
    gdb = t.scene("reactor-gdb")
    regular, _ = reactor_fds(gdb)
    first_stop = gdb.index(r"^(?:Thread \d+ \"[^\"]*\" hit )?Breakpoint 2, co::detail::add_into_reactor")
    expect(gdb.index(r"poller: poll 1: poll = 1\s+revents \[POLLIN\|POLLOUT\]") < gdb.index(
        r"poller: poll 2: \{regular file") < first_stop, "add_into_reactor was reached before poll 2")
    expect(gdb.after_command("print *ctx", occurrence=1).has(r"= fd %d: other, .*not in reactor" % regular),
           "the first add_into_reactor is not for the regular file")
    bt = gdb.after_command("bt 3", occurrence=2)
    expect(bt.index(r"^#0 .*epoll_ctl") < bt.index(r"EpollReactor::Add") <= bt.index(r"add_into_reactor"),
           "the epoll_ctl was not made by EpollReactor::Add in add_into_reactor")
    expect(gdb.has(r"^epoll_ctl\(epfd \d+, op 1, fd %d\)$" % regular), "no epoll_ctl(ADD) of the regular file")
    expect(gdb.after_command("print (long)$rax", occurrence=1).has(r"^\$\d+ = -1$"), "epoll_ctl did not return -EPERM")
    expect(gdb.after_command("print sentry").has(
        r'io_sentry of #1 "poller": 1 fd, triggered false, added false, deadline in \d+ms = '
        r"\{\[0\] = fd %d events POLLPRI revents 0, linked\}" % regular), "the io_sentry is not added false")
    expect(gdb.after_command("info fdctx fds[0].fd").has(r"^%d\s+other\s+no\s+no\s+-\s+#1 \"poller\" POLLPRI$" % regular),
           "the regular file is in the reactor, or has no waiter")


@fact("reactor in gdb: the first wait on pipe A makes epoll_ctl(ADD, A), which returns 0; A is in the reactor")
def pipe_added(t):
    gdb = t.scene("reactor-gdb")
    regular, pipe = reactor_fds(gdb)
    expect(gdb.after_command("print *ctx", occurrence=2).has(r"= fd %d: pipe, .*not in reactor" % pipe),
           "the second add_into_reactor is not for A")
    expect(gdb.index(r"^epoll_ctl\(epfd \d+, op 1, fd %d\)$" % regular) <
           gdb.index(r"^epoll_ctl\(epfd \d+, op 1, fd %d\)$" % pipe), "no epoll_ctl(ADD) of A after the file's")
    expect(gdb.after_command("print (long)$rax", occurrence=2).has(r"^\$\d+ = 0$"), "epoll_ctl(ADD, A) failed")
    table = gdb.after_command("info fdctx", occurrence=1)
    expect(table.has(r"^%d\s+pipe\s+\S+\s+yes\s+-\s+#1 \"poller\" POLLIN$" % pipe), "A is not in the reactor")
    expect(table.has(r"^%d\s+other\s+no\s+no\s" % regular), "the regular file is in the reactor")


@fact("reactor in gdb: a wait that epoll ends - its timer is armed at the park, still queued at the reactor's "
      "wake, disarmed by park() when the task runs: `No armed timers.`")
def timer_cancelled(t):
    gdb = t.scene("reactor-gdb")
    before = gdb.after_command("info co-timers", occurrence=1)
    expect(before.has(r"^1 armed timer") and before.has(r"\s1\s+poller\s+io_block\s+poll on 1 fd, timed$"),
           "no armed timer of the poller at its park")
    bt = gdb.after_command("bt 5")
    order = [bt.index(p) for p in (r"^#0 .*claim", r"^#1 .*co::detail::wake\(", r"Dispatch", r"Harvest")]
    expect(order == sorted(order) and bt.has(r"\bby=(by@entry=)?0\b"), "the reactor did not wake it")
    woken = gdb.after_command("info co-timers", occurrence=2)
    expect(woken.has(r"\s1\s+poller\s+runnable\s+poll on 1 fd, timed$"), "the timer is not still queued at the wake")
    disarm = gdb.after_command("bt 3", occurrence=3)
    expect(disarm.has(r"^#0 .*SchedulerCore::DisarmTimer") and disarm.has(r"^#1 .*co::detail::park\(") and
           disarm.has(r"^#2 .*poll_wait"), "DisarmTimer was not called by park in poll_wait")
    expect(gdb.after_command("info co-timers", occurrence=3).has(r"^No armed timers\.$"), "the timer is still armed")


@fact("reactor in gdb: the second wait on A - add_into_reactor finds it registered, and no epoll_ctl comes before the park")
def registered_once(t):
    gdb = t.scene("reactor-gdb")
    _, pipe = reactor_fds(gdb)
    begin = gdb.index(r"poller: poll 4: \{A \(fd %d\)" % pipe)
    expect(gdb.after_command("print ctx->registered").has(r"^\$\d+ = true$"), "A was not registered")
    park = gdb.index(r'^\[co-break \d+\] running -> io_block: #1 "poller"', begin)
    expect(not any("syscall epoll_ctl" in line for line in gdb.lines[begin:park]),
           "an epoll_ctl came during poll 4")
    expect(gdb.index(r"^Catchpoint \d+ \(syscall 'epoll_ctl'", 0) < begin, "no catchpoint on epoll_ctl was set")
    expect(gdb.after_command("info fdctx", occurrence=2).has(r"^%d\s+pipe\s+\S+\s+yes\s" % pipe),
           "A is not in the reactor at poll 4")
    expect(gdb.has(r"poller: poll 4 returned 1 after \d+ ms, revents POLLIN$"), "poll 4 did not return POLLIN")


@fact("reactor in gdb: select calls io_poll with nonblocking_check true; its first kernel poll is poll_wait's "
      "nonblocking check (timeout 0); select returns 1 without parking")
def select_nonblocking_check(t):
    gdb = t.scene("reactor-gdb")
    bt = gdb.after_command("bt 4", occurrence=1)
    expect(bt.has(r"^#0 .*co::detail::io_poll\(.*nonblocking_check=(nonblocking_check@entry=)?true\)"),
           "io_poll did not get nonblocking_check true")
    # io_poll's callers up to the hooked select (inlined helpers may add a frame).
    expect(bt.has(r"^#[1-3] .*select_body") and bt.has(r"^#[2-3] .*select\(int, fd_set\*"),
           "io_poll was not called by select")
    check = gdb.after_command("bt 4", occurrence=2)
    expect(check.has(r"^#0 .*syscall \(\)"), "the stop is not at the poll system call")
    frame = check.line(r"^#\d+ .*poll_wait\(.*nonblocking_check=(nonblocking_check@entry=)?true")
    line = int(re.search(r"io_poll\.cpp:(\d+)$", frame).group(1))
    expect(line == nonblocking_check_line(), "the poll came from io_poll.cpp:%d, not the nonblocking check (line %d)"
           % (line, nonblocking_check_line()))
    expect(gdb.after_command("print (int)$rdx").has(r"^\$\d+ = 0$"), "the check's timeout is not 0")
    begin = gdb.index(r"poller: select 5: A")
    end = gdb.index(r"poller: select 5 returned 1 after \d+ ms, A readable$", begin)
    expect(not any('"poller" running -> io_block' in line for line in gdb.lines[begin:end]), "select parked")
    expect(gdb.has(r"\[Inferior 1 \(process \d+\) exited normally\]"), "step5_reactor did not end normally in gdb")


@fact("the two wakes, traced: the JSON trace parses, the reactor and the timer each wake the poller, the picture is drawn")
def wake_timeline(t):
    expect_timeline(t, "wake-timeline", "reactor", "timer")


FACTS = (script_lines, same_answers, negative_fds, timeouts, special_events, poll_parks_not_thread, wake_alone, poller_parked,
         the_io_sentry, epoll_wake, wake_reaches, timer_wake, already_ready, ready_before_check, ready_after_check,
         regular_file_answers, regular_file_refused, pipe_added, timer_cancelled, registered_once,
         select_nonblocking_check, wake_timeline)


# The step's map, printed before it begins (walklib/runner.py); README.md has it as a
# diagram ("The map").
DIAGRAM = r"""
poll in a coroutine (hooks/poll_hooks.cpp -> io_poll -> poll_wait), and the two that can
end its wait. Whoever claims the ticket first wakes the task; the other finds it taken.

  coroutine 1's stack                               thread 1's own stack
  -----------------------------------------------   ------------------------------------------
  poll(fds, nfds, timeout)
    io_poll -> poll_wait
      timeout 0, or no fd >= 0: the kernel's poll, or a plain sleep
      select only: nonblocking check, poll(.., 0)
      prepare_park: a ticket, in an io_sentry
      each fd: FdCtx link + add_into_reactor
        (epoll_ctl ADD, MOD; EPERM: a regular file)
      the kernel's poll(.., 0) again: triggered?
        ready now -> return without parking
      arm_timer (if timed), park(io_block)
        SwapOut -- jump_fcontext ----------------->  Processer::Run: other tasks, or idle:
                                                      the reactor: Harvest (epoll_wait)
                                                        -> Dispatch(FdCtx) -> wake(ticket)
                                                      or the timer: FireTimers
                                                        -> wake_by_timer(ticket)
      park() returns <-- jump_fcontext -- SwapIn --   (claim: one compare-and-swap, once)
      unlink the waiters; the kernel's poll(.., 0)
      gives revents and the count poll returns
"""


# `walk 5 --exercise K` (walklib/exercises.py): each answer is checked against a fresh run.
from walklib.exercises import Exercise, ExerciseError, gdb_output, program_output, same_flags  # noqa: E402
from walklib.exercises import same_numbers, search  # noqa: E402


def rule6_coroutine_revents(ctx):
    lines = program_output(ctx, ["step5_poll_rules"])
    rule = [i for i, line in enumerate(lines) if line.strip().startswith("6. ")]
    if not rule:
        raise ExerciseError("step5_poll_rules did not show rule 6")
    for line in lines[rule[0] + 1:]:
        if line.strip().startswith("coroutine"):
            return search(r"revents \[([A-Z|0-9]+)", line, "the coroutine's revents of rule 6")
    raise ExerciseError("step5_poll_rules did not show the coroutine's line of rule 6")


def first_epoll_ctl(ctx):
    text = gdb_output(ctx, "step5_reactor", ["start", "break co::detail::add_into_reactor", "continue",
                                             "catch syscall epoll_ctl", "continue", 'printf "WALK-FD %d\\n", $rdx',
                                             "continue", 'printf "WALK-RESULT %ld\\n", (long)$rax'])
    return "%s %s" % (search(r"^WALK-FD (-?\d+)$", text, "the fd of the first epoll_ctl"),
                      search(r"^WALK-RESULT (-?\d+)$", text, "what the first epoll_ctl returned"))


EXERCISES = (
    Exercise(
        "POLLERR nobody asked for",
        task="""
            In the programs' directory, {dir}, run:

                ./step5_poll_rules

            Rule 6 closes a pipe's read end, then polls its write end for POLLOUT.
            """,
        question="Which revents does the hooked poll (the coroutine's line of rule 6) report for the first fd? "
                 "(flags joined with |, in any order)",
        truth=rule6_coroutine_revents,
        compare=same_flags,
        why="The thread's line says the same: POLLERR is always reported, asked for or not, and the hooked "
            "poll takes every revents from the kernel's own poll."),
    Exercise(
        "The reactor refuses a regular file",
        task="""
            Stop at the first add_into_reactor of step5_reactor, then at the next
            epoll_ctl system call, on its way in and on its way out:

                {gdb:step5_reactor}
                (gdb) start
                (gdb) break co::detail::add_into_reactor
                (gdb) continue
                (gdb) catch syscall epoll_ctl
                (gdb) continue
                (gdb) printf "fd %d\\n", $rdx
                (gdb) continue
                (gdb) print (long)$rax
            """,
        question="Which fd did that epoll_ctl try to add, and what did the system call return? "
                 "Two numbers: FD RESULT.",
        truth=first_epoll_ctl,
        compare=same_numbers,
        why="A regular file: epoll refuses it (-1 is -EPERM, the kernel's way of returning an error), "
            "add_into_reactor returns false, and poll_wait's kernel check reports the file ready at once."),
)
