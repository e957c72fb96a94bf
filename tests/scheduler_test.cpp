// Scheduler behaviour: run order, yield fairness, sleeping and timers, the
// task registry, many tasks, parallelism, Start/Stop/restart, misuse, and
// spawning from other threads and schedulers.
//
// Every scheduling test runs at 1, 2 and 4 workers (worker_fixture.h); the key
// ones also run under both scheduling policies (suite SchedPolicy). Timing
// checks use generous bounds only: these tests run on loaded 2-core machines.
#include <gtest/gtest.h>
#include <sys/prctl.h>

#include <coscope/coscope.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "processer.h"       // Processer::kInboxRound (runtime/src)
#include "scheduler_core.h"  // SchedulerCore::idle_processers (runtime/src)
#include "test_util.h"
#include "test_watchdog.h"
#include "worker_fixture.h"
#include "yield_body.h"  // yield()'s body, which says how it returns

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer gives each task a fiber whose creation clears 0.8 MB (its
// per-thread state): the tests that run thousands of tasks run a hundredth of
// them there (the full counts run in the other builds).
constexpr int kManyTasksDivisor = 100;
#else
constexpr int kManyTasksDivisor = 1;
#endif

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using coscope_test::Eventually;
using coscope_test::MsSince;

std::int64_t MsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

/// The running test's full name, for the watchdog's report.
std::string CurrentTestName() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string(info->test_suite_name()) + "." + info->name();
}

/// The live tasks of `s`, from the registry.
std::vector<co::TaskInfo> TasksOf(const co::Scheduler& s) {
  std::vector<co::TaskInfo> out;
  for (co::TaskInfo& t : co::snapshot_tasks()) {
    if (t.scheduler == &s) out.push_back(std::move(t));
  }
  return out;
}

/// A scheduler with a worker count and the fixture's two ways of running it:
/// RunUntilNoTask() on the test thread for 1 worker, Start(n) otherwise.
struct Harness {
  co::Scheduler& sched;
  std::size_t workers;

  template <class F>
  co::TaskId Spawn(F&& fn, std::string_view name = {}) {
    return co::spawn(std::forward<F>(fn), co::SpawnOptions{name, 0, &sched});
  }
  template <class F>
  void RunAll(F&& root) {
    Spawn(std::forward<F>(root), "root");
    RunUntilDone();
  }
  void RunUntilDone() {
    coscope_test::Watchdog watchdog("running the tasks at " + std::to_string(workers) +
                                    " worker(s)");
    if (workers == 1) {
      sched.RunUntilNoTask();
    } else {
      sched.Start(workers);
      sched.WaitUntilNoTask();
      sched.Stop();
    }
  }
};

// ---- the two fixtures -------------------------------------------------------

/// Workers 1, 2, 4 with the default policy (work stealing). A check whose
/// outcome may depend on the policy runs under SchedPolicy instead, which
/// covers the default policy too; none runs under both.
class Sched : public coscope_test::WorkersTest {
 protected:
  Harness H() { return Harness{sched(), workers()}; }
};
COSCOPE_INSTANTIATE_WORKER_COUNTS(Sched);

/// Workers 1, 2, 4 under each scheduling policy.
using PolicyParam = std::tuple<std::size_t, co::SchedulingPolicyKind>;

std::string PolicyName(co::SchedulingPolicyKind k) {
  return k == co::SchedulingPolicyKind::round_robin ? "round_robin" : "work_stealing";
}

class SchedPolicy : public ::testing::TestWithParam<PolicyParam> {
 protected:
  std::size_t workers() const { return std::get<0>(GetParam()); }
  co::SchedulingPolicyKind policy() const { return std::get<1>(GetParam()); }
  Harness H() { return Harness{sched_, workers()}; }

 private:
  co::Scheduler sched_{co::SchedulerOptions{std::get<1>(GetParam())}};
};

INSTANTIATE_TEST_SUITE_P(
    Policies, SchedPolicy,
    ::testing::Combine(::testing::Values(std::size_t{1}, std::size_t{2}, std::size_t{4}),
                       ::testing::Values(co::SchedulingPolicyKind::round_robin,
                                         co::SchedulingPolicyKind::work_stealing)),
    [](const ::testing::TestParamInfo<PolicyParam>& info) {
      return PolicyName(std::get<1>(info.param)) + "_" + std::to_string(std::get<0>(info.param)) +
             "_workers";
    });

/// Policy only (tests that pick their own worker counts).
class PolicyOnly : public ::testing::TestWithParam<co::SchedulingPolicyKind> {
 protected:
  co::SchedulerOptions options() const { return co::SchedulerOptions{GetParam()}; }
};

INSTANTIATE_TEST_SUITE_P(Policies, PolicyOnly,
                         ::testing::Values(co::SchedulingPolicyKind::round_robin,
                                           co::SchedulingPolicyKind::work_stealing),
                         [](const ::testing::TestParamInfo<co::SchedulingPolicyKind>& info) {
                           return PolicyName(info.param);
                         });

// ---- run order --------------------------------------------------------------

// Tasks queued before the run start in spawn order; a task spawned by a
// running task queues behind those already waiting. With one worker the order
// is exact; with more, every task still runs exactly once.
void CheckSpawnOrder(Harness& h) {
  constexpr int kTasks = 50;
  std::mutex mu;
  std::vector<int> order;
  auto record = [&](int v) {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(v);
  };
  for (int i = 0; i < kTasks; ++i) {
    h.Spawn([&, i] {
      record(i);
      if (i == 0) {
        // Spawned while 1..49 wait: runs after them.
        h.Spawn([&] { record(1000); });
      }
    });
  }
  h.RunUntilDone();

  ASSERT_EQ(order.size(), static_cast<std::size_t>(kTasks + 1));
  std::vector<int> expected;
  for (int i = 0; i < kTasks; ++i) expected.push_back(i);
  expected.push_back(1000);
  if (h.workers == 1) {
    EXPECT_EQ(order, expected);
  } else {
    std::vector<int> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, expected);
  }
}

