"""Step 2: Let's hook a library function - LD_PRELOAD, dlsym(RTLD_NEXT) and
their limits, each shown by a run (and the two crashes in gdb)."""

import grp
import os
import pwd
import re

from walklib.facts import NotShown, expect, fact
from walklib.scenes import Custom, Gdb, Part, Run, Say, Shell, run_program, run_shell

TITLE = "Let's hook a library function"
NOTES_HEADING = "第二步：Let's Hook a Library Function"
TARGETS = ("step2_programs",)
# The main thread's stack: 1 MiB (`ulimit -s 1024`) rather than the usual 8, so that
# the crashes end 20,000 frames deep, and gdb numbers them all in a second.
STACK_LIMIT = 1 << 20

FILE_SO = "@bin@/libfile.so"


def preload(library):
    return {"LD_PRELOAD": "@bin@/lib%s.so" % library}


def set_user_id_copy(ctx, console, record):
    """Limitation 2: the same program, set-ID, ignores LD_PRELOAD."""
    env = preload("prog2_fixed")
    record.data["plain"] = run_program(ctx, console, ["secure_exec"], env)
    record.data["plain_text"] = list(record.lines)
    reason = why_no_set_id_copy(ctx)
    if reason:
        record.data["not_shown"] = reason
        console.say("This machine cannot show it: %s." % reason)
        return
    copy = "work/secure_exec_setid"
    if os.geteuid() == 0:
        console.say("""
            Now a set-user-ID copy owned by `nobody`: run by you, its effective
            user differs from the real one, and the kernel tells the dynamic
            loader to run it in secure-execution mode (AT_SECURE = 1).
            """)
        change = "chown nobody %s && chmod u+s %s" % (copy, copy)
    else:
        console.say("""
            Now a set-group-ID copy, of your group %s: run by you, its effective
            group differs from the real one, and the kernel tells the dynamic
            loader to run it in secure-execution mode (AT_SECURE = 1). (Only
            root could make a set-user-ID copy owned by another user.)
            """ % other_group())
        change = "chgrp %s %s && chmod g+s %s" % (other_group(), copy, copy)
    setup = run_shell(ctx, console, "cp secure_exec %s && %s && ls -l %s" % (copy, change, copy))
    if setup.returncode != 0:
        record.data["not_shown"] = "could not make the set-ID copy (%s)" % setup.describe()
        return
    mark = len(record.lines)
    try:
        record.data["setid"] = run_program(ctx, console, [copy], env)
    finally:
        os.remove(os.path.join(ctx.bin_dir, copy))  # no set-ID program is left behind
    record.data["setid_text"] = record.lines[mark:]


def why_no_set_id_copy(ctx):
    """None if a set-ID copy can change who the program runs as, here."""
    if os.statvfs(ctx.work_dir).f_flag & os.ST_NOSUID:
        return "the build directory is on a file system mounted nosuid"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("nobody")
        except KeyError:
            return "there is no user `nobody` to own a set-user-ID copy"
        return None
    if other_group() is None:
        return ("walk runs as a user who is neither root (to give a copy to another owner) nor in a "
                "second group (for a set-group-ID copy)")
    return None


def other_group():
    for gid in os.getgroups():
        if gid != os.getgid():
            try:
                return grp.getgrgid(gid).gr_name
            except KeyError:
                continue
    return None


