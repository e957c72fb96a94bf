# Step 2 in gdb: why prog1 crashes with the article's malloc hook preloaded.
# Run by `walkthroughs/walk 2` (walklib/gdb_driver.py explains the #== and #>
# lines).

#== The crash
#> LD_PRELOAD is set for the program only, and gdb starts it without a shell
#> (a shell would load the hook too, and crash first).
set startup-with-shell off
set environment LD_PRELOAD @bin@/libprog2.so
run
#> A segmentation fault inside glibc's stdio. The innermost frames:
bt 8

#== The loop
#> Read from the bottom up: malloc (prog2.c, the hook) called puts - the
#> compiler's form of printf("inside shared object...\n") - and puts needed
#> stdout's buffer, so _IO_file_doallocate called malloc: the hook again,
#> which printfs again, ... The outermost frames show how it started:
bt -4
#> main's first printf("calling from main...\n") found stdout without a
#> buffer and asked malloc for one. Every hook call asks for that same buffer
#> again before any is made: the loop never ends. The frame number of main is
#> the depth the stack reached.

#== Out of stack
#> The stack pointer, and the main thread's stack mapping:
p $sp
pipe info proc mappings | grep -E "Start Addr|\[stack\]"
#> The stack grows down, and $sp is at (or just past) its lowest address:
#> all of it is used, and the next write below it hit no memory. That is the
#> notes' "coredump". (walk runs this step with a 1 MiB stack, `ulimit -s
#> 1024`; at the usual 8 MiB the same loop ends 155,000 frames deep, and
#> numbering them takes gdb ten seconds.)