TEST_P(SchedPolicy, SpawnOrderIsFifoOnOneWorker) {
  Harness h = H();
  CheckSpawnOrder(h);
}

// ---- yield ------------------------------------------------------------------

// One worker: N tasks yielding K times interleave strictly round robin.
void CheckYieldInterleavesExactly(Harness& h) {
  constexpr int kTasks = 4, kSteps = 5;
  std::mutex mu;
  std::vector<int> seq;
  for (int i = 0; i < kTasks; ++i) {
    h.Spawn([&, i] {
      for (int k = 0; k < kSteps; ++k) {
        {
          std::lock_guard<std::mutex> lock(mu);
          seq.push_back(i);
        }
        co::this_task::yield();
      }
    });
  }
  h.RunUntilDone();
  ASSERT_EQ(seq.size(), static_cast<std::size_t>(kTasks * kSteps));
  if (h.workers == 1) {
    std::vector<int> expected;
    for (int k = 0; k < kSteps; ++k) {
      for (int i = 0; i < kTasks; ++i) expected.push_back(i);
    }
    EXPECT_EQ(seq, expected);
  } else {
    for (int i = 0; i < kTasks; ++i) EXPECT_EQ(std::count(seq.begin(), seq.end(), i), kSteps);
  }
}

// Any worker count: tasks advance in lock step - a task may take step k only
// once every task has finished step k-1, and waits for that by yielding. This
// completes only if each yield gives the other tasks (more tasks than
// workers) a turn; an unfair yield leaves some task waiting forever.
void CheckYieldLockstep(Harness& h) {
  constexpr int kTasks = 6, kSteps = 20;
  std::array<std::atomic<int>, kTasks> progress{};
  std::atomic<bool> stuck{false};
  std::atomic<int> max_lead{0};
  const auto deadline = Clock::now() + 2s;
  auto min_progress = [&] {
    int m = kSteps;
    for (auto& p : progress) m = std::min(m, p.load());
    return m;
  };
  for (int i = 0; i < kTasks; ++i) {
    h.Spawn([&, i] {
      for (int k = 0; k < kSteps; ++k) {
        while (min_progress() < k) {
          if (stuck.load() || Clock::now() > deadline) {
            stuck = true;
            return;
          }
          co::this_task::yield();
        }
        progress[i] = k + 1;
        int lead = k + 1 - min_progress();
        int prev = max_lead.load();
        while (lead > prev && !max_lead.compare_exchange_weak(prev, lead)) {
        }
      }
    });
  }
  h.RunUntilDone();
  EXPECT_FALSE(stuck.load()) << "a task never got a turn while others yielded";
  for (int i = 0; i < kTasks; ++i) EXPECT_EQ(progress[i].load(), kSteps) << "task " << i;
  EXPECT_LE(max_lead.load(), 1);
}

TEST_P(SchedPolicy, YieldInterleavesRoundRobin) {
  Harness h = H();
  CheckYieldInterleavesExactly(h);
}
TEST_P(SchedPolicy, YieldGivesEveryTaskProgress) {
  Harness h = H();
  CheckYieldLockstep(h);
}

// yield()'s way back (runtime/src/yield_entry.S): after a hand-off the body
// reports the return address of the task that handed off, which the CPU's
// return-address predictor holds; after a resume from Run it reports none.
// Each task yields from a place of its own (two distinct addresses here).
TEST(YieldReturn, AHandOffReportsTheReturnAddressOfTheTaskThatHandedOff) {
  static const char place_a = 'a', place_b = 'b';
  constexpr int kYields = 320;
  std::vector<const void*> seen_a, seen_b;
  co::Scheduler s;  // one worker: RunUntilNoTask runs both tasks here
  auto yielder = [&s](const void* place, std::vector<const void*>* seen) {
    co::spawn(
        [place, seen] {
          for (int i = 0; i < kYields; ++i) seen->push_back(co::detail::yield_body(place));
        },
        {.scheduler = &s});
  };
  yielder(&place_a, &seen_a);
  yielder(&place_b, &seen_b);
  s.RunUntilNoTask();
  auto check = [](const char* who, const std::vector<const void*>& seen, const void* other) {
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(kYields)) << who;
    int from_hand_off = 0, from_run = 0;
    for (const void* predicted : seen) {
      if (predicted == other) {
        ++from_hand_off;
      } else {
        EXPECT_EQ(predicted, nullptr)
            << who << " was told of a return address the predictor does not hold";
        ++from_run;
      }
    }
    // Every kInboxRound-th yield goes through Run; so does the first (the
    // other task has no stack yet) and the last (the other one has ended).
    EXPECT_GE(from_run, 1) << who;
    EXPECT_LE(from_run, 2 * kYields / static_cast<int>(co::detail::Processer::kInboxRound) + 2)
        << who;
    EXPECT_GE(from_hand_off, kYields * 3 / 4) << who;
  };
  check("task a", seen_a, &place_b);
  check("task b", seen_b, &place_a);
}

// ---- wake-ups across workers ----------------------------------------------------

