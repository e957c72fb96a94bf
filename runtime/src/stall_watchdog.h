// The stall watchdog: reports a processer that runs one task too long.
//
// A task that blocks its thread in a call no hook sees (stdio's reads, a
// pthread mutex) or computes without yielding holds its worker; coscope
// cannot take the worker back, but it says so. One thread for the process
// samples every processer's switch counter; a processer whose counter has
// not moved for COSCOPE_STALL_MS (default 100; 0: off) while it runs a task
// is reported once through the runtime's log, with what its thread is doing
// (thread_syscall.h), and once more when the stall ends. With the
// work-stealing policy the stalled processer's queued tasks are lent to the
// other workers. See stall_watchdog.cpp for the states and the protocol.
#pragma once

#include <atomic>
#include <cstdint>

namespace co {
namespace detail {

/// The threshold from COSCOPE_STALL_MS in nanoseconds; 0 when off.
std::int64_t stall_threshold_ns() noexcept;

/// Called by a processer when its Run loop starts: starts the watchdog on
/// first use (unless COSCOPE_STALL_MS=0) and wakes it if it sleeps.
void stall_watchdog_note_running() noexcept;

/// Starts the watchdog on first use (unless COSCOPE_STALL_MS=0). Scheduler::
/// Start calls it before it creates its workers, so the watchdog's thread
/// never races them to be created: a debugger numbers threads in creation
/// order, and `info processers` shows the same numbers from run to run.
void stall_watchdog_start() noexcept;

class Processer;
struct Task;

/// Writes the "stall over" line of a reported stall, on the stalled
/// processer's thread as soon as the task switched out (so it comes right
/// after the task's last output). `tk`: the task, or nullptr if the report
/// reached a later run (then only `task_id` is known).
void stall_over_by_owner(const Processer* p, const Task* tk, std::uint64_t task_id,
                         std::int64_t since_ns) noexcept;

/// True while the watchdog sleeps because every processer was idle.
extern std::atomic<bool> g_stall_watchdog_sleeping;
void stall_watchdog_wake() noexcept;

/// Called by a processer that leaves Idle(), after it stored IdleMode::running
/// (seq_cst): one load unless the watchdog sleeps.
inline void stall_watchdog_wake_if_sleeping() noexcept {
  if (g_stall_watchdog_sleeping.load(std::memory_order_seq_cst)) stall_watchdog_wake();
}

}  // namespace detail
}  // namespace co
