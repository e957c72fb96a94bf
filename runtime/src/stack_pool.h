// StackPool: task stacks, reused and committed lazily.
//
// A stack is an anonymous MAP_NORESERVE mapping: pages cost memory only once
// touched. Below each stack lies a PROT_NONE guard page while the kernel's
// map count allows it (each guarded stack costs two mappings, and
// vm.max_map_count is often 65530); past that budget stacks are unguarded and
// carry a canary instead: their lowest cache line filled with kStackCanary,
// checked at every switch-out and by the SIGSEGV handler. Unguarded stacks
// are carved from slabs, 1024 to a mapping, each canary sharing a page with
// the top of the stack below it, so that a parked task costs one page
// (stack_pool.cpp). Either way an
// overflow is reported with the task's identity (stack_overflow.h) rather
// than corrupting memory silently.
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
/// The bytes of PROT_NONE guard below a stack's base (0 for an unguarded
/// one). Async-signal-safe once a stack was allocated.
std::size_t stack_guard_size(const TaskStack& stack) noexcept;

/// The canary of an unguarded stack: kCanaryWords words of kStackCanary at
/// its lowest address. A whole cache line, not one word: a frame that runs
/// past the bottom writes somewhere in it even when it leaves a word or two
/// untouched (padding, an array it does not fill).
constexpr unsigned long long kStackCanary = 0xC05C09E5AFE5AFE5ull;
constexpr std::size_t kCanaryWords = 8;

/// False if an unguarded stack's canary was overwritten. Inline: checked at
/// every switch-out; a guarded stack costs one test of `guarded`.
/// (Not instrumented by ASan: the signal handler reads other tasks' canaries.)
__attribute__((no_sanitize("address"))) inline bool stack_canary_intact(
    const TaskStack& stack) noexcept {
  if (stack.guarded || stack.base == nullptr) return true;
  const auto* words = static_cast<const unsigned long long*>(stack.base);
  unsigned long long diff = 0;
  for (std::size_t i = 0; i < kCanaryWords; ++i) diff |= words[i] ^ kStackCanary;
  return diff == 0;
}

/// Stacks with guard pages in use or pooled (for tests and docs).
std::size_t guarded_stack_count() noexcept;
/// Stacks without guard pages in use or pooled: while there are none, no
/// canary can be broken and the SIGSEGV handler does not look for one.
std::size_t unguarded_stack_count() noexcept;

/// For tests only: how many guarded stacks may exist from now on (stacks
/// already mapped keep what they have). Reaching the real budget takes
/// thousands of live tasks; 0 makes every new stack unguarded.
void set_guard_budget_for_testing(std::size_t stacks) noexcept;

}  // namespace detail
}  // namespace co
