// co::Mutex: a mutual-exclusion lock that parks the task instead of the thread.
//
//   co::Mutex m;
//   { std::lock_guard<co::Mutex> g(m); ++shared; }   // BasicLockable / Lockable
//
// Fairness: FIFO hand-off. unlock() with waiters does not release the lock;
// it passes ownership directly to the oldest waiter (and wakes it), so a
// task that unlocks and immediately locks again queues behind the others
// and no waiter starves. The price is a context switch per contended
// hand-off (a lock convoy under heavy contention); barging (release, let
// whoever comes first win) is faster but lets a hot task starve the others,
// which is the harder bug to find. Uncontended lock/unlock cost one SpinLock
// round trip each and never park.
//
// Outside a coroutine (no current task) lock() blocks the calling thread, so
// tasks and plain threads can share a Mutex. A parked task records
// TaskState::sys_block, WaitReason::mutex and this mutex as wait object.
//
// Not recursive: locking a Mutex the caller holds deadlocks. unlock() must be
// called by the holder (not checked: a task may lock and a thread unlock).
#pragma once

#include <chrono>
#include <cstdint>

#include "coscope/detail/park.h"
#include "coscope/detail/wait_list.h"

namespace co {

class Mutex {
 public:
  Mutex() = default;
  /// Precondition: unlocked, nobody waiting.
  ~Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  /// Acquires the lock, waiting (parked, FIFO) while another holds it.
  void lock();
  /// Acquires the lock if it is free now. Never waits; never barges past
  /// waiters (a waiter exists only while the lock is held).
  bool try_lock() noexcept;
  /// Releases the lock, or hands it to the oldest waiter.
  void unlock() noexcept;

  /// Acquires the lock, giving up after `timeout` / at `deadline` (false).
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
    return lock_until_ns(detail::deadline_after(timeout));
  }
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return lock_until_ns(detail::deadline_at(deadline));
  }

  /// The same with a now_ns()-based deadline (detail::kNoDeadline: forever).
  bool lock_until_ns(std::int64_t deadline_ns);

  /// A snapshot: true while some task or thread holds the lock.
  bool is_locked() const noexcept;

 private:
  // Plain fields, read by the gdb pretty-printer.
  mutable detail::SpinLock guard_;       ///< guards the fields below
  bool locked_ = false;                  ///< held by someone (stays true across a hand-off)
  const detail::Task* owner_ = nullptr;  ///< holding task; nullptr if free or held by a thread
  detail::WaitList waiters_;             ///< detail::Waiters in lock(), oldest first
};

}  // namespace co
