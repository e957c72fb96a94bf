// StackPool: task stacks, reused and committed lazily.
//
// A stack is an anonymous MAP_NORESERVE mapping: pages cost memory only once
// touched. Below each stack lies a PROT_NONE guard page while the kernel's
// map count allows it (each guarded stack costs two mappings, and
// vm.max_map_count is often 65530); past that budget stacks are unguarded and
// carry a canary word at their lowest address instead, checked at every
// switch-out and at exit (check_stack_canary). Either way an overflow is
// reported with the task's identity (see overflow_report.cpp) rather than
// corrupting memory silently.
//
// Stacks are allocated at a task's first run, not at spawn, so 100,000
// spawned tasks that run one after another share a handful of stacks.
#pragma once

#include <cstddef>

#include "task.h"

namespace co {
namespace detail {

/// Allocates a stack of at least `size` usable bytes. Returns false (errno
/// set) when the kernel refuses the mapping.
bool allocate_stack(std::size_t size, TaskStack* out) noexcept;
/// Returns a stack to the pool (or to the kernel when the pool is full).
void release_stack(TaskStack* stack) noexcept;

/// The canary stored at the lowest word of an unguarded stack.
constexpr unsigned long long kStackCanary = 0xC05C09E5AFE5AFE5ull;
/// False if an unguarded stack's canary was overwritten (inline: checked at
/// every switch-out).
inline bool stack_canary_intact(const TaskStack& stack) noexcept {
  return stack.guarded || stack.base == nullptr ||
         *static_cast<const unsigned long long*>(stack.base) == kStackCanary;
}

/// Stacks with guard pages in use or pooled (for tests and docs).
std::size_t guarded_stack_count() noexcept;

}  // namespace detail
}  // namespace co