SCENES = (
    Part("2.1  prog1, and the article's malloc hook"),
    Say("""
        The notes follow an article, "Let's Hook a Library Function": change
        what a library function does without touching the library ("无需动源代码，
        无需重新编译"). prog1 allocates 10 bytes and frees them:
        """),
    Run("prog1", ["prog1"]),
    Say("""
        The article's hook, prog2.c (the notes call it hook.c), defines malloc
        in a shared library that prints before and after calling the real
        malloc, found with dlsym(RTLD_NEXT, "malloc"). LD_PRELOAD makes the
        dynamic loader load it before libc, so the name malloc finds it first.
        The notes: "不过我自己做不出来结果：coredump" - it crashed for them:
        """),
    Run("prog2", ["prog1"], preload("prog2")),
    Say("""
        Killed by SIGSEGV, before printing a single line: the notes' core dump,
        reproduced. gdb shows why.
        """),
    Part("2.2  The crash in gdb"),
    Gdb("prog2-gdb", "prog2_crash.gdb", "prog1"),
    Part("2.3  The malloc hook that works"),
    Say("""
        The rule: a malloc hook must not call anything that allocates, and
        stdio allocates. prog2_fixed.c formats its line into a buffer on the
        stack and writes it with write(2):
        """),
    Run("prog2-fixed", ["prog1"], preload("prog2_fixed")),
    Say("""
        The first malloc is not prog1's: it is the 1024 bytes of stdout's
        buffer, asked for by printf inside glibc - and it reached the hook.
        (glibc sizes the buffer by what stdout is: 1024 bytes for a terminal,
        which walk gives every program it runs; on a pipe or a file it would be
        4096.) Keep that in mind for the third limitation (2.7).
        """),
    Part("2.4  dlopen and dlsym: dl_prog1"),
    Say("""
        libfile.so is built from file1.c and file2.c. dl_prog1 opens it with
        dlopen(), finds file1 with dlsym(handle, "file1") and calls it. (The
        notes call libfile.so a static library; it is a shared one, which is
        what dlopen needs. The notes' path is written into the source; here it
        is the argument.)
        """),
    Run("dl_prog1", ["dl_prog1", FILE_SO]),
    Part("2.5  Hooking dlsym itself: dl_prog2"),
    Say("""
        dl_prog2.c defines dlsym and, inside it, calls dlsym(RTLD_NEXT, "dlsym")
        to find the real one. Preloaded into dl_prog1 ("无限递归", say the
        notes):
        """),
    Run("dl_prog2", ["dl_prog1", FILE_SO], preload("dl_prog2")),
    Gdb("dl_prog2-gdb", "dl_prog2.gdb", "dl_prog1"),
    Part("2.6  dl_prog3 and __libc_dlsym, on today's glibc"),
    Say("""
        The article's answer to "如何不递归?" (how not to recurse) is dl_prog3.c:
        call glibc's __libc_dlsym instead of dlsym. It compiles, and links as a
        shared library, where undefined symbols are allowed. Run:
        """),
    Run("dl_prog3", ["dl_prog1", FILE_SO], preload("dl_prog3")),
    Say("""
        The hook ran - its printf came out - and its first call to
        __libc_dlsym failed: libdl_prog3.so is linked for lazy binding
        (-z lazy), so the loader binds each of its calls at the first call, and
        found no __libc_dlsym anywhere. With immediate binding (LD_BIND_NOW=1
        here; -z now, which some distributions link with by default, does the
        same) the loader binds every call when it loads the library, and the
        program stops before the hook ever runs:
        """),
    Run("dl_prog3-now", ["dl_prog1", FILE_SO], dict(preload("dl_prog3"), LD_BIND_NOW="1")),
    Say("""
        Either way the symbol is missing. It was never public
        API: until glibc 2.33 libc exported it only as
        __libc_dlsym@@GLIBC_PRIVATE, for glibc's own libdl. Since glibc 2.34,
        dlopen and dlsym live in libc itself, and libc's symbol table (the one
        dl_prog1 uses) exports dlsym and dlvsym, but no __libc_dlsym:
        """),
    Shell("libc-symbols",
          "nm -D --defined-only $(ldd ./dl_prog1 | awk '/libc\\.so/ {print $3}') "
          "| grep -E ' (__libc_dlsym|dlsym|dlvsym)(@|$)'"),
    Say("""
        A way that works now, dl_prog3_today.c: find the real dlsym with
        dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34") - a different function, which
        the hook does not replace, so nothing recurses. The version string
        names the dlsym@@GLIBC_2.34 above (glibc before 2.34 has only
        dlsym@GLIBC_2.2.5, which the file tries next; 2.2.5 is x86-64's
        oldest version: i386's is GLIBC_2.0, aarch64's GLIBC_2.17):
        """),
    Run("dl_prog3-today", ["dl_prog1", FILE_SO], preload("dl_prog3_today")),
    Part("2.7  The three limitations, each run"),
    Say("""
        1. "Do beware of functions that themselves call dlsym(), when you need
        to call __libc_dlsym (handle, symbol) in the hook." dlsym_calls_dlsym.c
        finds the real dlsym the right way, but logs through a helper that
        looks up an optional log sink with dlsym - which is the hook again:
        """),
    Run("limit-dlsym", ["dl_prog1", FILE_SO], preload("dlsym_calls_dlsym")),
    Gdb("limit-dlsym-gdb", "dlsym_calls_dlsym.gdb", "dl_prog1"),
    Say("""
        2. "Ensure that the SUID bit is not set, otherwise you can't use
        LD_PRELOAD." secure_exec prints who it runs as and AT_SECURE, then
        allocates 10 bytes, with the working malloc hook preloaded:
        """),
    Custom("limit-setid", set_user_id_copy),
    Say("""
        The set-ID copy printed no malloc line: the loader did not load the
        hook. In secure-execution mode it ignores LD_PRELOAD entries that
        contain a slash, and loads the others only from the system's library
        directories, and only if they are set-user-ID themselves (ld.so(8)):
        otherwise anyone could run their code with another user's rights.
        """),
    Say("""
        3. "Internal library function calls are resolved before runtime - say,
        if some function in libc calls getaddrinfo() or malloc(), it will never
        call the hook." count_calls.c hooks write, open and malloc and announces
        each call that reaches it; internal_calls.c calls write() and open()
        itself, then printf(), fopen() and strdup():
        """),
    Run("limit-internal", ["internal_calls"], preload("count_calls")),
    Say("""
        printf's write and fopen's open never reached the hook: inside libc
        they are direct calls to internal names, bound when libc.so was linked
        (step 1 showed the same for read). But malloc did: printf's buffer
        (1024), fopen's FILE (472) and strdup's copy (7) all came through the
        hook. The article's own example is wrong on today's glibc: malloc is
        the exception, called through the PLT inside libc on purpose, so that a
        program can replace the allocator (the glibc manual, "Replacing
        malloc").
        """),
    Part("2.8  The notes' own commands, each run"),
    Say("""
        The notes built the hook with `gcc -shared -ldl -fPIC hook.c -o
        libhook.so` (hook.c is prog2.c), the program with `g++ test.cpp -o
        test.out` (test.cpp is prog1.c), and ran `LD_PRELOAD=/root/libhook.so
        ./test.out`. The same three lines, in the scratch directory work/:
        """),
    Shell("notes-build",
          "cd @work@ && cp @src@/prog2.c hook.c && cp @src@/prog1.c test.cpp"
          " && gcc -shared -ldl -fPIC hook.c -o libhook.so && g++ test.cpp -o test.out"
          " && ulimit -c 0 && LD_PRELOAD=$PWD/libhook.so ./test.out",
          shown="cd work && cp $SRC/prog2.c hook.c && cp $SRC/prog1.c test.cpp\n"
                "  $ gcc -shared -ldl -fPIC hook.c -o libhook.so && g++ test.cpp -o test.out\n"
                "  $ LD_PRELOAD=$PWD/libhook.so ./test.out"),
    Say("""
        Killed by SIGSEGV: the notes' core dump, from their own commands.
        (`ulimit -c 0` keeps the core file out of work/.)

        The article says "Don't forget to provide an absolute path to the .so,
        in LD_PRELOAD". What the loader really wants is a slash (ld.so(8)): a
        name without one is looked for like a library the program needs, in
        the system's library directories, and a name with one is opened as a
        path, relative to the current directory if it is relative. With the
        working hook (prog2_fixed.c) built as libfixed.so, four runs:
        """),
    Shell("preload-paths",
          "cd @work@ && gcc -shared -fPIC @src@/prog2_fixed.c -o libfixed.so"
          " && echo '--- a bare name' && LD_PRELOAD=libfixed.so ./test.out"
          " ; echo '--- a relative path' && LD_PRELOAD=./libfixed.so ./test.out"
          " ; echo '--- an absolute path' && LD_PRELOAD=$PWD/libfixed.so ./test.out"
          " ; echo '--- the relative path, from another directory' && cd / && LD_PRELOAD=./libfixed.so $OLDPWD/test.out",
          shown="cd work && gcc -shared -fPIC $SRC/prog2_fixed.c -o libfixed.so\n"
                "  $ LD_PRELOAD=libfixed.so ./test.out\n"
                "  $ LD_PRELOAD=./libfixed.so ./test.out\n"
                "  $ LD_PRELOAD=$PWD/libfixed.so ./test.out\n"
                "  $ cd / && LD_PRELOAD=./libfixed.so $OLDPWD/test.out"),
    Say("""
        A bare name is not found (the loader says so, and the program runs
        unhooked); a relative path works - but only from the directory it is
        relative to, and a program that changes directory, or starts another
        from elsewhere, loses it. An absolute path works from anywhere: the
        article's advice is the safe rule, not the loader's.

        The article builds dl_prog1 with `gcc -rdynamic -o dl_prog1 dl_prog1.c
        -ldl`. -rdynamic puts all of the program's own functions into its
        dynamic symbol table, where a library it loads (or dlsym) can find
        them. dl_prog1 does not need that: libfile.so calls nothing of the
        program's. Built both ways:
        """),
    Shell("rdynamic",
          "cd @work@ && gcc -rdynamic -o dl_prog1_rdynamic @src@/dl_prog1.c -ldl"
          " && gcc -o dl_prog1_plain @src@/dl_prog1.c -ldl"
          " && for p in dl_prog1_rdynamic dl_prog1_plain; do echo \"--- $p: main in the dynamic symbol table?\";"
          " nm -D --defined-only $p | grep -w main || echo '(no)'; ./$p @bin@/libfile.so; done",
          shown="cd work && gcc -rdynamic -o dl_prog1_rdynamic $SRC/dl_prog1.c -ldl"
                " && gcc -o dl_prog1_plain $SRC/dl_prog1.c -ldl\n"
                "  $ nm -D --defined-only dl_prog1_rdynamic | grep -w main; ./dl_prog1_rdynamic ../libfile.so\n"
                "  $ nm -D --defined-only dl_prog1_plain | grep -w main; ./dl_prog1_plain ../libfile.so"),
    Say("""
        Both find file1 and print the same line; only the -rdynamic build
        exports main. ($SRC above is the step's source folder,
        walkthroughs/2-hook-a-library-function.)
        """),
)


