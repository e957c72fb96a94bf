# Step 5 in gdb: the hooked poll and the epoll reactor - add_into_reactor's
# epoll_ctl (refused for a regular file, ADD for a pipe, none the second
# time), the timer of a wait that epoll ends, and select's nonblocking check.
# Run by `walkthroughs/walk 5` (walklib/gdb_driver.py explains the #== and #>
# lines). The program: step5_reactor.cpp. Breakpoints are on functions only.

#== A regular file that is ready: no add_into_reactor
#> `start` runs to main (libcoscope and the toolkit are loaded then). A
#> breakpoint on add_into_reactor (reactor_epoll.cpp): poll_wait, io_poll's
#> core, calls it for every fd it is about to wait on.
start
break co::detail::add_into_reactor
continue
#> main's two polls of the regular file ran on the plain thread. The
#> poller's poll 1 (POLLIN|POLLOUT) returned without a stop here: the hook
#> asks the kernel first (timeout 0), a regular file is always readable and
#> writable, so the hook returned that and never reached io_poll. Poll 2 asks
#> for POLLPRI, which a regular file never has: the kernel said "nothing",
#> and poll_wait now offers the file to the reactor:
bt 3
print *ctx

#== epoll refuses a regular file
#> A stop at every epoll_ctl system call from here on (gdb stops at its call
#> and at its return):
catch syscall epoll_ctl
continue
#> The reactor's Add, inside add_into_reactor. The system call's arguments
#> are in registers (x86-64: rdi, rsi, rdx): op 1 is EPOLL_CTL_ADD (2 is
#> DEL, 3 MOD; sys/epoll.h).
bt 3
printf "epoll_ctl(epfd %d, op %d, fd %d)\n", $rdi, $rsi, $rdx
continue
#> The system call returns -errno: -1 is EPERM, "the target file fd does not
#> support epoll" (man epoll_ctl) - a regular file. add_into_reactor returns
#> false, and the fd stays out of the reactor.
print (long)$rax
#> A stop after the loop that linked and added every fd of this poll:
tbreak co::detail::io_waiters_added
continue
up
print sentry
info fdctx fds[0].fd
#> added false: no fd of this poll went into the reactor - the notes' "所有的添加
#> 操作都失败了" case. Nothing returns early here: the waiter is linked all the
#> same, the kernel is asked again (a regular file never has POLLPRI), and
#> the poller parks with its 300 ms timer. No epoll event can come for this
#> fd, so only the timer ends the wait - as only the timeout ends the
#> thread's poll of the same file. Both return 0 after 300 ms (the table at
#> the end).

#== The first wait on a pipe: EPOLL_CTL_ADD
#> Poll 3 waits on pipe A, which no wait has registered yet:
continue
print *ctx
continue
printf "epoll_ctl(epfd %d, op %d, fd %d)\n", $rdi, $rsi, $rdx
continue
#> 0: A is in the epoll instance now, for every event, edge-triggered
#> (EPOLLIN|EPOLLOUT|EPOLLPRI|EPOLLRDHUP|EPOLLET), and add_into_reactor
#> marks its FdCtx registered.
print (long)$rax

#== A wait that epoll ends: its timer goes
#> Poll 3 has a 5 s timeout. A stop when the poller parks:
co-break state io_block task 1
continue
#> A (fd 4) is in the reactor, with the poller's waiter; the regular file is
#> not. The wait's timer is in the scheduler's timer queue:
info fdctx
info co-timers
#> The writer writes A. A stop when the poller becomes runnable:
co-break state runnable task 1
continue
#> The reactor woke it (Harvest -> Dispatch -> wake), long before its 5 s
#> were over. Its timer is still queued: the wake only claimed the park and
#> made the task runnable.
bt 5
info co-timers
#> The task removes its own timer when it runs again, right after its
#> switch back: park() disarms it.
break co::detail::SchedulerCore::DisarmTimer
continue
bt 3
finish
info co-timers

#== The second wait on A: no epoll_ctl
#> Poll 4 waits on A again. The same breakpoint and catchpoint as for poll
#> 3, and a stop at the park:
delete
break co::detail::add_into_reactor
catch syscall epoll_ctl
co-break state io_block task 1
continue
print ctx->registered
continue
#> It parked with no epoll_ctl on the way: add_into_reactor found the FdCtx
#> registered and returned at once. Registered once for all events, the fd
#> needs no EPOLL_CTL_MOD when a later wait asks for other events; every
#> waiter takes from an event what it asked for (Dispatch).
info fdctx

#== select: the nonblocking check
#> select has no first kernel check of its own (poll's hook has one): it
#> passes nonblocking_check true to io_poll, which asks the kernel before it
#> arms anything. A stop in io_poll when select calls it:
delete
break co::detail::io_poll if nonblocking_check
continue
bt 4
#> And a stop at the next poll system call, with the state changes logged:
co-trace states on
catch syscall poll
continue
#> The check in poll_wait: a kernel poll with timeout 0 (x86-64's rdx, the
#> third argument). A byte is already in A: it returns 1, and select returns
#> without linking a waiter, without epoll_ctl, without parking.
bt 4
print (int)$rdx
delete
continue
