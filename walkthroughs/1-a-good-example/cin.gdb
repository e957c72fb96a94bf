# Step 1 in gdb: why std::cin keeps the whole thread.
# Run by `walkthroughs/walk 1` (walklib/gdb_driver.py explains the #== and #>
# lines and the walk-* commands).

#== Two functions called read
#> Two functions answer to the name read() in this process: coscope's hook
#> (hooks/io_hooks.cpp), which parks a coroutine until its fd is readable, and
#> glibc's own. Breakpoint 1 is on the hook, breakpoint 2 on glibc's read, for
#> fd 0 only ($rdi holds the first argument at a function's entry; the runtime
#> itself reads a /proc file when it starts). Both are "pending" until the
#> program starts and loads libcoscope and libc.
break io_hooks.cpp:read
break __read if $rdi == 0
run @stdin@
#> Breakpoint 2, glibc's read of stdin, and not breakpoint 1. Who called it?
bt

#== How glibc reaches its read
#> Frame #1 is _IO_new_file_underflow, stdio refilling stdin's buffer for
#> std::cin (frame #3 is getc, frames #4 to #6 libstdc++'s istream). It calls
#> the read of stdin's FILE, _IO_file_read:
disassemble _IO_file_read
#> A direct jmp to __GI___libc_read, glibc's hidden internal name, bound when
#> libc.so was linked. No PLT entry, no lookup by name at run time: nothing
#> another library defines can come in between. A program's own call to
#> read() is looked up by name, and finds the hook first:
info address read

#== While std::cin waits
#> Let the program run on, and interrupt it half a second later, while it
#> waits for input.
walk-interrupt-after 0.5
continue
bt 3
#> The thread sits in the kernel, in glibc's read. And coroutine 1 is not
#> parked: it is still `running`, on thread 1, the thread it blocks.
#> Coroutine 2 has not even started:
info coroutines
#> The processer's view: thread 1 has run coroutine 1 for the time shown
#> (counted by the stall watchdog, which looks every 25 ms), and the system
#> call it is in, from the thread's registers: read(fd 0). Coroutine 2 waits
#> in the processer's own queue (Local 1).
info processers
#> The hook was never called:
info breakpoints

#== The input arrives
#> Now the number arrives, a second from now (or when you type it), and the
#> program runs to its end.
walk-input-after 1 3
delete
continue
#> "i = 3" first, then, in the same millisecond, "Hello, coscope!": coroutine
#> 2 could only run once coroutine 1 gave the thread back.
