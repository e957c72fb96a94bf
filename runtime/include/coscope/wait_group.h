// co::WaitGroup: Go's sync.WaitGroup - wait for a collection of tasks.
//
//   co::WaitGroup wg;
//   for (int i = 0; i < n; ++i) { wg.add(1); go [&]{ work(); wg.done(); }; }
//   wg.wait();   // parks until every done() was called
//
// add(n) moves a counter; when it reaches zero, every waiter is woken. As in
// Go, call add() before starting the task it counts (not inside it), or
// wait() may see zero too early. The group may be reused once wait()
// returned. Destroying it as soon as wait() returns is safe: the last done()
// touches nothing after it releases the waiters.
//
// Outside a coroutine wait() blocks the calling thread. A parked task records
// TaskState::sys_block, WaitReason::wait_group and this group as wait object.
#pragma once

#include <chrono>
#include <cstdint>

#include "coscope/detail/park.h"
#include "coscope/detail/wait_list.h"

namespace co {

class WaitGroup {
 public:
  WaitGroup() = default;
  /// Precondition: nobody waiting.
  ~WaitGroup() = default;
  WaitGroup(const WaitGroup&) = delete;
  WaitGroup& operator=(const WaitGroup&) = delete;

  /// Adds `delta` (may be negative) to the counter; at zero, wakes all
  /// waiters. Throws std::logic_error, changing nothing, if the counter would
  /// become negative (Go panics).
  void add(std::int64_t delta = 1);
  /// add(-1).
  void done() { add(-1); }

  /// Waits until the counter is zero (returns at once if it is).
  void wait();
  /// As wait(), giving up after `timeout` / at `deadline`: false if the
  /// counter was still non-zero.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) {
    return wait_until_ns(detail::deadline_after(timeout));
  }
  template <class Clock, class Duration>
  bool wait_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return wait_until_ns(detail::deadline_at(deadline));
  }
  bool wait_until_ns(std::int64_t deadline_ns);

  /// The counter now (a snapshot).
  std::int64_t count() const noexcept;

 private:
  // Plain fields, read by the gdb pretty-printer.
  mutable detail::SpinLock guard_;  ///< guards the fields below
  std::int64_t count_ = 0;          ///< outstanding add()s minus done()s, >= 0
  detail::WaitList waiters_;        ///< detail::Waiters in wait(), oldest first
};

}  // namespace co
