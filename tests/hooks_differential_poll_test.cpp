// Differential tests of the waiting calls - poll, ppoll, select, epoll_wait -
// against poll(2), select(2) and epoll_wait(2), and of close() waking every
// coroutine that waits on the fd it closes.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
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

// The outcome of a poll call, with every entry's revents as data.
Outcome PollResult(long long ret, const std::vector<pollfd>& fds) {
  Outcome o = Result(ret);
  for (const pollfd& p : fds) o.data += std::to_string(p.revents) + " ";
  return o;
}

Outcome Poll(std::vector<pollfd>& fds, int timeout_ms) {
  return coscope_test::Timed(
      [&] { return PollResult(poll(fds.data(), fds.size(), timeout_ms), fds); });
}

std::string Revents(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s += std::to_string(v) + " ";
  return s;
}

// An address no call may read or write (hidden from the compiler, which
// would otherwise warn about the deliberate overflow).
template <class T>
T* Unreadable() {
  volatile std::uintptr_t address = alignof(T);
  return reinterpret_cast<T*>(address);
}

// A closed fd number (the pipe's ends are closed again at once).
int ClosedFd() {
  FdPair p = coscope_test::Open(Channel::pipe);
  Close(p);
  return p.rd;
}

// ---- poll(2) ----------------------------------------------------------------

TEST(HooksDifferentialPoll, NegativeFdsAreIgnoredWithZeroRevents) {
  auto o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(Channel::pipe);
    // revents start as garbage: the kernel zeroes them for negative fds.
    std::vector<pollfd> fds = {{-1, POLLIN, 0x7f}, {p.rd, POLLIN, 0x7f}, {-7, POLLOUT, 0x7f}};
    env.After(20ms, [&] { write(p.wr, "x", 1); });
    Outcome r = Poll(fds, -1);
    env.JoinHelpers();
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, Revents({0, POLLIN, 0})));
}

TEST(HooksDifferentialPoll, OnlyNegativeFdsSleepForTheTimeout) {
  auto o = RunBoth([](Env&) {
    std::vector<pollfd> fds = {{-1, POLLIN, 0x7f}, {-2, POLLIN, 0x7f}};
    return Poll(fds, 50);
  });
  EXPECT_BOTH(o, Gives(0, 0, Revents({0, 0})));
  EXPECT_GE(o.native.seconds, 0.040);
  EXPECT_GE(o.coroutine.seconds, 0.040);
  // No fds at all: the same pure sleep.
  o = RunBoth(
      [](Env&) { return coscope_test::Timed([] { return Result(poll(nullptr, 0, 50)); }); });
  EXPECT_BOTH(o, Gives(0));
  EXPECT_GE(o.coroutine.seconds, 0.040);
}

TEST(HooksDifferentialPoll, TimeoutZeroReturnsAtOnceAndPositiveTimeoutExpires) {
  for (int timeout : {0, 50}) {
    SCOPED_TRACE(timeout);
    auto o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(Channel::socketpair);
      std::vector<pollfd> fds = {{p.rd, POLLIN, 0}};
      Outcome r = Poll(fds, timeout);
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(0, 0, Revents({0})));
    EXPECT_LT(o.coroutine.seconds, 5.0);
    if (timeout > 0) {
      EXPECT_GE(o.coroutine.seconds, 0.8 * timeout / 1000);
    }
  }
}