@fact("prog1 runs: its three lines, exit status 0")
def prog1_runs(t):
    run = t.scene("prog1")
    for line in ("calling from main...", "returning to main...", "freeing memory..."):
        expect(run.has("^" + line.replace(".", r"\.") + "$"), "missing: " + line)
    expect(run.outcome.returncode == 0, run.outcome.describe())


@fact("prog1 with the article's malloc hook: killed by SIGSEGV before printing anything (the notes' coredump)")
def prog2_crashes(t):
    run = t.scene("prog2")
    expect(run.outcome.signal_name == "SIGSEGV", "it ended with " + run.outcome.describe())
    expect(not run.has("calling from main"), "prog1 printed a line")


@fact("gdb, at the hook's 4th call: malloc (prog2.c) -> puts -> _IO_file_doallocate -> malloc (prog2.c), from main's first printf")
def prog2_recursion(t):
    gdb = t.scene("prog2-gdb")
    bt = gdb.after_command("bt")
    frames = frame_lines(bt)
    hooks = [line for line in frames if re.search(r" malloc \(size=\d+\) at .*prog2\.c:\d+", line)]
    expect(len(hooks) == 4, "%d hook malloc frames, not 4 (the breakpoint's 4th hit)" % len(hooks))
    sizes = {re.search(r"size=(\d+)", line).group(1) for line in hooks}
    expect(len(sizes) == 1, "the hook frames ask for different sizes: %s" % sorted(sizes))
    expect(sum("_IO_file_doallocate" in line for line in frames) == 4, "not one _IO_file_doallocate per hook call")
    expect(sum(bool(re.search(r"_IO_puts \(str=0x[0-9a-f]+ \"inside shared object\.\.\.\"\)", line))
               for line in frames) == 3, "not one puts of the hook's line between hook calls")
    expect(re.search(r"_IO_puts \(str=0x[0-9a-f]+ \"calling from main\.\.\.\"\)", frames[-2]) is not None,
           "main's first printf is not the second outermost frame")
    expect(re.search(r" in main \(\) at .*prog1\.c:\d+", frames[-1]) is not None, "main is not the outermost frame")


