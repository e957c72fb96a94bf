// A program that uses an installed coscope, as any project would: through
// find_package(coscope) (CMakeLists.txt here) or pkg-config.
//
// Spawns a few tasks that each sleep with co::co_sleep, runs them with
// co_sched.RunUntilNoTask(), and exits non-zero unless every task ran inside
// a coroutine, slept at least as long as it asked, and the sleeps overlapped
// (one thread, yet the total is far less than the sum of the sleeps).
#include <coscope/coscope.h>

#include <chrono>
#include <cstdio>

namespace {

constexpr int kTasks = 4;
constexpr int kSleepMs = 200;

struct Result {
  co::TaskId id = 0;
  long long slept_ms = -1;
};

long long ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - t0)
      .count();
}

}  // namespace

int main() {
  Result results[kTasks];
  const auto start = std::chrono::steady_clock::now();

  for (int i = 0; i < kTasks; ++i) {
    go [i, &results] {
      const auto t0 = std::chrono::steady_clock::now();
      results[i].id = co::this_task::id();
      co::co_sleep(kSleepMs);
      results[i].slept_ms = ms_since(t0);
    };
  }
  std::printf("consumer: spawned %d tasks, each sleeping %d ms\n", kTasks, kSleepMs);

  co_sched.RunUntilNoTask();
  const long long total_ms = ms_since(start);

  int failures = 0;
  for (int i = 0; i < kTasks; ++i) {
    std::printf("consumer: task %d (id %llu) slept %lld ms\n", i,
                static_cast<unsigned long long>(results[i].id), results[i].slept_ms);
    if (results[i].id == 0) {
      std::printf("consumer: FAIL: task %d did not run in a coroutine\n", i);
      ++failures;
    }
    if (results[i].slept_ms < kSleepMs) {
      std::printf("consumer: FAIL: task %d slept %lld ms, less than %d\n", i,
                  results[i].slept_ms, kSleepMs);
      ++failures;
    }
  }
  std::printf("consumer: all tasks done after %lld ms\n", total_ms);
  // Sequential sleeps would take kTasks * kSleepMs; overlapping ones about kSleepMs.
  if (total_ms >= (kTasks * kSleepMs) * 3 / 4) {
    std::printf("consumer: FAIL: the sleeps did not overlap (%lld ms >= %d ms)\n", total_ms,
                (kTasks * kSleepMs) * 3 / 4);
    ++failures;
  }
  if (co::live_task_count() != 0) {
    std::printf("consumer: FAIL: %zu tasks still live\n", co::live_task_count());
    ++failures;
  }
  std::printf("consumer: %s\n", failures == 0 ? "OK" : "FAILED");
  return failures == 0 ? 0 : 1;
}