TEST(HooksDifferentialPoll, InfiniteTimeoutWaitsUntilReady) {
  for (Channel ch : {Channel::pipe, Channel::socketpair, Channel::tcp}) {
    SCOPED_TRACE(to_string(ch));
    auto o = RunBoth([&](Env& env) {
      FdPair p = coscope_test::Open(ch);
      std::vector<pollfd> fds = {{p.rd, POLLIN, 0}, {p.wr, POLLIN, 0}};
      env.After(20ms, [&] { write(p.wr, "x", 1); });
      Outcome r = Poll(fds, -1);
      env.JoinHelpers();
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(1, 0, Revents({POLLIN, 0})));
    EXPECT_GE(o.coroutine.seconds, 0.010);
  }
}

TEST(HooksDifferentialPoll, FdsNotOpenGivePollnval) {
  auto o = RunBoth([](Env&) {
    FdPair p = coscope_test::Open(Channel::pipe);  // empty: never ready
    std::vector<pollfd> fds = {{p.rd, POLLIN, 0}, {ClosedFd(), POLLIN, 0}};
    Outcome r = Poll(fds, -1);
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, Revents({0, POLLNVAL})));
}

TEST(HooksDifferentialPoll, HangupAndErrorAreReportedEvenIfNotAsked) {
  // A pipe's read end after the writer closed: POLLHUP (events 0).
  auto o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(Channel::pipe);
    std::vector<pollfd> fds = {{p.rd, 0, 0}};
    env.After(20ms, [&] { close(p.wr); });
    Outcome r = Poll(fds, -1);
    env.JoinHelpers();
    close(p.rd);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, Revents({POLLHUP})));
  // A pipe's write end after the reader closed: POLLERR (only POLLOUT asked).
  o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(Channel::pipe);
    coscope_test::FillUp(p.wr);  // not writable, so only the error can end the wait
    std::vector<pollfd> fds = {{p.wr, POLLOUT, 0}};
    env.After(20ms, [&] { close(p.rd); });
    Outcome r = Poll(fds, -1);
    env.JoinHelpers();
    close(p.wr);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, Revents({POLLERR})));
  // A TCP connection reset by the peer: POLLERR and POLLHUP, only POLLPRI asked.
  o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(Channel::tcp);
    std::vector<pollfd> fds = {{p.rd, POLLPRI, 0}};
    env.After(20ms, [&] {
      linger lg{1, 0};
      setsockopt(p.wr, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      close(p.wr);
    });
    Outcome r = Poll(fds, -1);
    env.JoinHelpers();
    close(p.rd);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, Revents({POLLERR | POLLHUP})));
}

TEST(HooksDifferentialPoll, BadArgumentsFailAsTheKernelSays) {
  // An array the kernel cannot read: EFAULT.
  auto o = RunBoth([](Env&) { return Result(poll(Unreadable<pollfd>(), 1, 100)); });
  EXPECT_BOTH(o, Gives(-1, EFAULT));
  // More entries than RLIMIT_NOFILE: EINVAL. The array is real and readable
  // (a sanitizer's poll interceptor reads it all first), so the soft limit is
  // lowered for the call to keep it small.
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 4096);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<pollfd> too_many(low.rlim_cur + 1, pollfd{-1, 0, 0});
  o = RunBoth([&](Env&) { return Result(poll(too_many.data(), too_many.size(), 100)); });
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_BOTH(o, Gives(-1, EINVAL));
}

// ---- ppoll(2) ------------------------------------------------------------------

TEST(HooksDifferentialPoll, PpollMatchesTheKernel) {
  const timespec fifty_ms{0, 50'000'000};
  auto o = RunBoth([&](Env& env) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    std::vector<pollfd> fds = {{p.rd, POLLIN, 0}};
    env.After(20ms, [&] { write(p.wr, "x", 1); });
    Outcome r = PollResult(ppoll(fds.data(), fds.size(), nullptr, nullptr), fds);
    env.JoinHelpers();
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, Revents({POLLIN})));
  o = RunBoth([&](Env&) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    std::vector<pollfd> fds = {{p.rd, POLLIN, 0}};
    Outcome r = PollResult(ppoll(fds.data(), fds.size(), &fifty_ms, nullptr), fds);
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(0, 0, Revents({0})));
  for (timespec bad : {timespec{0, -1}, timespec{-1, 0}, timespec{0, 1'000'000'000}}) {
    o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(Channel::socketpair);
      std::vector<pollfd> fds = {{p.rd, POLLIN, 0}};
      Outcome r = Result(ppoll(fds.data(), fds.size(), &bad, nullptr));
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(-1, EINVAL));
  }
  o = RunBoth([&](Env&) { return Result(ppoll(Unreadable<pollfd>(), 1, &fifty_ms, nullptr)); });
  EXPECT_BOTH(o, Gives(-1, EFAULT));
}

