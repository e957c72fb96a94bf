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

#include "io/fd_ctx.h"     // FdCtx::EdgeCount (runtime/src)
#include "io/io_sentry.h"  // io_wait_fd_after_try (runtime/src)
#include "io/reactor.h"    // reactor().Harvest() (runtime/src)

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

}  // namespace
