// Differential tests of the hooks at the edges of their arguments and of the
// socket state: unmapped pointers, a negative timeout, a connect repeated
// after a refusal, errno after a call that waited and then succeeded. Each
// scenario runs natively and in a coroutine; both must give what the kernel
// gives.
#include <gtest/gtest.h>

#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "differential_harness.h"
#include "loopback_fds.h"

namespace {

using namespace std::chrono_literals;
using coscope_test::Channel;
using coscope_test::Env;
using coscope_test::FdPair;
using coscope_test::Gives;
using coscope_test::Outcome;
using coscope_test::Result;
using coscope_test::RunBoth;
using coscope_test::Timed;

// An address no call may read or write (hidden from the compiler).
template <class T>
T* Unmapped() {
  volatile std::uintptr_t address = alignof(T);
  return reinterpret_cast<T*>(address);
}

__attribute__((noinline)) int ErrnoNow() {
  return errno;
}

__attribute__((noinline)) void SetErrnoNow(int value) {
  errno = value;
}

TEST(HooksDifferentialEdges, NanosleepWithAnUnmappedRequestFailsWithEfault) {
  auto o = RunBoth([](Env&) { return Result(nanosleep(Unmapped<timespec>(), nullptr)); });
  EXPECT_BOTH(o, Gives(-1, EFAULT));
}

// FIONBIO on an fd the runtime keeps non-blocking underneath (a read in a
// coroutine made it so) reads the program's int: the kernel's EFAULT, not a
// crash, when it is not readable.
TEST(HooksDifferentialEdges, IoctlFionbioWithAnUnmappedArgumentFailsWithEfault) {
  auto o = RunBoth([](Env&) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    char c;
    write(p.wr, "x", 1);
    read(p.rd, &c, 1);
    Outcome r = Result(ioctl(p.rd, FIONBIO, Unmapped<int>()));
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EFAULT));
}

// The kernel's blocking connect leaves a refused socket unconnected: a
// second connect tries again and is refused again.
TEST(HooksDifferentialEdges, ASecondConnectAfterARefusalIsRefusedAgain) {
  auto o = RunBoth([](Env&) {
    coscope_test::LoopbackAddr a = coscope_test::ClosedPort(AF_INET);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    Outcome first = Result(connect(fd, a.get(), a.len));
    Outcome second = Result(connect(fd, a.get(), a.len));
    close(fd);
    second.data = "first errno " + std::to_string(first.err);
    return second;
  });
  EXPECT_BOTH(o, Gives(-1, ECONNREFUSED, "first errno " + std::to_string(ECONNREFUSED)));
}

// A negative SO_RCVTIMEO is a zero timeout for Linux (net/core/sock.c,
// sock_set_timeout): the read fails with EAGAIN at once. (Data comes after
// 1 s, so a wait that ignores the timeout gives 1 byte instead.)
TEST(HooksDifferentialEdges, NegativeReceiveTimeoutGivesEagainAtOnce) {
  auto o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    timeval tv{-1, 0};
    setsockopt(p.rd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    env.After(1000ms, [&] { write(p.wr, "x", 1); });
    char c;
    Outcome r = Result(recv(p.rd, &c, 1, 0), &c);
    env.JoinHelpers();
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EAGAIN));
  EXPECT_LT(o.coroutine.seconds, 0.5);
}

// A call that succeeds leaves errno alone, even when it had to wait (the
// hook's first try on its non-blocking fd failed with EAGAIN meanwhile).
TEST(HooksDifferentialEdges, CallsThatWaitedAndSucceededLeaveErrnoAlone) {
  auto o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    env.After(20ms, [&] { write(p.wr, "x", 1); });
    char c;
    SetErrnoNow(4242);
    const ssize_t n = read(p.rd, &c, 1);
    Outcome r{n, 0, "errno " + std::to_string(ErrnoNow()), 0};
    env.JoinHelpers();
    // connect that waits for the handshake (EINPROGRESS underneath)
    int listener = coscope_test::BindLoopback(AF_INET, SOCK_STREAM);
    coscope_test::LoopbackAddr a = coscope_test::BoundAddr(listener);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    SetErrnoNow(4343);
    const int rc = connect(fd, a.get(), a.len);
    r.data += ", connect " + std::to_string(rc) + " errno " + std::to_string(ErrnoNow());
    close(fd);
    close(listener);
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, "errno 4242, connect 0 errno 4343"));
}

// Reads up to 64 bytes from `fd` and appends them to `got`, after a "|"
// unless `got` is empty. Returns what read returned, errno as read left it.
ssize_t ReadInto(int fd, std::string& got) {
  char buf[64];
  const ssize_t n = read(fd, buf, sizeof buf);
  const int err = errno;
  if (!got.empty()) got += "|";
  if (n > 0) got.append(buf, static_cast<std::size_t>(n));
  errno = err;  // for Result()
  return n;
}

// Sends "ab" and, once it has arrived, reads it with a read that asks for
// 64 bytes: a short read, which took everything queued.
void ShortRead(const FdPair& p, std::string& got) {
  send(p.wr, "ab", 2, 0);
  co::this_task::sleep_for(50ms);
  ReadInto(p.rd, got);
}

