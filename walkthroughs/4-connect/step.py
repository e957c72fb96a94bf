"""Step 4: connect - the originals table, coroutine_hook_init, the three
outcomes of a non-blocking connect, and a connect that parks until the
reactor wakes it."""

import os
import re

from walklib.facts import FactFailed, expect, expect_timeline, fact, stamp_ms
from walklib.scenes import Custom, Gdb, Part, Run, Say, Shell, Timeline, run_shell

TITLE = "Reading the hooks: connect"
NOTES_HEADING = "第四步：静态分析linux_glic_hook.cpp"
TARGETS = ("step4_programs",)

LIBC_SO = "$(ldd ./step4_outcomes | awk '$1 == \"libc.so.6\" {print $3}')"


# ---- TCP's patience with an unanswered SYN --------------------------------------

SYSCTLS = ("tcp_syn_retries", "tcp_syn_linear_timeouts", "tcp_rto_max_ms")


def syn_schedule(retries, linear, rto_max_s):
    """The kernel's SYN timer for a connect nobody answers, step by step as
    tcp_retransmit_timer and tcp_write_timeout (net/ipv4/tcp_timer.c, Linux
    6.5 on) run it: the retransmission timer starts at 1 s (TCP_TIMEOUT_INIT);
    each time it fires, the SYN is given up after retries + linear resends, or
    once the time since the first SYN reaches tcp_model_timeout(retries, 1 s);
    else it is sent again, and the timer doubles (up to rto_max) only once
    more than `linear` resends were made. Returns (resend times, give-up time)
    in seconds from the first SYN."""
    threshold = (rto_max_s // 1).bit_length() - 1  # ilog2(TCP_RTO_MAX / rto_base)
    if retries <= threshold:
        model = (2 << retries) - 1
    else:
        model = (2 << threshold) - 1 + (retries - threshold) * rto_max_s
    rto, now, resends = 1, 0, []
    while True:
        now += rto
        if len(resends) >= retries + linear or (resends and now >= model):
            return resends, now
        resends.append(now)
        if len(resends) > linear:  # icsk_backoff > tcp_syn_linear_timeouts
            rto = min(rto * 2, rto_max_s)


def syn_timeout(ctx, console, record):
    """Shows this machine's SYN settings, then the schedule they give."""
    outcome = run_shell(ctx, console, "cd /proc/sys/net/ipv4 && grep . %s" % " ".join(SYSCTLS))
    values = {}
    for line in record.lines:
        match = re.match(r"^\s*(tcp_\w+):(\d+)$", line)
        if match:
            values[match.group(1)] = int(match.group(2))
    if "tcp_syn_retries" not in values:
        console.say("This machine does not show tcp_syn_retries (%s)." % outcome.describe())
        return
    linear = values.get("tcp_syn_linear_timeouts", 0)  # before Linux 6.5: none
    rto_max_s = values.get("tcp_rto_max_ms", 120000) // 1000  # before 6.15: TCP_RTO_MAX, 120 s
    resends, give_up = syn_schedule(values["tcp_syn_retries"], linear, rto_max_s)
    record.data["give_up_s"] = give_up
    console.output("")
    console.output("tcp_syn_retries %d, tcp_syn_linear_timeouts %d, rto max %d s:"
                   % (values["tcp_syn_retries"], linear, rto_max_s))
    console.output("  the SYN at 0 s, sent again at %s s (%d resends)"
                   % (", ".join(str(t) for t in resends), len(resends)))
    console.output("  connect gives up at %d s (%s): ETIMEDOUT" % (give_up, minutes_text(give_up)))
    console.say("""
        So the connector's SO_SNDTIMEO of 5 minutes is %s than TCP's own
        patience here: %s. (Kernel timers that long are coarse: the give-up
        may come a few seconds later than computed.)
        """ % (("longer", "a SYN nobody answers ends in ETIMEDOUT from TCP, before the timer")
               if give_up < 300 else
               ("not longer", "the 5-minute timer would end the wait first, with EINPROGRESS")))


def minutes_text(seconds):
    return "%d min %d s" % divmod(seconds, 60) if seconds >= 60 else "%d s" % seconds


SCENES = (
    Part("4.1  connect_f: static and dynamic \"linking\""),
    Say("""
        The notes begin with the table of original functions: connect_f is
        "静态“链接”" (a declaration the linker fills in) on one path and
        "动态“链接”" (asked for through an API at run time) on the other, and
        "connect_f 把静态“链接”和动态“链接”的函数统一了起来". coscope's table is
        hooks/originals.cpp. libcoscope defines connect (the hook, T), holds the
        pointer connect_f (B), and refers to glibc's internal name
        __libc_connect weakly (w: undefined, and no error if nothing defines it):
        """),
    Shell("nm-coscope",
          "nm -D ../../runtime/libcoscope.so | grep -w -E 'connect|connect_f|__libc_connect|coroutine_hook_init'"),
    Say("""
        glibc's shared library exports its connect under two names, connect and
        __connect - not __libc_connect. Its static archive, the one `gcc -static`
        links, defines all three in connect.o:
        """),
    Shell("nm-libc", "nm -D %s | grep -w -E 'connect|__connect|__libc_connect'" % LIBC_SO),
    Shell("nm-libc-a", "nm $(gcc -print-file-name=libc.a) 2>/dev/null | sed -n '/^connect.o:$/,/^$/p'"),
    Say("""
        So the weak reference finds nothing in a dynamically linked program and
        glibc's connect in a static one, and dlsym(RTLD_NEXT) the other way
        round. weak_connect.c asks both, built twice:
        """),
    Run("weak-dynamic", ["weak_connect_dynamic"]),
    Run("weak-static", ["weak_connect_static"]),
    Say("""
        That is why the table tries both (hooks/originals.cpp): dlsym(RTLD_NEXT,
        "connect") first, which in a dynamic program finds glibc's connect - the
        next definition after the hook's own - and, when dlsym has nothing to
        search (a fully static program), the weak __libc_connect, if the
        static link filled it in. Neither "links" anything at run time in the
        notes' sense: the weak reference is resolved by the link, dlsym by a
        lookup of the name in the loaded libraries. (libgo, as the notes read
        it, chose one way when it was compiled: dlsym in its shared library,
        a plain extern __connect in its static one, meant for -static links;
        linux_glibc_hook.cpp, 2016-2018.)

        A coscope program, built the same two ways: coscope_connect.cpp says
        how its table was filled and what connect_f is, then connects from a
        coroutine to a listener whose accept queue is full, as 4.4 does. The
        static one links libcoscope's objects from an archive (spdlog and fmt
        are compiled into libcoscope; nothing else needs a shared library):
        """),
    Run("coscope-dynamic", ["coscope_connect_dynamic"]),
    Run("coscope-static", ["coscope_connect_static"]),
    Shell("nm-coscope-static",
          "nm -C ./coscope_connect_static | grep -E ' (connect|connect_f|__libc_connect)$|sys_connect'"),
    Say("""
        In the static coscope program the weak __libc_connect stayed null. A
        weak reference does not make the linker take anything from an archive:
        weak_connect.c calls connect itself, which took glibc's connect.o - and
        __libc_connect with it - into its link; a coscope program's calls name
        connect, which the hook defines, so nothing takes connect.o. The table
        then falls back to its third way, a direct system call: connect_f is
        sys_connect of hooks/originals.cpp. The hook works the same on top of
        it: the connector parked in io_block, waiting for its fd to become
        writable, while the acceptor ran on the same thread, and its connect
        returned 0 once TCP's second SYN found room.
        """),
    Part("4.2  coroutine_hook_init, and connect outside a coroutine, in gdb"),
    Gdb("originals-gdb", "originals.gdb", "step4_outcomes"),
    Part("4.3  The three outcomes of a non-blocking connect"),
    Say("""
        "非阻塞connect有三种基本的情况": done at once and succeeded, done at once
        and failed, or -1 EINPROGRESS - wait until writable, then SO_ERROR.
        step4_outcomes connects to four loopback targets, each five ways: the
        kernel's own system call (syscall(SYS_connect), no hook, no glibc) on a
        non-blocking and on a blocking socket, and the hooked connect() on a
        blocking socket outside and inside a coroutine and on a non-blocking
        socket inside one. Then two bad fds, for the hook's fd checks.
        """),
    Run("outcomes", ["step4_outcomes"]),
    Say("""
        AF_UNIX connects at once, both ways; TCP on loopback says EINPROGRESS
        first, even to a listening port. Each hooked line is the
        kernel's line above it: a non-blocking socket gets EINPROGRESS back
        (the hook passes it through), a blocking one gets the final result, in
        a coroutine as outside - the hook returns what the kernel would.
        libgo's hook (linux_glibc_hook.cpp, 2016-2018) would not, for the
        refused TCP connect: it says ETIMEDOUT whenever poll's revents is not
        exactly POLLOUT, and here it is POLLOUT|POLLERR|POLLHUP.
        """),
    Part("4.4  A connect that waits"),
    Say("""
        A listening port on loopback answers at once: there is nothing to
        watch. To see the wait, step4_connect_wait fills a listener's accept
        queue (listen(fd, 0) holds one connection): the kernel drops the next
        SYN, and TCP sends it again a second later. The connector's blocking
        connect() waits for that; the acceptor makes room after 200 ms.
        """),
    Run("wait", ["step4_connect_wait"]),
    Say("""
        A second later, then? Not forever: TCP sends a SYN again only so many
        times, then the connect fails with ETIMEDOUT. How many times, and how
        far apart, the kernel's settings say (net/ipv4/tcp_timer.c since
        Linux 6.5: the SYN is sent again after 1 s, then tcp_syn_linear_timeouts
        more times 1 s apart, then the wait doubles - 2, 4, 8 s ... up to
        tcp_rto_max_ms, 120 s by default; it gives up after
        tcp_syn_retries + tcp_syn_linear_timeouts resends, or once the time
        since the first SYN passes what tcp_syn_retries doublings from 1 s
        would take). This machine's settings, and what they make of a SYN
        nobody answers:
        """),
    Custom("syn-timeout", syn_timeout),
    Gdb("wait-gdb", "connect_wait.gdb", "step4_connect_wait"),
    Say("""
        The connect that waits, as a picture (COSCOPE_TRACE=FILE.json, drawn by
        scripts/coscope-timeline; docs/trace.md): the connector leaves the
        processer in connect(), parked on "fd N writable", and the arrow from
        the reactor's lane - the epoll event of the accepted SYN - brings it back.
        """),
    Timeline("wait-timeline", ["step4_connect_wait"], "step 4: the reactor wakes the waiting connect"),
    Part("4.5  Why doesn't connect use a central controller?"),
    Say("""
        The notes: "sleep的实现和connect有一定不一样，会利用一个集中的控制器 ...
        connect为什么不利用一个集中的控制器，统一epoll？". In the trace it does. The
        connector parked through the same park() as sleep, with the same
        io_sentry machinery as the hooked poll (io_wait_fd -> poll_wait, the
        role of libgo_poll); its fd went into the one epoll instance of the
        process (add_into_reactor); the wake came from Harvest, on the idle
        processer, not from the connector. sleep's controller is the
        scheduler's timer queue, connect's is the reactor - plus that same
        timer queue when SO_SNDTIMEO bounds the wait, as info co-timers showed.
        The notes' own answer comes at the end of their step: the poll in
        libgo's connect is not the kernel's poll but the hooked one ("要么不阻塞，
        要么会切换协程"). Whether that poll blocks the thread
        ("poll操作是线程阻塞的还是线程非阻塞的？") is step 5's.
        """),
    Part("4.6  connect on a socket the program made non-blocking"),
    Say("""
        The outcomes table had the hooked connect on a socket made with
        SOCK_NONBLOCK. libgo's connect checks the program's own choice first
        (`if (fd_ctx->user_nonblock()) return connect_f(...)`, in
        libgo/linux/linux_glibc_hook.cpp), and so does coscope's.
        step4_user_nonblock makes a plain socket, sets
        O_NONBLOCK on it with fcntl, and connects to a listening loopback
        port from a coroutine. Alone:
        """),
    Run("user-nonblock", ["step4_user_nonblock"]),
    Gdb("user-nonblock-gdb", "user_nonblock.gdb", "step4_user_nonblock"),
    Say("""
        The hooked fcntl recorded the program's O_NONBLOCK in the FdCtx
        (user_nonblocking, `Non-blocking user` in info fdctx), so the hook's
        first test (choose_path) chose the pass-through: connect_f's -1
        EINPROGRESS came back as it was, with no try-then-wait and no park -
        the program asked for a non-blocking connect and got one. In 4.4, on a
        blocking socket, the same hook went on past that test, called
        connect_f on its next line and then waited.
        """),
)


# ---- 4.1 --------------------------------------------------------------------

@fact("nm: libcoscope defines connect and connect_f and refers to __libc_connect weakly; "
      "libc.so.6 exports connect and __connect only; libc.a's connect.o defines __libc_connect")
def names_in_the_libraries(t):
    coscope = t.scene("nm-coscope")
    expect(coscope.has(r"^[0-9a-f]+ T connect$"), "libcoscope does not define connect")
    expect(coscope.has(r"^[0-9a-f]+ B connect_f$"), "libcoscope has no connect_f")
    expect(coscope.has(r"^w __libc_connect$"), "__libc_connect is not a weak undefined reference")
    libc = t.scene("nm-libc")
    expect(libc.has(r" W connect@@GLIBC") and libc.has(r" W __connect@@GLIBC"),
           "libc.so.6 does not export connect and __connect")
    expect(not any("__libc_connect" in line for line in libc.lines if not line.startswith("$ ")),
           "libc.so.6 exports __libc_connect")
    archive = t.scene("nm-libc-a")
    expect(archive.has(r"^connect\.o:$") and archive.has(r" T __libc_connect$"),
           "libc.a's connect.o does not define __libc_connect")


@fact("weak_connect: dynamic - __libc_connect null, dlsym(RTLD_NEXT) finds connect in libc.so.6; "
      "static - __libc_connect is connect, dlsym(RTLD_NEXT) finds nothing")
def weak_and_dlsym(t):
    dynamic = t.scene("weak-dynamic")
    expect(dynamic.has(r"__libc_connect \(weak\)\s+\(nil\)"), "the weak reference is not null when linked dynamically")
    expect(dynamic.has(r"dlsym\(RTLD_NEXT, \"connect\"\)\s+0x[0-9a-f]+\s+= connect, in \S*libc\.so\.6"),
           "dlsym(RTLD_NEXT) did not find libc.so.6's connect")
    static = t.scene("weak-static")
    expect(static.has(r"__libc_connect \(weak\)\s+0x[0-9a-f]+\s+= connect$"), "the weak reference is not connect in -static")
    expect(static.has(r"dlsym\(RTLD_NEXT, \"connect\"\)\s+\(nil\)"), "dlsym(RTLD_NEXT) found something in -static")
    expect(dynamic.outcome.returncode == 0 and static.outcome.returncode == 0, "a weak_connect program failed")


@fact("a coscope program both ways: dynamic - by dlsym(RTLD_NEXT), connect_f in libc.so.6; "
      "static - by static aliases, __libc_connect null, connect_f is sys_connect; in both the connect "
      "parks in io_block (fd writable) and returns 0")
def coscope_both_ways(t):
    dynamic = t.scene("coscope-dynamic")
    expect(dynamic.has(r"main: linked dynamically; originals found by dlsym\(RTLD_NEXT\)$"),
           "the dynamic program's originals were not found by dlsym")
    expect(dynamic.has(r"main: connect_f 0x[0-9a-f]+ = \w*connect, in \S*libc\.so\.6$"),
           "the dynamic program's connect_f is not glibc's connect")
    static = t.scene("coscope-static")
    expect(static.has(r"main: linked with -static; originals found by static aliases$"),
           "the static program's originals were not found without dlsym")
    match = None
    for line in static.lines:
        match = match or re.search(r"main: connect_f 0x([0-9a-f]+); the weak __libc_connect is \(nil\)$", line)
    expect(match is not None, "the static program's connect_f line is missing, or __libc_connect is not null")
    nm = t.scene("nm-coscope-static")
    expect(nm.has(r"^0*%s t \(anonymous namespace\)::sys_connect\(" % match.group(1)),
           "connect_f is not sys_connect in the static program")
    for program in (dynamic, static):
        expect(program.has(r"acceptor: the connector is io_block, waiting for: fd writable$"),
               "the connector was not parked waiting for its fd")
        expect(program.has(r"connector: connect returned 0$"), "a connect did not return 0")
        expect(program.outcome.returncode == 0, "a coscope_connect program failed")


# ---- 4.2 --------------------------------------------------------------------

@fact("originals in gdb: coroutine_hook_init runs before main, from libcoscope's constructor under _dl_init, "
      "with connect_f still null")
def init_before_main(t):
    gdb = t.scene("originals-gdb")
    bt = gdb.after_command("bt 5")
    expect(bt.has(r"^#0 .*coroutine_hook_init"), "frame #0 is not coroutine_hook_init")
    expect(bt.has(r"init_hooks_early"), "not called from init_hooks_early")
    expect(bt.has(r"_dl_init"), "not under the dynamic linker's _dl_init")
    expect(not bt.has(r"\bmain \("), "main is already on the stack")
    expect(gdb.after_command("print connect_f").has(r"= \(connect_t\) 0x0$"), "connect_f was not null yet")
    expect(gdb.after_command("forward-search g_missing_count > 0").has(r"^\d+\s+if \(g_missing_count > 0\)"),
           "the check for missing originals was not found")


@fact("originals in gdb: at main nothing is missing, by dlsym(RTLD_NEXT); connect_f is in libc.so.6, "
      "connect in libcoscope")
def table_filled(t):
    gdb = t.scene("originals-gdb")
    expect(gdb.after_command("print '(anonymous namespace)::g_missing_count'").has(r"= 0$"),
           "g_missing_count is not 0")
    expect(gdb.after_command("print '(anonymous namespace)::g_resolution'", occurrence=2)
           .has(r'"dlsym\(RTLD_NEXT\)"'), "the originals did not come from dlsym(RTLD_NEXT)")
    expect(gdb.after_command("info symbol connect_f").has(r"in section \.text of \S*libc\.so\.6"),
           "connect_f does not point into libc.so.6")
    expect(gdb.after_command("info symbol connect").has(r"^connect in section \.text of \S*libcoscope\.so"),
           "connect is not libcoscope's")


@fact("originals in gdb: outside a coroutine (none exists), the hook calls glibc's connect at once "
      "(connect_body -> __libc_connect), which returns 0")
def outside_passes_through(t):
    gdb = t.scene("originals-gdb")
    bt2 = gdb.after_command("bt 2")
    expect(bt2.has(r"^#0 .*connect\(int, sockaddr const\*, socklen_t\) .*at \S*hooks/fd_hooks\.cpp"),
           "did not stop in the hook's connect")
    expect(bt2.has(r"hooked_connect"), "the hook was not called from main's hooked_connect")
    expect(gdb.after_command("info coroutines").has(r"No coroutines"), "a coroutine exists already")
    bt3 = gdb.after_command("bt 3")
    expect(bt3.has(r"^#0 .*__libc_connect") and bt3.has(r"^#1 .*connect_body"),
           "glibc's connect was not called from connect_body")
    expect(gdb.after_command("finish").has(r"^Value returned is \$\d+ = 0$"), "glibc's connect did not return 0")


# ---- 4.3 --------------------------------------------------------------------

WAYS = ("kernel, non-blocking socket", "connect() in a coroutine, O_NONBLOCK", "kernel, blocking socket",
        "connect() outside a coroutine", "connect() in a coroutine")


def outcomes(t):
    """{target title (up to its address): {way: result}}."""
    run = t.scene("outcomes")
    table, current = {}, None
    for line in run.lines:
        row = re.match(r"^(.+?):\s{2,}(\S.*)$", line)
        if row and current is not None:
            table[current][row.group(1)] = row.group(2)
        elif re.match(r"^(AF_UNIX|TCP|fd -1|a pipe)", line):
            current = re.sub(r" \(.*\)$", "", line)
            table[current] = {}
    return table


EXPECTED = {
    "AF_UNIX, a listening socket": ("0", "0"),
    "AF_UNIX, a name nobody listens on": ("-1 ECONNREFUSED", "-1 ECONNREFUSED"),
    "TCP, a listening port": ("-1 EINPROGRESS; poll: POLLOUT; SO_ERROR 0", "0"),
    "TCP, a port nobody listens on": ("-1 EINPROGRESS; poll: POLLOUT\\S*; SO_ERROR ECONNREFUSED", "-1 ECONNREFUSED"),
}


@fact("outcomes: the kernel's non-blocking connect gives the notes' three cases - 0 (AF_UNIX listening), "
      "ECONNREFUSED at once (AF_UNIX, nobody), EINPROGRESS then SO_ERROR 0 / ECONNREFUSED (TCP)")
def three_outcomes(t):
    table = outcomes(t)
    for target, (nonblocking, blocking) in EXPECTED.items():
        expect(target in table, "no lines for %s" % target)
        got = table[target].get(WAYS[0], "")
        expect(re.fullmatch(nonblocking, got), "%s, non-blocking: %r" % (target, got))
        got = table[target].get(WAYS[2], "")
        expect(re.fullmatch(blocking, got), "%s, blocking: %r" % (target, got))
    expect(t.scene("outcomes").outcome.returncode == 0, "step4_outcomes: " + t.scene("outcomes").outcome.describe())


@fact("outcomes: the hook returns what the kernel would - non-blocking in a coroutine = the kernel's "
      "non-blocking; blocking outside and in a coroutine = the kernel's blocking; EBADF and ENOTSOCK alike")
def hook_matches_kernel(t):
    table = outcomes(t)
    for target in EXPECTED:
        ways = table[target]
        expect(ways.get(WAYS[1]) == ways.get(WAYS[0]), "%s: %r vs %r" % (target, ways.get(WAYS[1]), ways.get(WAYS[0])))
        for way in WAYS[3:]:
            expect(ways.get(way) == ways.get(WAYS[2]), "%s, %s: %r vs %r" % (target, way, ways.get(way), ways.get(WAYS[2])))
    for target, error in (("fd -1", "-1 EBADF"), ("a pipe's fd", "-1 ENOTSOCK")):
        ways = table.get(target, {})
        expect(ways.get("kernel") == error and ways.get("connect() in a coroutine") == error,
               "%s: %r" % (target, ways))


# ---- 4.4 --------------------------------------------------------------------

@fact("wait: the connector's connect returns 0 about a second (TCP's SYN retry) after it began, after the "
      "acceptor made room, as soon as the connection is there (when the acceptor accepts it)")
def connect_waited(t):
    run = t.scene("wait")
    began = run.index(r"connector: connect\(fd \d+\)")
    room = run.index(r"acceptor: accepted main's connection")
    done = run.index(r"connector: connect returned 0$")
    accepted = run.index(r"acceptor: accepted the connector's connection")
    expect(began < room < done and room < accepted, "the lines are out of order")
    waited = stamp_ms(run.lines[done]) - stamp_ms(run.lines[began])
    expect(waited >= 900, "connect returned after %d ms only" % waited)
    late = stamp_ms(run.lines[done]) - stamp_ms(run.lines[accepted])
    expect(late < 500, "connect returned %d ms after the connection was accepted" % late)
    expect(run.outcome.returncode == 0, "step4_connect_wait: " + run.outcome.describe())


@fact("wait in gdb: at the hook the socket is blocking and not in the reactor; connect_f (__libc_connect, "
      "from connect_body) returns -1 with errno 115, EINPROGRESS, on the socket the hook made non-blocking")
def connect_f_in_progress(t):
    gdb = t.scene("wait-gdb")
    expect(gdb.has(r"^\[co-break \d+\] connect\(fd=\d+\) in coroutine #1"), "no co-break stop at connect")
    before = gdb.after_command("info fdctx fd", occurrence=1)
    expect(before.has(r"^\d+\s+socket \(stream\)\s+no\s+no\s+recv -, send 5m00s\s+-$"), "the fd before the try")
    bt = gdb.after_command("bt 3", occurrence=2)
    expect(bt.has(r"^#0 .*__libc_connect") and bt.has(r"^#1 .*connect_body"), "connect_f's caller")
    expect(gdb.after_command("finish").has(r"^Value returned is \$\d+ = -1$"), "connect_f did not return -1")
    expect(gdb.after_command("print errno").has(r"= 115$"), "errno is not 115 (EINPROGRESS)")
    after = gdb.after_command("info fdctx fd", occurrence=2)
    expect(after.has(r"^\d+\s+socket \(stream\)\s+runtime\s+no\s"), "the hook did not make it non-blocking")


@fact("wait in gdb: the connector parks in io_block, fd writable, through "
      "connect -> wait_ready -> io_wait_fd -> poll_wait -> park")
def parks_in_io_block(t):
    gdb = t.scene("wait-gdb")
    expect(gdb.has(r'^\[co-break \d+\] running -> io_block: #1 "connector" io_block \(fd \d+ writable, timed\)'),
           "no running -> io_block stop of the connector")
    stack = gdb.after_command("coroutine 1 bt")
    order = [stack.index(r"co::detail::park\("), stack.index(r"poll_wait"), stack.index(r"io_wait_fd"),
             stack.index(r"wait_ready"), stack.index(r"connect_body"), stack.index(r"connect_and_wait")]
    expect(order == sorted(order), "the parked stack is not park <- poll_wait <- io_wait_fd <- wait_ready <- connect")


@fact("wait in gdb: while it waits - connector io_block, acceptor running; its fd in the reactor with the "
      "connector's POLLOUT waiter; its io_sentry (triggered false, added true); its SO_SNDTIMEO timer")
def while_waiting(t):
    gdb = t.scene("wait-gdb")
    coroutines = gdb.after_command("info coroutines")
    expect(coroutines.has(r"^1\s+connector\s+io_block\s+fd (\d+) writable, timed"), "connector not in io_block")
    expect(coroutines.has(r"^2\s+acceptor\s+running"), "acceptor not running")
    fd = re.search(r"fd (\d+) writable", coroutines.line(r"^1\s+connector")).group(1)
    expect(gdb.after_command("info fdctx").has(r'^%s\s+socket \(stream\)\s+runtime\s+yes\s+recv -, send 5m00s\s+#1 "connector" POLLOUT$' % fd),
           "fd %s: not in the reactor with the connector's POLLOUT waiter" % fd)
    sentries = gdb.after_command("info io-sentries")
    expect(sentries.has(r'^io_sentry 0x[0-9a-f]+ of #1 "connector" \(fd %s writable, timed\): 1 fd, triggered false, '
                        r'added true, deadline in' % fd), "no io_sentry of the connector")
    expect(sentries.has(r"^%s\s+POLLOUT\s+0\s+linked$" % fd), "the io_sentry's fd row")
    expect(gdb.after_command("info co-timers").has(r"^in \S+\s+[\d.]+ s\s+1\s+connector\s+io_block\s+fd %s writable" % fd),
           "no timer of the connector")


@fact("wait in gdb: the reactor wakes it - co-trace io_block -> runnable, in claim under "
      "Dispatch <- Harvest <- IdleWaiter::Wait")
def reactor_wakes(t):
    gdb = t.scene("wait-gdb")
    expect(gdb.has(r'^\[co-trace\] #1 "connector" io_block -> runnable$'), "no traced io_block -> runnable")
    expect(gdb.has(r'^\[co-break \d+\] io_block -> runnable: #1 "connector"'), "no stop at the wake")
    bt = gdb.after_command("bt 8", occurrence=2)  # the first was at the park
    order = [bt.index(r"claim"), bt.index(r"Dispatch"), bt.index(r"Harvest"), bt.index(r"IdleWaiter::Wait")]
    expect(order == sorted(order), "the waking stack is not claim <- Dispatch <- Harvest <- IdleWaiter::Wait")


@fact("wait in gdb: after the wait, getsockopt_f(SO_ERROR) from connect_body gives 0, and connect returns 0")
def so_error_zero(t):
    gdb = t.scene("wait-gdb")
    bt = gdb.after_command("bt 3", occurrence=3)
    expect(bt.has(r"^#0 .*getsockopt") and bt.has(r"^#1 .*connect_body"), "getsockopt was not called by connect_body")
    expect(gdb.after_command("print err").has(r"^\$\d+ = 0$"), "SO_ERROR was not 0")
    expect(gdb.has(r"connector: connect returned 0$"), "connect did not return 0 under gdb")
    expect(gdb.outcome.returncode == 0 and not gdb.outcome.timed_out, "gdb: " + gdb.outcome.describe())


def read_sysctl(name, default):
    """/proc/sys/net/ipv4/NAME as a number, or default if this kernel has none."""
    try:
        with open(os.path.join("/proc/sys/net/ipv4", name)) as value:
            return int(value.read())
    except OSError:
        return default


@fact("syn-timeout: the give-up time printed is the kernel's rule applied to tcp_syn_retries, "
      "tcp_syn_linear_timeouts and tcp_rto_max_ms, read here again")
def syn_give_up(t):
    scene = t.scene("syn-timeout")
    retries = read_sysctl("tcp_syn_retries", None)
    expect(retries is not None, "this machine has no /proc/sys/net/ipv4/tcp_syn_retries")
    linear = read_sysctl("tcp_syn_linear_timeouts", 0)
    cap = read_sysctl("tcp_rto_max_ms", 120000) // 1000
    # The same rule, written as intervals: the timer's i-th wait (i from 1) is
    # 1 s for the first linear + 1, then 2, 4, 8 ... s, at most the cap; the
    # SYN is given up at the first expiry after retries + linear resends, or
    # at the first expiry at least tcp_model_timeout(retries) after the SYN.
    threshold = 0
    while 2 ** (threshold + 1) <= cap:
        threshold += 1
    budget = 2 ** (retries + 1) - 1 if retries <= threshold else \
        2 ** (threshold + 1) - 1 + (retries - threshold) * cap
    expiry, resends = 0, []
    for i in range(1, retries + linear + 2):
        expiry += 1 if i <= linear + 1 else min(2 ** (i - linear - 1), cap)
        if i == retries + linear + 1 or (i > 1 and expiry >= budget):
            break
        resends.append(expiry)
    printed = scene.line(r"connect gives up at \d+ s")
    expect(int(re.search(r"gives up at (\d+) s", printed).group(1)) == expiry,
           "printed %r; the rule gives %d s" % (printed, expiry))
    expect(scene.has(r"sent again at %s s \(%d resends\)$" % (", ".join(map(str, resends)), len(resends))),
           "the resend times printed are not %s" % resends)
    expect(scene.has(r"^tcp_syn_retries:%d$" % retries), "the shell did not show tcp_syn_retries %d" % retries)


# ---- 4.6 --------------------------------------------------------------------

FD_HOOKS_CPP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "hooks", "fd_hooks.cpp")
PASS_THROUGH = "if (path != co::hooks::Path::try_then_wait) return connect_f(fd, addr, len);"