// ---- select(2) -----------------------------------------------------------------

// The bits of `set` below `limit`, as text.
std::string Bits(const fd_set& set, int limit) {
  std::string s;
  for (int fd = 0; fd < limit; ++fd) {
    if (FD_ISSET(fd, &set)) s += std::to_string(fd) + " ";
  }
  return s;
}

TEST(HooksDifferentialPoll, SelectReportsReadyFdsAndClearsTheOthers) {
  auto o = RunBoth([](Env& env) {
    FdPair a = coscope_test::Open(Channel::socketpair);
    FdPair b = coscope_test::Open(Channel::pipe);
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(a.rd, &rd);
    FD_SET(b.rd, &rd);
    FD_SET(b.wr, &wr);
    const int nfds = std::max({a.rd, b.rd, b.wr}) + 1;
    env.After(20ms, [&] { write(a.wr, "x", 1); });
    timeval tv{5, 0};
    Outcome r = Result(select(nfds, &rd, &wr, nullptr, &tv));
    // What is ready, relative to the fds (their numbers differ between runs).
    r.data = std::string(FD_ISSET(a.rd, &rd) ? "a.rd " : "") +
             (FD_ISSET(b.rd, &rd) ? "b.rd " : "") + (FD_ISSET(b.wr, &wr) ? "b.wr " : "");
    env.JoinHelpers();
    Close(a);
    Close(b);
    return r;
  });
  // The pipe's write end is writable at once: select returns without waiting.
  EXPECT_BOTH(o, Gives(1, 0, "b.wr "));
  o = RunBoth([](Env& env) {
    FdPair a = coscope_test::Open(Channel::socketpair);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(a.rd, &rd);
    env.After(20ms, [&] { write(a.wr, "x", 1); });
    Outcome r = Result(select(a.rd + 1, &rd, nullptr, nullptr, nullptr));
    r.data = FD_ISSET(a.rd, &rd) ? "a.rd" : "";
    env.JoinHelpers();
    Close(a);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, "a.rd"));
}

