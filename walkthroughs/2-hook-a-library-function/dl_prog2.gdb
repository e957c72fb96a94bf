# Step 2 in gdb: dl_prog2's dlsym hook calls itself until the stack is gone.
# Run by `walkthroughs/walk 2` (walklib/gdb_driver.py explains the #== and #>
# lines).

#== dlsym calls dlsym
#> The hook's printf lines go to a file, not to the screen.
set environment LD_PRELOAD @bin@/libdl_prog2.so
run @bin@/libfile.so > @work@/dl_prog2.out
bt 5
#> dlsym (dl_prog2.c) called dlsym (dl_prog2.c): inside the preloaded library
#> the name dlsym is resolved like any other, and the first definition in the
#> lookup order is this one. RTLD_NEXT never gets a chance: it is an argument
#> of the call that never reaches libc.

#== From main
bt -3
p $sp
pipe info proc mappings | grep -E "Start Addr|\[stack\]"
#> The same end as prog2: the stack pointer at the stack's lowest address.
#> The file got a "before dlsym()" line per call (what the stdio buffer held
#> at the crash is lost):
shell grep -c "before dlsym" @work@/dl_prog2.out