def pass_through_line():
    """The line of connect_body that passes the call through (searched, so the
    fact follows edits of fd_hooks.cpp)."""
    with open(FD_HOOKS_CPP) as source:
        for number, text in enumerate(source, start=1):
            if text.strip() == PASS_THROUGH:
                return number
    raise FactFailed("hooks/fd_hooks.cpp has no line %r" % PASS_THROUGH)


@fact("user_nonblock alone: on a socket the program made non-blocking (fcntl), connect in a coroutine "
      "returns -1 EINPROGRESS at once; the program's poll and SO_ERROR then see it connected")
def user_nonblock_alone(t):
    run = t.scene("user-nonblock")
    line = run.line(r"connector: connect returned -1 EINPROGRESS after \d+ ms$")
    waited = int(re.search(r"after (\d+) ms", line).group(1))
    expect(waited < 100, "connect returned after %d ms" % waited)
    expect(run.has(r"connector: poll\(POLLOUT\) returned 1; SO_ERROR 0: connected$"), "not connected")
    expect(run.outcome.returncode == 0, "step4_user_nonblock: " + run.outcome.describe())


@fact("user_nonblock in gdb: the FdCtx says Non-blocking user; __libc_connect is called from connect_body's "
      "pass-through line, returns -1 with errno 115, and the connector never parks")
