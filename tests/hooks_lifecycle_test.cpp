// The hooks at the edges of an fd's and a task's life: a wait that close()
// ends while the fd number is reused, errno after a task moved threads.
//
// Native reference: a thread blocked in read(2) is not woken by another
// thread's close (the kernel keeps the file alive for it), so what a
// coroutine woken by close must see is what the kernel answers to the same
// call made on the fd after the close: -1/EBADF.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <coscope/coscope.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "differential_harness.h"
#include "test_util.h"
#include "test_watchdog.h"
#include "worker_fixture.h"

namespace {

using namespace std::chrono_literals;
using coscope_test::Gives;
using coscope_test::Outcome;
using coscope_test::Result;
using coscope_test::Watchdog;

// errno of the thread this runs on now: a call the compiler cannot fold into
// an errno address computed before a park (the task may have moved threads).
__attribute__((noinline)) int ErrnoNow() {
  return errno;
}

__attribute__((noinline)) void SetErrnoNow(int value) {
  errno = value;
}

// The kernel's answer to a read on a socket fd that was closed.
Outcome NativeReadOnClosedSocket() {
  Outcome out;
  std::thread([&] {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[0]);
    char buf[32];
    out = Result(read(sv[0], buf, sizeof buf), buf);
    close(sv[1]);
  }).join();
  return out;
}

class HooksFdReuse : public coscope_test::WorkersTest {};

// A task parked in read(fd); another task closes fd, and a new connection
// (a socketpair made at once) gets the same fd number and data. The woken
// reader must fail as on a closed fd and leave the new connection's bytes
// to their own reader.
TEST_P(HooksFdReuse, ReadEndedByCloseFailsWithEbadfAndLeavesTheNewConnectionsData) {
  Watchdog wd("fd reuse", 30s);
  const Outcome native = NativeReadOnClosedSocket();
  EXPECT_EQ(native, Gives(-1, EBADF)) << "native";

  constexpr int kRounds = 20;
  const std::string secret = "client-2-SECRET";
  std::vector<Outcome> first(kRounds), second(kRounds);
  std::atomic<int> reused{0};
  RunAll([&] {
    for (int round = 0; round < kRounds; ++round) {
      int one[2];
      ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, one), 0);
      co::WaitGroup reader_done;
      reader_done.add();
      const co::TaskId reader = Spawn(
          [&, fd = one[0], round] {
            char buf[64];
            const ssize_t n = read(fd, buf, sizeof buf);
            const int err = ErrnoNow();
            first[round] = Outcome{n, n < 0 ? err : 0, {}, 0};
            if (n > 0) first[round].data.assign(buf, static_cast<std::size_t>(n));
            reader_done.done();
          },
          "reader 1");
      // Close only once the reader waits in its read: a read begun after the
      // reuse would rightly get the new connection's data.
      ASSERT_TRUE(coscope_test::Eventually([&] {
        return coscope_test::IsParked(reader, co::WaitReason::fd_readable);
      })) << "round "
          << round << ": the reader never parked in read";
      close(one[0]);
      int two[2];
      ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, two), 0);
      if (two[0] == one[0]) ++reused;
      ASSERT_EQ(write(two[1], secret.data(), secret.size()), static_cast<ssize_t>(secret.size()));
      reader_done.wait();
      char buf[64];
      second[round] = Result(recv(two[0], buf, sizeof buf, MSG_DONTWAIT), buf);
      close(one[1]);
      close(two[0]);
      close(two[1]);
    }
  });
  EXPECT_EQ(reused.load(), kRounds) << "the new connection did not get the closed fd's number";
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(round);
    EXPECT_EQ(first[round], native) << "reader woken by close";
    EXPECT_EQ(second[round], Gives(static_cast<long long>(secret.size()), 0, secret))
        << "the new connection's own reader";
  }
}

COSCOPE_INSTANTIATE_WORKER_COUNTS(HooksFdReuse);

class HooksErrnoAcrossThreads : public coscope_test::WorkersTest {};

