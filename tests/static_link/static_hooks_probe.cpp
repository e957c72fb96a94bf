// A program linked with the static archive gets every hook, including those
// its own code never names (hooks/hook_families.h).
//
// This program never names usleep: it looks it up at run time, as a library
// loaded later would call it. Three tasks each sleep 300 ms through it on one
// thread. With the sleep hooks linked in, the sleeps overlap (about 300 ms in
// all); without them, each blocks the thread (900 ms). Exits non-zero on
// failure, with a line saying why.
#include <coscope/coscope.h>
#include <dlfcn.h>

#include <chrono>
#include <cstdio>

#include "../test_util.h"

int main() {
  using usleep_fn = int (*)(unsigned);
  auto hooked_usleep = reinterpret_cast<usleep_fn>(dlsym(RTLD_DEFAULT, "usleep"));
  if (hooked_usleep == nullptr) {
    std::printf("static_hooks_probe: FAIL: usleep not found\n");
    return 1;
  }
  const auto start = coscope_test::Clock::now();
  int finished = 0;
  for (int i = 0; i < 3; ++i) {
    go[hooked_usleep, &finished] {
      if (hooked_usleep(300'000) == 0) ++finished;
    };
  }
  co_sched.RunUntilNoTask();
  const auto ms = coscope_test::MsSince(start);
  std::printf("static_hooks_probe: 3 sleeps of 300 ms took %lld ms\n", static_cast<long long>(ms));
  if (finished != 3) {
    std::printf("static_hooks_probe: FAIL: %d of 3 sleeps returned 0\n", finished);
    return 1;
  }
  if (ms >= 750) {
    std::printf("static_hooks_probe: FAIL: the sleeps did not overlap\n");
    return 1;
  }
  return 0;
}
