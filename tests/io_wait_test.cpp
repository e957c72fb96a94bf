// The wait a read or write hook makes after its try failed with EAGAIN
// (io_wait_fd_after_try, runtime/src/io/io_sentry.h): it does not ask the
// kernel again, it trusts the fd's reactor edge count read before the try.
// Each case builds the moment it is about by hand - the try, then the edge,
// then the wait - so that the outcome does not depend on timing: an edge
// that the reactor dispatched between the try and the wait must end the
// wait at once, where a lost one would leave the task parked until its
// deadline.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <coscope/coscope.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

#include "io/fd_ctx.h"     // FdCtx::EdgeCount (runtime/src)
#include "io/io_sentry.h"  // io_wait_fd_after_try (runtime/src)
#include "io/reactor.h"    // reactor().Harvest() (runtime/src)
#include "loopback_fds.h"

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

/// A connected socket pair made by the hooked socketpair (so both ends have
/// an FdCtx), with `fds[0]` in the reactor: a hooked poll that times out
/// registers it. Runs inside a task.
void RegisteredSocketPair(int fds[2]) {
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  pollfd pfd{fds[0], POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 1), 0);
  ASSERT_NE(co::detail::fd_ctx_find(fds[0]), nullptr);
}

/// Runs `body` as the only task of a one-worker scheduler.
template <class F>
void InOneTask(F&& body) {
  co::Scheduler sched;
  co::spawn(std::forward<F>(body), co::SpawnOptions{"io-wait", 0, &sched});
  sched.RunUntilNoTask();
}

// The edge comes (and is dispatched, to no waiter) after the try: the wait
// returns 1 at once, without parking (a task queued behind has not run: one
// worker), and the hook's next try finds the byte. Were the edge lost, the
// task would park until its deadline, and then the kernel's answer would
// hide it: the bystander tells.
TEST(IoWaitAfterTry, AnEdgeDispatchedAfterTheTryEndsTheWaitAtOnce) {
  co::Scheduler sched;
  bool bystander_ran = false;
  co::spawn(
      [&] {
        int fds[2];
        RegisteredSocketPair(fds);
        co::spawn([&] { bystander_ran = true; }, co::SpawnOptions{"bystander", 0, &sched});
        co::detail::FdCtx* ctx = co::detail::fd_ctx_find(fds[0]);
        const std::uint32_t edges = ctx->EdgeCount(POLLIN);
        char c = 0;
        ASSERT_EQ(::recv(fds[0], &c, 1, MSG_DONTWAIT), -1);  // the try
        ASSERT_EQ(errno, EAGAIN);
        ASSERT_EQ(::write(fds[1], "x", 1), 1);
        co::detail::reactor().Harvest();  // the edge, dispatched before the wait
        EXPECT_NE(ctx->EdgeCount(POLLIN), edges);
        const int r = co::detail::io_wait_fd_after_try(
            fds[0], POLLIN, co::detail::now_ns() + kSecond, false, edges);
        EXPECT_EQ(r, 1);
        EXPECT_FALSE(bystander_ran) << "the task parked: the edge after the try was lost";
        EXPECT_EQ(::recv(fds[0], &c, 1, MSG_DONTWAIT), 1);
        EXPECT_EQ(c, 'x');
        ::close(fds[0]);
        ::close(fds[1]);
      },
      co::SpawnOptions{"reader", 0, &sched});
  sched.RunUntilNoTask();
  EXPECT_TRUE(bystander_ran);
}

// No edge since the try: the task parks, and the reactor's wake-up for the
// next edge ends the wait with 1 (another task writes meanwhile).
TEST(IoWaitAfterTry, WithoutAnEdgeTheTaskParksUntilTheReactorWakesIt) {
  int fds[2] = {-1, -1};
  bool writer_ran_during_wait = false;
  co::Scheduler sched;
  co::spawn(
      [&] {
        RegisteredSocketPair(fds);
        co::detail::FdCtx* ctx = co::detail::fd_ctx_find(fds[0]);
        const std::uint32_t edges = ctx->EdgeCount(POLLIN);
        char c = 0;
        ASSERT_EQ(::recv(fds[0], &c, 1, MSG_DONTWAIT), -1);
        co::spawn(
            [&] {
              writer_ran_during_wait = true;
              ASSERT_EQ(::write(fds[1], "y", 1), 1);
            },
            co::SpawnOptions{"writer", 0, &sched});
        const int r = co::detail::io_wait_fd_after_try(
            fds[0], POLLIN, co::detail::now_ns() + 5 * kSecond, false, edges);
        EXPECT_EQ(r, 1);
        EXPECT_TRUE(writer_ran_during_wait);
        EXPECT_EQ(::recv(fds[0], &c, 1, MSG_DONTWAIT), 1);
        EXPECT_EQ(c, 'y');
      },
      co::SpawnOptions{"reader", 0, &sched});
  sched.RunUntilNoTask();
  ::close(fds[0]);
  ::close(fds[1]);
}

