// co::Mutex: a mutual-exclusion lock that parks the task instead of the thread.
//
//   co::Mutex m;
//   { std::lock_guard<co::Mutex> g(m); ++shared; }   // BasicLockable / Lockable
//
// Fairness: bounded barging, as Go's sync.Mutex. Waiters queue FIFO and are
// woken one at a time, oldest first. unlock() normally releases the lock and
// wakes the oldest waiter to retry; a running task that calls lock() in the
// meantime may take it first (barging), and the loser re-queues at the front.
// That keeps the lock hot on a worker instead of paying a wake-up per
// acquisition. But once the oldest waiter has waited 1 ms (kHandoffAfterNs),
// unlock() hands ownership straight to it (the lock never becomes free), so
// no waiter starves: its wait is bounded by 1 ms plus the waiters ahead of it.
// Rejected: strict FIFO hand-off on every unlock (measured: a convoy, one
// thread wake-up per acquisition, ~100x slower under contention on 4
// workers); unbounded barging (a hot task can starve the others).
// Uncontended lock/unlock cost one SpinLock round trip each and never park.
//
// Outside a coroutine (no current task) lock() blocks the calling thread, so
// tasks and plain threads can share a Mutex. A parked task records
// TaskState::sys_block, WaitReason::mutex and this mutex as wait object.
//
// Not recursive: locking a Mutex the caller holds deadlocks. unlock() must be
// called by the holder, as with std::mutex: the task that locked it (on
// whichever worker it runs now), or the plain thread that locked it. An
// unlock() by anyone else, or of a Mutex nobody holds, prints who holds it
// and who called, then aborts (in every build type). So does destroying a
// Mutex that tasks or threads still wait on.
#pragma once

#include <chrono>
#include <cstdint>

#include "coscope/detail/park.h"
#include "coscope/detail/wait_list.h"

namespace co {

class Mutex {
 public:
  Mutex() = default;
  /// Precondition: unlocked. Aborts, naming them, if anyone still waits.
  ~Mutex();
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  /// Acquires the lock, waiting (parked) while another holds it.
  void lock();
  /// Acquires the lock if it is free now. Never waits.
  bool try_lock() noexcept;
  /// Releases the lock (waking the oldest waiter to retry), or hands it to the
  /// oldest waiter once that one has waited kHandoffAfterNs. Aborts if the
  /// caller does not hold it.
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

  /// A waiter that has waited this long gets the lock handed over directly.
  static constexpr std::int64_t kHandoffAfterNs = 1'000'000;

  /// A snapshot: true while some task or thread holds the lock.
  bool is_locked() const noexcept;

 private:
  // Guard held, lock held: releases it or hands it to a waiter.
  void release_locked() noexcept;
  // Guard held, lock free: the caller becomes the holder.
  void take_locked() noexcept;

  // Plain fields, read by the gdb pretty-printer.
  mutable detail::SpinLock guard_;       ///< guards the fields below
  bool locked_ = false;                  ///< held by someone (stays true across a hand-off)
  const detail::Task* owner_ = nullptr;  ///< holding task; nullptr if free or held by a thread
  unsigned long owner_thread_ = 0;       ///< pthread_self() of a holding plain thread, else 0
  bool waking_ = false;                  ///< a waiter was woken to retry and has not retried yet
  detail::WaitList waiters_;             ///< detail::MutexWaiters in lock(), oldest first
};

}  // namespace co
