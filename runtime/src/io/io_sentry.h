// io_sentry: one poll-style wait of one task (libgo's name, kept).
//
// A hooked poll/read/connect that must wait builds an IoSentry on the task's
// stack: one IoWaiter per fd, each linked into that fd's FdCtx, and the
// task's WaitTicket. Whoever comes first - the reactor reporting an event on
// any of the fds, the timer, or a close() of one of the fds - wakes the task
// through the ticket, exactly once; the others find the ticket spent.
//
// The reactor's revents are hints. After waking, a poll asks the kernel
// itself (poll with timeout 0) what is ready, so the result is always what
// the kernel would have returned; a read or write hook instead tries its
// call again (io_wait_fd_after_try), whose result is the kernel's answer.
#pragma once

#include <poll.h>

#include <cstddef>
#include <cstdint>

#include "coscope/detail/park.h"
#include "fd_ctx.h"

namespace co {
namespace detail {

struct IoSentry {
  WaitTicket ticket;         ///< the waiting task and its park
  IoWaiter* waiters;         ///< one per fd (entries with fd < 0 unused)
  std::size_t nfds;          ///< number of entries in `waiters`
  std::int64_t deadline_ns;  ///< when the timer ends the wait; 0: none
  bool triggered;            ///< the kernel said "ready" at the check after adding
  bool added;                ///< at least one fd was added to the reactor
};

/// The hooked poll's core (libgo's libgo_poll): waits in the calling task for
/// any of `fds` to be ready, `timeout_ms` (-1 forever, 0 no wait) at most.
/// `nonblocking_check`: ask the kernel once before arming (false when the
/// caller just got EAGAIN and knows nothing is ready). Returns what poll(2)
/// returns. Outside a coroutine it is poll(2).
int io_poll(pollfd* fds, nfds_t nfds, int timeout_ms, bool nonblocking_check);

/// The same with a deadline in now_ns() time (0: none, -1 wait forever).
/// A caught signal ends the wait with -1/EINTR; `restartable` (a read or
/// write the kernel restarts): only one whose handler lacks SA_RESTART.
/// When the task's Scheduler is destroyed, every wait (io_poll, io_wait_fd
/// too) throws ForcedUnwind to unwind the task, or, with an exception already
/// in flight (a destructor running during that unwinding), fails with
/// -1/ECANCELED.
int io_poll_until(pollfd* fds, nfds_t nfds, std::int64_t deadline_ns, bool nonblocking_check,
                  bool restartable = false);

/// Waits in the calling task until `fd` is ready for `events` (POLLIN or
/// POLLOUT) or `deadline_ns` passes (0: no deadline). Returns 1 when ready
/// (or in error/hangup), 0 on timeout, -1 with errno on failure (EINTR:
/// see io_poll_until). `edges_before_try`: see io_wait_fd_after_try, which
/// passes it (nullptr: ask the kernel).
int io_wait_fd(int fd, short events, std::int64_t deadline_ns, bool restartable = false,
               const std::uint32_t* edges_before_try = nullptr);

/// io_wait_fd for a hook whose try on `fd` just failed with EAGAIN, where
/// `edges_before_try` is the fd's FdCtx::EdgeCount(events) read before the
/// try. The kernel is not asked again: if the count moved, an edge came in
/// after the read and it returns 1 at once (the hook tries again); if not,
/// the task parks until the reactor reports the next edge and returns 1
/// with no poll(2) either (the hook's next try is the check; a spurious
/// wake costs one more try). A timer, a signal or a close ends the wait as
/// in io_wait_fd.
int io_wait_fd_after_try(int fd, short events, std::int64_t deadline_ns, bool restartable,
                         std::uint32_t edges_before_try);

}  // namespace detail
}  // namespace co
