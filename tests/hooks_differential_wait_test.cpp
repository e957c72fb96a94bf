// Differential tests of the waits with a clock or a signal mask argument:
// clock_nanosleep, pselect, epoll_pwait and epoll_pwait2 return in a
// coroutine exactly what they return natively (value, errno, data), and that
// is what the kernel documents. See differential_harness.h.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "differential_harness.h"
#include "loopback_fds.h"

namespace {

using namespace std::chrono_literals;
using coscope_test::Env;
using coscope_test::FdPair;
using coscope_test::Gives;
using coscope_test::Outcome;
using coscope_test::Result;
using coscope_test::RunBoth;
using coscope_test::Timed;

// ---- clock_nanosleep ----------------------------------------------------------------

// clock_nanosleep returns an error number and leaves errno alone: the
// outcome is its return value, with errno (set to EDOM before the call) as
// data.
Outcome ClockNanosleep(clockid_t clock, int flags, const timespec* req, timespec* rem = nullptr) {
  errno = EDOM;
  const int r = clock_nanosleep(clock, flags, req, rem);
  return Gives(r, 0, "errno=" + std::to_string(errno));
}

timespec After(clockid_t clock, long long ns) {
  timespec t{};
  clock_gettime(clock, &t);
  ns += t.tv_nsec;
  t.tv_sec += ns / 1'000'000'000;
  t.tv_nsec = ns % 1'000'000'000;
  return t;
}

const std::string kErrnoKept = "errno=" + std::to_string(EDOM);

class ClockNanosleepOn : public ::testing::TestWithParam<clockid_t> {};

TEST_P(ClockNanosleepOn, ARelativeSleepSleepsAndLeavesErrno) {
  const clockid_t clock = GetParam();
  auto o = RunBoth([clock](Env&) {
    const timespec req{0, 50'000'000};
    return Timed([&] { return ClockNanosleep(clock, 0, &req); });
  });
  EXPECT_BOTH(o, Gives(0, 0, kErrnoKept));
  EXPECT_GE(o.coroutine.seconds, 0.045);
}

TEST_P(ClockNanosleepOn, AnAbsoluteDeadlineIsKept) {
  const clockid_t clock = GetParam();
  auto o = RunBoth([clock](Env&) {
    const timespec deadline = After(clock, 50'000'000);
    Outcome r = ClockNanosleep(clock, TIMER_ABSTIME, &deadline);
    const timespec now = After(clock, 0);
    const bool reached = now.tv_sec > deadline.tv_sec ||
                         (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
    r.data += reached ? " deadline reached" : " woke early";
    return r;
  });
  EXPECT_BOTH(o, Gives(0, 0, kErrnoKept + " deadline reached"));
}

TEST_P(ClockNanosleepOn, ADeadlineInThePastReturnsAtOnce) {
  const clockid_t clock = GetParam();
  auto o = RunBoth([clock](Env&) {
    const timespec past{1, 0};
    return Timed([&] { return ClockNanosleep(clock, TIMER_ABSTIME, &past); });
  });
  EXPECT_BOTH(o, Gives(0, 0, kErrnoKept));
  EXPECT_LT(o.coroutine.seconds, 0.02);
}

TEST_P(ClockNanosleepOn, BadRequestsGiveTheKernelsErrorNumber) {
  const clockid_t clock = GetParam();
  for (int flags : {0, TIMER_ABSTIME}) {
    SCOPED_TRACE(flags);
    auto o = RunBoth([clock, flags](Env&) {
      const timespec bad_nsec{0, 1'000'000'000};
      const timespec negative{-1, 0};
      Outcome r = ClockNanosleep(clock, flags, &bad_nsec);
      r.data += " " + std::to_string(ClockNanosleep(clock, flags, &negative).ret);
      r.data += " " + std::to_string(ClockNanosleep(clock, flags, nullptr).ret);
      return r;
    });
    EXPECT_BOTH(o, Gives(EINVAL, 0,
                         kErrnoKept + " " + std::to_string(EINVAL) + " " + std::to_string(EFAULT)));
  }
}

INSTANTIATE_TEST_SUITE_P(Clocks, ClockNanosleepOn,
                         ::testing::Values(CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME),
                         [](const ::testing::TestParamInfo<clockid_t>& info) {
                           switch (info.param) {
                             case CLOCK_REALTIME:
                               return std::string("realtime");
                             case CLOCK_MONOTONIC:
                               return std::string("monotonic");
                             default:
                               return std::string("boottime");
                           }
                         });

// Clocks no task sleeps on give the kernel's answer.
TEST(ClockNanosleep, ClocksATaskCannotSleepOnGiveTheKernelsAnswer) {
  auto o = RunBoth([](Env&) {
    const timespec req{0, 1'000'000};
    Outcome r = ClockNanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &req);
    r.data += " " + std::to_string(ClockNanosleep(static_cast<clockid_t>(12345), 0, &req).ret);
    r.data += " " + std::to_string(ClockNanosleep(CLOCK_MONOTONIC_RAW, 0, &req).ret);
    return r;
  });
  EXPECT_BOTH(o, Gives(EINVAL, 0,
                       kErrnoKept + " " + std::to_string(EINVAL) + " " + std::to_string(ENOTSUP)));
}

// ---- pselect --------------------------------------------------------------------------

// pselect on fd's read end: the count, which bit is set, and the timeout as
// the call left it (pselect never writes it).
Outcome PselectRead(int fd, const timespec* timeout) {
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(fd, &readable);
  sigset_t mask;
  sigemptyset(&mask);
  Outcome r = Result(pselect(fd + 1, &readable, nullptr, nullptr, timeout, &mask));
  r.data = FD_ISSET(fd, &readable) ? "set" : "clear";
  if (timeout != nullptr) {
    r.data += " " + std::to_string(timeout->tv_sec) + "." + std::to_string(timeout->tv_nsec);
  }
  return r;
}

TEST(Pselect, ReportsAnFdThatBecomesReadable) {
  auto o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(coscope_test::Channel::pipe);
    env.After(30ms, [&] { (void)!write(p.wr, "x", 1); });
    const timespec five_s{5, 0};
    Outcome r = PselectRead(p.rd, &five_s);
    env.JoinHelpers();
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, "set 5.0"));
}

