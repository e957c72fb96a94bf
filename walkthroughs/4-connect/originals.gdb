# Step 4 in gdb: the originals table, filled before main, and connect outside
# a coroutine. Run by `walkthroughs/walk 4` on step4_outcomes
# (walklib/gdb_driver.py explains the #== and #> lines).

#== coroutine_hook_init runs before main
#> A breakpoint on coroutine_hook_init (hooks/originals.cpp, pending until
#> the program loads libcoscope), then run: it stops before main.
break coroutine_hook_init
run
#> The dynamic linker (_dl_init, call_init) runs each library's constructors
#> before main; libcoscope's, init_hooks_early, calls coroutine_hook_init:
bt 5
#> The table is still empty here:
print connect_f
print '(anonymous namespace)::g_resolution'
#> Its last check: every original must have been found, or the program stops
#> at once with a message naming what is missing - never later, in a hook:
forward-search g_missing_count > 0
list

#== The table, filled
delete
break main
continue
#> At main, nothing was missing, and every original came from dlsym(RTLD_NEXT):
print '(anonymous namespace)::g_missing_count'
print '(anonymous namespace)::g_resolution'
#> connect_f is glibc's connect, in libc.so.6; the name connect, which the
#> program calls, is the hook, in libcoscope:
print connect_f
info symbol connect_f
info symbol connect
#> gdb calls glibc's function __libc_connect: with glibc's debug symbols it
#> knows every name of it. The dynamic linker knows only the names libc.so.6
#> exports (nm -D, earlier in this step): connect and __connect, not
#> __libc_connect.
print __libc_connect

#== connect outside a coroutine: straight through
#> One breakpoint on the hook's connect (hooks/fd_hooks.cpp), one on
#> glibc's. main's first hooked connect is on a blocking AF_UNIX socket, to
#> the listening name (the kernel's own system calls came before it and
#> stopped at neither).
delete
break fd_hooks.cpp:connect
break __libc_connect
continue
bt 2
#> No coroutine exists yet: main is not one.
info coroutines
info fdctx fd
#> The socket is blocking and main is not a coroutine: the hook calls
#> connect_f on it at once, and the kernel blocks the thread as long as it
#> takes - the notes' "如果不是在协程内，直接阻塞式调用":
continue
bt 3
finish

#== To the end
delete
continue