def frame_lines(view):
    """The `#N ...` lines of a backtrace."""
    return [line for line in view.lines if re.match(r"#\d+ ", line)]


@fact("gdb: the loop ends in SIGSEGV over 10,000 frames deep, $sp within a page of the 1 MiB [stack] mapping's end")
def prog2_overflow(t):
    check_overflow(t.scene("prog2-gdb"), "bt -3")


def check_overflow(gdb, bottom_command):
    """The crash after `continue`: its depth (main's frame number) and where
    $sp is. Distances are absolute: the fault may come a little below the
    mapping's start (a write past it) or a little above (a call that needed
    more than was left)."""
    expect(gdb.after_command("continue").has(r"Program received signal SIGSEGV"), "no SIGSEGV under gdb")
    bottom = gdb.after_command(bottom_command)
    depth = int(bottom.line(r"^#\d+ .*in main \(").split()[0][1:])
    expect(depth > 10000, "only %d frames" % depth)
    sp = int(re.search(r"0x([0-9a-f]+)", gdb.after_command("p $sp").line(r"0x[0-9a-f]+")).group(1), 16)
    mapping = gdb.after_command('pipe info proc mappings | grep -E "Start Addr|\\[stack\\]"').line(r"\[stack\]")
    start, end = (int(word, 16) for word in mapping.split()[:2])
    expect(end - start == STACK_LIMIT, "the stack mapping is %d bytes, not %d" % (end - start, STACK_LIMIT))
    expect(abs(sp - start) < 4096, "$sp %#x is not within a page of the stack's end %#x" % (sp, start))


