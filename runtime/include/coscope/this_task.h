// Operations on the calling task.
//
// Called outside a coroutine, sleep_for/sleep_until block the thread and
// yield() yields the thread, so code runs the same either way.
#pragma once

#include <chrono>
#include <cstdint>

#include "coscope/detail/park.h"
#include "coscope/detail/wait_list.h"
#include "coscope/spawn.h"

namespace co {
namespace this_task {

/// The calling task's id; 0 outside a coroutine.
TaskId id() noexcept;

/// Gives other ready tasks on this processer a turn.
void yield();

/// Parks the task (TaskState::sleep) until `deadline_ns` (detail::now_ns base).
void sleep_until_ns(std::int64_t deadline_ns);

/// Parks the task until `tp`. A time beyond the clock's range (up to
/// time_point::max()) sleeps for ever, as Channel and Mutex timeouts
/// saturate: the deadline never wraps round into the past.
template <class Clock, class Duration>
void sleep_until(const std::chrono::time_point<Clock, Duration>& tp) {
  sleep_until_ns(detail::deadline_at(tp));
}

/// Parks the task for `d` (saturated as sleep_until; <= 0: a yield through the timer).
template <class Rep, class Period>
void sleep_for(const std::chrono::duration<Rep, Period>& d) {
  sleep_until_ns(detail::deadline_after(d));
}

}  // namespace this_task

/// Sleeps `ms` milliseconds, as libgo's co_sleep.
inline void co_sleep(std::int64_t ms) {
  this_task::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace co
