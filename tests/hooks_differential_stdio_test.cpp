// fdopen and fclose of a socket the runtime manages. A FILE reads and closes
// its fd through glibc's internal calls, which no hook sees: fclose must
// still end the fd's context (the next fd with that number is a new one, and
// tasks waiting on the fd wake as on close), and stdio's reads must block as
// the program asked, not fail on the runtime's O_NONBLOCK.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <coscope/coscope.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "differential_harness.h"
#include "loopback_fds.h"
#include "test_watchdog.h"

namespace {

using namespace std::chrono_literals;
using coscope_test::Channel;
using coscope_test::Env;
using coscope_test::FdPair;
using coscope_test::Gives;
using coscope_test::Outcome;
using coscope_test::Result;
using coscope_test::RunBoth;

// After fclose, the fd number belongs to whatever gets it next: an eventfd
// read waits for its counter, not for the closed socket's SO_RCVTIMEO.
TEST(HooksStdio, AfterFcloseTheFdNumberIsANewFd) {
  auto o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    const timeval rcvtimeo{0, 50'000};
    setsockopt(p.rd, SOL_SOCKET, SO_RCVTIMEO, &rcvtimeo, sizeof rcvtimeo);
    const int number = p.rd;
    fclose(fdopen(p.rd, "r"));
    const int efd = eventfd(0, EFD_CLOEXEC);
    env.After(150ms, [&] {
      const std::uint64_t one = 1;
      (void)!write(efd, &one, sizeof one);
    });
    std::uint64_t value = 0;
    Outcome r = Result(read(efd, &value, sizeof value));
    r.data = (efd == number ? "same number, " : "another number, ") + std::to_string(value);
    env.JoinHelpers();
    close(efd);
    close(p.wr);
    return r;
  });
  EXPECT_BOTH(o, Gives(8, 0, "same number, 1"));
}

// The FILE's reads block until data comes, as the program's blocking fd
// would, even after the runtime had made it O_NONBLOCK underneath.
TEST(HooksStdio, AFileOnAManagedSocketReadsAsBlocking) {
  auto o = RunBoth([](Env&) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    char c = 0;
    (void)!write(p.wr, "a", 1);
    (void)!read(p.rd, &c, 1);  // in a coroutine the runtime makes p.rd O_NONBLOCK here
    FILE* file = fdopen(p.rd, "r");
    const bool nonblocking = (fcntl(p.rd, F_GETFL) & O_NONBLOCK) != 0;
    // A thread writes: the FILE's read blocks the worker thread (stdio is
    // not hooked), so a coroutine could not.
    std::thread writer([&] {
      std::this_thread::sleep_for(50ms);
      (void)!write(p.wr, "bc\n", 3);
    });
    char line[16] = {};
    const char* got = fgets(line, sizeof line, file);
    writer.join();
    Outcome r = Gives(got != nullptr ? 0 : -1, got != nullptr ? 0 : errno, line);
    r.data += nonblocking ? " O_NONBLOCK" : " blocking";
    fclose(file);
    close(p.wr);
    return r;
  });
  EXPECT_BOTH(o, Gives(0, 0, "bc\n blocking"));
}

// fclose wakes the tasks waiting on the fd, as close does (docs/hooks.md):
// their poll reports POLLNVAL at once instead of waiting for its timeout.
TEST(HooksStdio, FcloseWakesTheTasksWaitingOnTheFd) {
  FdPair p = coscope_test::Open(Channel::socketpair);
  FILE* file = fdopen(p.rd, "r");
  pollfd pfd{p.rd, POLLIN, 0};
  int polled = -1;
  double seconds = 0;
  co::Scheduler sched;
  co::spawn(
      [&] {
        const auto start = coscope_test::Clock::now();
        polled = poll(&pfd, 1, 3000);
        seconds = coscope_test::SecondsSince(start);
      },
      co::SpawnOptions{"poller", 0, &sched});
  co::spawn(
      [&] {
        co::co_sleep(30);
        fclose(file);
      },
      co::SpawnOptions{"closer", 0, &sched});
  {
    coscope_test::Watchdog wd("poll and fclose", 10s);
    sched.RunUntilNoTask();
  }
  close(p.wr);
  EXPECT_EQ(polled, 1);
  EXPECT_EQ(pfd.revents, POLLNVAL);
  EXPECT_LT(seconds, 1.0) << "the poll waited for its timeout: fclose did not wake it";
}

}  // namespace