// Pairs of tasks bounce a value through two unbuffered channels; with several
// workers the partners usually sit on different processers, so every hop is
// a wake-up handed to another (often idle, polling or sleeping) processer. A
// wake-up that gets lost leaves a pair parked forever (the watchdog fires).
void CheckCrossWorkerPingPong(Harness& h) {
  constexpr int kPairs = 8, kRounds = 300;
  std::vector<std::unique_ptr<co::Channel<int>>> ping, pong;
  for (int p = 0; p < kPairs; ++p) {
    ping.push_back(std::make_unique<co::Channel<int>>());
    pong.push_back(std::make_unique<co::Channel<int>>());
  }
  std::atomic<int> bounced{0}, mismatched{0};
  for (int p = 0; p < kPairs; ++p) {
    h.Spawn(
        [&, p] {
          for (int r = 0; r < kRounds; ++r) {
            ping[p]->send(r);
            auto v = pong[p]->recv();
            if (!v || *v != r) mismatched++;
            bounced++;
          }
        },
        "pinger");
    h.Spawn(
        [&, p] {
          for (int r = 0; r < kRounds; ++r) {
            auto v = ping[p]->recv();
            if (!v) return;
            pong[p]->send(*v);
          }
        },
        "ponger");
  }
  h.RunUntilDone();
  EXPECT_EQ(bounced.load(), kPairs * kRounds);
  EXPECT_EQ(mismatched.load(), 0);
}

TEST_P(SchedPolicy, WakeupsAcrossWorkersAreNeverLost) {
  Harness h = H();
  CheckCrossWorkerPingPong(h);
}

// ---- sleep ------------------------------------------------------------------

// Tasks sleeping until different deadlines wake no earlier than their
// deadline, not much later, and in deadline order. With one worker the order
// is exact even when the thread runs late (due timers fire in deadline order);
// with more workers the observed order is only checked when nobody ran late
// by more than the spacing of the deadlines. Only the tasks that began their
// sleep before its deadline count for the order: on a slow machine (or under
// ThreadSanitizer, where a task's first run costs milliseconds) a task may
// start after its deadline and return at once, in its start order.
void CheckSleepWakeOrder(Harness& h) {
  const std::vector<int> delays_ms = {60, 10, 40, 70, 20, 50, 30};
  constexpr int kSpacingMs = 10;
  constexpr int kBaseMs = 30;  // time for every task to start sleeping
  struct Wake {
    int delay_ms;
    std::int64_t late_ms;
    bool slept;  // began the sleep before its deadline
  };
  std::mutex mu;
  std::vector<Wake> wakes;
  const auto start = Clock::now() + std::chrono::milliseconds(kBaseMs);
  for (int d : delays_ms) {
    h.Spawn([&, d] {
      const auto deadline = start + std::chrono::milliseconds(d);
      const bool slept = Clock::now() < deadline;
      co::this_task::sleep_until(deadline);
      const auto now = Clock::now();
      std::lock_guard<std::mutex> lock(mu);
      wakes.push_back({d, MsBetween(deadline, now) - (now < deadline ? 1 : 0), slept});
      EXPECT_GE(now, deadline) << "woke early from a " << d << " ms sleep";
    });
  }
  h.RunUntilDone();
  ASSERT_EQ(wakes.size(), delays_ms.size());
  std::int64_t worst = 0;
  std::vector<int> order;
  for (const Wake& w : wakes) {
    EXPECT_GE(w.late_ms, 0);
    EXPECT_LE(w.late_ms, 200 * coscope_test::kTimeScale) << "sleep of " << w.delay_ms << " ms";
    worst = std::max(worst, w.late_ms);
    if (w.slept) order.push_back(w.delay_ms);
  }
  std::vector<int> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  if (h.workers == 1 || worst < kSpacingMs) {
    EXPECT_EQ(order, sorted) << "worst lateness " << worst << " ms";
  }
}

TEST_P(SchedPolicy, SleepWakesInDeadlineOrder) {
  Harness h = H();
  CheckSleepWakeOrder(h);
}

// A task whose sleep ended runs before the tasks already queued: a burst of
// work queued ahead of it (here 300 new tasks, spawned after its deadline
// passed) does not make it later than the next timer pass, every
// kPollInterval (64) rounds.
TEST_P(PolicyOnly, ATaskWhoseSleepEndedGoesAheadOfTheQueue) {
  coscope_test::Watchdog watchdog(CurrentTestName());
  co::Scheduler s(options());
  constexpr int kQueued = 300;
  std::atomic<int> runs{0};
  int sleeper_ran_after = -1;
  auto opts = co::SpawnOptions{"", 0, &s};
  co::spawn(
      [&] {
        co::this_task::sleep_for(1ms);
        sleeper_ran_after = runs.load();
      },
      opts);
  co::spawn(
      [&] {
        const auto start = Clock::now();
        while (MsSince(start) < 5) {  // the sleeper's deadline passes meanwhile
        }
        for (int i = 0; i < kQueued; ++i) co::spawn([&] { runs++; }, opts);
      },
      opts);
  s.Start(1);
  s.WaitUntilNoTask();
  s.Stop();
  EXPECT_EQ(runs.load(), kQueued);
  // At most one timer pass later (64 rounds), not behind all 300.
  EXPECT_GE(sleeper_ran_after, 0);
  EXPECT_LE(sleeper_ran_after, 2 * static_cast<int>(co::detail::SchedulerCore::kPollInterval));
}

// TaskQueue::PushDue: tasks that came due go ahead of the queue, in the order
// they came, until they leave it.
TEST(TaskQueue, DueTasksGoAheadInTheOrderTheyCame) {
  std::array<co::detail::Task, 6> t{};
  co::detail::TaskQueue q;
  auto order = [&q] {
    std::vector<co::detail::Task*> v;
    for (co::detail::Task* x = q.head; x != nullptr; x = x->run_next) v.push_back(x);
    EXPECT_EQ(v.size(), q.size);
    EXPECT_EQ(q.tail, v.empty() ? nullptr : v.back());
    return v;
  };
  using V = std::vector<co::detail::Task*>;
  q.PushDue(&t[0]);  // an empty queue: it is also the tail
  EXPECT_EQ(order(), (V{&t[0]}));
  q.PushBack(&t[1]);
  q.PushBack(&t[2]);
  q.PushDue(&t[3]);  // after the due task still waiting
  EXPECT_EQ(order(), (V{&t[0], &t[3], &t[1], &t[2]}));
  EXPECT_EQ(q.PopFront(), &t[0]);
  q.PushDue(&t[4]);
  EXPECT_EQ(order(), (V{&t[3], &t[4], &t[1], &t[2]}));
  EXPECT_EQ(q.PopFront(), &t[3]);
  EXPECT_EQ(q.PopFront(), &t[4]);  // the last due task left: the next goes first
  q.PushDue(&t[5]);
  EXPECT_EQ(order(), (V{&t[5], &t[1], &t[2]}));
  co::detail::TaskQueue moved;
  moved.Append(q);  // the queue it left behind starts afresh
  q.PushDue(&t[0]);
  EXPECT_EQ(order(), (V{&t[0]}));
}

