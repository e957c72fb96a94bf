# Step 4 in gdb: connect in a coroutine on a socket the program made
# non-blocking itself (fcntl O_NONBLOCK): the hook passes it through. Run by
# `walkthroughs/walk 4` on step4_user_nonblock (walklib/gdb_driver.py
# explains the #== and #> lines). Breakpoints are on functions only.

#== The program's own O_NONBLOCK
#> `start` runs to main (libcoscope and the toolkit are loaded then). The
#> traces log every hooked call and every state change of a coroutine, and
#> co-break hook connect stops when a coroutine calls connect().
start
co-trace hooks on
co-trace states on
co-break hook connect
continue
#> The connector is at the entry of the connect hook. Its socket, as the
#> hook finds it: made by the hooked socket(), and non-blocking by the
#> program's own fcntl (Non-blocking: user) - the hooked fcntl recorded the
#> choice in the FdCtx (user_nonblocking):
bt 2
info fdctx fd

#== The pass-through
#> A stop in glibc's connect, the function connect_f points to:
break __libc_connect
continue
#> Called from connect_body on its first test: choose_path saw
#> user_nonblocking and chose the pass-through, so connect_f is called and
#> its answer returned as it is - no try-then-wait, no wait_ready:
bt 2
frame 1
#> `finish` runs to its return: -1, errno 115, EINPROGRESS - what a
#> non-blocking connect returns (loopback TCP: the handshake is not done
#> when connect returns).
frame 0
finish
print errno
#> Still running, never parked: no state change since the call.
info coroutines

#== To the end
#> connect returns -1 EINPROGRESS at once, as the kernel's non-blocking
#> connect does. The program then waits for the connection itself, with
#> its own poll (hooked: it parks only if the handshake is not done yet)
#> and SO_ERROR.
delete
continue
