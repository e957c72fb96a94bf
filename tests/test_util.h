// Small helpers the suites share: elapsed time, and waiting until tasks have
// reached a state (instead of sleeping for a guessed time that a slow or
// sanitized build can overrun).
#pragma once

#include <coscope/coscope.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace coscope_test {

using Clock = std::chrono::steady_clock;

/// How many times its plain-build bound a timing check allows: under
/// ThreadSanitizer each task's first run and every synchronisation cost far
/// more. Bounds stay well below what the failure they catch would take.
#if defined(__SANITIZE_THREAD__)
inline constexpr double kTimeScale = 5.0;
#else
inline constexpr double kTimeScale = 1.0;
#endif

/// Milliseconds since `start`.
inline std::int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

/// Tasks of `s` parked now with reason `r`.
inline std::size_t CountParked(const co::Scheduler& s, co::WaitReason r) {
  std::size_t n = 0;
  for (const co::TaskInfo& t : co::snapshot_tasks()) {
    if (t.scheduler == &s && t.wait_reason == r) ++n;
  }
  return n;
}

/// Whether task `id` is parked now with reason `r`.
inline bool IsParked(co::TaskId id, co::WaitReason r) {
  for (const co::TaskInfo& t : co::snapshot_tasks()) {
    if (t.id == id) return t.wait_reason == r;
  }
  return false;
}

/// `ms` milliseconds of a plain build, scaled by kTimeScale.
inline std::chrono::milliseconds ScaledMs(int ms) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms * kTimeScale));
}

/// Sleeps (task or thread) 1 ms at a time until pred() or `limit` (2 s in a
/// plain build); returns pred().
template <class Pred>
bool Eventually(Pred pred, std::chrono::milliseconds limit = ScaledMs(2000)) {
  const auto end = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > end) return false;
    co::this_task::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace coscope_test
