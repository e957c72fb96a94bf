// Caught signals and hooked waits: a handler interrupting a wait gives EINTR
// where the kernel would, SA_RESTART honoured (signal(7), "Interruption of
// system calls and library functions by signal handlers").
//
// Differential: each blocking scenario runs three ways, and all three must
// give the same return value and errno, the one signal(7) documents:
//   native        a plain thread; the handler installed with libc's own
//                 sigaction, so the hooks play no part (outside coroutines
//                 every call passes through);
//   hooked thread a plain thread; the handler installed through the hooked
//                 sigaction (the trampoline must not change what the kernel
//                 does);
//   task          a task on a one-worker scheduler; the handler installed
//                 through the hooked sigaction.
// The signal goes to the blocked thread (for the task: its worker thread)
// once the call is certainly waiting: the thread sleeps in the kernel, or the
// task is parked.
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <coscope/coscope.h>
#include <coscope/introspect.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "test_watchdog.h"

namespace {

using namespace std::chrono_literals;
using SigactionFn = int (*)(int, const struct sigaction*, struct sigaction*);
using SignalFn = __sighandler_t (*)(int, __sighandler_t);

// libc's own functions, past the hooks (this program links coscope).
template <class F>
F libc_function(const char* name) {
  void* libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
  return libc != nullptr ? reinterpret_cast<F>(dlsym(libc, name)) : nullptr;
}
SigactionFn libc_sigaction() {
  static SigactionFn fn = libc_function<SigactionFn>("sigaction");
  return fn;
}

// The flags of an action as a program compares them. glibc adds SA_RESTORER
// (0x04000000, its signal-return trampoline) to every action it installs and
// the kernel reports it back. Under ThreadSanitizer the hook's original is
// TSan's sigaction, which answers from its own copy of the program's action,
// without the flag glibc adds; no program sets it itself.
int ComparableFlags(int flags) {
#if defined(__SANITIZE_THREAD__)
  return flags & ~0x04000000;
#else
  return flags;
#endif
}

std::atomic<int> g_handled{0};
std::atomic<int> g_last_si_code{0};
void count_signal(int) {
  g_handled.fetch_add(1);
}
void count_signal_info(int, siginfo_t* info, void*) {
  g_last_si_code.store(info->si_code);
  g_handled.fetch_add(1);
}
void other_handler(int) {}

// siginterrupt is obsolescent, but programs still call it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
int call_siginterrupt(int signo, int interrupt) {
  return siginterrupt(signo, interrupt);
}
#pragma GCC diagnostic pop

void install(SigactionFn fn, int signo, bool sa_restart) {
  struct sigaction act {};
  act.sa_handler = count_signal;
  sigemptyset(&act.sa_mask);
  act.sa_flags = sa_restart ? SA_RESTART : 0;
  ASSERT_EQ(fn(signo, &act, nullptr), 0);
}

// ---- one blocking call, run three ways ---------------------------------------

enum class Runner { native, hooked_thread, task };

const char* to_string(Runner r) {
  switch (r) {
    case Runner::native:
      return "native";
    case Runner::hooked_thread:
      return "hooked thread";
    case Runner::task:
      return "task";
  }
  return "?";
}

struct Outcome {
  long ret = 0;
  int err = 0;      ///< errno when ret < 0
  int handled = 0;  ///< handler runs seen when the call returned
  bool operator==(const Outcome& o) const {
    return ret == o.ret && err == o.err && handled == o.handled;
  }
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << "{ret=" << o.ret << ", errno=" << o.err;
  if (o.err != 0) os << " (" << std::strerror(o.err) << ")";
  return os << ", handler runs=" << o.handled << "}";
}

// 'S': the thread sleeps in the kernel (blocked in a system call).
bool sleeping_in_kernel(pid_t tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  std::getline(stat, line);
  std::size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'S';
}

bool any_task_parked() {
  for (const co::TaskInfo& t : co::snapshot_tasks()) {
    if (t.state != co::TaskState::runnable && t.state != co::TaskState::done) return true;
  }
  return false;
}

struct Scenario {
  std::function<long()> call;  ///< the blocking call; its errno is kept
  /// Run once the signal was sent (e.g. to feed a restarted read); gets the
  /// "call returned" flag.
  std::function<void(const std::atomic<bool>&)> after_signal;
};

// Runs `s.call` on `runner`, signals its thread (SIGUSR1) while it waits.
Outcome run(Runner runner, bool sa_restart, const Scenario& s) {
  install(runner == Runner::native ? libc_sigaction() : &::sigaction, SIGUSR1, sa_restart);
  g_handled.store(0);
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  pid_t tid = 0;
  pthread_t thread{};
  Outcome out;
  auto body = [&] {
    tid = gettid();
    thread = pthread_self();
    started.store(true);
    errno = 0;
    long r = s.call();
    out = Outcome{r, r < 0 ? errno : 0, g_handled.load()};
    finished.store(true);
  };
  auto signal_when_waiting = [&](auto&& waiting) {
    while (!started.load()) std::this_thread::sleep_for(1ms);
    // Twice, a little apart: a momentary sleep elsewhere is not the wait.
    while (!(waiting() && (std::this_thread::sleep_for(10ms), waiting()))) {
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_FALSE(finished.load()) << "the call did not wait";
    EXPECT_EQ(pthread_kill(thread, SIGUSR1), 0);
    if (s.after_signal) s.after_signal(finished);
  };

  coscope_test::Watchdog watchdog(std::string("blocking call, ") + to_string(runner));
  if (runner == Runner::task) {
    co::Scheduler sched;
    co::spawn(body, co::SpawnOptions{"blocking call", 0, &sched});
    sched.Start(1);
    signal_when_waiting([&] { return any_task_parked() && sleeping_in_kernel(tid); });
    sched.WaitUntilNoTask();
    sched.Stop();
  } else {
    std::thread t(body);
    signal_when_waiting([&] { return sleeping_in_kernel(tid); });
    t.join();
  }
  return out;
}

// The three runs must agree with each other and with `expected`.
void expect_all(bool sa_restart, const std::function<Scenario()>& make, const Outcome& expected) {
  for (Runner runner : {Runner::native, Runner::hooked_thread, Runner::task}) {
    SCOPED_TRACE(to_string(runner));
    EXPECT_EQ(run(runner, sa_restart, make()), expected);
  }
}

// ---- resources ---------------------------------------------------------------

struct Fds {
  std::vector<int> fds;
  ~Fds() {
    for (int fd : fds) close(fd);
  }
};

struct Pipe : Fds {
  int r = -1, w = -1;
  Pipe() {
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    r = p[0];
    w = p[1];
    fds = {r, w};
  }
};

// Feeds one byte once the restarted call has kept waiting for a while.
std::function<void(const std::atomic<bool>&)> feed_later(int fd) {
  return [fd](const std::atomic<bool>& finished) {
    std::this_thread::sleep_for(150ms);
    EXPECT_FALSE(finished.load()) << "a call the kernel restarts returned after the signal";
    EXPECT_EQ(write(fd, "x", 1), 1);
  };
}

// ---- reads: EINTR, or restarted under SA_RESTART ------------------------------

TEST(SignalInterrupts, ReadOnEmptyPipeWithoutRestartGivesEintr) {
  expect_all(
      false,
      [] {
        auto pipe = std::make_shared<Pipe>();
        return Scenario{[pipe] {
                          char c;
                          return static_cast<long>(read(pipe->r, &c, 1));
                        },
                        {}};
      },
      Outcome{-1, EINTR, 1});
}

TEST(SignalInterrupts, ReadOnEmptyPipeWithRestartKeepsWaitingForTheData) {
  expect_all(
      true,
      [] {
        auto pipe = std::make_shared<Pipe>();
        return Scenario{[pipe] {
                          char c = 0;
                          long n = read(pipe->r, &c, 1);
                          return n == 1 && c == 'x' ? n : -2;
                        },
                        feed_later(pipe->w)};
      },
      Outcome{1, 0, 1});
}

// An fd the program made (not through a hooked call): the task waits first,
// then reads.
TEST(SignalInterrupts, ReadOnAForeignEventfdFollowsSaRestartToo) {
  for (bool restart : {false, true}) {
    SCOPED_TRACE(restart ? "SA_RESTART" : "no SA_RESTART");
    expect_all(
        restart,
        [restart] {
          auto fds = std::make_shared<Fds>();
          int efd = eventfd(0, EFD_CLOEXEC);
          fds->fds = {efd};
          Scenario s{[fds, efd] {
                       std::uint64_t v = 0;
                       return static_cast<long>(read(efd, &v, sizeof v));
                     },
                     {}};
          if (restart) {
            s.after_signal = [efd](const std::atomic<bool>& finished) {
              std::this_thread::sleep_for(150ms);
              EXPECT_FALSE(finished.load());
              std::uint64_t one = 1;
              EXPECT_EQ(write(efd, &one, sizeof one), 8);
            };
          }
          return s;
        },
        restart ? Outcome{8, 0, 1} : Outcome{-1, EINTR, 1});
  }
}

TEST(SignalInterrupts, RecvWithoutTimeoutRestartsUnderSaRestart) {
  expect_all(
      true,
      [] {
        auto fds = std::make_shared<Fds>();
        int sv[2];
        EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        fds->fds = {sv[0], sv[1]};
        return Scenario{[fds, s = sv[0]] {
                          char c;
                          return static_cast<long>(recv(s, &c, 1, 0));
                        },
                        feed_later(sv[1])};
      },
      Outcome{1, 0, 1});
}

// signal(7): with SO_RCVTIMEO set, recv is never restarted.
TEST(SignalInterrupts, RecvWithRcvtimeoGivesEintrEvenUnderSaRestart) {
  expect_all(
      true,
      [] {
        auto fds = std::make_shared<Fds>();
        int sv[2];
        EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        fds->fds = {sv[0], sv[1]};
        timeval tv{10, 0};
        EXPECT_EQ(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
        return Scenario{[fds, s = sv[0]] {
                          char c;
                          return static_cast<long>(recv(s, &c, 1, 0));
                        },
                        {}};
      },
      Outcome{-1, EINTR, 1});
}

// ---- calls that are never restarted -------------------------------------------

TEST(SignalInterrupts, PollGivesEintrEvenUnderSaRestart) {
  expect_all(
      true,
      [] {
        auto pipe = std::make_shared<Pipe>();
        return Scenario{[pipe] {
                          pollfd pfd{pipe->r, POLLIN, 0};
                          return static_cast<long>(poll(&pfd, 1, -1));
                        },
                        {}};
      },
      Outcome{-1, EINTR, 1});
}

TEST(SignalInterrupts, PollWithNoFdsGivesEintr) {
  expect_all(
      true,
      [] {
        return Scenario{[] { return static_cast<long>(poll(nullptr, 0, 10'000)); }, {}};
      },
      Outcome{-1, EINTR, 1});
}

TEST(SignalInterrupts, SelectGivesEintrEvenUnderSaRestart) {
  expect_all(
      true,
      [] {
        auto pipe = std::make_shared<Pipe>();
        return Scenario{
            [pipe] {
              fd_set readable;
              FD_ZERO(&readable);
              FD_SET(pipe->r, &readable);
              return static_cast<long>(select(pipe->r + 1, &readable, nullptr, nullptr, nullptr));
            },
            {}};
      },
      Outcome{-1, EINTR, 1});
}

TEST(SignalInterrupts, EpollWaitGivesEintrEvenUnderSaRestart) {
  expect_all(
      true,
      [] {
        auto pipe = std::make_shared<Pipe>();
        int ep = epoll_create1(EPOLL_CLOEXEC);
        pipe->fds.push_back(ep);
        epoll_event ev{};
        ev.events = EPOLLIN;
        EXPECT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, pipe->r, &ev), 0);
        return Scenario{[pipe, ep] {
                          epoll_event out[1];
                          return static_cast<long>(epoll_wait(ep, out, 1, -1));
                        },
                        {}};
      },
      Outcome{-1, EINTR, 1});
}

TEST(SignalInterrupts, NanosleepGivesEintrAndWritesTheTimeLeft) {
  for (Runner runner : {Runner::native, Runner::hooked_thread, Runner::task}) {
    SCOPED_TRACE(to_string(runner));
    timespec left{-1, -1};
    Outcome o = run(runner, true,
                    Scenario{[&left] {
                               timespec req{5, 0};
                               return static_cast<long>(nanosleep(&req, &left));
                             },
                             {}});
    EXPECT_EQ(o, (Outcome{-1, EINTR, 1}));
    const long long left_ns = left.tv_sec * 1'000'000'000LL + left.tv_nsec;
    EXPECT_GT(left_ns, 0);
    EXPECT_LT(left_ns, 5'000'000'000LL);
    EXPECT_LT(left.tv_nsec, 1'000'000'000L);
  }
}

TEST(SignalInterrupts, SelectGivesEintrAndWritesTheTimeLeft) {
  for (Runner runner : {Runner::native, Runner::hooked_thread, Runner::task}) {
    SCOPED_TRACE(to_string(runner));
    auto pipe = std::make_shared<Pipe>();
    timeval left{5, 0};
    Outcome o = run(runner, true,
                    Scenario{[pipe, &left] {
                               fd_set readable;
                               FD_ZERO(&readable);
                               FD_SET(pipe->r, &readable);
                               return static_cast<long>(
                                   select(pipe->r + 1, &readable, nullptr, nullptr, &left));
                             },
                             {}});
    EXPECT_EQ(o, (Outcome{-1, EINTR, 1}));
    // Interrupted well before the end: Linux wrote back what was left.
    const long long left_us = left.tv_sec * 1'000'000LL + left.tv_usec;
    EXPECT_GT(left_us, 0);
    EXPECT_LT(left_us, 5'000'000LL);
  }
}

TEST(SignalInterrupts, SleepReturnsTheUnsleptSeconds) {
  for (Runner runner : {Runner::native, Runner::hooked_thread, Runner::task}) {
    SCOPED_TRACE(to_string(runner));
    Outcome o = run(runner, true, Scenario{[] { return static_cast<long>(sleep(5)); }, {}});
    // 5 s asked, interrupted well before the end: 1 to 4 whole seconds left
    // (glibc rounds down).
    EXPECT_GE(o.ret, 1);
    EXPECT_LE(o.ret, 4);
    EXPECT_EQ(o.handled, 1);
  }
}

TEST(SignalInterrupts, UsleepGivesEintr) {
  expect_all(
      true,
      [] {
        return Scenario{[] { return static_cast<long>(usleep(5'000'000)); }, {}};
      },
      Outcome{-1, EINTR, 1});
}

// clock_nanosleep returns the error number (EINTR) and leaves errno alone; a
// relative sleep writes the time left, an absolute one does not.
TEST(SignalInterrupts, ClockNanosleepReturnsEintrAndWritesTheTimeLeftWhenRelative) {
  for (int flags : {0, TIMER_ABSTIME}) {
    for (Runner runner : {Runner::native, Runner::hooked_thread, Runner::task}) {
      SCOPED_TRACE(std::string(to_string(runner)) + (flags ? ", absolute" : ", relative"));
      timespec left{-1, -1};
      Outcome o = run(
          runner, true,
          Scenario{[&left, flags] {
                     timespec req{5, 0};
                     if (flags == TIMER_ABSTIME) {
                       timespec now{};
                       clock_gettime(CLOCK_MONOTONIC, &now);
                       req.tv_sec += now.tv_sec;
                     }
                     return static_cast<long>(clock_nanosleep(CLOCK_MONOTONIC, flags, &req, &left));
                   },
                   {}});
      EXPECT_EQ(o, (Outcome{EINTR, 0, 1}));
      if (flags == TIMER_ABSTIME) {
        EXPECT_EQ(left.tv_sec, -1) << "an absolute sleep wrote the time left";
      } else {
        const long long left_ns = left.tv_sec * 1'000'000'000LL + left.tv_nsec;
        EXPECT_GT(left_ns, 0);
        EXPECT_LT(left_ns, 5'000'000'000LL);
      }
    }
  }
}

TEST(SignalInterrupts, PselectGivesEintrEvenUnderSaRestart) {
  expect_all(
      true,
      [] {
        auto pipe = std::make_shared<Pipe>();
        return Scenario{[pipe] {
                          fd_set readable;
                          FD_ZERO(&readable);
                          FD_SET(pipe->r, &readable);
                          const timespec five_s{5, 0};
                          return static_cast<long>(
                              pselect(pipe->r + 1, &readable, nullptr, nullptr, &five_s, nullptr));
                        },
                        {}};
      },
      Outcome{-1, EINTR, 1});
}

TEST(SignalInterrupts, EpollPwaitAndPwait2GiveEintrEvenUnderSaRestart) {
  for (bool pwait2 : {false, true}) {
    SCOPED_TRACE(pwait2 ? "epoll_pwait2" : "epoll_pwait");
    expect_all(
        true,
        [pwait2] {
          auto pipe = std::make_shared<Pipe>();
          int ep = epoll_create1(EPOLL_CLOEXEC);
          pipe->fds.push_back(ep);
          epoll_event ev{};
          ev.events = EPOLLIN;
          EXPECT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, pipe->r, &ev), 0);
          return Scenario{
              [pipe, ep, pwait2] {
                epoll_event out[1];
                return static_cast<long>(pwait2 ? epoll_pwait2(ep, out, 1, nullptr, nullptr)
                                                : epoll_pwait(ep, out, 1, -1, nullptr));
              },
              {}};
        },
        Outcome{-1, EINTR, 1});
  }
}

// ---- where tasks differ from threads -------------------------------------------

// Run on the test thread while `parked` tasks wait on `sched`, then signal.
void wait_for_parked_tasks(std::size_t parked) {
  for (;;) {
    std::size_t n = 0;
    for (const co::TaskInfo& t : co::snapshot_tasks()) {
      n += t.state != co::TaskState::runnable && t.state != co::TaskState::done;
    }
    if (n == parked) return;
    std::this_thread::sleep_for(1ms);
  }
}

// The documented deviation: natively only the thread that takes the signal
// is interrupted; a task owns no thread, so a signal taken by any thread -
// here the test's own, no worker at all - interrupts every task in a hooked
// wait.
TEST(SignalInterrupts, ASignalTakenByAnyThreadInterruptsEveryWaitingTask) {
  install(&::sigaction, SIGUSR1, false);
  g_handled.store(0);
  Pipe a, b;
  std::atomic<int> eintr{0};
  coscope_test::Watchdog watchdog("two tasks parked in read");
  co::Scheduler sched;
  for (int fd : {a.r, b.r}) {
    co::spawn(
        [fd, &eintr] {
          char c;
          if (read(fd, &c, 1) == -1 && errno == EINTR) eintr.fetch_add(1);
        },
        co::SpawnOptions{"reader", 0, &sched});
  }
  sched.Start(2);
  wait_for_parked_tasks(2);
  ASSERT_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
  sched.WaitUntilNoTask();
  sched.Stop();
  EXPECT_EQ(eintr.load(), 2);
  EXPECT_EQ(g_handled.load(), 1);
}

// A wait that starts after the signal is not interrupted by it.
TEST(SignalInterrupts, ASignalCaughtBeforeTheWaitDoesNotInterruptIt) {
  install(&::sigaction, SIGUSR1, false);
  Pipe p;
  coscope_test::Watchdog watchdog("read after a signal");
  co::Scheduler sched;
  long n = 0;
  co::spawn(
      [&] {
        raise(SIGUSR1);  // handled right here, before the read
        char c;
        n = read(p.r, &c, 1);
      },
      co::SpawnOptions{"reader", 0, &sched});
  sched.Start(1);
  wait_for_parked_tasks(1);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(write(p.w, "x", 1), 1);
  sched.WaitUntilNoTask();
  sched.Stop();
  EXPECT_EQ(n, 1);
}

// A fault (here SIGSEGV from a write to a protected page, which the handler
// unprotects) is taken by the thread that faulted, which was running: it
// interrupts no wait, natively or in a task.
char* g_protected_page = nullptr;
void unprotect_page(int, siginfo_t*, void*) {
  mprotect(g_protected_page, 4096, PROT_READ | PROT_WRITE);
  g_handled.fetch_add(1);
}

TEST(SignalInterrupts, AFaultInterruptsNoWait) {
  struct sigaction act {};
  struct sigaction saved {};
  act.sa_sigaction = unprotect_page;
  sigemptyset(&act.sa_mask);
  act.sa_flags = SA_SIGINFO;
  ASSERT_EQ(sigaction(SIGSEGV, &act, &saved), 0);
  g_protected_page =
      static_cast<char*>(mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(g_protected_page, MAP_FAILED);
  g_handled.store(0);

  Pipe p;
  coscope_test::Watchdog watchdog("read across a fault");
  co::Scheduler sched;
  std::atomic<long> n{0};
  co::spawn(
      [&] {
        char c;
        n = read(p.r, &c, 1);
      },
      co::SpawnOptions{"reader", 0, &sched});
  sched.Start(1);
  wait_for_parked_tasks(1);
  *static_cast<volatile char*>(g_protected_page) = 1;  // faults once
  EXPECT_EQ(g_handled.load(), 1);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(n.load(), 0) << "the read returned after the fault";
  EXPECT_EQ(write(p.w, "x", 1), 1);
  sched.WaitUntilNoTask();
  sched.Stop();
  EXPECT_EQ(n.load(), 1);
  munmap(g_protected_page, 4096);
  ASSERT_EQ(sigaction(SIGSEGV, &saved, nullptr), 0);
}

// Outside coroutines an fd the runtime switched to O_NONBLOCK still blocks
// the thread (in the kernel's poll); SA_RESTART must restart that wait as
// the kernel restarts read.
TEST(SignalInterrupts, APlainThreadOnARuntimeNonblockingFdFollowsSaRestart) {
  for (bool restart : {false, true}) {
    SCOPED_TRACE(restart ? "SA_RESTART" : "no SA_RESTART");
    Pipe p;
    {
      // A task reads once: the runtime makes the pipe O_NONBLOCK.
      ASSERT_EQ(write(p.w, "y", 1), 1);
      co::Scheduler sched;
      co::spawn(
          [&] {
            char c;
            EXPECT_EQ(read(p.r, &c, 1), 1);
          },
          co::SpawnOptions{"first read", 0, &sched});
      sched.RunUntilNoTask();
      // (The hooked fcntl shows the program's view, without it.)
      using FcntlFn = int (*)(int, int, ...);
      ASSERT_TRUE(libc_function<FcntlFn>("fcntl")(p.r, F_GETFL) & O_NONBLOCK);
    }
    Scenario s{[&p] {
                 char c;
                 return static_cast<long>(read(p.r, &c, 1));
               },
               restart ? feed_later(p.w) : nullptr};
    EXPECT_EQ(run(Runner::hooked_thread, restart, s),
              restart ? (Outcome{1, 0, 1}) : (Outcome{-1, EINTR, 1}));
  }
}

// ---- the program's view of its handlers ------------------------------------------

bool same_mask(const sigset_t& a, const sigset_t& b) {
  for (int s = 1; s < NSIG; ++s) {
    if (sigismember(&a, s) != sigismember(&b, s)) return false;
  }
  return true;
}

// Installs `act` on `signo` with `install`, reads it back with `query`.
struct sigaction round_trip(SigactionFn install, SigactionFn query, int signo,
                            const struct sigaction& act) {
  struct sigaction reset {};
  reset.sa_handler = SIG_DFL;
  EXPECT_EQ(install(signo, &reset, nullptr), 0);
  EXPECT_EQ(install(signo, &act, nullptr), 0);
  struct sigaction back {};
  EXPECT_EQ(query(signo, nullptr, &back), 0);
  return back;
}

TEST(SignalActions, SigactionRoundTripsThePlainAndTheSiginfoHandler) {
  ASSERT_NE(libc_sigaction(), nullptr);
  ASSERT_NE(libc_sigaction(), &::sigaction) << "libc's sigaction must not be the hook";
  for (bool siginfo : {false, true}) {
    for (int flags : {0, SA_RESTART, SA_RESTART | SA_NODEFER}) {
      SCOPED_TRACE(std::string(siginfo ? "SA_SIGINFO" : "plain") + " flags " +
                   std::to_string(flags));
      struct sigaction act {};
      sigemptyset(&act.sa_mask);
      sigaddset(&act.sa_mask, SIGUSR2);
      if (siginfo) {
        act.sa_sigaction = count_signal_info;
        act.sa_flags = flags | SA_SIGINFO;
      } else {
        act.sa_handler = count_signal;
        act.sa_flags = flags;
      }
      struct sigaction native = round_trip(libc_sigaction(), libc_sigaction(), SIGUSR1, act);
      struct sigaction hooked = round_trip(&::sigaction, &::sigaction, SIGUSR1, act);
      EXPECT_EQ(reinterpret_cast<void*>(hooked.sa_sigaction),
                reinterpret_cast<void*>(native.sa_sigaction));
      EXPECT_EQ(ComparableFlags(hooked.sa_flags), ComparableFlags(native.sa_flags));
      EXPECT_TRUE(same_mask(hooked.sa_mask, native.sa_mask));

      // The kernel holds the trampoline, not the handler.
      struct sigaction kernel {};
      ASSERT_EQ(libc_sigaction()(SIGUSR1, nullptr, &kernel), 0);
      EXPECT_NE(reinterpret_cast<void*>(kernel.sa_sigaction),
                reinterpret_cast<void*>(act.sa_sigaction));
      EXPECT_EQ(kernel.sa_flags & SA_RESTART, flags & SA_RESTART);

      // ... and the handler runs, with its siginfo.
      g_handled.store(0);
      g_last_si_code.store(0);
      ASSERT_EQ(raise(SIGUSR1), 0);
      EXPECT_EQ(g_handled.load(), 1);
      if (siginfo) {
        EXPECT_EQ(g_last_si_code.load(), SI_TKILL);
      }
    }
  }
}

TEST(SignalActions, TheOldActionIsTheHandlerItReplaces) {
  struct sigaction first {};
  first.sa_handler = count_signal;
  first.sa_flags = SA_RESTART;
  sigemptyset(&first.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &first, nullptr), 0);

  struct sigaction same_kind = first;  // same trampoline: the old one must not be lost
  same_kind.sa_handler = other_handler;
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGUSR1, &same_kind, &old), 0);
  EXPECT_EQ(old.sa_handler, count_signal);
  EXPECT_EQ(old.sa_flags & (SA_RESTART | SA_SIGINFO), SA_RESTART);

  struct sigaction other_kind {};
  other_kind.sa_sigaction = count_signal_info;
  other_kind.sa_flags = SA_SIGINFO;
  sigemptyset(&other_kind.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &other_kind, &old), 0);
  EXPECT_EQ(old.sa_handler, other_handler);
  EXPECT_EQ(old.sa_flags & (SA_RESTART | SA_SIGINFO), SA_RESTART);

  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGUSR1, &ignore, &old), 0);
  EXPECT_EQ(old.sa_sigaction, count_signal_info);
  EXPECT_EQ(old.sa_flags & (SA_RESTART | SA_SIGINFO), SA_SIGINFO);

  // SIG_IGN / SIG_DFL reach the kernel as they are.
  struct sigaction kernel {};
  ASSERT_EQ(libc_sigaction()(SIGUSR1, nullptr, &kernel), 0);
  EXPECT_EQ(kernel.sa_handler, SIG_IGN);
  ASSERT_EQ(sigaction(SIGUSR1, nullptr, &old), 0);
  EXPECT_EQ(old.sa_handler, SIG_IGN);
}

TEST(SignalActions, SaResethandResetsToTheDefaultAsNatively) {
  struct sigaction act {};
  act.sa_handler = count_signal;
  act.sa_flags = SA_RESETHAND;
  sigemptyset(&act.sa_mask);
  struct sigaction after[2];
  int i = 0;
  const SigactionFn installers[] = {libc_sigaction(), &::sigaction};
  for (SigactionFn fn : installers) {
    g_handled.store(0);
    ASSERT_EQ(fn(SIGUSR2, &act, nullptr), 0);
    ASSERT_EQ(raise(SIGUSR2), 0);
    EXPECT_EQ(g_handled.load(), 1);
    ASSERT_EQ(fn(SIGUSR2, nullptr, &after[i++]), 0);
  }
  EXPECT_EQ(after[1].sa_handler, SIG_DFL);
  EXPECT_EQ(after[1].sa_handler, after[0].sa_handler);
  EXPECT_EQ(after[1].sa_flags, after[0].sa_flags);
}

TEST(SignalActions, InvalidSignalsFailAsNatively) {
  struct sigaction act {};
  act.sa_handler = count_signal;
  for (int signo : {0, SIGKILL, SIGSTOP, 32, NSIG, 1000}) {
    SCOPED_TRACE(signo);
    errno = 0;
    int native = libc_sigaction()(signo, &act, nullptr);
    int native_errno = errno;
    errno = 0;
    EXPECT_EQ(sigaction(signo, &act, nullptr), native);
    EXPECT_EQ(errno, native_errno);
  }
  errno = 0;
  EXPECT_EQ(signal(0, count_signal), SIG_ERR);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(signal(SIGUSR1, SIG_ERR), SIG_ERR);
  EXPECT_EQ(errno, EINVAL);
}

// signal(), sysv_signal() and siginterrupt() install what glibc's would.
TEST(SignalActions, SignalFamilyMatchesGlibc) {
  auto libc_signal = libc_function<SignalFn>("signal");
  auto libc_sysv_signal = libc_function<SignalFn>("sysv_signal");
  ASSERT_NE(libc_signal, nullptr);
  ASSERT_NE(libc_sysv_signal, nullptr);
  ASSERT_NE(libc_signal, &::signal);

  auto installed = [](SignalFn fn, SigactionFn query) {
    fn(SIGUSR2, SIG_DFL);
    fn(SIGUSR2, count_signal);
    struct sigaction back {};
    EXPECT_EQ(query(SIGUSR2, nullptr, &back), 0);
    return back;
  };
  for (auto [hooked_fn, libc_fn] : {std::pair<SignalFn, SignalFn>{&::signal, libc_signal},
                                    {&::sysv_signal, libc_sysv_signal}}) {
    struct sigaction native = installed(libc_fn, libc_sigaction());
    struct sigaction hooked = installed(hooked_fn, &::sigaction);
    EXPECT_EQ(hooked.sa_handler, count_signal);
    EXPECT_EQ(hooked.sa_handler, native.sa_handler);
    EXPECT_EQ(ComparableFlags(hooked.sa_flags), ComparableFlags(native.sa_flags));
    EXPECT_TRUE(same_mask(hooked.sa_mask, native.sa_mask));
  }

  // signal() hands back the handler it replaced.
  signal(SIGUSR2, count_signal);
  EXPECT_EQ(signal(SIGUSR2, other_handler), count_signal);

  // siginterrupt(sig, 1) drops SA_RESTART, also for a later signal().
  ASSERT_EQ(call_siginterrupt(SIGUSR2, 1), 0);
  struct sigaction back {};
  ASSERT_EQ(sigaction(SIGUSR2, nullptr, &back), 0);
  EXPECT_EQ(back.sa_handler, other_handler);
  EXPECT_EQ(back.sa_flags & SA_RESTART, 0);
  signal(SIGUSR2, count_signal);
  ASSERT_EQ(sigaction(SIGUSR2, nullptr, &back), 0);
  EXPECT_EQ(back.sa_flags & SA_RESTART, 0);
  ASSERT_EQ(call_siginterrupt(SIGUSR2, 0), 0);
  ASSERT_EQ(sigaction(SIGUSR2, nullptr, &back), 0);
  EXPECT_EQ(back.sa_flags & SA_RESTART, SA_RESTART);
  signal(SIGUSR2, SIG_DFL);
}

// signal() + siginterrupt(sig, 1) is the old way to get EINTR: a task's read
// gets it too.
TEST(SignalActions, SiginterruptMakesATasksReadGiveEintr) {
  ASSERT_NE(signal(SIGUSR1, count_signal), SIG_ERR);
  ASSERT_EQ(call_siginterrupt(SIGUSR1, 1), 0);
  Pipe p;
  g_handled.store(0);
  coscope_test::Watchdog watchdog("read after siginterrupt");
  co::Scheduler sched;
  long n = 0;
  int err = 0;
  co::spawn(
      [&] {
        char c;
        n = read(p.r, &c, 1);
        err = errno;
      },
      co::SpawnOptions{"reader", 0, &sched});
  sched.Start(1);
  wait_for_parked_tasks(1);
  ASSERT_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
  sched.WaitUntilNoTask();
  sched.Stop();
  EXPECT_EQ(n, -1);
  EXPECT_EQ(err, EINTR);
  ASSERT_EQ(call_siginterrupt(SIGUSR1, 0), 0);
}

}  // namespace