// Many readers parked on pipes, all woken by close: each must see EBADF in
// the errno of the thread it runs on when read returns (with several
// workers it usually resumes on another thread than the one it parked on).
TEST_P(HooksErrnoAcrossThreads, ReadersWokenByCloseSeeEbadfWhereTheyRunNow) {
  Watchdog wd("errno across threads", 30s);
  constexpr int kReaders = 64;
  std::vector<Outcome> got(kReaders);
  RunAll([&] {
    std::vector<int> read_ends, write_ends;
    co::WaitGroup done;
    for (int i = 0; i < kReaders; ++i) {
      int p[2];
      ASSERT_EQ(pipe(p), 0);
      read_ends.push_back(p[0]);
      write_ends.push_back(p[1]);
      done.add();
      Spawn(
          [&, i, fd = p[0]] {
            char c;
            const ssize_t n = read(fd, &c, 1);
            got[i] = Outcome{n, n < 0 ? ErrnoNow() : 0, {}, 0};
            done.done();
          },
          "reader");
    }
    co::this_task::sleep_for(20ms);  // every reader is parked by now
    for (int fd : read_ends) close(fd);
    done.wait();
    for (int fd : write_ends) close(fd);
  });
  for (int i = 0; i < kReaders; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i], Gives(-1, EBADF));
  }
}

// A full sleep leaves errno as the task had it, as the kernel's successful
// sleep does: on the thread the task is on when the sleep returns.
TEST_P(HooksErrnoAcrossThreads, SleepsLeaveTheTasksErrnoOnTheThreadItReturnsOn) {
  Watchdog wd("errno across sleeps", 30s);
  constexpr int kTasks = 64;
  std::vector<int> seen(kTasks * 2, -1);
  RunAll([&] {
    for (int i = 0; i < kTasks; ++i) {
      Spawn(
          [&, i] {
            const int mine = 1000 + i;
            SetErrnoNow(mine);
            usleep(2000);
            seen[i * 2] = ErrnoNow();
            SetErrnoNow(mine);
            timespec ts{0, 2'000'000};
            nanosleep(&ts, nullptr);
            seen[i * 2 + 1] = ErrnoNow();
          },
          "sleeper");
    }
  });
  for (int i = 0; i < kTasks; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(seen[i * 2], 1000 + i) << "after usleep";
    EXPECT_EQ(seen[i * 2 + 1], 1000 + i) << "after nanosleep";
  }
}

COSCOPE_INSTANTIATE_WORKER_COUNTS(HooksErrnoAcrossThreads);

// ---- ~Scheduler with tasks parked in hooked calls --------------------------------
//
// Destroying a scheduler unwinds its parked tasks. A task parked in a hooked
// call sits, as often as not, in a retry loop (EAGAIN, EINTR, "sleep until
// told to stop"): a fake result would send it round forever. The hooked call
// unwinds the task instead (co::detail::ForcedUnwind), as Channel and
// co::this_task::sleep_for waiters are unwound.

struct RetryLoop {
  const char* what;
  bool finished = false;        // the loop ended by itself (it must not)
  bool unwound = false;         // the task's stack was unwound
  long spins = 0;               // times round the loop once the teardown began
  std::function<bool()> retry;  // one call: true to go round again
};

struct SetOnUnwind {
  bool* flag;
  ~SetOnUnwind() { *flag = true; }
};

TEST(HooksSchedulerTeardown, TasksInHookedRetryLoopsAreUnwoundNotSpun) {
  Watchdog wd("teardown of hooked retry loops", 60s);
  constexpr long kMaxSpins = 100'000;
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  std::vector<RetryLoop> loops;
  loops.push_back({"read on an empty pipe, retried on EAGAIN / EINTR", false, false, 0, [&] {
                     char c;
                     const ssize_t n = read(p[0], &c, 1);
                     const int err = ErrnoNow();
                     return n < 0 && (err == EAGAIN || err == EINTR);
                   }});
  loops.push_back({"poll with no timeout, retried on 0 / EINTR", false, false, 0, [&] {
                     pollfd pfd{p[0], POLLIN, 0};
                     const int n = poll(&pfd, 1, -1);
                     return n == 0 || (n < 0 && ErrnoNow() == EINTR);
                   }});
  loops.push_back({"sleep(1) until told to stop", false, false, 0, [] {
                     sleep(1);
                     return true;
                   }});
  loops.push_back({"usleep(1000), retried on EINTR too", false, false, 0, [] {
                     usleep(1000);
                     return true;
                   }});
  loops.push_back({"nanosleep(10 ms) until told to stop", false, false, 0, [] {
                     timespec ts{0, 10'000'000};
                     nanosleep(&ts, nullptr);
                     return true;
                   }});
  std::atomic<bool> teardown{false};
  auto sched = std::make_unique<co::Scheduler>();
  for (RetryLoop& loop : loops) {
    co::spawn(
        [&loop, &teardown] {
          SetOnUnwind guard{&loop.unwound};
          while (loop.retry() && loop.spins < kMaxSpins) {
            if (teardown.load()) ++loop.spins;
          }
          loop.finished = true;
        },
        co::SpawnOptions{loop.what, 0, sched.get()});
  }
  sched->Start(2);
  std::this_thread::sleep_for(50ms);  // every task is parked in its first call
  teardown = true;
  sched.reset();
  close(p[0]);
  close(p[1]);
  for (const RetryLoop& loop : loops) {
    SCOPED_TRACE(loop.what);
    EXPECT_TRUE(loop.unwound);
    EXPECT_FALSE(loop.finished) << "the loop went round " << loop.spins << " times";
    EXPECT_LE(loop.spins, 1);  // a sleep may end by itself as the teardown begins
  }
}

