// co_timer runs a callback in a task after a delay; StopTimer() cancels one
// that has not run (true) and is false for one that has; destroying the
// co_timer cancels the callbacks it set that have not run.
#include <coscope/libgo.h>

#include <atomic>
#include <chrono>

#include "check.h"

using std::chrono::milliseconds;
using std::chrono::steady_clock;

int main() {
  co_timer timer;
  auto began = steady_clock::now();
  std::atomic<long long> fired_after_ms{-1};
  std::atomic<bool> fired_in_task{false};
  std::atomic<bool> cancelled_ran{false};
  bool cancelled = false, stop_after_fire = true, stop_empty = true;

  co_timer_id fires = timer.ExpireAt(milliseconds(40), [&] {
    fired_after_ms = std::chrono::duration_cast<milliseconds>(steady_clock::now() - began).count();
    fired_in_task = co_sched.IsCoroutine();
  });
  co_timer_id cancelled_id = timer.ExpireAt(milliseconds(20), [&] { cancelled_ran = true; });
  CHECK(fires && cancelled_id);

  // Destroying a co_timer cancels what it set that has not run.
  std::atomic<bool> orphan_ran{false};
  {
    co_timer short_lived;
    short_lived.ExpireAt(milliseconds(30), [&] { orphan_ran = true; });
  }

  go[&] {
    cancelled = cancelled_id.StopTimer();
    co_sleep(100);  // both due times have passed
    stop_after_fire = fires.StopTimer();
    stop_empty = co_timer_id().StopTimer();
    co_sched.Stop();
  };
  co_sched.Start(1);

  std::printf("timer fired after %lld ms\n", static_cast<long long>(fired_after_ms));
  CHECK(fired_after_ms >= 40);
  CHECK(fired_in_task);
  CHECK(cancelled && !cancelled_ran);
  CHECK(!orphan_ran);
  CHECK(!stop_after_fire && !stop_empty);
  CHECK(!co_timer_id());
  return 0;
}