// A TCP read that came back short took everything queued, so the hook's
// next read waits for new data without trying first (FdCtx::drained_at):
// data that comes later is read as the kernel's blocking read would.
TEST(HooksDifferentialEdges, AReadAfterAShortOneGetsTheDataThatComesLater) {
  auto o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(Channel::tcp);
    std::string got;
    ShortRead(p, got);
    env.After(50ms, [&] { send(p.wr, "cd", 2, 0); });
    Outcome r = Result(ReadInto(p.rd, got));
    env.JoinHelpers();
    coscope_test::Close(p);
    r.data = got;
    return r;
  });
  EXPECT_BOTH(o, Gives(2, 0, "ab|cd"));
}

// The same with a dup of the socket read in between: reads through the dup
// only take data away, and the socket's own next read still waits for, and
// gets, what comes later.
TEST(HooksDifferentialEdges, AReadThroughADupInBetweenLeavesTheNextReadRight) {
  auto o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(Channel::tcp);
    std::string got;
    ShortRead(p, got);
    const int copy = dup(p.rd);
    send(p.wr, "cd", 2, 0);
    ReadInto(copy, got);
    env.After(50ms, [&] { send(p.wr, "ef", 2, 0); });
    Outcome r = Result(ReadInto(p.rd, got));
    env.JoinHelpers();
    close(copy);
    coscope_test::Close(p);
    r.data = got;
    return r;
  });
  EXPECT_BOTH(o, Gives(2, 0, "ab|cd|ef"));
}

// With SO_RCVTIMEO, the read that waits for the edge instead of trying
// still ends at the timeout with EAGAIN, as the kernel's does.
TEST(HooksDifferentialEdges, AReadAfterAShortOneTimesOutWithEagain) {
  auto o = RunBoth([](Env&) {
    FdPair p = coscope_test::Open(Channel::tcp);
    std::string got;
    timeval tv{0, 100'000};
    setsockopt(p.rd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ShortRead(p, got);
    Outcome r = Timed([&] { return Result(ReadInto(p.rd, got)); });
    coscope_test::Close(p);
    r.data = got;
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EAGAIN, "ab|"));
  EXPECT_GE(o.native.seconds, 0.09);
  EXPECT_GE(o.coroutine.seconds, 0.09);
}

// The exceptions to "a short TCP read took everything": tcp_recvmsg stops at
// an urgent mark with data after it, and a read that took the last bytes
// before the peer's FIN is followed by end of stream. In both, the next read
// returns at once; no readiness edge comes for it. The scenario: the reader
// waits for a first byte (in a coroutine that puts the fd in the reactor),
// `then` sends more, the reader sleeps while the reactor reports it (the
// urgent data, the hang-up), then reads twice.
template <class Then>
Outcome FirstByteThenTwoReads(Env& env, Then then) {
  FdPair p = coscope_test::Open(Channel::tcp);
  std::string got;
  env.After(20ms, [&] { send(p.wr, "x", 1, 0); });
  ReadInto(p.rd, got);  // waits
  env.JoinHelpers();
  then(p.wr);
  co::this_task::sleep_for(100ms);
  ReadInto(p.rd, got);
  Outcome r = Result(ReadInto(p.rd, got));
  coscope_test::Close(p);
  r.data = got;
  return r;
}

TEST(HooksDifferentialEdges, AReadThatStoppedAtAnUrgentMarkIsFollowedByTheRest) {
  auto o = RunBoth([](Env& env) {
    return FirstByteThenTwoReads(env, [](int wr) {
      send(wr, "ab", 2, 0);
      send(wr, "c", 1, MSG_OOB);  // out of band: not in the stream
      send(wr, "de", 2, 0);
    });
  });
  EXPECT_BOTH(o, Gives(2, 0, "x|ab|de"));  // "ab" stops at the mark
}

TEST(HooksDifferentialEdges, EndOfStreamAfterAShortReadIsReadAtOnce) {
  auto o = RunBoth([](Env& env) {
    return FirstByteThenTwoReads(env, [](int wr) {
      send(wr, "abc", 3, 0);
      shutdown(wr, SHUT_WR);
    });
  });
  EXPECT_BOTH(o, Gives(0, 0, "x|abc|"));
}

// select(2) examines no fd at or above the size of the process's fd table
// (fs/select.c: n = min(nfds, fdt->max_fds)), so an nfds of 4096 with set
// bits for fds far beyond the table is no EBADF: only the fds below count,
// and no byte of the sets beyond them is read or written. (Bits for fds
// 2048..4095 are set: the table of this small process is far smaller.)
TEST(HooksDifferentialEdges, SelectIgnoresFdsBeyondTheProcessFdTable) {
  auto o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    std::vector<unsigned char> rd(4096 / 8, 0), untouched(4096 / 8, 0);
    std::memset(rd.data() + 2048 / 8, 0xff, 2048 / 8);
    std::memcpy(untouched.data(), rd.data(), rd.size());
    FD_SET(p.rd, reinterpret_cast<fd_set*>(rd.data()));
    env.After(20ms, [&] { write(p.wr, "x", 1); });
    timeval tv{5, 0};
    Outcome r = Result(select(4096, reinterpret_cast<fd_set*>(rd.data()), nullptr, nullptr, &tv));
    env.JoinHelpers();
    r.data = FD_ISSET(p.rd, reinterpret_cast<fd_set*>(rd.data())) ? "readable" : "not readable";
    if (std::memcmp(rd.data() + 2048 / 8, untouched.data() + 2048 / 8, 2048 / 8) != 0) {
      r.data += ", bits beyond the fd table changed";
    }
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, "readable"));
}

}  // namespace
