# Step 2 in gdb: why prog1 crashes with the article's malloc hook preloaded.
# Run by `walkthroughs/walk 2` (walklib/gdb_driver.py explains the #== and #>
# lines).
#
# The recursion is shown at a fixed point (the hook's fourth call), not at the
# crash: where the overflow finally faults - in the hook's first instruction,
# or somewhere inside stdio - depends on where the stack began, which moves
# with the size of the environment and of the program's path.

#== The loop, four calls deep
#> LD_PRELOAD is set for the program only, and gdb starts it without a shell
#> (a shell would load the hook too, and crash first). The breakpoint is on
#> the hook (malloc in prog2.c, not glibc's malloc); it is pending until the
#> dynamic loader has loaded libprog2.so. `ignore 1 3` passes its first three
#> hits, so the program stops at the hook's fourth call.
set startup-with-shell off
set environment LD_PRELOAD @bin@/libprog2.so
set breakpoint pending on
break prog2.c:malloc
ignore 1 3
run
bt
#> Read from the bottom up: main's first printf("calling from main...\n")
#> (the compiler made it puts) found stdout without a buffer, so
#> _IO_file_doallocate asked malloc for one - and malloc is the hook. The
#> hook's own printf("inside shared object...") needs that same buffer, still
#> missing, so it asks malloc again: the hook again. Every frame asks for the
#> same size (stdout's buffer: 1024 bytes on a terminal, 4096 on a pipe or a
#> file). Nothing in the loop ever returns.

#== The crash
#> Without the breakpoint, the loop goes on until the stack is gone:
delete
continue
#> Where exactly it faults - the hook's prologue, or a stdio function - only
#> depends on where the stack ended. The outermost frames are the same as
#> above, and the frame number of main is the depth the stack reached:
bt -3

#== Out of stack
#> The stack pointer, and the main thread's stack mapping:
p $sp
pipe info proc mappings | grep -E "Start Addr|\[stack\]"
#> The stack grows down, and $sp is within a page of its lowest address: all
#> of it is used, and the next write below hit no memory. That is the notes'
#> "coredump". (walk runs this step with a 1 MiB stack, `ulimit -s 1024`; at
#> the usual 8 MiB the same loop ends about 155,000 frames deep, and
#> numbering them takes gdb ten seconds.)
