// The blocking pool: a few plain threads for calls that no hook can make
// yield (glibc's resolver talks to its sockets through internal calls).
// The calling task parks (sys_block, WaitReason::blocking_call) while a pool
// thread makes the call; other tasks keep its worker busy meanwhile.
#pragma once

namespace co {
namespace detail {

/// Runs fn(arg) on a pool thread and parks the calling task until it
/// returns. Outside a coroutine it calls fn(arg) directly.
void run_blocking(void (*fn)(void*), void* arg) noexcept;

/// Threads the pool may start (default 4).
constexpr int kBlockingPoolThreads = 4;

}  // namespace detail
}  // namespace co
