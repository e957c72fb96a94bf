// <coscope/libgo.h> in a C++20 program: co_yield is a keyword there, so the
// header leaves it alone and the task yields through co::this_task::yield().
// The rest of the vocabulary is the same as in C++17.
#include <coscope/libgo.h>

#include <string>

#include "check.h"

static_assert(__cplusplus >= 202002L, "built as C++20 (CMakeLists.txt)");

int main() {
  std::string order;
  co_chan<int> ch(1);
  go[&] {
    order += "a";
    co::this_task::yield();
    order += "a";
    ch << 1;
  };
  go[&] {
    order += "b";
    co::this_task::yield();
    order += "b";
    int value = 0;
    ch >> value;
    order += std::to_string(value);
    co_sched.Stop();
  };
  co_sched.Start(1);
  std::printf("order %s\n", order.c_str());
  CHECK(order == "abab1");
  return 0;
}