def user_nonblock_pass_through(t):
    gdb = t.scene("user-nonblock-gdb")
    expect(gdb.has(r"^\[co-break \d+\] connect\(fd=(\d+)\) in coroutine #1"), "no stop at the connect hook")
    fd = re.search(r"connect\(fd=(\d+)\)", gdb.line(r"^\[co-break \d+\] connect\(fd=")).group(1)
    expect(gdb.after_command("info fdctx fd").has(r"^%s\s+socket \(stream\)\s+user\s+no\s" % fd),
           "the FdCtx of fd %s does not say Non-blocking user" % fd)
    bt = gdb.after_command("bt 2", occurrence=2)
    expect(bt.has(r"^#0 .*__libc_connect \(fd=%s," % fd), "the stop is not in glibc's connect")
    caller = bt.line(r"^#1 .*connect_body .*fd_hooks\.cpp:\d+$")
    line = int(re.search(r"fd_hooks\.cpp:(\d+)$", caller).group(1))
    expect(line == pass_through_line(), "connect_f was called from fd_hooks.cpp:%d, not the pass-through (line %d)"
           % (line, pass_through_line()))
    expect(gdb.after_command("frame 1").has(r"^%d\s+%s$" % (line, re.escape(PASS_THROUGH))),
           "frame 1 does not show the pass-through line")
    expect(gdb.after_command("finish").has(r"^Value returned is \$\d+ = -1$"), "connect_f did not return -1")
    expect(gdb.after_command("print errno").has(r"= 115$"), "errno is not 115 (EINPROGRESS)")
    expect(gdb.after_command("info coroutines").has(r"^1\s+connector\s+running\s"), "the connector is not running")
    call = gdb.index(r'^\[co-trace\] #1 "connector" call connect\(fd=%s\)$' % fd)
    done = gdb.index(r'^\[co-trace\] #1 "connector" connect\(fd=%s\) = -1 EINPROGRESS$' % fd, call)
    changes = [line for line in gdb.lines[call + 1:done] if re.match(r'^\[co-trace\] #1 "connector" \w+ -> ', line)]
    expect(changes == [], "the connector changed state inside connect: %s" % changes)
    expect(gdb.has(r"\[Inferior 1 \(process \d+\) exited normally\]"), "step4_user_nonblock did not end normally")


