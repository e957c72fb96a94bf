// A program that uses an installed coscope, as any project would: through
// find_package(coscope) (CMakeLists.txt here) or pkg-config.
//
// Part 1 spawns a few tasks that each sleep with co::co_sleep, runs them with
// co_sched.RunUntilNoTask(), and fails unless every task ran inside a
// coroutine, slept at least as long as it asked, and the sleeps overlapped
// (one thread, yet the total is far less than the sum of the sleeps).
//
// Part 2 is plain POSIX code, with no flags beyond what the package gives:
// a loopback server task answers each client after usleep(200 ms), clients
// connect/write/read, and one task calls sleep(1). It fails unless the
// answers are right and everything overlapped on the one thread, i.e. the
// hooks made sleep, usleep, connect, accept, read and write yield.
#include <arpa/inet.h>
#include <coscope/coscope.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace {

constexpr int kTasks = 4;
constexpr int kSleepMs = 200;

struct Result {
  co::TaskId id = 0;
  long long slept_ms = -1;
};

long long ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

constexpr int kClients = 3;
constexpr int kReplyDelayMs = 200;

// Returns the number of failures.
int run_posix_part() {
  int failures = 0;
  int answered = 0;
  const auto start = std::chrono::steady_clock::now();

  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, kClients) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("consumer: listener");
    return 1;
  }

  go[listener] {
    for (int i = 0; i < kClients; ++i) {
      int c = ::accept(listener, nullptr, nullptr);
      if (c < 0) return;
      go[c] {
        char buf[4];
        if (::read(c, buf, sizeof buf) == sizeof buf) {
          ::usleep(kReplyDelayMs * 1000);
          (void)!::write(c, buf, sizeof buf);
        }
        ::close(c);
      };
    }
    ::close(listener);
  };
  for (int i = 0; i < kClients; ++i) {
    go[addr, &answered] {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      char reply[4] = {};
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
          ::write(fd, "ping", 4) == 4 && ::read(fd, reply, sizeof reply) == 4 &&
          std::memcmp(reply, "ping", 4) == 0) {
        ++answered;
      }
      ::close(fd);
    };
  }
  go[] {
    ::sleep(1);
  };

  co_sched.RunUntilNoTask();
  const long long total_ms = ms_since(start);
  std::printf("consumer: posix part: %d of %d clients answered, all done after %lld ms\n", answered,
              kClients, total_ms);
  if (answered != kClients) {
    std::printf("consumer: FAIL: %d of %d clients got their answer\n", answered, kClients);
    ++failures;
  }
  // Blocking calls would take 1000 + kClients * kReplyDelayMs; yielding ones about 1000.
  if (total_ms >= 1000 + kClients * kReplyDelayMs - 100) {
    std::printf("consumer: FAIL: sleep/usleep/connect/read/write did not overlap (%lld ms)\n",
                total_ms);
    ++failures;
  }
  return failures;
}

}  // namespace

int main() {
  Result results[kTasks];
  const auto start = std::chrono::steady_clock::now();

  for (int i = 0; i < kTasks; ++i) {
    go[i, &results] {
      const auto t0 = std::chrono::steady_clock::now();
      results[i].id = co::this_task::id();
      co::co_sleep(kSleepMs);
      results[i].slept_ms = ms_since(t0);
    };
  }
  std::printf("consumer: spawned %d tasks, each sleeping %d ms\n", kTasks, kSleepMs);

  co_sched.RunUntilNoTask();
  const long long total_ms = ms_since(start);

  int failures = 0;
  for (int i = 0; i < kTasks; ++i) {
    std::printf("consumer: task %d (id %llu) slept %lld ms\n", i,
                static_cast<unsigned long long>(results[i].id), results[i].slept_ms);
    if (results[i].id == 0) {
      std::printf("consumer: FAIL: task %d did not run in a coroutine\n", i);
      ++failures;
    }
    if (results[i].slept_ms < kSleepMs) {
      std::printf("consumer: FAIL: task %d slept %lld ms, less than %d\n", i, results[i].slept_ms,
                  kSleepMs);
      ++failures;
    }
  }
  std::printf("consumer: all tasks done after %lld ms\n", total_ms);
  // Sequential sleeps would take kTasks * kSleepMs; overlapping ones about kSleepMs.
  if (total_ms >= (kTasks * kSleepMs) * 3 / 4) {
    std::printf("consumer: FAIL: the sleeps did not overlap (%lld ms >= %d ms)\n", total_ms,
                (kTasks * kSleepMs) * 3 / 4);
    ++failures;
  }
  failures += run_posix_part();
  if (co::live_task_count() != 0) {
    std::printf("consumer: FAIL: %zu tasks still live\n", co::live_task_count());
    ++failures;
  }
  std::printf("consumer: %s\n", failures == 0 ? "OK" : "FAILED");
  return failures == 0 ? 0 : 1;
}
