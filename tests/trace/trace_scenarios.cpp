// Programs whose JSON trace (COSCOPE_TRACE=FILE.json) check_trace.py reads.
//
//   trace_scenarios every-event   a run with every kind of event: sleeps
//                                 (timer wakes), a pipe read (a reactor
//                                 wake), a channel (a task wakes a task), a
//                                 close that wakes a reader, a yield, hooked
//                                 calls, and two processers
//   trace_scenarios many          300 tasks of one name and a few others
//   trace_scenarios switched-on   tracing switched on by a task while others
//                                 are parked, runnable and running
//   trace_scenarios exit          exit(3) while a task is parked
//   trace_scenarios exception     a task throws and nobody catches it
//   trace_scenarios overflow      a task overflows its stack
//
// The last three end with tasks still running or parked: the trace must
// still parse, its open slices closed.
#include <coscope/coscope.h>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace {

void every_event() {
  int data[2];
  int closed[2];
  if (::pipe(data) != 0 || ::pipe(closed) != 0) std::exit(2);

  co::Channel<int> channel;
  co::spawn(
      [&] {
        char byte;
        // Parks on "fd readable"; the reactor wakes it when `writer` writes.
        if (::read(data[0], &byte, 1) != 1) std::exit(2);
        channel.send(1);  // wakes `receiver`: a task wakes a task
      },
      {.name = "reader"});
  co::spawn(
      [&] {
        co::co_sleep(20);  // the timer wakes it
        if (::write(data[1], "x", 1) != 1) std::exit(2);
      },
      {.name = "writer"});
  co::spawn([&] { (void)channel.recv(); }, {.name = "receiver"});
  co::spawn(
      [&] {
        char byte;
        // Parks until `closer` closes the fd under it.
        if (::read(closed[0], &byte, 1) != -1 || errno != EBADF) std::exit(2);  // errno kept
      },
      {.name = "close victim"});
  co::spawn(
      [&] {
        co::co_sleep(10);
        ::close(closed[0]);
      },
      {.name = "closer"});
  co::spawn(
      [] {
        for (int i = 0; i < 3; ++i) co::this_task::yield();
        ::usleep(1000);  // a hooked sleep
      },
      {.name = "yielder"});
  co_sched.RunUntilNoTask();

  // Two processers.
  co::Scheduler two;
  for (int i = 0; i < 8; ++i) {
    co::spawn(
        [] {
          for (int j = 0; j < 3; ++j) {
            co::co_sleep(2);
            co::this_task::yield();
          }
        },
        {.name = "pair", .scheduler = &two});
  }
  // Two that run at the same time: each spins (never switching out) until
  // the other runs too, so both processers of `two` have a run to show,
  // however the sleepers above were spread.
  std::atomic<int> running{0};
  for (int i = 0; i < 2; ++i) {
    co::spawn(
        [&running] {
          ++running;
          const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
          while (running.load() < 2 && std::chrono::steady_clock::now() < give_up) {
          }
        },
        {.name = "together", .scheduler = &two});
  }
  two.Start(2);
  two.WaitUntilNoTask();
  two.Stop();
}

// Enough tasks that a timeline must fold its lanes.
void many() {
  for (int i = 0; i < 300; ++i) {
    co::spawn(
        [i] {
          co::co_sleep(1 + i % 5);
          co::this_task::yield();
        },
        {.name = "worker"});
  }
  co::spawn([] { co::co_sleep(3); }, {.name = "loner"});
  co_sched.RunUntilNoTask();
}

// Tasks the trace first sees in the middle of their lives.
void switched_on() {
  co::set_tracing(false);
  co::Channel<int> channel;
  co::spawn([&] { (void)channel.recv(); }, {.name = "receiver"});
  co::spawn(
      [&] {
        co::co_sleep(30);
        channel.send(1);
      },
      {.name = "sender"});
  co::spawn(
      [] {
        for (int i = 0; i < 20; ++i) {
          co::this_task::yield();
          co::co_sleep(1);
        }
      },
      {.name = "busy"});
  co::spawn(
      [] {
        co::co_sleep(10);
        co::set_tracing(true);
        co::this_task::yield();
      },
      {.name = "switcher"});
  co_sched.RunUntilNoTask();
}

// Parks a task for good, then ends the process from another one.
void end_with(void (*how)()) {
  co::spawn([] { co::co_sleep(60'000); }, {.name = "parked"});
  co::spawn([how] { how(); }, {.name = "ender"});
  co_sched.RunUntilNoTask();
}

volatile int g_depth_limit = 1 << 30;  // volatile: the recursion cannot be proven endless

// Recursion the compiler cannot flatten: 1 KiB volatile frames, touched from
// the top down, each using its callee's result.
__attribute__((noinline)) int recurse(int depth) {
  volatile char pad[1024];
  for (int i = static_cast<int>(sizeof pad) - 1; i >= 0; i -= 64) pad[i] = static_cast<char>(depth);
  const int below = depth < g_depth_limit ? recurse(depth + 1) : 0;
  return below + pad[depth % static_cast<int>(sizeof pad)];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "";
  if (what == "every-event") {
    every_event();
    return 0;
  }
  if (what == "many") {
    many();
    return 0;
  }
  if (what == "switched-on") {
    switched_on();
    return 0;
  }
  if (what == "exit") end_with([] { std::exit(3); });
  if (what == "exception") end_with([] { throw std::runtime_error("nobody catches this"); });
  if (what == "overflow") end_with([] { (void)recurse(0); });
  std::fprintf(stderr,
               "usage: trace_scenarios every-event|many|switched-on|exit|exception|overflow\n");
  return 2;
}
