# Step 4 in gdb: a connect in a coroutine that has to wait, from the hook to
# the reactor's wake. Run by `walkthroughs/walk 4` on step4_connect_wait
# (walklib/gdb_driver.py explains the #== and #> lines).

#== The connector calls connect
#> The toolkit's commands exist once the program has loaded libcoscope: stop
#> at main first.
break main
run
#> co-break hook connect stops when a coroutine calls connect() (main's own
#> connect, outside any coroutine, does not stop it).
delete
co-break hook connect
continue
bt 3
#> The socket, as the hook finds it (its FdCtx): made by the hooked
#> socket(), blocking (Non-blocking: no), not in the reactor yet, with the
#> program's SO_SNDTIMEO of 5 minutes:
info fdctx fd

#== connect_f: the kernel's non-blocking answer
#> Breakpoint on glibc's connect, the function connect_f points to:
break __libc_connect
continue
bt 3
#> The hook made the socket non-blocking and tried. `finish` runs to the
#> return of the system call: -1, errno 115 - EINPROGRESS, the notes' third
#> case ("连接还在进行中").
finish
print errno
info fdctx fd

#== The task parks
#> co-break state io_block stops as a coroutine enters io_block.
delete
co-break state io_block
continue
#> The connector parks in io_block, waiting for its fd to be writable,
#> timed (the SO_SNDTIMEO). The wait is the hooked poll's own: connect ->
#> wait_ready -> io_wait_fd -> poll_wait (io_poll.cpp, the role of
#> libgo_poll) -> park:
bt 8

#== While it waits
#> Let it go, and stop when the other coroutine, acceptor, calls accept():
delete
co-break hook accept
continue
#> The connector is parked, the acceptor runs on the same thread:
info coroutines
#> The connector's stack, kept while it waits:
coroutine 1 bt
#> Its fd is in the reactor now (add_into_reactor), with the connector's
#> waiter (POLLOUT) linked into the FdCtx:
info fdctx
#> That waiter belongs to the connector's io_sentry, on its stack:
info io-sentries
#> SO_SNDTIMEO gave the wait a deadline: a timer, in the scheduler's timer
#> queue, the same queue sleep() uses:
info co-timers

#== The wake
#> Log every task state change from here on, and stop when the connector
#> becomes runnable again. The acceptor accepts main's connection, which
#> makes room in the queue; the connector's SYN, sent again a second after
#> the first, completes the handshake. (TCP's timer runs while gdb holds
#> the program: if you lingered at the stops, the SYN waits for TCP's next
#> retry - a second apart at first, then further and further apart - or,
#> once its retries are spent, TCP gives up: when, the step computed from
#> this machine's settings just before this session.)
delete
co-trace states on
co-break state runnable task 1
continue
#> Who woke it: not the timer, but the reactor. The idle processer waited in
#> epoll (IdleWaiter::Wait), found the reactor's epoll fd readable, and
#> Harvest handed each event to the FdCtx's waiters (Dispatch): the
#> connector's io_sentry, woken through its WaitTicket (claim):
bt 8

#== SO_ERROR
#> After the wait, the hook asks the socket how the connection ended:
#> getsockopt_f(SO_ERROR) - glibc's getsockopt, for SO_ERROR (4) only.
delete
break __getsockopt if $rdx == 4
continue
bt 3
finish
#> 0: connected. connect returns 0, as a blocking connect would. (If TCP
#> gave up while you read, err is 110, ETIMEDOUT, and connect returns -1
#> with it: what the kernel's blocking connect returns too.)
print err

#== To the end
delete
co-trace states off
continue