// sleep_for sleeps at least its duration, measured from the call.
TEST_P(Sched, SleepForSleepsAtLeastTheDuration) {
  Harness h = H();
  std::atomic<int> done{0};
  for (int d : {5, 15, 30}) {
    h.Spawn([&, d] {
      const auto t0 = Clock::now();
      co::this_task::sleep_for(std::chrono::milliseconds(d));
      const auto t1 = Clock::now();
      EXPECT_GE(t1 - t0, std::chrono::milliseconds(d));
      EXPECT_LE(MsBetween(t0, t1), d + 200);
      done++;
    });
    h.Spawn([&, d] {
      const auto t0 = Clock::now();
      co::co_sleep(d);
      EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(d));
      done++;
    });
  }
  h.RunUntilDone();
  EXPECT_EQ(done.load(), 6);
}

// A thread runs tasks with the smallest timer slack, so that an idle wait for
// the next timer is not stretched by the kernel's default 50 us; the thread's
// own slack comes back when it stops running tasks (RunUntilNoTask lends the
// test's thread).
TEST_P(Sched, TasksRunWithTheSmallestTimerSlackAndTheThreadGetsItsOwnBack) {
  Harness h = H();
  constexpr int kOwnSlackNs = 77'777;
  ASSERT_EQ(::prctl(PR_SET_TIMERSLACK, kOwnSlackNs, 0, 0, 0), 0);
  std::atomic<int> slack_in_task{-1};
  h.RunAll([&] { slack_in_task = ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0); });
  EXPECT_EQ(slack_in_task.load(), 1);
  EXPECT_EQ(::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), kOwnSlackNs);
  ::prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0);  // back to the default
}

// A zero, negative or past sleep returns at once (no tick to wait for).
TEST_P(Sched, ZeroNegativeAndPastSleepsReturnPromptly) {
  Harness h = H();
  std::int64_t elapsed_ms = -1;
  h.RunAll([&] {
    const auto t0 = Clock::now();
    for (int i = 0; i < 100; ++i) {
      co::this_task::sleep_for(0ms);
      co::this_task::sleep_for(-5ms);
      co::this_task::sleep_until(Clock::now() - 1s);
      co::co_sleep(0);
    }
    elapsed_ms = MsSince(t0);
  });
  EXPECT_GE(elapsed_ms, 0);
  EXPECT_LT(elapsed_ms, 1000) << "400 zero-length sleeps took " << elapsed_ms << " ms";
}

// A sleeping task does not hold its worker: with one worker another task keeps
// running meanwhile, and the sleeper still wakes on time although the worker
// never goes idle.
TEST_P(Sched, SleepingTaskLeavesTheWorkerToOthers) {
  Harness h = H();
  std::atomic<bool> sleeper_done{false};
  std::atomic<long> spins_while_sleeping{0};
  std::int64_t late_ms = -1;
  h.Spawn([&] {
    const auto t0 = Clock::now();
    co::co_sleep(50);
    late_ms = MsSince(t0) - 50;
    sleeper_done = true;
  });
  h.Spawn([&] {
    const auto give_up = Clock::now() + 2s;
    while (!sleeper_done.load() && Clock::now() < give_up) {
      ++spins_while_sleeping;
      co::this_task::yield();
    }
  });
  h.RunUntilDone();
  EXPECT_TRUE(sleeper_done.load());
  EXPECT_GT(spins_while_sleeping.load(), 10);
  EXPECT_GE(late_ms, 0);
  EXPECT_LE(late_ms, 200);
}

// Outside any coroutine co_sleep blocks the calling thread for the duration.
TEST(SleepOutsideTask, BlocksTheThread) {
  ASSERT_EQ(co::this_task::id(), 0u);
  auto t0 = Clock::now();
  co::co_sleep(30);
  auto ms = MsSince(t0);
  EXPECT_GE(Clock::now() - t0, 30ms);
  EXPECT_LE(ms, 500);

  t0 = Clock::now();
  co::this_task::sleep_until(Clock::now() + 20ms);
  EXPECT_GE(Clock::now() - t0, 20ms);

  t0 = Clock::now();
  co::this_task::sleep_for(0ms);
  co::this_task::sleep_for(-10ms);
  co::this_task::yield();  // outside a task: just the thread
  EXPECT_LT(MsSince(t0), 100);
}

// ---- registry ---------------------------------------------------------------

