// Fatal misuse reports used inside the runtime only (see coscope/detail/misuse.h).
#pragma once

#include "task.h"

namespace co {
namespace detail {

/// Mutex::unlock() by a task or thread that does not hold it. `holder` is the
/// holding task (nullptr when a plain thread holds it: `held_by_thread`);
/// `locked` is false when nobody holds it at all.
[[noreturn]] void fatal_unlock_by_non_holder(const void* mutex, const Task* holder,
                                             bool held_by_thread, bool locked) noexcept;

}  // namespace detail
}  // namespace co
