// IdleWaiter: where an idle Processer of one scheduler blocks.
//
// One per scheduler. It blocks (epoll_pwait2 on an epoll of its own, so a
// timer's deadline is kept to the nanosecond, not rounded up to whole
// milliseconds as epoll_wait's timeout is) until
//  - Interrupt() is called (new work, an earlier timer, Stop) - an eventfd;
//  - the process-wide Reactor has fd events pending - the reactor's readiness
//    fd is nested in this epoll; the events are then harvested, which wakes
//    the tasks waiting on those fds, whichever scheduler they belong to;
//  - the timeout passes (the scheduler's next timer).
// At most one thread of the scheduler waits here at a time (the poller role).
// `interrupt_pending_` collapses a burst of Interrupt() calls into one write.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>

namespace co {
namespace detail {

class IdleWaiter {
 public:
  /// Throws std::system_error if epoll or eventfd fail.
  IdleWaiter();
  ~IdleWaiter();
  IdleWaiter(const IdleWaiter&) = delete;
  IdleWaiter& operator=(const IdleWaiter&) = delete;

  /// Blocks up to `timeout_ns` (-1: no limit, 0: just look). Harvests fd
  /// events if the reactor has any.
  void Wait(std::int64_t timeout_ns);
  /// Makes a concurrent or the next Wait() return promptly.
  void Interrupt() noexcept;
  /// In the child of fork: fds of its own (the inherited ones are the
  /// parent's), watching the child's reactor. Aborts if the kernel refuses.
  void ResetInChild() noexcept;

 private:
  void Create();  ///< opens both fds; throws std::system_error
  /// epoll_pwait2, or epoll_wait where the kernel lacks it.
  int WaitForEvents(epoll_event* events, int max, std::int64_t timeout_ns);

  static std::atomic<bool> no_pwait2_;

  int epoll_fd_ = -1;  ///< eventfd + the reactor's readiness fd
  int event_fd_ = -1;  ///< Interrupt() writes here
  std::atomic<bool> interrupt_pending_{false};
};

}  // namespace detail
}  // namespace co