// live_task_count() and LiveTaskCount() equal spawned minus finished at each
// checkpoint; blocked tasks appear in the snapshot as sys_block / channel recv.
void CheckRegistryCounts(Harness& h) {
  constexpr int kBlocked = 100, kFirstRelease = 40;
  const std::size_t base = co::live_task_count();
  co::Channel<int> ch;
  std::atomic<int> finished{0};
  bool checked = false;
  h.RunAll([&] {
    struct CloseOnExit {
      co::Channel<int>& ch;
      ~CloseOnExit() { ch.close(); }  // a failed ASSERT must not strand the blocked tasks
    } guard{ch};
    EXPECT_EQ(h.sched.LiveTaskCount(), 1u);
    EXPECT_EQ(co::live_task_count(), base + 1);
    for (int i = 0; i < kBlocked; ++i) {
      h.Spawn(
          [&] {
            ch.recv();
            finished++;
          },
          "blocked");
    }
    EXPECT_EQ(h.sched.LiveTaskCount(), kBlocked + 1u);
    EXPECT_EQ(co::live_task_count(), base + kBlocked + 1);
    ASSERT_TRUE(Eventually([&] { return ch.waiting_receivers() == kBlocked; }));

    std::size_t blocked = 0, root = 0;
    for (const co::TaskInfo& t : TasksOf(h.sched)) {
      if (t.name == "blocked") {
        EXPECT_EQ(t.state, co::TaskState::sys_block);
        EXPECT_EQ(t.wait_reason, co::WaitReason::channel_recv);
        ++blocked;
      } else if (t.name == "root") {
        EXPECT_EQ(t.id, co::this_task::id());
        EXPECT_EQ(t.state, co::TaskState::runnable);
        EXPECT_EQ(t.wait_reason, co::WaitReason::none);
        ++root;
      }
    }
    EXPECT_EQ(blocked, static_cast<std::size_t>(kBlocked));
    EXPECT_EQ(root, 1u);

    for (int i = 0; i < kFirstRelease; ++i) ASSERT_TRUE(ch.send(i));
    ASSERT_TRUE(
        Eventually([&] { return h.sched.LiveTaskCount() == kBlocked - kFirstRelease + 1u; }));
    // Each task counts itself before it ends and leaves the registry after.
    EXPECT_EQ(finished.load(), kFirstRelease);
    EXPECT_EQ(co::live_task_count(), base + kBlocked - kFirstRelease + 1);
    EXPECT_EQ(TasksOf(h.sched).size(), kBlocked - kFirstRelease + 1u);

    ch.close();
    ASSERT_TRUE(Eventually([&] { return h.sched.LiveTaskCount() == 1u; }));
    EXPECT_EQ(finished.load(), kBlocked);
    checked = true;
  });
  EXPECT_TRUE(checked);
  EXPECT_EQ(h.sched.LiveTaskCount(), 0u);
  EXPECT_EQ(co::live_task_count(), base);
  EXPECT_TRUE(TasksOf(h.sched).empty());
}

TEST_P(SchedPolicy, RegistryCountsMatchSpawnedMinusFinished) {
  Harness h = H();
  CheckRegistryCounts(h);
}

// Seen from the test thread while the workers run: sleeping tasks are in state
// sleep with wait reason sleep, and leave the registry once done.
TEST_P(Sched, SleepingTasksShowInSnapshotFromAnotherThread) {
  coscope_test::Watchdog watchdog(CurrentTestName());
  constexpr std::size_t kSleepers = 20;
  co::Scheduler& s = sched();
  const std::size_t base = co::live_task_count();
  for (std::size_t i = 0; i < kSleepers; ++i) {
    // Long enough for all of them to be asleep at once, however slowly they
    // start.
    Spawn([] { co::this_task::sleep_for(coscope_test::ScaledMs(300)); }, "napper");
  }
  EXPECT_EQ(s.LiveTaskCount(), kSleepers);
  EXPECT_EQ(co::live_task_count(), base + kSleepers);
  {
    // Not started yet: all queued, runnable.
    auto tasks = TasksOf(s);
    ASSERT_EQ(tasks.size(), kSleepers);
    for (const auto& t : tasks) {
      EXPECT_EQ(t.state, co::TaskState::runnable);
      EXPECT_EQ(t.name, "napper");
    }
  }
  s.Start(workers());
  EXPECT_TRUE(s.IsRunning());
  EXPECT_EQ(s.WorkerCount(), workers());
  bool all_asleep = Eventually([&] {
    auto tasks = TasksOf(s);
    return tasks.size() == kSleepers && std::all_of(tasks.begin(), tasks.end(), [](const auto& t) {
             return t.state == co::TaskState::sleep;
           });
  });
  EXPECT_TRUE(all_asleep);
  for (const auto& t : TasksOf(s)) {
    EXPECT_EQ(t.state, co::TaskState::sleep);
    EXPECT_EQ(t.wait_reason, co::WaitReason::sleep);
    EXPECT_EQ(t.name, "napper");
  }
  EXPECT_EQ(s.LiveTaskCount(), kSleepers);
  s.WaitUntilNoTask();
  s.Stop();
  EXPECT_EQ(s.LiveTaskCount(), 0u);
  EXPECT_EQ(co::live_task_count(), base);
  EXPECT_TRUE(TasksOf(s).empty());
}

// ---- many tasks -------------------------------------------------------------

// 100,000 tasks, spawned by 10 spawner tasks, each run exactly once with a
// distinct id.
constexpr std::size_t kPerSpawner = 10'000 / kManyTasksDivisor;

void CheckHundredThousand(Harness& h) {
  constexpr std::size_t kSpawners = 10, kTotal = kSpawners * kPerSpawner;
  std::atomic<std::size_t> ran{0};
  std::vector<co::TaskId> ids(kTotal, 0);
  const std::size_t base = co::live_task_count();
  const auto t0 = Clock::now();
  for (std::size_t s = 0; s < kSpawners; ++s) {
    h.Spawn([&, s] {
      for (std::size_t i = 0; i < kPerSpawner; ++i) {
        const std::size_t slot = s * kPerSpawner + i;
        h.Spawn([&, slot] {
          ids[slot] = co::this_task::id();
          ran.fetch_add(1, std::memory_order_relaxed);
        });
        // Share the worker now and then: 10,000 spawns in one run can take
        // longer than the stall watchdog's threshold on a loaded machine.
        if (i % 1000 == 999) co::this_task::yield();
      }
    });
  }
  h.RunUntilDone();
  EXPECT_EQ(ran.load(), kTotal);
  EXPECT_EQ(h.sched.LiveTaskCount(), 0u);
  EXPECT_EQ(co::live_task_count(), base);
  std::sort(ids.begin(), ids.end());
  EXPECT_NE(ids.front(), 0u) << "some task did not run";
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end()) << "two tasks share an id";
  ::testing::Test::RecordProperty("elapsed_ms", std::to_string(MsSince(t0)));
}

