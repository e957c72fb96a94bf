// The calls a program built as distributions build it makes: this file is
// compiled with -O2 -D_FORTIFY_SOURCE=2 -D_FILE_OFFSET_BITS=64
// (tests/CMakeLists.txt). A read, recv, recvfrom, poll or ppoll into a buffer
// of known size with a length the compiler cannot bound is then a call to
// __read_chk, __recv_chk, __recvfrom_chk, __poll_chk or __ppoll_chk, and
// fcntl is fcntl64. The ctest hooks_fortified_test_references checks with nm
// that this executable calls each of them, so no test here passes on the
// plain functions.
//
// Each call returns in a coroutine what it returns natively (the
// differential harness), parks its task instead of the worker thread, and
// keeps glibc's check: a length beyond the buffer aborts.
#if !defined(__OPTIMIZE__) || !defined(_FORTIFY_SOURCE) || _FORTIFY_SOURCE < 2 || \
    _FILE_OFFSET_BITS != 64
#error "compile with -O2 -D_FORTIFY_SOURCE=2 -D_FILE_OFFSET_BITS=64"
#endif

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <coscope/coscope.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "differential_harness.h"
#include "loopback_fds.h"
#include "test_util.h"

namespace {

using namespace std::chrono_literals;
using coscope_test::Channel;
using coscope_test::FdPair;
using coscope_test::Gives;
using coscope_test::Outcome;
using coscope_test::Result;
using coscope_test::RunBoth;
using coscope_test::TicksDuring;

// A length the compiler cannot see: with the buffer's size known, the
// fortified headers then call the _chk function.
std::size_t Opaque(std::size_t n) {
  volatile std::size_t v = n;
  return v;
}

enum class ChkCall { read, recv, recvfrom };

const char* to_string(ChkCall c) {
  static const char* names[] = {"__read_chk", "__recv_chk", "__recvfrom_chk"};
  return names[static_cast<int>(c)];
}

// Reads up to `len` bytes (an opaque length) into a 64-byte buffer.
Outcome ReadChk(ChkCall call, int fd, std::size_t len = 64) {
  char buf[64];
  switch (call) {
    case ChkCall::read:
      return Result(read(fd, buf, Opaque(len)), buf);
    case ChkCall::recv:
      return Result(recv(fd, buf, Opaque(len), 0), buf);
    case ChkCall::recvfrom: {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      return Result(
          recvfrom(fd, buf, Opaque(len), 0, reinterpret_cast<sockaddr*>(&from), &from_len), buf);
    }
  }
  return Gives(-2);
}

// Writes `data` into `fd` from a thread after `delay`: it arrives whether or
// not the worker thread is blocked.
std::thread WriteLater(int fd, std::string data, std::chrono::milliseconds delay) {
  return std::thread([fd, data, delay] {
    std::this_thread::sleep_for(delay);
    (void)!write(fd, data.data(), data.size());
  });
}

class FortifiedRead : public ::testing::TestWithParam<ChkCall> {};

TEST_P(FortifiedRead, WaitsForDataAsTheKernelDoes) {
  const ChkCall call = GetParam();
  auto o = RunBoth([call](coscope_test::Env& env) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    env.After(30ms, [&] { (void)!write(p.wr, "hello", 5); });
    Outcome r = ReadChk(call, p.rd);
    env.JoinHelpers();
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(5, 0, "hello"));
}

// The second symptom: once a hooked call made the fd O_NONBLOCK
// underneath, an unhooked fortified read returned EAGAIN to a blocking read.
TEST_P(FortifiedRead, WaitsOnAnFdTheRuntimeMadeNonBlocking) {
  const ChkCall call = GetParam();
  auto o = RunBoth([call](coscope_test::Env& env) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    char c = 0;
    (void)!write(p.wr, "a", 1);
    (void)!read(p.rd, &c, 1);  // a plain (hooked) read: the runtime's O_NONBLOCK from here on
    env.After(30ms, [&] { (void)!write(p.wr, "bc", 2); });
    Outcome r = ReadChk(call, p.rd);
    env.JoinHelpers();
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(2, 0, "bc"));
}

TEST_P(FortifiedRead, ParksTheTaskNotTheThread) {
  FdPair p = coscope_test::Open(Channel::socketpair);
  std::thread writer;
  Outcome r;
  const int ticks = TicksDuring([&] {
    writer = WriteLater(p.wr, "xyz", 300ms);
    r = ReadChk(GetParam(), p.rd);
  });
  writer.join();
  coscope_test::Close(p);
  EXPECT_EQ(r, Gives(3, 0, "xyz"));
  EXPECT_GE(ticks, 10) << "the other task did not run while " << to_string(GetParam()) << " waited";
}

// glibc's check is kept: a length beyond the buffer aborts, in a coroutine
// as natively.
TEST_P(FortifiedRead, LengthBeyondTheBufferAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const ChkCall call = GetParam();
  FdPair p = coscope_test::Open(Channel::socketpair);
  (void)!write(p.wr, "data", 4);
  EXPECT_DEATH(ReadChk(call, p.rd, 65), "buffer overflow detected");
  EXPECT_DEATH(
      {
        co::Scheduler sched;
        co::spawn([&] { ReadChk(call, p.rd, 65); }, co::SpawnOptions{"overflow", 0, &sched});
        sched.RunUntilNoTask();
      },
      "buffer overflow detected");
  coscope_test::Close(p);
}

INSTANTIATE_TEST_SUITE_P(Calls, FortifiedRead,
                         ::testing::Values(ChkCall::read, ChkCall::recv, ChkCall::recvfrom),
                         [](const ::testing::TestParamInfo<ChkCall>& info) {
                           return std::string(to_string(info.param) + 2);
                         });

enum class PollCall { poll, ppoll };

// Polls fd and an ignored entry (an opaque count of 2 into an array of 2).
Outcome PollChk(PollCall call, int fd, std::size_t nfds = 2) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {-1, POLLIN, 0}};
  const timespec five_s{5, 0};
  const int n = call == PollCall::poll ? poll(fds, Opaque(nfds), 5000)
                                       : ppoll(fds, Opaque(nfds), &five_s, nullptr);
  Outcome r = Result(n);
  r.data = std::to_string(fds[0].revents) + "," + std::to_string(fds[1].revents);
  return r;
}

