# Step 2 in gdb: dl_prog2's dlsym hook calls itself until the stack is gone.
# Run by `walkthroughs/walk 2` (walklib/gdb_driver.py explains the #== and #>
# lines). As in prog2_crash.gdb, the recursion is shown at a fixed point (the
# hook's fourth call) and the crash only for its depth: where the overflow
# faults depends on where the stack began.

#== dlsym calls dlsym
#> The hook's printf lines go to a file, not to the screen. The breakpoint is
#> on the hook (dlsym in dl_prog2.c); its first three hits are passed.
set environment LD_PRELOAD @bin@/libdl_prog2.so
set breakpoint pending on
break dl_prog2.c:dlsym
ignore 1 3
run @bin@/libfile.so > @work@/dl_prog2.out
bt
#> dlsym (dl_prog2.c) called dlsym (dl_prog2.c): inside the preloaded library
#> the name dlsym is resolved like any other, and the first definition in the
#> lookup order is this one. RTLD_NEXT never gets a chance: it is an argument
#> of the call that never reaches libc.

#== Until the stack is gone
delete
continue
bt -3
p $sp
pipe info proc mappings | grep -E "Start Addr|\[stack\]"
#> The same end as prog2: the stack pointer within a page of the stack's
#> lowest address. The file got a "before dlsym()" line per call (what the
#> stdio buffer held at the crash is lost):
shell grep -c "before dlsym" @work@/dl_prog2.out
