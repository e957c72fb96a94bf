// The parking primitive every blocking operation is built on.
//
// Public only because templates (Channel<T>) need it; not a stable API.
//
// Protocol, for any waiter list guarded by a SpinLock `lock`:
//
//   lock.lock();
//   if (condition already holds) { lock.unlock(); return; }
//   WaitTicket t = prepare_park();          // arms the current task
//   list.push_back({t, ...});               // wakers will find it here
//   park(TaskState::sys_block, reason, obj, arg, &lock);  // lock released
//                                           // only after the task is off CPU
//   ... woken: remove own entry if still listed ...
//
// A waker pops an entry under the same lock and calls wake(t). wake()
// succeeds for exactly one caller per park (a timer and a channel may race;
// the loser gets false and must treat the entry as gone). A ticket from an
// earlier park never wakes a later one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "coscope/task_state.h"

namespace co {
class Scheduler;
namespace detail {

struct Task;

/// A tiny test-and-test-and-set lock for waiter lists (held for a few
/// instructions, never across a park: park() releases it after the switch).
class SpinLock {
 public:
  void lock() noexcept {
    while (flag_.exchange(true, std::memory_order_acquire)) {
      while (flag_.load(std::memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
    }
  }
  bool try_lock() noexcept {
    return !flag_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept {
    flag_.store(false, std::memory_order_release);
  }

 private:
  std::atomic<bool> flag_{false};
};

/// Identifies one park of one task.
struct WaitTicket {
  Task* task = nullptr;
  std::uint64_t epoch = 0;
};

/// The task running on this thread, or nullptr outside any coroutine.
Task* current_task() noexcept;

/// Arms the current task for a park. Must be called inside a coroutine.
WaitTicket prepare_park() noexcept;

/// Also wake the armed park at `deadline` (steady clock, ns since epoch).
/// Call between prepare_park() and park(). The timer is removed on wake.
void arm_timer(WaitTicket ticket, std::int64_t deadline_ns) noexcept;

/// Suspends the current task until wake(ticket). `unlock`, if given, is
/// released once the task is off its stack. `object`/`arg` describe what it
/// waits for (see WaitReason). Returns true if woken by wake(), false if the
/// armed timer fired first. When the task's scheduler is being destroyed it
/// throws ForcedUnwind, or, if `unwindable` is false (C code such as a hooked
/// call cannot be unwound), returns false at once; unwinding() then says why.
bool park(TaskState state, WaitReason reason, const void* object, std::int64_t arg,
          SpinLock* unlock, bool unwindable = true);

/// True when the current task's scheduler is being destroyed.
bool unwinding() noexcept;

/// Thrown out of park() when the task's Scheduler is destroyed while the
/// task is parked, to unwind its stack (destructors run, nothing leaks). Not
/// derived from std::exception; a task must not swallow it: a task that
/// catches it and carries on (parks or yields again, or returns) is reported,
/// naming the task, and the process aborts.
struct ForcedUnwind {};

/// Who makes a parked task runnable, for the trace's wake arrows
/// (COSCOPE_TRACE=FILE.json). `caller`: the task or the thread calling wake().
enum class Waker : std::uint8_t { caller, timer, reactor, close, blocking_pool, unwind };

/// Makes the parked task runnable again. True for the one call that wins.
bool wake(WaitTicket ticket) noexcept;
/// The same, naming the waker when it is not simply the caller.
bool wake(WaitTicket ticket, Waker by) noexcept;

/// The calling thread's errno, looked up afresh at every call. glibc declares
/// __errno_location() const, so a compiler may keep its result across a call
/// that parks; a task resumed on another worker thread would then read or
/// write the errno of the thread it left. Code that touches errno after a
/// park (the hooks, io_poll) goes through this.
int& thread_errno() noexcept;

/// Steady-clock now in nanoseconds, the time base of arm_timer().
std::int64_t now_ns() noexcept;

/// Converts a steady_clock time point to now_ns()'s base.
template <class Clock, class Duration>
std::int64_t to_deadline_ns(std::chrono::time_point<Clock, Duration> tp) {
  auto rel = tp - Clock::now();
  return now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(rel).count();
}

}  // namespace detail
}  // namespace co
