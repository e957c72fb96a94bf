// The task event log (public switch: coscope/trace.h).
//
// Call sites test trace_on() first; when tracing is off that relaxed load
// and a predicted-not-taken branch are the whole cost.
#pragma once

#include <atomic>
#include <string>

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

/// Writes one line to the same log whether tracing is on or not (the stall
/// watchdog's reports).
void log_warning(const std::string& message) noexcept;

}  // namespace detail
}  // namespace co
