// gdb_many_tasks: a program with many parked coroutines (10,000 by default),
// for timing the gdb toolkit on it (bench/gdb_bench.py). When every task is
// parked, main (a plain thread) calls tasks_parked(), where gdb breaks:
//
//   sleepers        40%  sleep(3600), 1 to 3 calls deep (3 distinct stacks)
//   pipe readers    30%  read() on the read end of one of 8 pipes nobody
//                        writes: many tasks wait on the same fd
//   channel waiters 20%  recv on one of 4 empty unbuffered channels
//   pollers         10%  poll() POLLIN on two of the pipes, 1 h timeout
//
// The named functions are noinline so that each keeps a frame at -O2.
// Without a debugger the program exits right after tasks_parked().
//
//   gdb_many_tasks [TASKS]
#include <coscope/coscope.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <poll.h>
#include <unistd.h>

namespace {

constexpr int kPipes = 8;
constexpr int kChannels = 4;

std::array<co::Channel<int>, kChannels> g_channels;

__attribute__((noinline)) void sleep_an_hour() {
  ::sleep(3600);
  __asm__ volatile("" ::: "memory");  // not a tail call: keep the caller's frame
}

__attribute__((noinline)) void sleep_nested(int depth) {
  if (depth > 1) {
    sleep_nested(depth - 1);
  } else {
    sleep_an_hour();
  }
  __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void read_one_byte(int fd) {
  char byte = 0;
  ssize_t n = ::read(fd, &byte, 1);
  __asm__ volatile("" : : "r"(n) : "memory");
}

__attribute__((noinline)) void receive_from(co::Channel<int>& channel) {
  int value = 0;
  channel >> value;
  __asm__ volatile("" : : "r"(value) : "memory");
}

__attribute__((noinline)) void poll_two(int first_fd, int second_fd) {
  pollfd fds[2] = {{first_fd, POLLIN, 0}, {second_fd, POLLIN, 0}};
  int ready = ::poll(fds, 2, 3'600'000);
  __asm__ volatile("" : : "r"(ready) : "memory");
}

std::size_t parked_count() {
  std::size_t n = 0;
  for (const co::TaskInfo& t : co::snapshot_tasks()) {
    if (t.state != co::TaskState::runnable) ++n;
  }
  return n;
}

}  // namespace

/// gdb breaks here: every task is parked.
extern "C" __attribute__((noinline)) void tasks_parked() {
  __asm__ volatile("" ::: "memory");
}

int main(int argc, char** argv) {
  const int tasks = argc > 1 ? std::atoi(argv[1]) : 10'000;
  if (tasks <= 0) {
    std::fprintf(stderr, "usage: gdb_many_tasks [TASKS]\n");
    return 2;
  }
  int pipes[kPipes][2];
  for (auto& p : pipes) {
    if (::pipe(p) != 0) return 1;
  }
  co_sched.Start(2);
  for (int i = 0; i < tasks; ++i) {
    int slot = i % 10;  // 4 sleepers, 3 readers, 2 channel waiters, 1 poller in every 10
    if (slot < 4) {
      co::spawn([i] { sleep_nested(1 + i % 3); }, {.name = "sleeper"});
    } else if (slot < 7) {
      int fd = pipes[i % kPipes][0];
      co::spawn([fd] { read_one_byte(fd); }, {.name = "reader"});
    } else if (slot < 9) {
      co::Channel<int>* channel = &g_channels[i % kChannels];
      co::spawn([channel] { receive_from(*channel); }, {.name = "receiver"});
    } else {
      int first = pipes[i % kPipes][0], second = pipes[(i + 1) % kPipes][0];
      co::spawn([first, second] { poll_two(first, second); }, {.name = "poller"});
    }
  }
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (parked_count() != static_cast<std::size_t>(tasks)) {
    if (std::chrono::steady_clock::now() > give_up) {
      std::fprintf(stderr, "gdb_many_tasks: only %zu of %d tasks parked\n", parked_count(), tasks);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  tasks_parked();
  std::_Exit(0);
}
