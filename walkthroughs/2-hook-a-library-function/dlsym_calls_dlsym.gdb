# Step 2 in gdb: the first limitation - a dlsym hook that calls a function
# that calls dlsym. Run by `walkthroughs/walk 2`.

#== The hook, its helper, the hook again
set environment LD_PRELOAD @bin@/libdlsym_calls_dlsym.so
run @bin@/libfile.so
bt 6
#> dlsym -> log_lookup -> dlsym -> log_lookup -> ...: the real dlsym was found
#> the right way, with dlvsym, but the helper's own dlsym call is a call by
#> name, and the name dlsym is the hook. The stack runs out as in dl_prog2.