// Nothing comes: the deadline ends the wait with 0, as io_wait_fd's does.
TEST(IoWaitAfterTry, NoEdgeAndNoDataTimesOut) {
  InOneTask([] {
    int fds[2];
    RegisteredSocketPair(fds);
    const std::uint32_t edges = co::detail::fd_ctx_find(fds[0])->EdgeCount(POLLIN);
    const int r = co::detail::io_wait_fd_after_try(
        fds[0], POLLIN, co::detail::now_ns() + kSecond / 50, false, edges);
    EXPECT_EQ(r, 0);
    ::close(fds[0]);
    ::close(fds[1]);
  });
}

// A close during the wait ends it as io_wait_fd's: -1 with EBADF.
TEST(IoWaitAfterTry, ACloseDuringTheWaitGivesEbadf) {
  int fds[2] = {-1, -1};
  co::Scheduler sched;
  co::spawn(
      [&] {
        RegisteredSocketPair(fds);
        const std::uint32_t edges = co::detail::fd_ctx_find(fds[0])->EdgeCount(POLLIN);
        co::spawn([&] { ::close(fds[0]); }, co::SpawnOptions{"closer", 0, &sched});
        errno = 0;
        const int r = co::detail::io_wait_fd_after_try(
            fds[0], POLLIN, co::detail::now_ns() + 5 * kSecond, false, edges);
        EXPECT_EQ(r, -1);
        EXPECT_EQ(errno, EBADF);
      },
      co::SpawnOptions{"reader", 0, &sched});
  sched.RunUntilNoTask();
  ::close(fds[1]);
}

/// The read system calls this thread has made (syscr, /proc/thread-self/io:
/// read, readv, pread; not recv), or -1 where the kernel does not count them.
long ReadSyscallsOfThisThread() {
  std::ifstream io("/proc/thread-self/io");
  std::string key;
  long value = 0;
  while (io >> key >> value) {
    if (key == "syscr:") return value;
  }
  return -1;
}

// After a read came back short from a TCP socket, the next read waits for
// the reactor's edge instead of trying first: a request-reply loop makes one
// read per request, not two (the second one failing with EAGAIN). The peer,
// a plain thread, waits 1 ms before each request, so the task's next read
// always comes before the data.
TEST(ReadAfterShortRead, ATcpReadAfterAShortOneMakesNoTryThatFindsNothing) {
  if (ReadSyscallsOfThisThread() < 0) GTEST_SKIP() << "no /proc/thread-self/io on this kernel";
  constexpr int kRounds = 100;
  long reads = -1;
  InOneTask([&] {
    const int listener = coscope_test::BindLoopback(AF_INET, SOCK_STREAM);
    ASSERT_GE(listener, 0);
    const coscope_test::LoopbackAddr a = coscope_test::BoundAddr(listener);
    std::thread peer([a] {  // outside the runtime: its calls go straight to the kernel
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      ASSERT_EQ(::connect(fd, a.get(), a.len), 0);
      char buf[8] = "request";
      for (int i = 0; i < kRounds; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ASSERT_EQ(::send(fd, buf, sizeof buf, 0), 8);
        ASSERT_EQ(::recv(fd, buf, sizeof buf, MSG_WAITALL), 8);
      }
      ::close(fd);
    });
    const int conn = ::accept(listener, nullptr, nullptr);
    ASSERT_GE(conn, 0);
    const long before = ReadSyscallsOfThisThread();
    char buf[64];
    for (int i = 0; i < kRounds; ++i) {
      ASSERT_EQ(::read(conn, buf, sizeof buf), 8);  // asked for 64: a short read
      ASSERT_EQ(::write(conn, buf, 8), 8);
    }
    reads = ReadSyscallsOfThisThread() - before;
    peer.join();
    ::close(conn);
    ::close(listener);
  });
  // One per request, the first one's failed try and the counter's own reads.
  EXPECT_GE(reads, kRounds);
  EXPECT_LE(reads, kRounds + 5);
}

}  // namespace