// A destructor that runs while the task is being unwound cannot be unwound
// again (a second exception would terminate the program): a hooked wait it
// makes fails at once with ECANCELED, which no kernel wait returns.
TEST(HooksSchedulerTeardown, AHookedWaitInADestructorDuringTheUnwindFailsWithEcanceled) {
  Watchdog wd("hooked wait during unwinding", 60s);
  struct SleepsInDestructor {
    Outcome* out;
    ~SleepsInDestructor() { *out = Result(usleep(1000)); }
  };
  Outcome in_destructor{99, 0, {}, 0};
  bool finished = false;
  auto sched = std::make_unique<co::Scheduler>();
  co::spawn(
      [&] {
        SleepsInDestructor s{&in_destructor};
        for (int i = 0; i < 1000; ++i) sleep(1);
        finished = true;
      },
      co::SpawnOptions{"sleeper", 0, sched.get()});
  sched->Start(1);
  std::this_thread::sleep_for(50ms);
  sched.reset();
  EXPECT_FALSE(finished);
  EXPECT_EQ(in_destructor, Gives(-1, ECANCELED));
}

// ---- fork ----------------------------------------------------------------------
//
// A child of fork shares the parent's open file descriptions, the reactor's
// epoll instance among them. The child must not touch the parent's reactor:
// its close() of an inherited fd must leave the parent's registration alone.

enum class ForkFrom { main_thread, coroutine };

class HooksFork : public ::testing::TestWithParam<ForkFrom> {};

