// Misuse of the synchronisation objects and of the unwinding protocol is
// reported, naming the tasks, and aborts in every build type: a Channel,
// Mutex or ConditionVariable destroyed while someone waits on it; a Mutex
// unlocked by a task or thread that does not hold it; a task that swallows
// the ForcedUnwind its scheduler's destruction throws into it.
//
// Each scenario runs in a death test's child process, at 1, 2 and 4 workers.
#include <gtest/gtest.h>

#include <coscope/coscope.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "test_util.h"
#include "worker_fixture.h"

namespace {

using namespace std::chrono_literals;
using coscope_test::NoCoreDumps;

// Runs `body` (which spawns on `s`) at `workers` workers until no task is left.
template <class F>
void RunAt(std::size_t workers, F&& body) {
  NoCoreDumps();
  co::Scheduler s;
  body(s);
  if (workers == 1) {
    s.RunUntilNoTask();
  } else {
    s.Start(workers);
    s.WaitUntilNoTask();
    s.Stop();
  }
}

// Spins (yielding) until `flag` is set by another task.
void YieldUntil(const std::atomic<bool>& flag) {
  while (!flag.load()) co::this_task::yield();
}

// Sleeps (in a task) until the task named `name` is parked for `reason`.
void SleepUntilParked(const char* name, co::WaitReason reason) {
  for (;;) {
    for (const co::TaskInfo& t : co::snapshot_tasks()) {
      if (t.name == name && t.wait_reason == reason) return;
    }
    co::this_task::sleep_for(1ms);
  }
}

class Misuse : public coscope_test::WorkersTest {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_P(Misuse, ChannelDestroyedWithAParkedReceiverNamesBothTasks) {
  const std::size_t n = workers();
  EXPECT_DEATH(
      RunAt(n,
            [](co::Scheduler& s) {
              auto* ch = new co::Channel<int>();
              co::spawn([ch] { ch->recv(); }, {.name = "receiver", .scheduler = &s});
              co::spawn(
                  [ch] {
                    SleepUntilParked("receiver", co::WaitReason::channel_recv);
                    delete ch;
                  },
                  {.name = "destroyer", .scheduler = &s});
            }),
      "co::Channel 0x[0-9a-f]+ destroyed by task #[0-9]+ \"destroyer\".* while 1 task\\(s\\) "
      "or thread\\(s\\) wait on it\n.*still waiting: task #[0-9]+ \"receiver\"");
}

TEST_P(Misuse, ChannelDestroyedWithAParkedSenderNamesIt) {
  const std::size_t n = workers();
  EXPECT_DEATH(RunAt(n,
                     [](co::Scheduler& s) {
                       auto* ch = new co::Channel<int>();
                       co::spawn([ch] { ch->send(7); }, {.name = "sender", .scheduler = &s});
                       co::spawn(
                           [ch] {
                             SleepUntilParked("sender", co::WaitReason::channel_send);
                             delete ch;
                           },
                           {.name = "destroyer", .scheduler = &s});
                     }),
               "still waiting: task #[0-9]+ \"sender\"");
}

TEST_P(Misuse, MutexUnlockedByANonHolderNamesHolderAndCaller) {
  const std::size_t n = workers();
  EXPECT_DEATH(RunAt(n,
                     [](co::Scheduler& s) {
                       auto m = std::make_shared<co::Mutex>();
                       auto locked = std::make_shared<std::atomic<bool>>(false);
                       co::spawn(
                           [m, locked] {
                             m->lock();
                             locked->store(true);
                             co::this_task::sleep_for(10s);
                           },
                           {.name = "holder", .scheduler = &s});
                       co::spawn(
                           [m, locked] {
                             YieldUntil(*locked);
                             m->unlock();
                           },
                           {.name = "intruder", .scheduler = &s});
                     }),
               "co::Mutex 0x[0-9a-f]+ unlocked by task #[0-9]+ \"intruder\".*, but task #[0-9]+ "
               "\"holder\".* holds it");
}

TEST_P(Misuse, MutexUnlockedWhileNobodyHoldsIt) {
  const std::size_t n = workers();
  EXPECT_DEATH(RunAt(n,
                     [](co::Scheduler& s) {
                       co::spawn(
                           [] {
                             co::Mutex m;
                             m.lock();
                             m.unlock();
                             m.unlock();
                           },
                           {.name = "twice", .scheduler = &s});
                     }),
               "co::Mutex 0x[0-9a-f]+ unlocked by task #[0-9]+ \"twice\".*, but nobody holds it");
}

TEST_P(Misuse, MutexHeldByAThreadUnlockedByATask) {
  const std::size_t n = workers();
  EXPECT_DEATH(RunAt(n,
                     [](co::Scheduler& s) {
                       static co::Mutex m;
                       m.lock();  // the test's (child's) main thread holds it
                       co::spawn([] { m.unlock(); }, {.name = "intruder", .scheduler = &s});
                     }),
               "unlocked by task #[0-9]+ \"intruder\".*, but another plain thread holds it|"
               "unlocked by task #[0-9]+ \"intruder\".*, but a plain thread");
}

TEST_P(Misuse, MutexHeldByATaskUnlockedByAnotherThread) {
  const std::size_t n = workers();
  EXPECT_DEATH(
      RunAt(n,
            [](co::Scheduler& s) {
              auto m = std::make_shared<co::Mutex>();
              co::spawn(
                  [m] {
                    m->lock();
                    std::thread([m] { m->unlock(); }).join();
                  },
                  {.name = "holder", .scheduler = &s});
            }),
      "unlocked by a plain thread \\(not a task\\), but task #[0-9]+ \"holder\".* holds it");
}

TEST_P(Misuse, ConditionVariableDestroyedWithAWaiter) {
  const std::size_t n = workers();
  EXPECT_DEATH(RunAt(n,
                     [](co::Scheduler& s) {
                       auto* cv = new co::ConditionVariable();
                       auto m = std::make_shared<co::Mutex>();
                       co::spawn(
                           [cv, m] {
                             std::unique_lock<co::Mutex> lk(*m);
                             cv->wait(lk);
                           },
                           {.name = "waiter", .scheduler = &s});
                       co::spawn(
                           [cv] {
                             SleepUntilParked("waiter", co::WaitReason::condition_variable);
                             delete cv;
                           },
                           {.name = "destroyer", .scheduler = &s});
                     }),
               "co::ConditionVariable 0x[0-9a-f]+ destroyed by task #[0-9]+ \"destroyer\".*\n.*"
               "still waiting: task #[0-9]+ \"waiter\"");
}

// The unwinding protocol: ~Scheduler throws ForcedUnwind into each parked
// task. A task that catches it and parks again...
TEST_P(Misuse, TaskSwallowingTheUnwindAndParkingAgainIsReported) {
  const std::size_t n = workers();
  EXPECT_DEATH(
      {
        NoCoreDumps();
        auto parked = std::make_shared<std::atomic<int>>(0);
        {
          co::Scheduler s;
          co::spawn(
              [parked] {
                for (int i = 0; i < 10; ++i) {
                  try {
                    parked->fetch_add(1);
                    co::this_task::sleep_for(1h);
                  } catch (...) {  // swallows co::detail::ForcedUnwind
                  }
                }
              },
              {.name = "stubborn", .scheduler = &s});
          s.Start(n);
          while (parked->load() == 0) std::this_thread::sleep_for(1ms);
          s.Stop();
        }  // ~Scheduler unwinds "stubborn"
      },
      "a task caught the ForcedUnwind that unwinds it .*and carried on.*: task #[0-9]+ "
      "\"stubborn\"");
}

// ...or returns normally from its callable, is reported too.
TEST_P(Misuse, TaskSwallowingTheUnwindAndReturningIsReported) {
  const std::size_t n = workers();
  EXPECT_DEATH(
      {
        NoCoreDumps();
        auto parked = std::make_shared<std::atomic<int>>(0);
        {
          co::Scheduler s;
          co::spawn(
              [parked] {
                try {
                  parked->fetch_add(1);
                  co::this_task::sleep_for(1h);
                } catch (...) {
                }
              },
              {.name = "quiet", .scheduler = &s});
          s.Start(n);
          while (parked->load() == 0) std::this_thread::sleep_for(1ms);
          s.Stop();
        }
      },
      "a task caught the ForcedUnwind .*: task #[0-9]+ \"quiet\"");
}

// The legitimate uses stay silent: a task that rethrows after cleaning up is
// unwound normally, and a Mutex locked and unlocked by one task that moves
// between workers is fine.
TEST_P(Misuse, CatchAllThatRethrowsUnwindsQuietly) {
  auto cleaned = std::make_shared<std::atomic<bool>>(false);
  auto parked = std::make_shared<std::atomic<int>>(0);
  {
    co::Scheduler s;
    co::spawn(
        [cleaned, parked] {
          try {
            parked->fetch_add(1);
            co::this_task::sleep_for(1h);
          } catch (...) {
            cleaned->store(true);
            throw;
          }
        },
        {.name = "polite", .scheduler = &s});
    s.Start(workers());
    while (parked->load() == 0) std::this_thread::sleep_for(1ms);
    s.Stop();
  }
  EXPECT_TRUE(cleaned->load());
}

TEST_P(Misuse, MutexHeldAcrossWorkerMovesIsUnlockedByItsHolder) {
  co::Mutex m;
  int inside = 0;
  RunAll([&] {
    for (int t = 0; t < 8; ++t) {
      Spawn([&] {
        for (int i = 0; i < 200; ++i) {
          m.lock();
          ++inside;
          co::this_task::yield();  // may resume on another worker, still the holder
          m.unlock();
        }
      });
    }
  });
  EXPECT_EQ(inside, 8 * 200);
  EXPECT_FALSE(m.is_locked());
}

COSCOPE_INSTANTIATE_WORKER_COUNTS(Misuse);

}  // namespace
