# Step 5 in gdb: a coroutine parked in poll(), its io_sentry, and the two
# wakers - the reactor (an epoll event) and the scheduler's timer.
# Run by `walkthroughs/walk 5` (walklib/gdb_driver.py explains the #== and #>
# lines). The program: step5_wake.cpp.

#== The poller parks in poll
#> `start` runs to main; by then libcoscope, and with it the coscope toolkit,
#> is loaded. Then a stop when a coroutine calls write(): only the writer
#> does, after the poller has called poll() on pipes A and B.
start
co-break hook write
continue
#> The writer is at the entry of the write hook. The poller called poll()
#> first, on the same thread, and is parked: state io_block, waiting for "poll
#> on 2 fds". One processer, one thread, and it runs the writer. The hooked
#> poll blocked the coroutine, not the thread.
info coroutines
info processers
#> The poller's stack, kept while it waits: its poll() call, the hook
#> (poll_hooks.cpp), io_poll (libgo_poll's role) and poll_wait, then park()
#> and the switch back to the processer (SwapOut):
coroutine 1 bt

#== The io_sentry
#> Every io_block wait has an io_sentry. It lives in poll_wait's frame, on the
#> poller's own stack:
info io-sentries
#> The same object, printed from that frame: one waiter per fd (fd, the events
#> asked for, the revents the reactor reported so far, linked into the fd's
#> FdCtx), triggered false (the kernel said "nothing ready" at the check right
#> after the fds were linked), added true (the fds are in the epoll reactor).
coroutine 1 frame 5
print sentry
print sentry.waiters[1]
coroutine deselect
#> Each fd's FdCtx lists who waits on it. The read ends of A and B went into
#> the epoll reactor (add_into_reactor: Reactor yes) and list the poller as
#> their waiter; nobody waits on the write ends.
info fdctx

#== A wake by epoll
#> A stop when coroutine 1 becomes runnable again, whoever makes it so. The
#> writer now writes B.
delete
co-break state runnable task 1
continue
#> Who woke it: not the writer (it only wrote, and has finished), and not the
#> io_sentry (it is data). The processer, with no task left to run, went idle
#> and waited in epoll (IdleWaiter::Wait); the write had made B readable; the
#> reactor harvested the event (Harvest), found the waiter in B's FdCtx
#> (Dispatch) and called wake() on the ticket of the waiter's io_sentry.
#> claim() is where a wake wins the park, once: `by` 0 means woken (3 would
#> be the timer).
bt
print by
#> The reactor wrote what it saw into B's waiter: revents POLLIN (a hint; the
#> hook asks the kernel itself).
print *(co::detail::IoSentry*)ticket.task->wait_object

#== The wake reaches the coroutine
#> claim() made the poller runnable and queued it on the processer. The
#> processer's run loop then switches into it (SwapIn):
co-break state running task 1
continue
bt
#> Back on the poller's stack, park() returns (true: woken, not timed out),
#> poll_wait unlinks its waiters and asks the kernel, which fills revents.
tbreak io_poll.cpp:@line{runtime/src/io/io_poll.cpp|= unlink_all(sentry);}@
continue
print woken

#== A wake by the timer
#> Now the poller polls A alone, for 500 ms. Nobody writes A. A stop when it
#> parks:
delete
co-break state io_block task 1
continue
#> This time the io_sentry has a deadline, and the scheduler's timer queue
#> holds a timer for it:
info io-sentries
info co-timers
#> And a stop when it is woken:
co-break state runnable task 1
continue
#> The timer. The idle processer waited in epoll (IdleWaiter::Wait) no longer
#> than until the earliest timer was due; then its FireTimers found the
#> deadline passed and called wake_by_timer() on the poller's ticket (`by` 3:
#> timed out). No fd event was involved.
bt
print by
tbreak io_poll.cpp:@line{runtime/src/io/io_poll.cpp|= unlink_all(sentry);}@
continue
#> park() returned false: the timer, not a wake(). The kernel says nothing is
#> ready, so poll returns 0.
print woken
delete
continue