@fact("the working malloc hook sees prog1's malloc(10) and the 1024-byte stdout buffer glibc asks for")
def prog2_fixed_works(t):
    run = t.scene("prog2-fixed")
    expect(run.outcome.returncode == 0, run.outcome.describe())
    expect(run.index(r"^malloc\(1024\) = 0x") < run.index(r"^calling from main\.\.\.$")
           < run.index(r"^malloc\(10\) = 0x") < run.index(r"^returning to main\.\.\.$"), "lines out of order")


@fact("dl_prog1: dlopen + dlsym find file1 in libfile.so: 'The value of x is 100'")
def dl_prog1_works(t):
    run = t.scene("dl_prog1")
    expect(run.has(r"^The value of x is 100$") and run.outcome.returncode == 0, run.outcome.describe())


@fact("dl_prog2: the dlsym hook recurses ('before dlsym' over and over, never 'after') until SIGSEGV")
def dl_prog2_recursion(t):
    run = t.scene("dl_prog2")
    expect(run.outcome.signal_name == "SIGSEGV", run.outcome.describe())
    folded = run.line(r"^\.\.\. the same line \d+ more times$")
    expect(int(re.search(r"\d+", folded).group()) > 1000, "only " + folded)
    expect(not run.has("after dlsym"), "a dlsym call returned")


