// A program whose coroutines are parked by the same functions at the same
// place, but with stacks of different shapes, for the tests of the
// toolkit's stack shapes (suite_shapes.py): each task sleeps in
// sleep_here(), called by with_buffer(), which first takes a buffer on the
// stack with alloca - so the frames under with_buffer() lie at an offset
// that depends on the buffer's size - called by outer_small() or
// outer_large():
//
//   1, 3  small-1, small-2   outer_small -> with_buffer(64)    -> sleep_here
//   2, 4  large-1, large-2   outer_large -> with_buffer(8192)  -> sleep_here
//
// Tasks 1 and 2 have the same saved pc and the same return addresses up to
// with_buffer(); past it, what each stack holds at the other's offsets is
// its buffer (zeroed). When every task sleeps, main (a plain thread) calls
// fixture_ready(), where gdb breaks. Without a debugger the program exits
// right after.
#include <coscope/coscope.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <unistd.h>

namespace {

__attribute__((noinline)) void sleep_here() {
  ::sleep(3600);
  __asm__ volatile("" ::: "memory");  // not a tail call: keep this frame
}

__attribute__((noinline)) void with_buffer(std::size_t size) {
  volatile std::size_t bytes = size;
  char* buffer = static_cast<char*>(__builtin_alloca(bytes));
  std::memset(buffer, 0, bytes);
  __asm__ volatile("" : : "r"(buffer) : "memory");
  sleep_here();
  __asm__ volatile("" : : "r"(buffer) : "memory");
}

__attribute__((noinline)) void outer_small() {
  with_buffer(64);
  __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void outer_large() {
  with_buffer(8192);
  __asm__ volatile("" ::: "memory");
}

bool all_asleep() {
  std::size_t n = 0;
  for (const co::TaskInfo& t : co::snapshot_tasks()) {
    if (t.state == co::TaskState::sleep) ++n;
  }
  return n == 4;
}

}  // namespace

/// gdb breaks here: every task sleeps.
extern "C" __attribute__((noinline)) void fixture_ready() {
  __asm__ volatile("" ::: "memory");
}

int main() {
  co_sched.Start(1);
  co::spawn(outer_small, {.name = "small-1"});
  co::spawn(outer_large, {.name = "large-1"});
  co::spawn(outer_small, {.name = "small-2"});
  co::spawn(outer_large, {.name = "large-2"});
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!all_asleep()) {
    if (std::chrono::steady_clock::now() > give_up) return 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  fixture_ready();
  std::_Exit(0);
}
