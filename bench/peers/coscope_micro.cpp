// coscope_micro: coscope's side of the micro rows of bench/peers/run, one
// workload per subcommand, each the same shape as bench/peers/go's.
//
//   coscope_micro pingpong [--seconds S]
//       Two tasks on a 2-worker scheduler bounce an int over two unbuffered
//       channels (ping, pong) for S seconds: wall ns per round trip.
//   coscope_micro park [--tasks N] [--workers W]
//       A driver task spawns N tasks; each signals a WaitGroup and parks in
//       a hooked sleep(3600). VmRSS (/proc/self/status) is read before the
//       first spawn and once all N are parked: bytes per task, and the
//       spawn rate (N / time from the first spawn until the last one parked).
//       The process then _exit()s: a million parked tasks are not unwound.
//   coscope_micro sleep [--tasks T] [--sleeps K]
//       T tasks on one worker (RunUntilNoTask) each sleep 1 ms K times and
//       record how late each wake-up was: p50 and p99 in microseconds.
//
// Every subcommand prints one line of key=value pairs for the runner.
// Design: each workload is the plainest coscope code for it (go, Channel,
// WaitGroup, sleep), so the figures are what a user's program would see.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "coscope/coscope.h"

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t ns_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

// Option `name` of argv (as "--name VALUE"), or `fallback`.
double option(int argc, char** argv, const char* name, double fallback) {
  for (int i = 2; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atof(argv[i + 1]);
  return fallback;
}

// This process's resident set, in bytes.
long long vm_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  return -1;
}

int pingpong(double seconds) {
  co::Channel<int> ping, pong;
  double ns_per_round_trip = 0;
  long long round_trips = 0;
  go[&] {
    while (auto v = ping.recv()) {
      if (*v < 0) break;
      pong.send(*v);
    }
  };
  go[&] {
    const auto t0 = Clock::now();
    const std::int64_t window = static_cast<std::int64_t>(seconds * 1e9);
    std::int64_t elapsed = 0;
    while (elapsed < window) {
      for (int i = 0; i < 1024; ++i) {
        ping.send(i);
        pong.recv();
      }
      round_trips += 1024;
      elapsed = ns_since(t0);
    }
    ns_per_round_trip = static_cast<double>(elapsed) / static_cast<double>(round_trips);
    ping.send(-1);
  };
  co_sched.Start(2);
  co_sched.WaitUntilNoTask();
  co_sched.Stop();
  std::printf("ns_per_round_trip=%.1f round_trips=%lld\n", ns_per_round_trip, round_trips);
  return 0;
}

int park(long tasks, long workers) {
  const long long rss_before = vm_rss_bytes();
  go[=] {
    co::WaitGroup parked;
    parked.add(tasks);
    const auto t0 = Clock::now();
    for (long i = 0; i < tasks; ++i) {
      go[&parked] {
        parked.done();
        ::sleep(3600);  // hooked: parks the task, not the worker
      };
    }
    parked.wait();
    const std::int64_t ns = ns_since(t0);
    const long long rss_after = vm_rss_bytes();
    std::printf("tasks=%ld spawn_per_s=%.0f rss_per_task=%.0f rss_before=%lld rss_after=%lld\n",
                tasks, static_cast<double>(tasks) * 1e9 / static_cast<double>(ns),
                static_cast<double>(rss_after - rss_before) / static_cast<double>(tasks),
                rss_before, rss_after);
    std::fflush(stdout);
    ::_exit(0);
  };
  co_sched.Start(static_cast<std::size_t>(workers));
  co_sched.WaitUntilNoTask();  // not reached: the driver exits the process
  return 1;
}

int sleep_lateness(long tasks, long sleeps) {
  std::vector<std::int64_t> late(static_cast<std::size_t>(tasks * sleeps));
  for (long t = 0; t < tasks; ++t) {
    std::int64_t* mine = late.data() + t * sleeps;
    go[mine, sleeps] {
      for (long k = 0; k < sleeps; ++k) {
        const auto t0 = Clock::now();
        co::this_task::sleep_for(std::chrono::milliseconds(1));
        mine[k] = ns_since(t0) - 1000000;
      }
    };
  }
  co_sched.RunUntilNoTask();  // one worker: this thread
  std::sort(late.begin(), late.end());
  const double p50 = static_cast<double>(late[late.size() / 2]) / 1e3;
  const double p99 = static_cast<double>(late[(late.size() - 1) * 99 / 100]) / 1e3;
  std::printf("p50_us=%.1f p99_us=%.1f samples=%zu\n", p50, p99, late.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* cmd = argc > 1 ? argv[1] : "";
  if (std::strcmp(cmd, "pingpong") == 0) return pingpong(option(argc, argv, "--seconds", 2));
  if (std::strcmp(cmd, "park") == 0)
    return park(static_cast<long>(option(argc, argv, "--tasks", 1000000)),
                static_cast<long>(option(argc, argv, "--workers", 1)));
  if (std::strcmp(cmd, "sleep") == 0)
    return sleep_lateness(static_cast<long>(option(argc, argv, "--tasks", 1000)),
                          static_cast<long>(option(argc, argv, "--sleeps", 100)));
  const bool help = std::strcmp(cmd, "-h") == 0 || std::strcmp(cmd, "--help") == 0;
  std::fprintf(help ? stdout : stderr,
               "usage: %s pingpong [--seconds S] | park [--tasks N] [--workers W]\n"
               "          | sleep [--tasks T] [--sleeps K]\n"
               "coscope's side of the micro rows of bench/peers/run.\n",
               argv[0]);
  return help ? 0 : 2;
}