TEST_P(SchedPolicy, HundredThousandTasksRunOnce) {
  Harness h = H();
  CheckHundredThousand(h);
}

// ---- parallelism ------------------------------------------------------------

// With 2+ workers, two tasks that never yield run at the same time on
// different threads: each spins until it has seen another task running
// concurrently (or a shared 2 s deadline passes). With 1 worker everything
// runs on the thread that called RunUntilNoTask().
void CheckParallelism(Harness& h) {
  constexpr int kTasks = 8;
  std::atomic<int> running{0}, max_running{0};
  std::mutex mu;
  std::set<std::thread::id> threads;
  const auto deadline = Clock::now() + (h.workers > 1 ? 2s : 0s);
  for (int i = 0; i < kTasks; ++i) {
    h.Spawn([&] {
      {
        std::lock_guard<std::mutex> lock(mu);
        threads.insert(std::this_thread::get_id());
      }
      int now = ++running;
      int prev = max_running.load();
      while (now > prev && !max_running.compare_exchange_weak(prev, now)) {
      }
      while (max_running.load() < 2 && Clock::now() < deadline) {
        // busy, no yield: holds the worker
      }
      --running;
    });
  }
  h.RunUntilDone();
  if (h.workers == 1) {
    EXPECT_EQ(max_running.load(), 1);
    ASSERT_EQ(threads.size(), 1u);
    EXPECT_EQ(*threads.begin(), std::this_thread::get_id());
  } else {
    EXPECT_GE(max_running.load(), 2) << "no two tasks ever ran at the same time";
    EXPECT_GE(threads.size(), 2u);
    EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  }
}

TEST_P(SchedPolicy, TasksRunInParallelOnSeveralWorkers) {
  Harness h = H();
  CheckParallelism(h);
}

// ---- Start / Stop -----------------------------------------------------------

// Stop() freezes the remaining tasks where they are (sleeping or yielding);
// nothing runs while stopped, not even a task whose wait ended or one spawned
// meanwhile; Start() with another worker count runs them all to the end.
TEST_P(PolicyOnly, StopFreezesTasksAndRestartFinishesThem) {
  coscope_test::Watchdog watchdog(CurrentTestName());
  co::Scheduler s(options());
  constexpr int kSleepers = 6, kYielders = 6, kTasks = kSleepers + kYielders;
  std::array<std::atomic<int>, kTasks + 1> steps{};
  std::atomic<bool> release{false};
  std::atomic<int> finished{0};
  auto opts = co::SpawnOptions{"", 0, &s};
  for (int i = 0; i < kSleepers; ++i) {
    co::spawn(
        [&, i] {
          while (!release.load()) {
            steps[i]++;
            co::this_task::sleep_for(2ms);
          }
          finished++;
        },
        opts);
  }
  for (int i = kSleepers; i < kTasks; ++i) {
    co::spawn(
        [&, i] {
          while (!release.load()) {
            steps[i]++;
            co::this_task::yield();
          }
          finished++;
        },
        opts);
  }
  s.Start(2);
  EXPECT_TRUE(s.IsRunning());
  EXPECT_EQ(s.WorkerCount(), 2u);
  auto every_task_stepped = [&](int n) {
    for (int i = 0; i < kTasks; ++i) {
      if (steps[i].load() < n) return false;
    }
    return true;
  };
  EXPECT_TRUE(Eventually([&] { return every_task_stepped(3); }));
  s.Stop();
  EXPECT_FALSE(s.IsRunning());
  EXPECT_EQ(s.WorkerCount(), 0u);
  s.Stop();  // idempotent
  EXPECT_FALSE(s.IsRunning());

  auto frozen = [&] {
    std::array<int, kTasks + 1> v{};
    for (int i = 0; i <= kTasks; ++i) v[i] = steps[i].load();
    return v;
  };
  const auto at_stop = frozen();
  std::this_thread::sleep_for(30ms);  // sleepers' timers expire meanwhile
  EXPECT_EQ(frozen(), at_stop) << "a task ran while its scheduler was stopped";
  EXPECT_EQ(s.LiveTaskCount(), static_cast<std::size_t>(kTasks));

  release = true;
  co::spawn([&] { steps[kTasks]++; }, opts);  // spawned while stopped
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(frozen(), at_stop);
  EXPECT_EQ(finished.load(), 0);
  EXPECT_EQ(s.LiveTaskCount(), kTasks + 1u);

  s.Start(3);
  EXPECT_TRUE(s.IsRunning());
  EXPECT_EQ(s.WorkerCount(), 3u);
  s.WaitUntilNoTask();
  s.Stop();
  EXPECT_EQ(finished.load(), kTasks);
  EXPECT_EQ(steps[kTasks].load(), 1);
  EXPECT_EQ(s.LiveTaskCount(), 0u);
  EXPECT_TRUE(TasksOf(s).empty());
}