@fact("the waiting connect, traced: the JSON trace parses, the reactor wakes the connector, the picture is drawn")
def wait_timeline(t):
    expect_timeline(t, "wait-timeline", "reactor")


FACTS = (names_in_the_libraries, weak_and_dlsym, coscope_both_ways, init_before_main, table_filled, outside_passes_through,
         three_outcomes, hook_matches_kernel, connect_waited, syn_give_up, connect_f_in_progress, parks_in_io_block,
         while_waiting, reactor_wakes, so_error_zero, user_nonblock_alone, user_nonblock_pass_through, wait_timeline)


# The step's map, printed before it begins (walklib/runner.py); README.md has it as a
# diagram ("The map").
DIAGRAM = r"""
A connect in a coroutine to a listener whose accept queue is full (step4_connect_wait): the
kernel drops the SYN, TCP sends it again a second later. The socket is non-blocking
underneath: coscope set O_NONBLOCK at its first use in a coroutine.

  coroutine 1's stack                               thread 1's own stack
  -----------------------------------------------   ------------------------------------------
  connect(fd, addr): coscope's hook (fd_hooks.cpp)
    connect_body: choose_path -> try_then_wait
    connect_f = glibc's __libc_connect -> EINPROGRESS
    wait_ready(fd, POLLOUT) -> io_wait_fd -> poll_wait
      FdCtx(fd): link a waiter, add_into_reactor
      (epoll_ctl ADD), arm_timer if SO_SNDTIMEO
      park(io_block) -> SwapOut -- jump_fcontext -->  Processer::Run: the acceptor runs
                                                      idle: the reactor's Harvest (epoll_wait)
                                                      SYN-ACK: fd writable -> Dispatch -> wake
    park() returns   <-- jump_fcontext -- SwapIn --   (or SO_SNDTIMEO's timer: wake_by_timer)
    getsockopt(fd, SO_ERROR): 0, or the error
  connect returns 0, or -1 with errno (ECONNREFUSED, ETIMEDOUT; EINPROGRESS after SO_SNDTIMEO)
"""


