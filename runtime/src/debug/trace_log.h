// The task event log (public switch: coscope/trace.h).
//
// Two sinks, chosen once from COSCOPE_TRACE: the text log (stderr or a file,
// through spdlog), or, for a file name ending in ".json", the Chrome
// trace-event file (trace_json.h). The text log records created, swap in,
// swap out and done; the JSON trace also wakes and hooked calls.
//
// Call sites test trace_on() first; when tracing is off that relaxed load
// and a predicted-not-taken branch are the whole cost.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <type_traits>

#include "coscope/detail/park.h"

#include "task.h"

namespace co {
namespace detail {

extern std::atomic<bool> g_trace_on;

inline bool trace_on() noexcept {
  return __builtin_expect(g_trace_on.load(std::memory_order_relaxed), 0);
}

void trace_created(const Task* tk) noexcept;
void trace_swap_in(const Task* tk) noexcept;
void trace_swap_out(const Task* tk) noexcept;
void trace_done(const Task* tk) noexcept;

/// `tk`'s park was claimed (wake(), its timer, ...): it is runnable again.
void trace_wake(const Task* tk, Waker by) noexcept;

/// A hooked call starts or ends in the running task (hooks/hook_probes.h).
/// `name` is a string literal. Ignored outside tasks.
void trace_hook_enter(const char* name, std::int64_t subject) noexcept;
void trace_hook_exit(const char* name, std::int64_t result) noexcept;

/// The subject of a hook that has none (nanosleep, the resolver calls).
constexpr std::int64_t kNoSubject = INT64_MIN;

/// A hook's subject or result as a number; a pointer result as 0 or 1.
template <class T>
std::int64_t trace_value(T value) noexcept {
  if constexpr (std::is_pointer_v<T>) {
    return value != nullptr ? 1 : 0;
  } else {
    return static_cast<std::int64_t>(value);
  }
}

/// Ends the JSON trace now, a valid file whatever the program does next:
/// called on the way out of a fatal report (`why` says which).
void trace_finish(const char* why) noexcept;

/// In a child of fork: the JSON trace is the parent's file; the child writes
/// nothing more to it.
void trace_forget_in_child() noexcept;

/// Writes one line to the same log whether tracing is on or not (the stall
/// watchdog's reports).
void log_warning(const std::string& message) noexcept;

}  // namespace detail
}  // namespace co
