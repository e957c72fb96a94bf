// A program for the gdb tests of places where a debugger easily shows the
// wrong stack (suite_inline.py, suite_midswitch.py). When every task is where
// it should be, main (a plain thread, not a coroutine) calls outer(), whose
// inner() is always inlined: gdb stops at `inlined_stop_line` with an inlined
// frame #0 (at -O0 too: always_inline is honoured there).
//
//   reader    read() on a pipe nobody writes, in read_from_pipe()
//   napper    co_sleep() as the last call of nap_in_tail_call(), a tail call at -O2
//   yielder-1, yielder-2   yield() in a loop on co_sched's one worker (gdb's
//                          thread 2), in yield_forever(): they hand the worker to
//                          each other (context_handoff) and pass through the
//                          processer (context_suspend / _resume)
//   woken     on a second scheduler: parked in a channel recv, then woken by
//             main; it stays runnable (never runs again) because
//   hog       spins on that scheduler's one worker and never yields
//
// A gdb test that wants a thread in the middle of a switch breaks on
// jump_fcontext after the stop in outer().
// Without a debugger the program exits right after outer(), or, with
// FIXTURE_EDGES_ABORT set, aborts (a core file for the kernel to write).
#include <coscope/coscope.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <unistd.h>

namespace {

std::atomic<int> g_yields{0};
std::atomic<bool> g_hog_running{false};
volatile int g_inlined_marker = 0;
co::Channel<int> g_wake(1);

__attribute__((noinline)) void read_from_pipe(int fd) {
  volatile int reader_fd = fd;
  char byte = 0;
  ssize_t n = ::read(reader_fd, &byte, 1);
  __asm__ volatile("" : : "r"(n) : "memory");
}

// Nothing after the call: at -O2 it is a jump, and this frame is gone.
__attribute__((noinline)) void nap_in_tail_call() {
  co::co_sleep(3'600'000);
}

__attribute__((noinline)) void yield_forever() {
  for (;;) {
    g_yields.fetch_add(1, std::memory_order_relaxed);
    co::this_task::yield();
  }
}

__attribute__((noinline)) void wait_to_be_woken() {
  int value = 0;
  g_wake >> value;
  __asm__ volatile("" : : "r"(value) : "memory");
}

__attribute__((noinline)) void hog_the_worker() {
  g_hog_running.store(true);
  for (;;) __asm__ volatile("" ::: "memory");
}

__attribute__((always_inline)) inline void inner() {
  g_inlined_marker = 1;
  g_inlined_marker = g_inlined_marker + 1;  // inlined_stop_line
}

__attribute__((noinline)) void outer() {
  inner();
  __asm__ volatile("" ::: "memory");
}

std::size_t count_tasks(co::TaskState state) {
  std::size_t n = 0;
  for (const co::TaskInfo& t : co::snapshot_tasks()) {
    if (t.state == state) ++n;
  }
  return n;
}

bool wait_until(bool (*done)(), const char* what) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) {
      std::fprintf(stderr, "fixture_edges: timed out waiting until %s\n", what);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool waiter_parked() {
  return count_tasks(co::TaskState::sys_block) == 1;
}

bool hog_running() {
  return g_hog_running.load();
}

bool all_in_place() {
  return count_tasks(co::TaskState::sleep) == 1 && count_tasks(co::TaskState::io_block) == 1 &&
         count_tasks(co::TaskState::sys_block) == 0 && g_yields.load() > 100;
}

}  // namespace

int main() {
  co_sched.Start(1);
  int fds[2];
  if (::pipe(fds) != 0) return 1;
  int fd = fds[0];
  co::spawn([fd] { read_from_pipe(fd); }, {.name = "reader"});
  co::spawn([] { nap_in_tail_call(); }, {.name = "napper"});
  co::spawn([] { yield_forever(); }, {.name = "yielder-1"});
  co::spawn([] { yield_forever(); }, {.name = "yielder-2"});

  static co::Scheduler busy;
  busy.Start(1);
  co::spawn([] { wait_to_be_woken(); }, {.name = "woken", .scheduler = &busy});
  if (!wait_until(waiter_parked, "the waiter is parked")) return 1;
  co::spawn([] { hog_the_worker(); }, {.name = "hog", .scheduler = &busy});
  if (!wait_until(hog_running, "the hog runs")) return 1;
  g_wake << 1;  // wakes the waiter, which then waits behind the hog for ever

  if (!wait_until(all_in_place, "every task is in place")) return 1;
  outer();
  // For a test of a core dumped by the kernel (cut short by RLIMIT_CORE).
  if (std::getenv("FIXTURE_EDGES_ABORT") != nullptr) std::abort();
  std::_Exit(0);
}