@fact("gdb, at the hook's 4th call: dlsym (dl_prog2.c) calls dlsym (dl_prog2.c), from main; then past the stack's end")
def dl_prog2_in_gdb(t):
    gdb = t.scene("dl_prog2-gdb")
    frames = frame_lines(gdb.after_command("bt"))
    hooks = [line for line in frames if " dlsym (" in line and "dl_prog2.c" in line]
    expect(len(hooks) == 4 and len(frames) == 5, "not 4 dlsym frames of dl_prog2.c under main: %r" % frames)
    expect(re.search(r'name=0x[0-9a-f]+ "file1"', hooks[-1]) is not None, "main's dlsym(handle, \"file1\") is not first")
    expect(all('name=0x' in line and '"dlsym"' in line for line in hooks[:-1]), "the inner calls do not look up dlsym")
    expect(" in main (" in frames[-1], "main is not the outermost frame")
    check_overflow(gdb, "bt -3")
    count = gdb.after_command(r"shell grep -c \"before dlsym\" .*/dl_prog2\.out", regex=True)
    expect(int(count.line(r"^\d+$")) > 1000, "the file has only %s lines" % count.line(r"^\d+$"))


@fact("dl_prog3: glibc no longer exports __libc_dlsym: 'undefined symbol: __libc_dlsym', exit status 127")
def dl_prog3_fails(t):
    run = t.scene("dl_prog3")
    expect(run.has(r"symbol lookup error: .*libdl_prog3\.so: undefined symbol: __libc_dlsym"), "no lookup error")
    expect(run.outcome.returncode == 127, run.outcome.describe())
    symbols = t.scene("libc-symbols")
    expect(symbols.has(r" T dlsym@@GLIBC_2\.34$") and symbols.has(r" T dlvsym@@GLIBC_2\.34$"),
           "libc does not list dlsym and dlvsym @@GLIBC_2.34")
    expect(not symbols.has(r" T __libc_dlsym"), "libc exports __libc_dlsym")


@fact("dl_prog3 bound lazily runs the hook's printf before the lookup fails; with LD_BIND_NOW=1 it fails first")
def dl_prog3_binding(t):
    lazy = t.scene("dl_prog3")
    expect(lazy.index(r"^Ha Ha\.\.\.dlsym\(\) Hooked$") < lazy.index(r"undefined symbol: __libc_dlsym"),
           "no hook line before the lookup error (lazy binding)")
    now = t.scene("dl_prog3-now")
    expect(now.has(r"symbol lookup error: .*libdl_prog3\.so: undefined symbol: __libc_dlsym"), "no lookup error")
    expect(not now.has(r"Ha Ha"), "the hook ran with LD_BIND_NOW=1")
    expect(now.outcome.returncode == 127, now.outcome.describe())


@fact("dl_prog3_today: the dlsym hook through dlvsym works: 'Hooked (looking up \"file1\")', x is 100")
def dlvsym_works(t):
    run = t.scene("dl_prog3-today")
    expect(run.index(r'Ha Ha\.\.\.dlsym\(\) Hooked \(looking up "file1"\)') < run.index(r"^The value of x is 100$"),
           "no hooked lookup of file1 before the result")
    expect(run.outcome.returncode == 0, run.outcome.describe())


@fact("limitation 1: a dlsym hook that calls a function that calls dlsym dies of SIGSEGV, dlsym -> log_lookup -> dlsym")
def limit_dlsym(t):
    run = t.scene("limit-dlsym")
    expect(run.outcome.signal_name == "SIGSEGV", run.outcome.describe())
    expect(not run.has("The value of x"), "dl_prog1 finished")
    gdb = t.scene("limit-dlsym-gdb")
    frames = frame_lines(gdb.after_command("bt"))
    names = [re.search(r"(?:in )?(\w+) \(", line.split(" ", 2)[-1]).group(1) for line in frames]
    expect(names == ["log_lookup", "dlsym"] * 3 + ["main"], "not log_lookup/dlsym three times under main: %r" % names)
    expect(gdb.after_command("continue").has(r"Program received signal SIGSEGV"), "no SIGSEGV under gdb")


