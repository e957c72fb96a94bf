# Step 5 in gdb: readiness that comes while poll() arms its wait.
# Run by `walkthroughs/walk 5` (walklib/gdb_driver.py explains the #== and #>
# lines). The program: step5_race.cpp, with the FIFO work/race.fifo.

#== Already ready: no io_sentry at all
#> `start` runs to main (libcoscope and the toolkit are loaded then). The
#> traces log every state change of a coroutine and every hooked call it
#> makes; breakpoint 2 is on io_poll, the core of the hooked poll.
start
co-trace states on
co-trace hooks on
break co::detail::io_poll
continue
#> Poll 1 found its byte and returned 1 with no state change between the call
#> and its return: the hook asked the kernel first (poll with timeout 0) and
#> never reached io_poll. Poll 2 finds the FIFO empty and goes on into
#> io_poll: the stop above.

#== After the link, before the check
#> A stop on the line after the loop that linked the poller's waiter into the
#> fd's FdCtx and added the fd to the reactor; the next line asks the kernel
#> again (kernel_poll, timeout 0):
tbreak io_poll.cpp:@line{runtime/src/io/io_poll.cpp|io_waiters_added(linked);}@
continue
list @line{runtime/src/io/io_poll.cpp|io_waiters_added(linked);}@,@line{runtime/src/io/io_poll.cpp|if (sentry.triggered || signal_interrupts}@
#> The io_sentry exists, the waiter is linked, the fd is in the reactor - and
#> the poller is still running: it has not parked.
print sentry
info fdctx fds[0].fd
info coroutines
#> Now the byte comes, from outside the program: a shell writes into the FIFO
#> by its name. Readiness that arrives between the hook's first check and
#> this point is what the notes ask about.
shell printf 2 > work/race.fifo
tbreak io_poll.cpp:@line{runtime/src/io/io_poll.cpp|if (sentry.triggered || signal_interrupts}@
continue
#> The kernel check saw it: n is 1, triggered is true. poll_wait cancels its
#> own park (wake on its own ticket), unlinks and returns 1 - no io_block.
print n
print sentry
delete

#== After the check, before the park
#> Poll 2 returns 1 (and poll 3 starts) when the program goes on. Poll 3
#> finds the FIFO empty again. A stop after the kernel's check said
#> "nothing" (triggered false), on the line that parks:
tbreak io_poll.cpp:@line{runtime/src/io/io_poll.cpp|bool woken = park(TaskState::io_block}@
continue
print sentry.triggered
#> The byte comes now, too late for the check. But the waiter is linked and
#> the fd was in epoll before the write: the write's edge event is queued in
#> the reactor. A stop when the poller becomes runnable:
shell printf 3 > work/race.fifo
co-break state runnable task 1
continue
#> It parked (running -> io_block), and the idle processer's epoll harvest
#> woke it at once: the reactor, as in the wake by epoll.
bt
delete
continue
