// Small helpers the suites share: elapsed time, spawning on a given
// scheduler, waiting until tasks have reached a state (instead of sleeping
// for a guessed time that a slow or sanitized build can overrun), and
// measuring whether a call blocked its worker thread.
#pragma once

#include <sys/resource.h>

#include <coscope/coscope.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "test_watchdog.h"

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

/// Seconds since `start`, with the fraction.
inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Whether COSCOPE_TRACE is set (to anything but the empty string): the
/// tests that expect no trace output skip then.
inline bool TraceEnvSet() {
  const char* env = std::getenv("COSCOPE_TRACE");
  return env != nullptr && *env != '\0';
}

/// No core file for this process: for the tests whose child dies on purpose.
inline void NoCoreDumps() {
  rlimit none{0, 0};
  setrlimit(RLIMIT_CORE, &none);
}

/// Spawns `fn` on `sched`, named `name`.
template <class F>
void SpawnOn(co::Scheduler& sched, F&& fn, std::string_view name = {}) {
  co::spawn(std::forward<F>(fn), co::SpawnOptions{name, 0, &sched});
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

/// Runs `blocking_call` in one coroutine while a second one ticks every 10 ms
/// on the same single worker; returns how often it ticked during the call
/// (0 when the call blocked the worker thread).
template <class Call>
int TicksDuring(Call&& blocking_call) {
  co::Scheduler sched;
  std::atomic<int> ticks{0};
  std::atomic<bool> done{false};
  int ticks_during = -1;
  SpawnOn(
      sched,
      [&] {
        while (!done.load()) {
          co::co_sleep(10);
          ticks.fetch_add(1);
        }
      },
      "ticker");
  SpawnOn(
      sched,
      [&] {
        co::co_sleep(20);  // the ticker is running by now
        const int before = ticks.load();
        blocking_call();
        ticks_during = ticks.load() - before;
        done.store(true);
      },
      "caller");
  Watchdog wd("ticker and blocking call", std::chrono::seconds(30));
  sched.RunUntilNoTask();
  return ticks_during;
}

}  // namespace coscope_test