@fact("limitation 2: secure_exec sees the hook; its set-ID copy runs with AT_SECURE 1 and without it")
def limit_setid(t):
    scene = t.scene("limit-setid")
    plain = "\n".join(scene.data.get("plain_text", []))
    expect("AT_SECURE 0" in plain and "malloc(10) = 0x" in plain, "the plain run did not show the hook")
    if "not_shown" in scene.data:
        raise NotShown(scene.data["not_shown"])
    setid = [line.strip() for line in scene.data["setid_text"]]
    expect(any(line.endswith("AT_SECURE 1") for line in setid), "the set-ID copy did not run with AT_SECURE 1")
    expect(not any(line.startswith("malloc(") for line in setid), "the set-ID copy loaded the hook")
    expect("done" in setid and scene.data["setid"].returncode == 0, "the set-ID copy did not finish")


@fact("limitation 3: printf's write and fopen's open never reach the hook; glibc's mallocs do")
def limit_internal(t):
    run = t.scene("limit-internal")
    lines = run.lines

    def between(first, second):
        return lines[run.index(first) + 1:run.index(second)]

    expect(run.outcome.returncode == 0, run.outcome.describe())
    after_printf = between(r"^2\. main calls printf", r"^\[hook\] write\(1, \.\.\., 21\)$")
    expect(after_printf == [], "printf's line was followed by %r" % after_printf)
    expect(run.has(r"^\[hook\] open\(\"/dev/null\"\)$"), "main's own open did not reach the hook")
    after_fopen = between(r"^4\. main calls fopen", r"^\[hook\] write\(1, \.\.\., 23\)$")
    expect(after_fopen == ["[hook] malloc(472)"], "after fopen: %r" % after_fopen)
    expect(lines[run.index(r"^5\. main calls strdup") + 1] == "[hook] malloc(7)", "strdup's malloc not seen")
    expect(between(r"^1\. main calls write", r"^2\. main calls printf") == ["[hook] malloc(1024)"],
           "printf's buffer malloc not seen")


@fact("the notes' own gcc lines build hook.c and test.cpp, and LD_PRELOAD=$PWD/libhook.so ./test.out dies of SIGSEGV")
def notes_build(t):
    run = t.scene("notes-build")
    expect(run.outcome.signal_name == "SIGSEGV", run.outcome.describe())
    expect(not run.has("error") and not run.has("calling from main"), "a build error, or the program printed")


@fact("LD_PRELOAD: a bare name is not preloaded; ./ and $PWD/ paths are; ./ from another directory is not")
def preload_paths(t):
    run = t.scene("preload-paths")
    expect(run.outcome.returncode == 0, run.outcome.describe())
    cases = {}
    for line in run.lines:
        if line.startswith("--- "):
            current = cases.setdefault(line[4:], [])
        elif cases:
            current.append(line)
    expect(sorted(cases) == sorted(["a bare name", "a relative path", "an absolute path",
                                    "the relative path, from another directory"]), "cases: %r" % sorted(cases))
    for case in ("a bare name", "the relative path, from another directory"):
        expect(any("cannot be preloaded" in line for line in cases[case]), case + ": no loader error")
        expect(not any(line.startswith("malloc(") for line in cases[case]), case + ": the hook ran")
    for case in ("a relative path", "an absolute path"):
        expect(any(line.startswith("malloc(10) = 0x") for line in cases[case]), case + ": the hook did not run")
        expect(not any("cannot be preloaded" in line for line in cases[case]), case + ": a loader error")
    expect(all("freeing memory..." in lines for lines in cases.values()), "a run did not finish")


