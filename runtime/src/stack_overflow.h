// Reporting a task's stack overflow, and other fatal per-task errors.
//
// An overflow is caught in one of three places, whichever comes first:
//
// 1. The SIGSEGV handler (on an alternate signal stack per processer thread).
//    The task running on the faulting thread overflowed when the fault
//    address lies in the guard window below its stack (its guard page and
//    64 KiB below it, for frames that skip the page), or when the interrupted
//    stack pointer lies below its stack (a frame larger than the guard page
//    skipped it; what faulted may be a neighbour's memory). The task whose
//    stack the interrupted stack pointer is on counts as running, so the few
//    instructions of a yield that run on the yielder's stack after `current`
//    names the next task are covered too. The handler prints which task
//    overflowed, restores the default action and returns: the fault repeats
//    and the process dies of SIGSEGV with a core, as usual.
// 2. At every switch-out (check_stack_at_switch_out): a task whose stack
//    pointer is outside its stack switched out in the middle of an overflow;
//    an unguarded stack whose canary (stack_pool.h) was overwritten has
//    overflowed since it was last checked. Both abort with the report.
// 3. Any other fault on a processer thread while unguarded stacks exist: the
//    handler looks at every task's canary and reports each broken one
//    ("found at a fault in task ..."), since an overflow that ran into a
//    neighbour's stack makes that neighbour crash later, at pc 0 or anywhere,
//    before the overflowing task switches out. It then hands the fault to the
//    handler installed before ours, as for every fault that is not ours.
#pragma once

#include <cstdint>

#include "stack_pool.h"
#include "task.h"

namespace co {
namespace detail {

void install_overflow_handler_for_thread() noexcept;
void remove_overflow_handler_for_thread() noexcept;

/// Reports an overflow of `tk` found at a switch-out (`how`: the evidence),
/// then aborts.
[[noreturn]] void report_stack_overflow(const Task* tk, const char* how) noexcept;
[[noreturn]] void report_fatal_for_task(const Task* tk, const char* what) noexcept;
/// The kernel refused `tk`'s stack (errno `err`); the report names the size asked.
[[noreturn]] void report_stack_allocation_failure(const Task* tk, int err) noexcept;

/// The stack pointer of the caller.
__attribute__((always_inline)) inline const void* current_stack_pointer() noexcept {
  const void* sp;
#if defined(__x86_64__)
  __asm__ volatile("movq %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
  __asm__ volatile("mov %0, sp" : "=r"(sp));
#else
  sp = __builtin_frame_address(0);
#endif
  return sp;
}

/// Checks `tk`, switching out with stack pointer `sp` (inline: every switch
/// pays for it; a guarded stack costs a subtraction and two compares).
inline void check_stack_at_switch_out(const Task* tk, const void* sp) noexcept {
  // One unsigned compare: below base wraps around to a huge offset.
  const std::uintptr_t offset =
      reinterpret_cast<std::uintptr_t>(sp) - reinterpret_cast<std::uintptr_t>(tk->stack.base);
  if (offset >= tk->stack.size) [[unlikely]] {
    report_stack_overflow(tk, "switched out with its stack pointer outside its stack");
  }
  if (!stack_canary_intact(tk->stack)) [[unlikely]] {
    report_stack_overflow(tk, "canary overwritten; stack without guard page");
  }
}

}  // namespace detail
}  // namespace co