TEST_P(HooksFork, AChildClosingAnInheritedFdLeavesTheParentsReaderWaiting) {
#if defined(__SANITIZE_THREAD__)
  // The stall watchdog's thread makes the parent multi-threaded, and after
  // such a fork ThreadSanitizer kills a child that starts a thread (its
  // die_after_fork), as this child's scheduler does.
  if (GetParam() == ForkFrom::main_thread) {
    GTEST_SKIP() << "ThreadSanitizer refuses threads in the child of a multi-threaded fork";
  }
#endif
  Watchdog wd("fork and close in the child", 30s);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  std::atomic<int> result{-2};
  std::atomic<int> child_status{-1};
  co::Scheduler sched;
  co::spawn(
      [&] {
        char c;
        const ssize_t n = read(p[0], &c, 1);
        result = n == 1 && c == 'x' ? 1 : (n < 0 ? -ErrnoNow() : 0);
      },
      co::SpawnOptions{"reader", 0, &sched});
  auto fork_and_close = [&] {
    const pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);  // the hooked close, in the child
      if (GetParam() == ForkFrom::coroutine) _exit(0);
      // Forked from the main thread, the child may run tasks of its own:
      // their hooked waits use the child's reactor.
      int q[2];
      if (pipe(q) != 0) _exit(2);
      char got = 0;
      co::Scheduler mine;
      co::spawn([&] { read(q[0], &got, 1); }, co::SpawnOptions{"child reader", 0, &mine});
      co::spawn(
          [&] {
            co::this_task::sleep_for(5ms);
            write(q[1], "y", 1);
          },
          co::SpawnOptions{"child writer", 0, &mine});
      mine.RunUntilNoTask();
      _exit(got == 'y' ? 0 : 3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    child_status = status;
  };
  sched.Start(2);
  std::this_thread::sleep_for(30ms);  // the reader is parked, its fd in the reactor
  if (GetParam() == ForkFrom::main_thread) {
    fork_and_close();
  } else {
    std::atomic<bool> forked{false};
    co::spawn(
        [&] {
          fork_and_close();
          forked = true;
        },
        co::SpawnOptions{"forker", 0, &sched});
    while (!forked) std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(child_status.load(), 0);
  ASSERT_EQ(write(p[1], "x", 1), 1);
  const auto until = std::chrono::steady_clock::now() + 3s;
  while (result == -2 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(result.load(), 1) << "the parent's reader did not wake within 3 s of the data";
  close(p[0]);  // wakes the reader if it still waits (then with EBADF)
  sched.WaitUntilNoTask();
  sched.Stop();
  close(p[1]);
}

INSTANTIATE_TEST_SUITE_P(From, HooksFork,
                         ::testing::Values(ForkFrom::main_thread, ForkFrom::coroutine),
                         [](const ::testing::TestParamInfo<ForkFrom>& info) {
                           return info.param == ForkFrom::main_thread ? "main_thread" : "coroutine";
                         });

// ---- sleeps too long to add to now() ---------------------------------------------
//
// A sleep whose deadline does not fit in 64-bit nanoseconds sleeps "forever"
// (the kernel's nanosleep does too), it must not wrap round and return at
// once. Destroying the scheduler ends each of them (the task is unwound).

// Under ThreadSanitizer the hooks must come before libtsan's interceptors:
// called from inside one, a hook runs where TSan ignores every lock and
// atomic, and the runtime's locks look like races (tests/CMakeLists.txt
// preloads the library for that).
TEST(HooksUnderThreadSanitizer, HooksComeBeforeTheSanitizersInterceptors) {
#if !defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "only meaningful in a ThreadSanitizer build";
#else
  void* hooks = dlopen("libcoscope.so.0", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(hooks, nullptr) << dlerror();
  for (const char* name : {"read", "poll", "nanosleep", "usleep", "close"}) {
    EXPECT_EQ(dlsym(RTLD_DEFAULT, name), dlsym(hooks, name))
        << name << " resolves to another library's definition (libtsan's?) before coscope's";
  }
  dlclose(hooks);
#endif
}

TEST(HooksLongSleeps, SleepsBeyondTheClocksRangeDoNotReturnAtOnce) {
  Watchdog wd("sleeps beyond the clock's range", 30s);
  struct Case {
    const char* what;
    std::function<void()> sleep;
  };
  const std::vector<Case> cases = {
      {"co_sleep(LLONG_MAX)", [] { co::co_sleep(std::numeric_limits<std::int64_t>::max()); }},
      {"sleep_for(nanoseconds::max())",
       [] { co::this_task::sleep_for(std::chrono::nanoseconds::max()); }},
      {"sleep_for(hours::max())", [] { co::this_task::sleep_for(std::chrono::hours::max()); }},
      {"sleep_until(time_point::max())",
       [] { co::this_task::sleep_until(std::chrono::steady_clock::time_point::max()); }},
      {"nanosleep({LONG_MAX, 0})",
       [] {
         timespec ts{std::numeric_limits<time_t>::max(), 0};
         nanosleep(&ts, nullptr);
       }},
      {"nanosleep({LONG_MAX / 1e9 + 1, 0})",
       [] {
         timespec ts{std::numeric_limits<std::int64_t>::max() / 1'000'000'000 + 1, 0};
         nanosleep(&ts, nullptr);
       }},
      {"sleep(UINT_MAX)", [] { sleep(std::numeric_limits<unsigned int>::max()); }},
  };
  std::vector<int> returned(cases.size(), 0);
  auto sched = std::make_unique<co::Scheduler>();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    co::spawn(
        [&, i] {
          cases[i].sleep();
          returned[i] = 1;
        },
        co::SpawnOptions{cases[i].what, 0, sched.get()});
  }
  sched->Start(2);
  std::this_thread::sleep_for(100ms);
  sched.reset();  // unwinds the sleepers
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(returned[i], 0) << cases[i].what << " returned";
  }
}

}  // namespace