// Start/Stop cycles while plain threads keep spawning: every task runs once.
TEST_P(SchedPolicy, SpawnsRacingStartStopRunEachTaskOnce) {
  coscope_test::Watchdog watchdog(CurrentTestName());
  co::Scheduler s(co::SchedulerOptions{policy()});
  constexpr int kThreads = 2, kPerThread = 3000 / kManyTasksDivisor;
  std::atomic<int> ran{0};
  std::atomic<int> spawned{0};
  std::vector<std::thread> spawners;
  for (int t = 0; t < kThreads; ++t) {
    spawners.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        co::spawn(
            [&, i] {
              if (i % 3 == 0) co::this_task::yield();
              ran++;
            },
            co::SpawnOptions{"", 0, &s});
        spawned++;
        if (i % 500 == 0) std::this_thread::sleep_for(1ms);
      }
    });
  }
  for (int cycle = 0; cycle < 30 && spawned.load() < kThreads * kPerThread; ++cycle) {
    s.Start(workers());
    std::this_thread::sleep_for(1ms);
    s.Stop();
    EXPECT_LE(ran.load(), spawned.load());
  }
  for (auto& t : spawners) t.join();
  s.Start(workers());
  s.WaitUntilNoTask();
  s.Stop();
  EXPECT_EQ(ran.load(), kThreads * kPerThread);
  EXPECT_EQ(s.LiveTaskCount(), 0u);
}

