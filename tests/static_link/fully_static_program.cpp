// A coscope program linked with -static: no dynamic loader, so dlsym has no
// library to search and the hooks' originals come from the weak __libc_*
// references the static link filled in (hooks/originals.cpp). The hooked
// sleep and connect must still park their task, not the thread.
//
// All tasks run on one thread (RunUntilNoTask), so a task that blocked the
// thread would keep the others from running:
//   sleepers   three usleep(300 ms): parked, they overlap (~300 ms, not 900)
//   connector  connect() to a listener whose accept queue is full: the hook's
//              non-blocking try returns EINPROGRESS and the task parks until
//              the kernel's SYN retry (about 1 s later) finds room
//   watcher    meanwhile reads the task registry: the sleepers in state
//              sleep, the connector in io_block waiting for its fd writable
//   acceptor   after 200 ms, accepts main's connection (making room), then
//              the connector's
// Exits non-zero on failure, with a line saying why.
#include <coscope/coscope.h>
#include <netinet/in.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string_view>

#include "../test_util.h"

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::printf("fully_static_program: FAIL: %s\n", what);
    ++failures;
  }
}

// How many live tasks named `name` are parked in `state` for `reason`.
int parked(std::string_view name, co::TaskState state, co::WaitReason reason) {
  int n = 0;
  for (const co::TaskInfo& task : co::snapshot_tasks()) {
    if (task.name == name && task.state == state && task.wait_reason == reason) ++n;
  }
  return n;
}

}  // namespace

int main() {
  // No program interpreter was loaded: the link really was static.
  expect(getauxval(AT_BASE) == 0, "the program was started by a dynamic loader");

  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto* addr = reinterpret_cast<const sockaddr*>(&address);
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  socklen_t length = sizeof address;
  expect(bind(listener, addr, sizeof address) == 0 &&
             getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
             listen(listener, 0) == 0,
         "no loopback listener");
  // Fills the accept queue (outside a task the hook passes connect through).
  const int first = socket(AF_INET, SOCK_STREAM, 0);
  expect(connect(first, addr, sizeof address) == 0, "main's connect failed");

  const auto start = coscope_test::Clock::now();
  int slept = 0;
  long long sleeps_ms = 0;
  for (int i = 0; i < 3; ++i) {
    co::spawn(
        [&] {
          if (usleep(300'000) == 0 && ++slept == 3) sleeps_ms = coscope_test::MsSince(start);
        },
        {"sleeper"});
  }
  int connect_result = -1;
  long long connect_ms = 0;
  co::spawn(
      [&] {
        const int fd = socket(AF_INET, SOCK_STREAM, 0);
        connect_result = connect(fd, addr, sizeof address);
        connect_ms = coscope_test::MsSince(start);
        close(fd);
      },
      {"connector"});
  int sleepers_parked = 0, connector_parked = 0;
  co::spawn(
      [&] {
        usleep(100'000);
        sleepers_parked = parked("sleeper", co::TaskState::sleep, co::WaitReason::sleep);
        connector_parked =
            parked("connector", co::TaskState::io_block, co::WaitReason::fd_writable);
      },
      {"watcher"});
  int accepted = 0;
  co::spawn(
      [&] {
        usleep(200'000);
        for (int i = 0; i < 2; ++i) {
          const int conn = accept(listener, nullptr, nullptr);
          if (conn >= 0) ++accepted;
          close(conn);
        }
      },
      {"acceptor"});
  co_sched.RunUntilNoTask();

  std::printf(
      "fully_static_program: 3 sleeps of 300 ms took %lld ms; connect returned %d after "
      "%lld ms; parked at 100 ms: %d sleepers, %d connector\n",
      sleeps_ms, connect_result, connect_ms, sleepers_parked, connector_parked);
  expect(slept == 3, "a sleep failed");
  expect(sleeps_ms > 0 && sleeps_ms < 750, "the sleeps did not overlap");
  expect(sleepers_parked == 3, "the sleepers were not parked in sleep");
  expect(connector_parked == 1, "the connector was not parked waiting for its fd");
  expect(connect_result == 0, "the connector's connect failed");
  expect(accepted == 2, "the acceptor did not accept both connections");
  close(first);
  close(listener);
  return failures == 0 ? 0 : 1;
}
