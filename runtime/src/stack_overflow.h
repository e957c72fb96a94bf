// Reporting a task's stack overflow, and other fatal per-task errors.
//
// A guarded stack overflows into its PROT_NONE page: the SIGSEGV handler,
// running on an alternate signal stack, sees a fault address inside the
// current task's guard page, prints which task overflowed, restores the
// default action and returns, so the fault repeats and the process dies of
// SIGSEGV with a core as usual. Faults elsewhere go to the handler that was
// installed before ours. An unguarded stack (guard budget exhausted) is
// checked through its canary at every switch-out instead.
#pragma once

#include "task.h"

namespace co {
namespace detail {

void install_overflow_handler_for_thread() noexcept;
void remove_overflow_handler_for_thread() noexcept;

[[noreturn]] void report_stack_overflow(const Task* tk) noexcept;
[[noreturn]] void report_fatal_for_task(const Task* tk, const char* what) noexcept;
/// The kernel refused `tk`'s stack (errno `err`); the report names the size asked.
[[noreturn]] void report_stack_allocation_failure(const Task* tk, int err) noexcept;

}  // namespace detail
}  // namespace co