class FortifiedPoll : public ::testing::TestWithParam<PollCall> {};

TEST_P(FortifiedPoll, WaitsForReadinessAsTheKernelDoes) {
  const PollCall call = GetParam();
  auto o = RunBoth([call](coscope_test::Env& env) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    env.After(30ms, [&] { (void)!write(p.wr, "x", 1); });
    Outcome r = PollChk(call, p.rd);
    env.JoinHelpers();
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, std::to_string(POLLIN) + ",0"));
}

TEST_P(FortifiedPoll, ParksTheTaskNotTheThread) {
  FdPair p = coscope_test::Open(Channel::socketpair);
  std::thread writer;
  Outcome r;
  const int ticks = TicksDuring([&] {
    writer = WriteLater(p.wr, "x", 300ms);
    r = PollChk(GetParam(), p.rd);
  });
  writer.join();
  coscope_test::Close(p);
  EXPECT_EQ(r, Gives(1, 0, std::to_string(POLLIN) + ",0"));
  EXPECT_GE(ticks, 10) << "the other task did not run while the fortified poll waited";
}

TEST_P(FortifiedPoll, MoreEntriesThanTheArrayAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const PollCall call = GetParam();
  EXPECT_DEATH(PollChk(call, 0, 3), "buffer overflow detected");
  EXPECT_DEATH(
      {
        co::Scheduler sched;
        co::spawn([&] { PollChk(call, 0, 3); }, co::SpawnOptions{"overflow", 0, &sched});
        sched.RunUntilNoTask();
      },
      "buffer overflow detected");
}

INSTANTIATE_TEST_SUITE_P(Calls, FortifiedPoll, ::testing::Values(PollCall::poll, PollCall::ppoll),
                         [](const ::testing::TestParamInfo<PollCall>& info) {
                           return std::string(info.param == PollCall::poll ? "poll_chk"
                                                                           : "ppoll_chk");
                         });

// ---- fcntl64 -------------------------------------------------------------------------

// F_GETFL shows the flags the program set, not the runtime's O_NONBLOCK.
TEST(Fcntl64, GetflHidesTheRuntimesNonblocking) {
  auto o = RunBoth([](coscope_test::Env&) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    char c = 0;
    (void)!write(p.wr, "a", 1);
    (void)!read(p.rd, &c, 1);  // in a coroutine the runtime makes p.rd O_NONBLOCK here
    const int flags = fcntl(p.rd, F_GETFL);
    Outcome r = Result(flags < 0 ? flags : 0);
    r.data = (flags & O_NONBLOCK) ? "O_NONBLOCK" : "blocking";
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(0, 0, "blocking"));
}

// The program's O_NONBLOCK, set through fcntl64, makes a read on an empty
// fd fail at once with EAGAIN; it must not park until data comes.
TEST(Fcntl64, ProgramsNonblockingGivesEagainAtOnce) {
  auto o = RunBoth([](coscope_test::Env& env) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    const int flags = fcntl(p.rd, F_GETFL);
    fcntl(p.rd, F_SETFL, flags | O_NONBLOCK);
    env.After(300ms, [&] { (void)!write(p.wr, "late", 4); });
    char buf[8];
    Outcome r = coscope_test::Timed([&] { return Result(read(p.rd, buf, 8), buf); });
    env.JoinHelpers();
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EAGAIN));
  EXPECT_LT(o.coroutine.seconds, 0.2) << "the non-blocking read waited";
}

// Clearing the program's O_NONBLOCK through fcntl64 makes reads block (park)
// again, and F_GETFL agrees.
TEST(Fcntl64, ClearingNonblockingMakesReadsWaitAgain) {
  auto o = RunBoth([](coscope_test::Env& env) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    const int flags = fcntl(p.rd, F_GETFL);
    fcntl(p.rd, F_SETFL, flags | O_NONBLOCK);
    fcntl(p.rd, F_SETFL, flags & ~O_NONBLOCK);
    env.After(30ms, [&] { (void)!write(p.wr, "ok", 2); });
    char buf[8];
    Outcome r = Result(read(p.rd, buf, 8), buf);
    r.data += (fcntl(p.rd, F_GETFL) & O_NONBLOCK) ? "/O_NONBLOCK" : "/blocking";
    env.JoinHelpers();
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(2, 0, "ok/blocking"));
}

}  // namespace