// Plain threads spawning into a running scheduler.
TEST_P(Sched, SpawnFromPlainThreadsIntoRunningScheduler) {
  coscope_test::Watchdog watchdog(CurrentTestName());
  constexpr int kThreads = 4, kPerThread = 2500 / kManyTasksDivisor;
  co::Scheduler& s = sched();
  std::atomic<int> ran{0};
  std::mutex mu;
  std::set<std::thread::id> worker_threads;
  s.Start(workers());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        Spawn([&] {
          if (ran++ % 100 == 0) {
            std::lock_guard<std::mutex> lock(mu);
            worker_threads.insert(std::this_thread::get_id());
          }
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  s.WaitUntilNoTask();
  s.Stop();
  EXPECT_EQ(ran.load(), kThreads * kPerThread);
  EXPECT_LE(worker_threads.size(), workers());
  EXPECT_EQ(worker_threads.count(std::this_thread::get_id()), 0u);
}

// A task may spawn onto another scheduler; the new task runs there.
TEST(CrossScheduler, TaskSpawnsOntoAnotherScheduler) {
  coscope_test::Watchdog watchdog(CurrentTestName());
  co::Scheduler a, b;
  b.Start(1);
  std::atomic<bool> ran_on_b{false};
  std::thread::id b_thread, a_thread;
  const co::Scheduler* seen_scheduler = nullptr;
  co::WaitGroup wg;
  co::spawn(
      [&] {
        a_thread = std::this_thread::get_id();
        wg.add(1);
        co::spawn(
            [&] {
              b_thread = std::this_thread::get_id();
              for (const auto& t : co::snapshot_tasks()) {
                if (t.id == co::this_task::id()) seen_scheduler = t.scheduler;
              }
              ran_on_b = true;
              wg.done();
            },
            co::SpawnOptions{"on-b", 0, &b});
        wg.wait();
      },
      co::SpawnOptions{"on-a", 0, &a});
  a.RunUntilNoTask();
  b.WaitUntilNoTask();
  b.Stop();
  EXPECT_TRUE(ran_on_b.load());
  EXPECT_EQ(a_thread, std::this_thread::get_id());
  EXPECT_NE(b_thread, std::this_thread::get_id());
  EXPECT_EQ(seen_scheduler, &b);
}

// ---- work stealing: a woken task's processer --------------------------------

// A task that a running task wakes waits in the waker's `runnext`: its
// processer runs it once the waker switches out (a hand-off's partner stays
// on one CPU). A waker that runs on instead does not keep it: an idle
// processer takes it after a few microseconds. Bound: far below the stall
// watchdog's lending (COSCOPE_STALL_MS, 100 ms), which would also move it.
TEST(WorkStealingRunnext, ATaskWhoseWakerRunsOnIsTakenByAnIdleProcesser) {
  coscope_test::Watchdog watchdog(CurrentTestName());
  co::SchedulerOptions opts;
  opts.policy = co::SchedulingPolicyKind::work_stealing;
  co::Scheduler s(opts);
  co::Channel<int> ch(0);
  std::atomic<bool> woken_ran{false};
  std::atomic<co::TaskId> woken_id{0};
  std::thread::id waker_thread, woken_thread;
  std::int64_t waited_ms = -1;
  co::spawn(
      [&] {
        woken_id = co::this_task::id();
        ch.recv();
        woken_thread = std::this_thread::get_id();
        woken_ran = true;
      },
      co::SpawnOptions{"woken", 0, &s});
  co::spawn(
      [&] {
        ASSERT_TRUE(Eventually([&] {
          return woken_id.load() != 0 &&
                 coscope_test::IsParked(woken_id.load(), co::WaitReason::channel_recv);
        }));
        // Send once the other processer is idle (in SchedulerCore::Idle):
        // a task woken while no other processer is idle goes to the
        // waker's own queue, which only its processer runs (by design).
        const auto settle = Clock::now();
        while (s.core()->idle_processers.load() != 1 && MsSince(settle) < 5000) {
        }
        waker_thread = std::this_thread::get_id();
        ch.send(1);  // wakes it into this processer's runnext
        const auto start = Clock::now();
        while (!woken_ran.load() && MsSince(start) < 5000) {
          // runs on: no switch-out that would let this processer run it
        }
        waited_ms = MsSince(start);
      },
      co::SpawnOptions{"waker", 0, &s});
  s.Start(2);
  s.WaitUntilNoTask();
  s.Stop();
  ASSERT_TRUE(woken_ran.load());
  EXPECT_NE(woken_thread, waker_thread);
  EXPECT_LT(waited_ms, coscope_test::ScaledMs(50).count());
}

// Two processers hold a runnext task each, both wakers running on; the third
// processer takes both, one grace after the other.
TEST(WorkStealingRunnext, AnIdleProcesserTakesTheRunnextsOfTwoWakersThatRunOn) {
  coscope_test::Watchdog watchdog(CurrentTestName());
  co::SchedulerOptions opts;
  opts.policy = co::SchedulingPolicyKind::work_stealing;
  co::Scheduler s(opts);
  co::Channel<int> ch[2] = {co::Channel<int>(0), co::Channel<int>(0)};
  std::atomic<bool> ran[2] = {false, false};
  std::atomic<co::TaskId> woken_id[2] = {0, 0};
  std::int64_t waited_ms[2] = {-1, -1};
  // Dealt out in spawn order at Start(3): woken 0 and the second waker on
  // processer 0, woken 1 on processer 1, the first waker on processer 2.
  for (int i = 0; i < 2; ++i) {
    co::spawn(
        [&, i] {
          woken_id[i] = co::this_task::id();
          ch[i].recv();
          ran[i] = true;
        },
        co::SpawnOptions{"woken", 0, &s});
  }
  for (int i = 0; i < 2; ++i) {
    co::spawn(
        [&, i] {
          // No park here (a sleep would let the poller move this task).
          const auto settle = Clock::now();
          while (!(woken_id[i].load() != 0 &&
                   coscope_test::IsParked(woken_id[i].load(), co::WaitReason::channel_recv) &&
                   s.core()->idle_processers.load() == 1) &&
                 MsSince(settle) < 5000) {
          }
          ch[i].send(1);  // into this processer's runnext
          const auto start = Clock::now();
          while (!ran[i].load() && MsSince(start) < 5000) {
          }
          waited_ms[i] = MsSince(start);
        },
        co::SpawnOptions{"waker", 0, &s});
  }
  s.Start(3);
  s.WaitUntilNoTask();
  s.Stop();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(ran[i].load()) << i;
    EXPECT_LT(waited_ms[i], coscope_test::ScaledMs(50).count()) << i;
  }
}

// ---- misuse -----------------------------------------------------------------

TEST(SchedulerApi, StartStopPreconditions) {
  coscope_test::Watchdog watchdog(CurrentTestName());
  co::Scheduler s;
  EXPECT_FALSE(s.IsRunning());
  EXPECT_EQ(s.WorkerCount(), 0u);
  EXPECT_EQ(s.LiveTaskCount(), 0u);
  s.Stop();  // never started: no-op
  EXPECT_THROW(s.Start(0), std::invalid_argument);
  EXPECT_FALSE(s.IsRunning());

  s.Start(2);
  EXPECT_TRUE(s.IsRunning());
  EXPECT_THROW(s.Start(2), std::logic_error);
  EXPECT_THROW(s.RunUntilNoTask(), std::logic_error);
  EXPECT_EQ(s.WorkerCount(), 2u);
  s.WaitUntilNoTask();  // no task: returns at once
  s.Stop();
  s.Stop();
  EXPECT_FALSE(s.IsRunning());

  // Stopped with a task queued: waiting for it would never end.
  std::atomic<bool> ran{false};
  co::spawn([&] { ran = true; }, co::SpawnOptions{"", 0, &s});
  EXPECT_THROW(s.WaitUntilNoTask(), std::logic_error);
  EXPECT_FALSE(ran.load());
  s.RunUntilNoTask();
  EXPECT_TRUE(ran.load());
  EXPECT_FALSE(s.IsRunning());
  EXPECT_EQ(s.WorkerCount(), 0u);

  // A scheduler can go through the run modes again.
  s.Start(1);
  s.Stop();
  s.RunUntilNoTask();  // nothing to run: returns
}

/// Start(n)'s std::invalid_argument message, or "no exception" (then stopped).
std::string StartError(co::Scheduler& s, std::size_t workers) {
  try {
    s.Start(workers);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  s.Stop();
  return "no exception";
}

TEST(SchedulerApi, StartRefusesZeroAndAbsurdWorkerCounts) {
  coscope_test::Watchdog watchdog(CurrentTestName());
  static_assert(co::Scheduler::kMaxWorkers == 4096, "the documented limit");
  co::Scheduler s;
  const std::string limit = "the number of workers must be 1 to 4096";
  EXPECT_EQ(StartError(s, 4097), "coscope: Scheduler::Start(4097): " + limit);
  EXPECT_EQ(StartError(s, SIZE_MAX), "coscope: Scheduler::Start(18446744073709551615): " + limit);
  EXPECT_EQ(StartError(s, static_cast<std::size_t>(-2)),
            "coscope: Scheduler::Start(18446744073709551614): " + limit);
  EXPECT_EQ(StartError(s, 0), "coscope: Scheduler::Start(0): " + limit);
  EXPECT_FALSE(s.IsRunning());
  EXPECT_EQ(s.WorkerCount(), 0u);

  // Refused counts leave the scheduler as it was: it starts and runs tasks.
  for (std::size_t workers : {1u, 2u}) {
    std::atomic<int> ran{0};
    for (int i = 0; i < 4; ++i) co::spawn([&] { ran.fetch_add(1); }, co::SpawnOptions{"", 0, &s});
    s.Start(workers);
    EXPECT_EQ(s.WorkerCount(), workers);
    s.WaitUntilNoTask();
    s.Stop();
    EXPECT_EQ(ran.load(), 4) << workers << " workers";
  }
}

TEST(SchedulerApi, CallsThatMustNotComeFromATask) {
  coscope_test::Watchdog watchdog(CurrentTestName());
  co::Scheduler s;
  s.Start(1);
  std::atomic<int> threw{0};
  co::spawn(
      [&] {
        try {
          s.Stop();
        } catch (const std::logic_error&) {
          threw++;
        }
        try {
          s.RunUntilNoTask();
        } catch (const std::logic_error&) {
          threw++;
        }
        try {
          s.WaitUntilNoTask();
        } catch (const std::logic_error&) {
          threw++;
        }
      },
      co::SpawnOptions{"misuser", 0, &s});
  s.WaitUntilNoTask();
  s.Stop();
  EXPECT_EQ(threw.load(), 3);
}

}  // namespace
