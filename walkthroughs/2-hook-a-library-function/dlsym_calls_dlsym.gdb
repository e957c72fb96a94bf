# Step 2 in gdb: the first limitation - a dlsym hook that calls a function
# that calls dlsym. Run by `walkthroughs/walk 2`. The recursion is shown at
# the helper's third call, a fixed point (where the final overflow faults
# depends on where the stack began).

#== The hook, its helper, the hook again
set environment LD_PRELOAD @bin@/libdlsym_calls_dlsym.so
set breakpoint pending on
break dlsym_calls_dlsym.c:log_lookup
ignore 1 2
run @bin@/libfile.so
bt
#> dlsym -> log_lookup -> dlsym -> log_lookup -> ...: the real dlsym was found
#> the right way, with dlvsym, but the helper's own dlsym call is a call by
#> name, and the name dlsym is the hook. Let it go on:
delete
continue
#> The stack runs out as in dl_prog2.
