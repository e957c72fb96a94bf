// co::WaitGroup: many tasks, several waiters, timeouts, reuse, plain threads.
#include <gtest/gtest.h>

#include <coscope/coscope.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "test_util.h"
#include "worker_fixture.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using coscope_test::MsSince;

class WaitGroup : public coscope_test::WorkersTest {};

TEST_P(WaitGroup, WaitReturnsAfterEveryTaskIsDone) {
  constexpr int kTasks = 1000;
  co::WaitGroup wg;
  std::atomic<int> finished{0};
  int seen_by_waiter = -1;
  RunAll([&] {
    for (int i = 0; i < kTasks; ++i) {
      wg.add(1);
      Spawn([&, i] {
        if (i % 3 == 0) co::this_task::sleep_for(std::chrono::microseconds(100 * (i % 10)));
        if (i % 3 == 1) co::this_task::yield();
        ++finished;
        wg.done();
      });
    }
    wg.wait();
    seen_by_waiter = finished.load();
    EXPECT_EQ(wg.count(), 0);
  });
  EXPECT_EQ(seen_by_waiter, kTasks);
}

TEST_P(WaitGroup, ZeroCounterDoesNotWait) {
  co::WaitGroup wg;
  RunAll([&] {
    auto start = Clock::now();
    wg.wait();
    EXPECT_TRUE(wg.wait_for(0ms));
    EXPECT_LT(MsSince(start), 1000);
  });
}

TEST_P(WaitGroup, EveryWaiterIsReleased) {
  constexpr int kWaiters = 8, kWorkers = 50;
  co::WaitGroup work, waiters;
  std::atomic<int> done{0}, released{0}, early{0};
  RunAll([&] {
    work.add(kWorkers);
    for (int i = 0; i < kWaiters; ++i) {
      waiters.add();
      Spawn([&] {
        work.wait();
        if (done.load() != kWorkers) ++early;
        ++released;
        waiters.done();
      });
    }
    for (int i = 0; i < kWorkers; ++i) {
      Spawn([&] {
        co::this_task::sleep_for(2ms);
        ++done;
        work.done();
      });
    }
    waiters.wait();
  });
  EXPECT_EQ(released.load(), kWaiters);
  EXPECT_EQ(early.load(), 0);
}

TEST_P(WaitGroup, WaitForTimesOutThenSucceeds) {
  co::WaitGroup wg;
  RunAll([&] {
    wg.add(2);
    auto start = Clock::now();
    EXPECT_FALSE(wg.wait_for(40ms));
    auto ms = MsSince(start);
    EXPECT_GE(ms, 39);
    EXPECT_LT(ms, 1000);
    EXPECT_EQ(wg.count(), 2);
    Spawn([&] {
      co::this_task::sleep_for(10ms);
      wg.add(-2);
    });
    start = Clock::now();
    EXPECT_TRUE(wg.wait_until(Clock::now() + 2s));
    EXPECT_LT(MsSince(start), 1000);
  });
}

TEST_P(WaitGroup, ReusableAfterWait) {
  co::WaitGroup wg;
  std::atomic<int> n{0};
  RunAll([&] {
    for (int round = 1; round <= 3; ++round) {
      for (int i = 0; i < 20; ++i) {
        wg.add();
        Spawn([&] {
          co::this_task::yield();
          ++n;
          wg.done();
        });
      }
      wg.wait();
      EXPECT_EQ(n.load(), 20 * round);
    }
  });
}

TEST_P(WaitGroup, PlainThreadWaitsForTasks) {
  constexpr int kTasks = 100;
  co::WaitGroup wg;
  std::atomic<int> finished{0};
  int seen = -1;
  wg.add(kTasks);
  std::thread th([&] {
    wg.wait();  // blocks this thread
    seen = finished.load();
  });
  RunAll([&] {
    for (int i = 0; i < kTasks; ++i) {
      Spawn([&] {
        co::this_task::sleep_for(1ms);
        ++finished;
        wg.done();
      });
    }
  });
  th.join();
  EXPECT_EQ(seen, kTasks);
}

TEST_P(WaitGroup, TaskWaitsForPlainThreads) {
  co::WaitGroup wg;
  std::atomic<int> finished{0};
  int seen = -1;
  wg.add(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::this_thread::sleep_for(10ms);
      ++finished;
      wg.done();
    });
  }
  RunAll([&] {
    wg.wait();
    seen = finished.load();
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen, 4);
}

COSCOPE_INSTANTIATE_WORKER_COUNTS(WaitGroup);

TEST(WaitGroupCounter, NegativeCounterThrowsAndChangesNothing) {
  co::WaitGroup wg;
  wg.add(1);
  EXPECT_THROW(wg.add(-2), std::logic_error);
  EXPECT_EQ(wg.count(), 1);
  wg.done();
  EXPECT_THROW(wg.done(), std::logic_error);
  EXPECT_EQ(wg.count(), 0);
  EXPECT_TRUE(wg.wait_for(0ms));
}

}  // namespace