@fact("-rdynamic exports main into dl_prog1's dynamic symbol table; dl_prog1 works with and without it")
def rdynamic(t):
    run = t.scene("rdynamic")
    expect(run.outcome.returncode == 0, run.outcome.describe())
    with_flag = run.index(r"^--- dl_prog1_rdynamic")
    without = run.index(r"^--- dl_prog1_plain")
    expect(re.search(r" T main$", run.lines[with_flag + 1]) is not None, "main not exported with -rdynamic")
    expect(run.lines[without + 1] == "(no)", "main exported without -rdynamic")
    expect(run.lines[with_flag + 2] == run.lines[without + 2] == "The value of x is 100", "a build did not find file1")


FACTS = (prog1_runs, prog2_crashes, prog2_recursion, prog2_overflow, prog2_fixed_works, dl_prog1_works,
         dl_prog2_recursion, dl_prog2_in_gdb, dl_prog3_fails, dl_prog3_binding, dlvsym_works, limit_dlsym, limit_setid,
         limit_internal, notes_build, preload_paths, rdynamic)


# The step's map, printed before it begins (walklib/runner.py); README.md has it as a
# diagram ("The map").
DIAGRAM = r"""
Where a call by name goes: the dynamic linker looks the name up in each loaded object, in
this order, and the first definition wins.

  ./prog1 calls malloc      (through its PLT: looked up by name, at run time)
      |
      v
  1. the program itself      its own definitions (exported if a library uses them, or -rdynamic)
  2. LD_PRELOAD=./libhook.so  the hook: found here first, so it runs
  3. its libraries           libc.so.6: the original malloc
      ^
      '-- the hook reaches it with dlsym(RTLD_NEXT, "malloc"): the next object after its own

  glibc's own calls by name come in at the top too: printf in the hook needs stdout's buffer,
  which stdio mallocs -> the hook -> printf -> ... until the stack overflows (the core dump).
  A call glibc binds inside itself (__GI___libc_read, step 1) never reaches a hook.
  coscope's hooks need no LD_PRELOAD: libcoscope.so is linked before libc.so.6.
"""


# `walk 2 --exercise K` (walklib/exercises.py): each answer is checked against a fresh run.
from walklib.exercises import Exercise, ExerciseError, program_output, same_number, same_word  # noqa: E402
from walklib.exercises import search, shell_output  # noqa: E402

LIBC_DLSYM = "nm -D --defined-only $(ldd ./dl_prog1 | awk '/libc\\.so/ {print $3}') | grep -w dlsym"


def hooked_mallocs(ctx):
    lines = program_output(ctx, ["internal_calls"], {"LD_PRELOAD": "@bin@/libcount_calls.so"})
    if not any("5. main calls strdup()" in line for line in lines):
        raise ExerciseError("internal_calls did not run to its end")
    return str(sum(1 for line in lines if "[hook] malloc(" in line))


EXERCISES = (
    Exercise(
        "Which of libc's calls reach a hook",
        task="""
            In the programs' directory, {dir}, run internal_calls with the counting
            hook (count_calls.c) preloaded, on your terminal:

                LD_PRELOAD=$PWD/libcount_calls.so ./internal_calls
            """,
        question="How many calls of malloc did the hook see (its `[hook] malloc(...)` lines)?",
        truth=hooked_mallocs,
        compare=same_number,
        why="printf's write and fopen's open stay inside libc, bound to internal names; malloc is called by "
            "name from inside libc, on purpose, so that a program can replace the allocator."),
    Exercise(
        "The dlsym a program gets",
        task="""
            In the same directory, list the versions under which this machine's libc
            exports dlsym:

                %s
            """ % LIBC_DLSYM,
        question="Which version is dlsym's default, the one after @@ (what a program linked today gets)?",
        truth=lambda ctx: search(r"dlsym@@(\S+)", shell_output(ctx, LIBC_DLSYM), "dlsym@@VERSION"),
        compare=same_word,
        why="dlvsym(RTLD_NEXT, \"dlsym\", that version) reaches glibc's dlsym without calling the name dlsym, "
            "which a dlsym hook has taken: dl_prog3_today.c does it."),
)
