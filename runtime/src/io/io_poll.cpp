// io_poll: the hooked poll's core (the role of libgo's libgo_poll).
//
//   1. Not in a coroutine, or timeout 0: the kernel's poll, as is.
//   2. No fd >= 0: a pure sleep (revents all 0), as poll(2) does.
//   3. nonblocking_check: ask the kernel once (timeout 0); ready -> return.
//   4. Arm the park (prepare_park), link one IoWaiter per fd into its FdCtx
//      and add the fd to the reactor (add_into_reactor) - never blocking.
//   5. Ask the kernel again: an fd that became ready between 3 and 4 is
//      seen here ("triggered"), and we return without parking. An event
//      after this check finds our waiter linked and wakes us.
//   6. Arm the timer, park (io_block). The reactor, the timer or a close()
//      wakes us - exactly once, through the WaitTicket.
//   7. Unlink, ask the kernel a last time, return its answer; a spurious
//      wake (nothing ready, time left) goes round again.
// A hook's wait after a try that failed with EAGAIN (io_wait_fd_after_try)
// asks the kernel in neither 5 nor 7: in 5 the fd's reactor edge count,
// read before the try, tells whether an edge came in since (then it
// returns 1 and the hook tries again); in 7 the reactor's wake-up is the
// answer. The hook's next try is the check: no poll(2) before or after the
// wait (and on TCP, after a short read, no try before it: hooked_read).
// A caught signal ends the wait with EINTR where the kernel would end the
// call (see signal_interrupt.h): the wait also links a SignalWakeLink, and
// checks signal_interrupts() after step 5 and after each wake. Readiness
// wins over a signal, as in the kernel's poll.
// A poll's results always come from the kernel's own poll, so revents and
// return values are exactly what poll(2) gives.
#include <poll.h>

#include <cerrno>
#include <exception>
#include <memory>

#include "coscope/detail/park.h"
#include "io/io_sentry.h"
#include "io/signal_interrupt.h"
#include "raw_syscall.h"
#include "reactor.h"

