// The body of co::this_task::yield(), which on x86-64 is a few lines of
// assembly around it (yield_entry.S) that choose how to return.
#pragma once

namespace co {
namespace detail {

/// Yields the calling task, whose yield() returns to `return_address`.
/// Returns the address the CPU's return-address predictor expects that
/// return to go to: after a hand-off (Processer::Yield), the return address
/// of the task that handed off (Processer::yielder_return); nullptr after a
/// resume from Run, and outside a coroutine, where it knows of none.
const void* yield_body(const void* return_address);

}  // namespace detail
}  // namespace co
