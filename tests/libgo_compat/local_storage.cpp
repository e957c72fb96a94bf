// co_cls: each task has its own copy of a coroutine-local variable, made on
// first use and destroyed when the task ends.
#include <coscope/libgo.h>

#include <atomic>
#include <string>

#include "check.h"

namespace {

std::atomic<int> live_copies{0};

struct Tracked {
  std::string text;
  explicit Tracked(std::string t = "fresh") : text(std::move(t)) { ++live_copies; }
  Tracked(const Tracked&) = delete;
  ~Tracked() { --live_copies; }
};

// One coroutine-local variable; main's copy is made from the arguments.
co_cls_ref(Tracked) label = co_cls(Tracked, "main's");
co_cls_ref(int) counter = co_cls(int, 100);

}  // namespace

int main() {
  constexpr int kTasks = 4;
  std::atomic<int> finished{0};
  std::atomic<int> mismatches{0};
  std::atomic<int> peak_copies{0};

  for (int t = 0; t < kTasks; ++t) {
    go[&, t] {
      int& mine = counter;
      if (mine != 0) ++mismatches;  // another task's copy starts value-initialised
      for (int i = 0; i < 10; ++i) {
        ++static_cast<int&>(counter);
        co_yield;  // the other tasks run and count their own copies
      }
      if (counter.get() != 10) ++mismatches;
      Tracked& my_label = label;
      if (my_label.text != "fresh") ++mismatches;
      my_label.text = "task " + std::to_string(t);
      co_sleep(20);
      if (label.get().text != "task " + std::to_string(t)) ++mismatches;
      int copies = live_copies;
      if (copies > peak_copies) peak_copies = copies;
      if (++finished == kTasks) {
        go[] {
          // Until the others have ended and been freed, copies and all.
          while (co_sched.TaskCount() > 1) co_sleep(1);
          co_sched.Stop();
        };
      }
    };
  }
  co_sched.Start(2);

  CHECK(mismatches == 0);
  CHECK(counter.get() == 100);
  CHECK(label.get().text == "main's");
  CHECK(peak_copies >= 2);  // tasks held copies of their own
  CHECK(live_copies == 1);  // ended tasks' copies are gone; main's remains
  std::printf("co_cls: %d tasks, own copies, destroyed with their task\n", kTasks);
  return 0;
}