TEST(Pselect, WaitsForEverWithoutATimeout) {
  auto o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(coscope_test::Channel::pipe);
    env.After(30ms, [&] { (void)!write(p.wr, "x", 1); });
    Outcome r = PselectRead(p.rd, nullptr);
    env.JoinHelpers();
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, "set"));
}

TEST(Pselect, TimesOutAndClearsTheSet) {
  auto o = RunBoth([](Env&) {
    FdPair p = coscope_test::Open(coscope_test::Channel::pipe);
    const timespec fifty_ms{0, 50'000'000};
    Outcome r = Timed([&] { return PselectRead(p.rd, &fifty_ms); });
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(0, 0, "clear 0.50000000"));
  EXPECT_GE(o.coroutine.seconds, 0.045);
}

TEST(Pselect, RejectsWhatTheKernelRejects) {
  auto o = RunBoth([](Env&) {
    FdPair p = coscope_test::Open(coscope_test::Channel::pipe);
    const timespec bad_nsec{0, 1'000'000'000};
    Outcome r = PselectRead(p.rd, &bad_nsec);
    const int closed = p.rd;
    coscope_test::Close(p);
    const timespec one_s{1, 0};
    r.data += " / " + std::to_string(PselectRead(closed, &one_s).err);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EINVAL, "set 0.1000000000 / " + std::to_string(EBADF)));
}

// ---- epoll_pwait, epoll_pwait2 ----------------------------------------------------------

enum class Pwait { pwait, pwait2 };

// Waits on an epoll instance watching fd for input; timeout in ms (-1: none).
Outcome EpollPwait(Pwait call, int epfd, int timeout_ms, int maxevents = 4) {
  epoll_event events[4]{};
  sigset_t mask;
  sigemptyset(&mask);
  int n = 0;
  if (call == Pwait::pwait) {
    n = epoll_pwait(epfd, events, maxevents, timeout_ms, &mask);
  } else {
    const timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000L};
    n = epoll_pwait2(epfd, events, maxevents, timeout_ms < 0 ? nullptr : &ts, &mask);
  }
  Outcome r = Result(n);
  for (int i = 0; i < n; ++i) r.data += std::to_string(events[i].events) + ";";
  return r;
}

int EpollOn(int fd) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  return ep;
}

class EpollPwaitCall : public ::testing::TestWithParam<Pwait> {};

TEST_P(EpollPwaitCall, ReportsAnEventThatComesLater) {
  const Pwait call = GetParam();
  for (int timeout : {-1, 5000}) {
    SCOPED_TRACE(timeout);
    auto o = RunBoth([call, timeout](Env& env) {
      FdPair p = coscope_test::Open(coscope_test::Channel::pipe);
      const int ep = EpollOn(p.rd);
      env.After(30ms, [&] { (void)!write(p.wr, "x", 1); });
      Outcome r = EpollPwait(call, ep, timeout);
      env.JoinHelpers();
      close(ep);
      coscope_test::Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(1, 0, std::to_string(EPOLLIN) + ";"));
  }
}

TEST_P(EpollPwaitCall, TimesOut) {
  const Pwait call = GetParam();
  auto o = RunBoth([call](Env&) {
    FdPair p = coscope_test::Open(coscope_test::Channel::pipe);
    const int ep = EpollOn(p.rd);
    Outcome r = Timed([&] { return EpollPwait(call, ep, 50); });
    close(ep);
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(0));
  EXPECT_GE(o.coroutine.seconds, 0.045);
}

TEST_P(EpollPwaitCall, RejectsWhatTheKernelRejects) {
  const Pwait call = GetParam();
  auto o = RunBoth([call](Env&) {
    FdPair p = coscope_test::Open(coscope_test::Channel::pipe);
    const int ep = EpollOn(p.rd);
    Outcome r = EpollPwait(call, ep, 1000, 0);                  // maxevents must be positive
    r.data = std::to_string(EpollPwait(call, p.rd, 1000).err);  // not an epoll fd
    close(ep);
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EINVAL, std::to_string(EINVAL)));
}

TEST(EpollPwait2, RejectsAnInvalidTimeout) {
  auto o = RunBoth([](Env&) {
    FdPair p = coscope_test::Open(coscope_test::Channel::pipe);
    const int ep = EpollOn(p.rd);
    epoll_event events[1];
    const timespec bad{0, 1'000'000'000};
    Outcome r = Result(epoll_pwait2(ep, events, 1, &bad, nullptr));
    close(ep);
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EINVAL));
}

INSTANTIATE_TEST_SUITE_P(Calls, EpollPwaitCall, ::testing::Values(Pwait::pwait, Pwait::pwait2),
                         [](const ::testing::TestParamInfo<Pwait>& info) {
                           return std::string(info.param == Pwait::pwait ? "epoll_pwait"
                                                                         : "epoll_pwait2");
                         });

}  // namespace
