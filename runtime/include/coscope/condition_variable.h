// co::ConditionVariable: std::condition_variable for co::Mutex, parking tasks.
//
//   std::unique_lock<co::Mutex> lk(m);
//   cv.wait(lk, [&]{ return !queue.empty(); });
//   if (!cv.wait_for(lk, 100ms, [&]{ return done; })) { /* timed out */ }
//
// wait() enlists the caller on the condition variable before it releases the
// mutex, so a notify issued after the release (with or without the mutex
// held) always finds it: no lost wake-ups. notify_one() wakes the oldest
// waiter (FIFO); a waiter whose timeout already fired is skipped, so a
// notify_one() is never swallowed by a waiter that is leaving anyway.
// Spurious wake-ups do not happen, but use the predicate forms regardless:
// another task may change the state between the notify and the re-lock.
//
// Outside a coroutine the calling thread blocks; tasks and threads may mix.
// A parked task records TaskState::sys_block, WaitReason::condition_variable
// and this condition variable as its wait object.
//
// If the task is unwound (ForcedUnwind, the scheduler being destroyed) while
// waiting, the exception leaves wait() with the mutex NOT re-acquired
// (lk.owns_lock() == false), so the unwinding does not park again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <utility>

#include "coscope/detail/park.h"
#include "coscope/detail/wait_list.h"
#include "coscope/mutex.h"

namespace co {

class ConditionVariable {
 public:
  ConditionVariable() = default;
  /// Aborts, naming them, if a task or thread still waits.
  ~ConditionVariable();
  ConditionVariable(const ConditionVariable&) = delete;
  ConditionVariable& operator=(const ConditionVariable&) = delete;

  /// Wakes the oldest waiter, if any.
  void notify_one() noexcept;
  /// Wakes every waiter.
  void notify_all() noexcept;

  /// Releases `lk`, waits for a notify, re-acquires `lk`.
  /// Precondition: lk.owns_lock().
  void wait(std::unique_lock<Mutex>& lk) { wait_until_ns(lk, detail::kNoDeadline); }

  template <class Predicate>
  void wait(std::unique_lock<Mutex>& lk, Predicate pred) {
    while (!pred()) wait(lk);
  }

  template <class Rep, class Period>
  std::cv_status wait_for(std::unique_lock<Mutex>& lk,
                          const std::chrono::duration<Rep, Period>& timeout) {
    return wait_until_ns(lk, detail::deadline_after(timeout));
  }

  /// Returns pred() as evaluated last: false only if the time ran out first.
  template <class Rep, class Period, class Predicate>
  bool wait_for(std::unique_lock<Mutex>& lk, const std::chrono::duration<Rep, Period>& timeout,
                Predicate pred) {
    return wait_until_ns(lk, detail::deadline_after(timeout), std::move(pred));
  }

  template <class Clock, class Duration>
  std::cv_status wait_until(std::unique_lock<Mutex>& lk,
                            const std::chrono::time_point<Clock, Duration>& deadline) {
    return wait_until_ns(lk, detail::deadline_at(deadline));
  }

  template <class Clock, class Duration, class Predicate>
  bool wait_until(std::unique_lock<Mutex>& lk,
                  const std::chrono::time_point<Clock, Duration>& deadline, Predicate pred) {
    return wait_until_ns(lk, detail::deadline_at(deadline), std::move(pred));
  }

  /// The primitive: waits until notified or `deadline_ns` (now_ns() base;
  /// detail::kNoDeadline: forever). Re-acquires `lk` either way.
  std::cv_status wait_until_ns(std::unique_lock<Mutex>& lk, std::int64_t deadline_ns);

  template <class Predicate>
  bool wait_until_ns(std::unique_lock<Mutex>& lk, std::int64_t deadline_ns, Predicate pred) {
    while (!pred()) {
      if (wait_until_ns(lk, deadline_ns) == std::cv_status::timeout) return pred();
    }
    return true;
  }

 private:
  // Plain fields, read by the gdb pretty-printer.
  detail::SpinLock guard_;    ///< guards waiters_
  detail::WaitList waiters_;  ///< detail::Waiters in wait(), oldest first
};

}  // namespace co