TEST(HooksDifferentialPoll, SelectTimeoutClearsEverySet) {
  auto o = RunBoth([](Env&) {
    FdPair a = coscope_test::Open(Channel::socketpair);
    fd_set rd, ex;
    FD_ZERO(&rd);
    FD_ZERO(&ex);
    FD_SET(a.rd, &rd);
    FD_SET(a.rd, &ex);
    timeval tv{0, 50'000};
    Outcome r =
        coscope_test::Timed([&] { return Result(select(a.rd + 1, &rd, nullptr, &ex, &tv)); });
    r.data = Bits(rd, FD_SETSIZE) + "| " + Bits(ex, FD_SETSIZE) + "| " + std::to_string(tv.tv_sec) +
             "." + std::to_string(tv.tv_usec);
    Close(a);
    return r;
  });
  // Linux writes back the time not slept: none.
  EXPECT_BOTH(o, Gives(0, 0, "| | 0.0"));
  EXPECT_GE(o.coroutine.seconds, 0.040);
}

TEST(HooksDifferentialPoll, SelectClearsTheWholeWordsItExamined) {
  // select(2) reads and writes back whole words of each set: a bit at or
  // above nfds in the last word is cleared too (Linux, fs/select.c).
  auto o = RunBoth([](Env&) {
    FdPair a = coscope_test::Open(Channel::socketpair);
    write(a.wr, "x", 1);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(a.rd, &rd);
    FD_SET(a.rd + 1, &rd);  // beyond nfds, in the same 64-bit word (a.rd is small)
    timeval tv{1, 0};
    Outcome r = Result(select(a.rd + 1, &rd, nullptr, nullptr, &tv));
    r.data =
        std::string(FD_ISSET(a.rd, &rd) ? "a.rd " : "") + (FD_ISSET(a.rd + 1, &rd) ? "next" : "");
    Close(a);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, "a.rd "));
}

TEST(HooksDifferentialPoll, SelectBadArgumentsFailAsTheKernelSays) {
  // A closed fd in a set: EBADF.
  auto o = RunBoth([](Env&) {
    FdPair a = coscope_test::Open(Channel::socketpair);
    const int closed = ClosedFd();
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(a.rd, &rd);
    FD_SET(closed, &rd);
    timeval tv{1, 0};
    Outcome r = Result(select(std::max(a.rd, closed) + 1, &rd, nullptr, nullptr, &tv));
    Close(a);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EBADF));
  // A negative nfds or a negative timeout: EINVAL.
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    o = RunBoth([&](Env&) {
      FdPair a = coscope_test::Open(Channel::socketpair);
      fd_set rd;
      FD_ZERO(&rd);
      FD_SET(a.rd, &rd);
      timeval tv = variant == 1 ? timeval{-1, 0} : variant == 2 ? timeval{0, -1} : timeval{1, 0};
      Outcome r = Result(select(variant == 0 ? -1 : a.rd + 1, &rd, nullptr, nullptr, &tv));
      Close(a);
      return r;
    });
    EXPECT_BOTH(o, Gives(-1, EINVAL));
  }
  // nfds above FD_SETSIZE is no error: the kernel looks at the fds that can
  // be open (sets here are big enough for the nfds passed).
  o = RunBoth([](Env&) {
    FdPair a = coscope_test::Open(Channel::socketpair);
    fd_set rd[2];
    FD_ZERO(&rd[0]);
    FD_ZERO(&rd[1]);
    FD_SET(a.rd, &rd[0]);
    timeval tv{0, 20'000};
    Outcome r = Result(select(FD_SETSIZE + 1, rd, nullptr, nullptr, &tv));
    Close(a);
    return r;
  });
  EXPECT_BOTH(o, Gives(0));
}

// ---- epoll_wait(2) -------------------------------------------------------------

TEST(HooksDifferentialPoll, EpollWaitMatchesTheKernel) {
  // Ready later, within an infinite timeout; the event's data comes back.
  auto o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(Channel::pipe);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 42;
    epoll_ctl(ep, EPOLL_CTL_ADD, p.rd, &ev);
    env.After(20ms, [&] { write(p.wr, "x", 1); });
    epoll_event got[4]{};
    Outcome r = Result(epoll_wait(ep, got, 4, -1));
    r.data = std::to_string(got[0].events) + " " + std::to_string(got[0].data.u64);
    env.JoinHelpers();
    close(ep);
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, std::to_string(EPOLLIN) + " 42"));
  // Nothing ready within the timeout.
  o = RunBoth([](Env&) {
    FdPair p = coscope_test::Open(Channel::pipe);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_ADD, p.rd, &ev);
    epoll_event got[4];
    Outcome r = coscope_test::Timed([&] { return Result(epoll_wait(ep, got, 4, 50)); });
    close(ep);
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(0));
  EXPECT_GE(o.coroutine.seconds, 0.040);
  // Not an epoll fd, or maxevents <= 0: EINVAL; a closed fd: EBADF.
  o = RunBoth([](Env&) {
    FdPair p = coscope_test::Open(Channel::pipe);
    epoll_event got[4];
    Outcome r = Result(epoll_wait(p.rd, got, 4, 100));
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EINVAL));
  o = RunBoth([](Env&) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event got[4];
    Outcome r = Result(epoll_wait(ep, got, 0, 100));
    close(ep);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EINVAL));
  o = RunBoth([](Env&) {
    epoll_event got[4];
    return Result(epoll_wait(ClosedFd(), got, 4, 100));
  });
  EXPECT_BOTH(o, Gives(-1, EBADF));
  // Events ready, but nowhere to put them: EFAULT.
  o = RunBoth([](Env&) {
    FdPair p = coscope_test::Open(Channel::pipe);
    write(p.wr, "x", 1);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_ADD, p.rd, &ev);
    Outcome r = Result(epoll_wait(ep, reinterpret_cast<epoll_event*>(4096), 4, 100));
    close(ep);
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EFAULT));
}

// ---- close() wakes every waiter --------------------------------------------------