namespace co {
namespace detail {
namespace {

constexpr std::int64_t kForever = -1;

int kernel_poll(pollfd* fds, nfds_t nfds, int timeout_ms) noexcept {
  int n = sys::poll(fds, nfds, timeout_ms);
  return n;
}

// Step 5's question, "is anything ready now?": the kernel's poll with
// timeout 0, or for a hook's wait after its try the fd's edge count's
// answer (`edge_answer`: -1 ask the kernel; 0 no edge since the try, park;
// 1 an edge came in, the hook tries again). Out of line, so that the check
// after it is one line of code on every path (a debugger stops there).
[[gnu::noinline]] int ready_now(pollfd* fds, nfds_t nfds, int edge_answer) noexcept {
  if (edge_answer < 0) return kernel_poll(fds, nfds, 0);
  if (edge_answer > 0) fds[0].revents = fds[0].events;  // a hint: the hook's next try tells
  return edge_answer;
}

// Milliseconds until `deadline_ns` for the kernel (rounded up), -1 forever.
int remaining_ms(std::int64_t deadline_ns) noexcept {
  if (deadline_ns == kForever) return -1;
  std::int64_t left = deadline_ns - now_ns();
  if (left <= 0) return 0;
  std::int64_t ms = (left + 999'999) / 1'000'000;
  return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
}

// Unlinks every waiter of `sentry` and notes which fds were closed since
// they were linked (the slot's generation moved on). True if any was. A
// closed fd's number may already name another file: it must not be asked
// about again (see kernel_poll_open).
bool unlink_all(IoSentry& sentry) noexcept {
  std::size_t removed = 0;
  bool any_closed = false;
  for (std::size_t i = 0; i < sentry.nfds; ++i) {
    IoWaiter& w = sentry.waiters[i];
    if (w.fd < 0) continue;
    FdCtx* ctx = fd_ctx_slot(w.fd);
    ctx->lock.lock();
    w.closed = ctx->generation != w.generation;
    any_closed |= w.closed;
    if (w.linked) {
      ctx->Unlink(&w);
      ++removed;
    }
    ctx->lock.unlock();
  }
  io_waiters_removed(removed);
  return any_closed;
}

// The kernel's poll for the fds that were not closed during the wait; a
// closed one reports POLLNVAL, as poll(2) does for an fd that is not open.
int kernel_poll_open(pollfd* fds, nfds_t nfds, const IoWaiter* waiters) noexcept {
  for (nfds_t i = 0; i < nfds; ++i) {
    if (waiters[i].closed) fds[i].fd = ~fds[i].fd;  // negative: the kernel skips it
  }
  int n = kernel_poll(fds, nfds, 0);
  for (nfds_t i = 0; i < nfds; ++i) {
    if (!waiters[i].closed) continue;
    fds[i].fd = ~fds[i].fd;
    fds[i].revents = POLLNVAL;
    if (n >= 0) ++n;
  }
  return n;
}

// The task's scheduler is being destroyed (unwinding()): unwind the task, as
// park() unwinds Channel and sleep waiters, so that no retry loop around the
// hooked call can spin on a result the kernel never gave. A destructor that
// runs during that unwinding cannot throw again (that would terminate): its
// wait fails with ECANCELED, which no kernel wait returns.
int end_for_unwinding() {
  if (std::uncaught_exceptions() == 0) throw ForcedUnwind{};
  thread_errno() = ECANCELED;
  return -1;
}

// Parks the calling task until `deadline_ns` (kForever: until woken) or a
// signal caught since `signals` (a sleep is never restarted). False if a
// signal ended it.
bool sleep_in_poll(std::int64_t deadline_ns, const SignalMark& signals) {
  for (;;) {
    IoSentry sentry{.ticket = prepare_park(),
                    .waiters = nullptr,
                    .nfds = 0,
                    .deadline_ns = 0,
                    .triggered = false,
                    .added = false};
    SignalWakeLink signal_link(&sentry);
    if (signal_interrupts(signals, false)) {
      wake(sentry.ticket);
      return false;
    }
    if (deadline_ns != kForever) arm_timer(sentry.ticket, deadline_ns);
    bool woken =
        park(deadline_ns != kForever ? TaskState::sleep : TaskState::sys_block,
             deadline_ns != kForever ? WaitReason::sleep : WaitReason::poll, nullptr, 0, nullptr,
             /*unwindable=*/false);
    if (signal_interrupts(signals, false)) return false;
    if (!woken || unwinding()) return true;
    // Woken by the wake eventfd for no signal of ours: sleep on.
  }
}

}  // namespace

int io_poll(pollfd* fds, nfds_t nfds, int timeout_ms, bool nonblocking_check) {
  if (timeout_ms == 0 || current_task() == nullptr) return kernel_poll(fds, nfds, timeout_ms);
  std::int64_t deadline =
      timeout_ms < 0 ? kForever : now_ns() + static_cast<std::int64_t>(timeout_ms) * 1'000'000;
  return io_poll_until(fds, nfds, deadline, nonblocking_check);
}

namespace {

// io_poll_until, parking with `reason` and `reason_arg` (what a debugger
// shows: "poll" and the fd count, or "fd readable" / "fd writable" and the fd).
// `edges_before_try` (one fd only; nullptr: none): see io_wait_fd_after_try.
int poll_wait(pollfd* fds, nfds_t nfds, std::int64_t deadline_ns, bool nonblocking_check,
              bool restartable, WaitReason reason, std::int64_t reason_arg,
              const std::uint32_t* edges_before_try = nullptr) {
  if (current_task() == nullptr) return kernel_poll(fds, nfds, remaining_ms(deadline_ns));
  const SignalMark signals = signal_mark();

  bool any_fd = false;
  for (nfds_t i = 0; i < nfds; ++i) any_fd |= fds[i].fd >= 0;
  if (!any_fd) {
    // poll(2): negative fds are ignored; with none left it only waits. Let the
    // kernel validate the array (EFAULT, EINVAL) and zero revents first.
    int n = kernel_poll(fds, nfds, 0);
    if (n != 0) return n;
    if (deadline_ns != kForever && deadline_ns <= now_ns()) return 0;
    if (!sleep_in_poll(deadline_ns, signals) || unwinding()) {
      if (unwinding()) return end_for_unwinding();
      thread_errno() = EINTR;
      return -1;
    }
    return 0;
  }

  if (nonblocking_check) {
    int n = kernel_poll(fds, nfds, 0);
    if (n != 0) return n;  // ready, or an error such as EFAULT / EINVAL
  }

  // The waiters live here, on the task's stack, for the whole wait; only
  // those in use are constructed (below): one for a one-fd wait, not four.
  alignas(IoWaiter) unsigned char small[4 * sizeof(IoWaiter)];
  std::unique_ptr<IoWaiter[]> large;
  IoWaiter* waiters = reinterpret_cast<IoWaiter*>(small);
  if (nfds > 4) {
    large.reset(new IoWaiter[nfds]);
    waiters = large.get();
  }

  for (;;) {
    IoSentry sentry{.ticket = prepare_park(),
                    .waiters = waiters,
                    .nfds = nfds,
                    .deadline_ns = deadline_ns == kForever ? 0 : deadline_ns,
                    .triggered = false,
                    .added = false};
    std::size_t linked = 0;
    // With edges_before_try: the fd is in the reactor, so the reactor's edges
    // stand for the kernel's answer (steps 5 and 7 need no poll(2)).
    bool trust_edges = false;
    int edge_answer = -1;  // for ready_now: ask the kernel
    for (nfds_t i = 0; i < nfds; ++i) {
      IoWaiter& w = *std::construct_at(&waiters[i]);
      w.fd = fds[i].fd;
      w.events = fds[i].events;
      w.sentry = &sentry;
      if (w.fd < 0) continue;
      FdCtx* ctx = fd_ctx_get_or_create(w.fd);
      if (ctx == nullptr) {
        w.fd = -1;  // beyond the table: the kernel checks below still see it
        continue;
      }
      ctx->lock.lock();
      w.generation = ctx->generation;
      const bool in_reactor = add_into_reactor(ctx);
      if (in_reactor) sentry.added = true;
      // Not added (a regular file: always ready; or closed): the kernel
      // check below reports it, so the wait ends at once anyway.
      if (edges_before_try != nullptr && in_reactor) {
        // Under the lock Dispatch counts under: an edge after the try has
        // either been counted by now or will find this waiter linked.
        trust_edges = true;
        edge_answer = ctx->EdgeCount(w.events) != *edges_before_try ? 1 : 0;
      }
      ctx->Link(&w);
      ++linked;
      ctx->lock.unlock();
    }
    io_waiters_added(linked);
    SignalWakeLink signal_link(&sentry);

    int n = ready_now(fds, nfds, edge_answer);
    sentry.triggered = n != 0;
    if (sentry.triggered || signal_interrupts(signals, restartable)) {
      wake(sentry.ticket);  // cancel our own park: no waker may claim it now
      if (unlink_all(sentry)) n = kernel_poll_open(fds, nfds, waiters);
      if (n == 0) thread_errno() = EINTR;
      return n != 0 ? n : -1;
    }
    if (deadline_ns != kForever) {
      if (deadline_ns <= now_ns()) {
        wake(sentry.ticket);
        unlink_all(sentry);
        return 0;
      }
      arm_timer(sentry.ticket, deadline_ns);
    }
    bool woken = park(TaskState::io_block, reason, &sentry, reason_arg, nullptr,
                      /*unwindable=*/false);
    const bool closed = unlink_all(sentry);
    if (unwinding()) return end_for_unwinding();
    if (trust_edges && woken && !closed && waiters[0].revents != 0) {
      fds[0].revents = waiters[0].revents;  // the reactor's edge: try again
      return 1;
    }
    n = closed ? kernel_poll_open(fds, nfds, waiters) : kernel_poll(fds, nfds, 0);
    if (n != 0) return n;
    if (signal_interrupts(signals, restartable)) {
      thread_errno() = EINTR;
      return -1;
    }
    if (!woken || (deadline_ns != kForever && deadline_ns <= now_ns())) return 0;
    // Woken, but nothing is ready any more (another reader took the data):
    // wait again for the time that is left.
  }
}

}  // namespace

int io_poll_until(pollfd* fds, nfds_t nfds, std::int64_t deadline_ns, bool nonblocking_check,
                  bool restartable) {
  return poll_wait(fds, nfds, deadline_ns, nonblocking_check, restartable, WaitReason::poll,
                   static_cast<std::int64_t>(nfds));
}

int io_wait_fd(int fd, short events, std::int64_t deadline_ns, bool restartable,
               const std::uint32_t* edges_before_try) {
  pollfd pfd{fd, events, 0};
  const WaitReason reason = (events & POLLOUT) ? WaitReason::fd_writable : WaitReason::fd_readable;
  int n = poll_wait(&pfd, 1, deadline_ns == 0 ? kForever : deadline_ns, false, restartable, reason,
                    fd, edges_before_try);
  if (n > 0 && (pfd.revents & POLLNVAL)) {
    thread_errno() = EBADF;
    return -1;
  }
  return n;
}

int io_wait_fd_after_try(int fd, short events, std::int64_t deadline_ns, bool restartable,
                         std::uint32_t edges_before_try) {
  return io_wait_fd(fd, events, deadline_ns, restartable, &edges_before_try);
}

}  // namespace detail
}  // namespace co
