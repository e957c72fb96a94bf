// co_sleep(ms) parks only its task; co_yield lets the other ready tasks run;
// co_sched.Start(1) runs the tasks on one worker until co_sched.Stop().
#include <coscope/libgo.h>

#include <chrono>
#include <string>

#include "check.h"

int main() {
  std::string order;
  auto began = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration slept{};

  go[&] {
    co_sleep(50);  // the worker is free meanwhile: "b" runs first
    slept = std::chrono::steady_clock::now() - began;
    order += "A";
  };
  go[&] {
    order += "b";
  };

  // Two tasks taking turns through co_yield on the one worker.
  go[&] {
    for (int i = 0; i < 3; ++i) {
      order += "x";
      co_yield;
    }
  };
  go[&] {
    for (int i = 0; i < 3; ++i) {
      order += "y";
      co_yield;
    }
  };

  go[&] {
    co_sleep(100);
    co_sched.Stop();
  };
  co_sched.Start(1);  // returns once the last task has called Stop()

  std::printf(
      "order %s, co_sleep(50) took %lld ms\n", order.c_str(),
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(slept).count()));
  CHECK(order == "bxyxyxyA");
  CHECK(slept >= std::chrono::milliseconds(50));
  CHECK(co_sched.IsStop());
  return 0;
}