// A thread blocked in read or poll is not woken by another thread's close
// (the kernel keeps the file alive for it), so the native reference is the
// same call made on the fd after the close: EBADF, or POLLNVAL. In a
// coroutine the waiters must get exactly that, and none may hang.
TEST(HooksDifferentialPoll, CloseWakesEveryCoroutineWaitingOnTheFd) {
  coscope_test::Watchdog wd("close wakes waiters", std::chrono::seconds(10));
  auto waits = [](FdPair pipe_fds, FdPair sock_fds, int ep) {
    std::vector<Outcome> r;
    char buf[8];
    r.push_back(Result(read(pipe_fds.rd, buf, sizeof buf)));
    r.push_back(Result(recv(sock_fds.rd, buf, sizeof buf, 0)));
    std::vector<pollfd> fds = {{pipe_fds.rd, POLLIN, 0}};
    r.push_back(PollResult(poll(fds.data(), 1, -1), fds));
    fds = {{sock_fds.rd, POLLIN, 0}, {-1, POLLIN, 0}};
    r.push_back(PollResult(poll(fds.data(), 2, 10'000), fds));
    epoll_event ev[1];
    r.push_back(Result(epoll_wait(ep, ev, 1, -1)));
    return r;
  };
  // Native: the calls on the closed fds.
  std::vector<Outcome> native;
  std::thread([&] {
    FdPair pipe_fds = coscope_test::Open(Channel::pipe);
    FdPair sock_fds = coscope_test::Open(Channel::socketpair);
    int ep = epoll_create1(0);
    close(pipe_fds.rd);
    close(sock_fds.rd);
    close(ep);
    native = waits(pipe_fds, sock_fds, ep);
    close(pipe_fds.wr);
    close(sock_fds.wr);
  }).join();
  // Coroutines: each call waits (nothing is ready) until the close.
  std::vector<std::vector<Outcome>> woken(5);
  co::Scheduler sched;
  co::spawn(
      [&] {
        FdPair pipe_fds = coscope_test::Open(Channel::pipe);
        FdPair sock_fds = coscope_test::Open(Channel::socketpair);
        int ep = epoll_create1(0);
        co::WaitGroup done;
        for (std::size_t i = 0; i < woken.size(); ++i) {
          done.add();
          co::spawn(
              [&, i] {
                // Waiter i makes call i only.
                std::vector<Outcome> all(5);
                char buf[8];
                std::vector<pollfd> fds;
                epoll_event ev[1];
                switch (i) {
                  case 0:
                    all[0] = Result(read(pipe_fds.rd, buf, sizeof buf));
                    break;
                  case 1:
                    all[1] = Result(recv(sock_fds.rd, buf, sizeof buf, 0));
                    break;
                  case 2:
                    fds = {{pipe_fds.rd, POLLIN, 0}};
                    all[2] = PollResult(poll(fds.data(), 1, -1), fds);
                    break;
                  case 3:
                    fds = {{sock_fds.rd, POLLIN, 0}, {-1, POLLIN, 0}};
                    all[3] = PollResult(poll(fds.data(), 2, 10'000), fds);
                    break;
                  case 4:
                    all[4] = Result(epoll_wait(ep, ev, 1, -1));
                    break;
                }
                woken[i] = all;
                done.done();
              },
              co::SpawnOptions{"waiter", 0, &sched});
        }
        co::this_task::sleep_for(30ms);  // every waiter is parked by now
        close(pipe_fds.rd);
        close(sock_fds.rd);
        close(ep);
        done.wait();
        close(pipe_fds.wr);
        close(sock_fds.wr);
      },
      co::SpawnOptions{"closer", 0, &sched});
  sched.RunUntilNoTask();

  const std::vector<Outcome> expected = {Gives(-1, EBADF), Gives(-1, EBADF),
                                         Gives(1, 0, Revents({POLLNVAL})),
                                         Gives(1, 0, Revents({POLLNVAL, 0})), Gives(-1, EBADF)};
  ASSERT_EQ(native.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(native[i], expected[i]) << "native";
    EXPECT_EQ(woken[i][i], native[i]) << "coroutine woken by close";
  }
}

}  // namespace
