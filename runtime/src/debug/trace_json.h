// The Chrome trace-event file: COSCOPE_TRACE=FILE.json (trace_json.cpp).
//
// trace_log.cpp sends every traced event here when the name ends in ".json".
#pragma once

#include <cstdint>

#include "coscope/detail/park.h"

namespace co {
namespace detail {

struct Task;

/// True when COSCOPE_TRACE names a file ending in ".json".
bool json_trace_wanted() noexcept;

void json_created(const Task* tk) noexcept;
void json_swap_in(const Task* tk) noexcept;
void json_swap_out(const Task* tk) noexcept;
void json_wake(const Task* tk, Waker by) noexcept;
void json_hook_enter(const char* name, std::int64_t subject) noexcept;
void json_hook_exit(const char* name, std::int64_t result) noexcept;
void json_warning(const char* message) noexcept;
void json_finish(const char* why) noexcept;
void json_forget_in_child() noexcept;

}  // namespace detail
}  // namespace co
