// A program whose coroutines sit in known states, for the gdb transcript
// tests (run_gdb_test.py). When every task is where it should be, main (a
// plain thread, not a coroutine) calls fixture_ready(), where gdb breaks:
//
//   sleeper-1..3    sleep(3600) in sleep_deeply() <- sleeper_body()
//   (unnamed)       co_sleep() in nap_with_co_sleep(), spawned with `go`
//   reader-1, -2    read() on a pipe nobody writes, in read_from_pipe()
//   channel-waiter  recv on an empty unbuffered channel, in wait_on_channel()
//   poller          poll() for POLLIN on the read ends of two more pipes,
//                   with a timeout of an hour, in poll_two_pipes()
//   spinner         running on a worker thread, in spin_until_released()
//
// The named functions are noinline and do work after their call, so they
// keep a frame of their own at -O2 too; their markers are volatile locals,
// which stay in memory at -O2 and so are readable from a suspended stack.
// Without a debugger the program exits right after fixture_ready().
#include <coscope/coscope.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <poll.h>
#include <unistd.h>

namespace {

std::atomic<bool> g_spinner_running{false};
std::atomic<bool> g_release{false};
co::Channel<int> g_channel;

__attribute__((noinline)) void sleep_deeply(int index) {
  volatile int sleeper_marker = 4200 + index;
  ::sleep(3600);
  sleeper_marker = sleeper_marker + 1;
}

__attribute__((noinline)) void sleeper_body(int index) {
  sleep_deeply(index);
  __asm__ volatile("" ::: "memory");  // not a tail call: keep this frame
}

__attribute__((noinline)) void nap_with_co_sleep() {
  volatile int nap_marker = 77;
  co::co_sleep(3'600'000);
  nap_marker = nap_marker + 1;
}

__attribute__((noinline)) void read_from_pipe(int fd) {
  volatile int reader_fd = fd;
  char byte = 0;
  ssize_t n = ::read(reader_fd, &byte, 1);
  __asm__ volatile("" : : "r"(n) : "memory");
}

__attribute__((noinline)) void wait_on_channel() {
  volatile int channel_marker = 99;
  int value = 0;
  g_channel >> value;
  channel_marker = channel_marker + value;
}

__attribute__((noinline)) void poll_two_pipes(int first_fd, int second_fd) {
  pollfd fds[2] = {{first_fd, POLLIN, 0}, {second_fd, POLLIN, 0}};
  volatile int poll_result = ::poll(fds, 2, 3'600'000);
  __asm__ volatile("" : : "r"(poll_result) : "memory");
}

__attribute__((noinline)) void spin_until_released() {
  volatile unsigned long spins = 0;
  g_spinner_running.store(true);
  while (!g_release.load(std::memory_order_relaxed)) spins = spins + 1;
}

// Counts the tasks in `state`.
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
      std::fprintf(stderr, "fixture_states: timed out waiting until %s\n", what);
      for (const co::TaskInfo& t : co::snapshot_tasks()) {
        std::fprintf(stderr, "  #%llu %s: %s, %s\n", static_cast<unsigned long long>(t.id),
                     t.name.c_str(), co::to_string(t.state), co::to_string(t.wait_reason));
      }
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool all_parked() {
  return count_tasks(co::TaskState::sleep) == 4 && count_tasks(co::TaskState::io_block) == 3 &&
         count_tasks(co::TaskState::sys_block) == 1;
}

bool spinner_running() {
  return g_spinner_running.load();
}

}  // namespace

/// gdb breaks here: every task is in its known state.
extern "C" __attribute__((noinline)) void fixture_ready() {
  __asm__ volatile("" ::: "memory");
}

int main() {
  co_sched.Start(2);

  for (int i = 1; i <= 3; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "sleeper-%d", i);
    co::spawn([i] { sleeper_body(i); }, {.name = name});
  }
  go[] {
    nap_with_co_sleep();
  };

  int pipes[4][2];
  for (int i = 0; i < 4; ++i) {
    if (::pipe(pipes[i]) != 0) return 1;
  }
  for (int i = 0; i < 2; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "reader-%d", i + 1);
    int fd = pipes[i][0];
    co::spawn([fd] { read_from_pipe(fd); }, {.name = name});
  }
  co::spawn([] { wait_on_channel(); }, {.name = "channel-waiter"});
  int first = pipes[2][0], second = pipes[3][0];
  co::spawn([first, second] { poll_two_pipes(first, second); }, {.name = "poller"});

  if (!wait_until(all_parked, "every task is parked")) return 1;
  // Last, so that no parked task is queued behind it on its processer.
  co::spawn([] { spin_until_released(); }, {.name = "spinner"});
  if (!wait_until(spinner_running, "the spinner runs")) return 1;
  // Long enough for the stall watchdog to sample the spinner's run (every
  // 25 ms), short of reporting it (100 ms): `info processers` shows its run
  // time.
  std::this_thread::sleep_for(std::chrono::milliseconds(60));

  fixture_ready();
  std::_Exit(0);
}