# `walk 4 --exercise K` (walklib/exercises.py): each answer is checked against a fresh run.
from walklib.exercises import Exercise, ExerciseError, gdb_output, program_output, same_flags  # noqa: E402
from walklib.exercises import same_word, search  # noqa: E402


def refused_revents(ctx):
    lines = program_output(ctx, ["step4_outcomes"])
    section = [i for i, line in enumerate(lines) if line.startswith("TCP, a port nobody listens on")]
    if not section:
        raise ExerciseError("step4_outcomes did not show a port nobody listens on")
    for line in lines[section[0] + 1:]:
        if "kernel, non-blocking socket:" in line:
            return search(r"poll: ([A-Z|]+);", line, "the kernel's poll revents")
    raise ExerciseError("step4_outcomes did not show the kernel's non-blocking connect")


EXERCISES = (
    Exercise(
        "A refused connect, as poll sees it",
        task="""
            In the programs' directory, {dir}, run:

                ./step4_outcomes

            Under "TCP, a port nobody listens on", the non-blocking connect says
            EINPROGRESS first; poll then reports how the attempt ended.
            """,
        question="Which revents does poll report on the line \"kernel, non-blocking socket\"? "
                 "(flags joined with |, in any order)",
        truth=refused_revents,
        compare=same_flags,
        why="Writable because the attempt is over, with POLLERR and POLLHUP because it failed: only "
            "getsockopt(SO_ERROR) says why (ECONNREFUSED). POLLOUT alone would have meant connected."),
    Exercise(
        "The socket the connector waits on",
        task="""
            Stop when the connector coroutine parks, and list the fds the runtime
            knows:

                {gdb:step4_connect_wait}
                (gdb) start
                (gdb) co-break state io_block
                (gdb) continue
                (gdb) info fdctx
            """,
        question="What does the Non-blocking column say for the fd the connector waits on "
                 "(the row whose Waiting tasks names it)?",
        truth=lambda ctx: search(r"^\s*\d+\s+socket \(stream\)\s+(\S+)\s.*connector",
                                 gdb_output(ctx, "step4_connect_wait", ["start", "co-break state io_block",
                                                                        "continue", "info fdctx"]),
                                 "the connector's fd in info fdctx"),
        compare=same_word,
        why="The program made a blocking socket; coscope made it non-blocking underneath at its first use "
            "in a coroutine, so that connect could return EINPROGRESS and the task park instead of the "
            "thread (F_GETFL still says blocking)."),
)
