// Channel<T>: unbuffered and buffered, close, many producers/consumers across
// workers, try_/timed variants, plain threads, and forced unwinding.
#include <gtest/gtest.h>

#include <coscope/coscope.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "test_util.h"
#include "worker_fixture.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using coscope_test::CountParked;
using coscope_test::Eventually;
using coscope_test::MsSince;

class Channel : public coscope_test::WorkersTest {
 protected:
  // Every value from every producer is received exactly once, whichever
  // worker runs which task.
  void ManyToMany(std::size_t capacity) {
    constexpr std::uint32_t kProducers = 8, kConsumers = 8, kPerProducer = 2000;
    constexpr std::uint32_t kTotal = kProducers * kPerProducer;
    co::Channel<std::uint32_t> ch(capacity);
    std::vector<std::atomic<std::uint8_t>> seen(kTotal);
    std::atomic<std::uint64_t> sum{0}, count{0};
    RunAll([&] {
      co::WaitGroup producers, consumers;
      for (std::uint32_t p = 0; p < kProducers; ++p) {
        producers.add(1);
        Spawn([&, p] {
          for (std::uint32_t i = 0; i < kPerProducer; ++i) {
            EXPECT_TRUE(ch.send(p * kPerProducer + i));
          }
          producers.done();
        });
      }
      for (std::uint32_t c = 0; c < kConsumers; ++c) {
        consumers.add(1);
        Spawn([&] {
          std::uint64_t local_sum = 0, local_count = 0;
          while (auto v = ch.recv()) {
            EXPECT_LT(*v, kTotal);
            if (*v < kTotal) seen[*v].fetch_add(1);
            local_sum += *v;
            ++local_count;
          }
          sum += local_sum;
          count += local_count;
          consumers.done();
        });
      }
      producers.wait();
      ch.close();
      consumers.wait();
    });
    EXPECT_EQ(count.load(), kTotal);
    EXPECT_EQ(sum.load(), std::uint64_t{kTotal} * (kTotal - 1) / 2);
    std::uint32_t lost = 0, dup = 0;
    for (auto& n : seen) {
      if (n.load() == 0) ++lost;
      if (n.load() > 1) ++dup;
    }
    EXPECT_EQ(lost, 0u);
    EXPECT_EQ(dup, 0u);
  }
};

TEST_P(Channel, UnbufferedSendWaitsForReceiver) {
  co::Channel<int> ch;
  EXPECT_EQ(ch.capacity(), 0u);
  RunAll([&] {
    EXPECT_FALSE(ch.try_send(1)) << "no receiver: an unbuffered send cannot complete";
    EXPECT_FALSE(ch.try_recv().has_value());
    Spawn([&] {
      co::this_task::sleep_for(30ms);
      EXPECT_EQ(ch.recv(), std::optional<int>(7));
    });
    auto start = Clock::now();
    EXPECT_TRUE(ch.send(7));
    EXPECT_GE(MsSince(start), 29) << "send returned before the receiver arrived";
    EXPECT_EQ(ch.size(), 0u);
  });
}

TEST_P(Channel, UnbufferedInOrderBetweenTwoTasks) {
  co::Channel<int> ch;
  std::vector<int> got;
  RunAll([&] {
    Spawn([&] {
      for (int i = 0; i < 1000; ++i) EXPECT_TRUE(ch.send(i));
      ch.close();
    });
    Spawn([&] {
      int v;
      while (ch >> v) got.push_back(v);
    });
  });
  ASSERT_EQ(got.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(got[i], i);
}

TEST_P(Channel, BufferedFillsWithoutWaitingThenRefuses) {
  co::Channel<int> ch(4);
  RunAll([&] {
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(ch.try_send(i));
    EXPECT_EQ(ch.size(), 4u);
    int keep = 99;
    EXPECT_FALSE(ch.try_send(keep));
    EXPECT_EQ(keep, 99);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(ch.try_recv(), std::optional<int>(i));
    EXPECT_FALSE(ch.try_recv().has_value());
    EXPECT_TRUE(ch.empty());
  });
}

TEST_P(Channel, BlockedSendersKeepFifoOrderThroughTheBuffer) {
  co::Channel<int> ch(2);
  std::vector<int> got;
  RunAll([&] {
    Spawn([&] {
      for (int i = 0; i < 500; ++i) ch << i;
      ch.close();
    });
    Spawn([&] {
      while (auto v = ch.recv()) {
        got.push_back(*v);
        if (*v % 50 == 0) co::this_task::sleep_for(1ms);  // let the sender fill up and park
      }
    });
  });
  ASSERT_EQ(got.size(), 500u);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(got[i], i);
}

TEST_P(Channel, CloseWakesAllReceiversWithNullopt) {
  co::Channel<int> ch;
  std::atomic<int> woke{0};
  RunAll([&] {
    for (int i = 0; i < 8; ++i) {
      Spawn([&] {
        EXPECT_FALSE(ch.recv().has_value());
        ++woke;
      });
    }
    ASSERT_TRUE(Eventually([&] { return ch.waiting_receivers() == 8; }));
    EXPECT_EQ(CountParked(sched(), co::WaitReason::channel_recv), 8u);
    EXPECT_TRUE(ch.close());
    EXPECT_FALSE(ch.close()) << "second close is a no-op";
  });
  EXPECT_EQ(woke.load(), 8);
  EXPECT_EQ(ch.waiting_receivers(), 0u);
}

TEST_P(Channel, CloseWakesAllSendersWithFalse) {
  co::Channel<int> ch(1);
  std::atomic<int> refused{0};
  RunAll([&] {
    EXPECT_TRUE(ch.send(-1));  // fill the buffer
    for (int i = 0; i < 8; ++i) {
      Spawn([&, i] {
        if (!ch.send(i)) ++refused;
      });
    }
    ASSERT_TRUE(Eventually([&] { return ch.waiting_senders() == 8; }));
    EXPECT_EQ(CountParked(sched(), co::WaitReason::channel_send), 8u);
    ch.close();
  });
  EXPECT_EQ(refused.load(), 8);
  EXPECT_EQ(ch.try_recv(), std::optional<int>(-1)) << "buffered value survives close";
  EXPECT_FALSE(ch.try_recv().has_value());
}

TEST_P(Channel, ClosedChannelDrainsThenReportsEnd) {
  co::Channel<int> ch(3);
  RunAll([&] {
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(ch.send(i));
    ch.close();
    EXPECT_TRUE(ch.closed());
    EXPECT_FALSE(ch.send(3));
    EXPECT_FALSE(ch.try_send(3));
    int out = -5;
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(ch.recv(out));
      EXPECT_EQ(out, i);
    }
    EXPECT_FALSE(ch.recv(out));
    EXPECT_EQ(out, 2) << "out untouched when closed";
    EXPECT_FALSE(ch.recv().has_value());
    EXPECT_FALSE(ch.recv_for(1s).has_value());  // no waiting on a closed channel
  });
}

TEST_P(Channel, ManyProducersManyConsumersUnbuffered) {
  ManyToMany(0);
}
TEST_P(Channel, ManyProducersManyConsumersBuffered) {
  ManyToMany(16);
}

TEST_P(Channel, TryRecvTakesFromAParkedUnbufferedSender) {
  co::Channel<int> ch;
  RunAll([&] {
    Spawn([&] { EXPECT_TRUE(ch.send(42)); });
    ASSERT_TRUE(Eventually([&] { return ch.waiting_senders() == 1; }));
    EXPECT_EQ(ch.try_recv(), std::optional<int>(42));
    EXPECT_EQ(ch.waiting_senders(), 0u);
  });
}

TEST_P(Channel, TrySendHandsToAParkedReceiver) {
  co::Channel<int> ch;
  std::optional<int> got;
  RunAll([&] {
    Spawn([&] { got = ch.recv(); });
    ASSERT_TRUE(Eventually([&] { return ch.waiting_receivers() == 1; }));
    EXPECT_TRUE(ch.try_send(5));
  });
  EXPECT_EQ(got, std::optional<int>(5));
}

TEST_P(Channel, RecvForTimesOut) {
  co::Channel<int> ch(1);
  RunAll([&] {
    auto start = Clock::now();
    EXPECT_FALSE(ch.recv_for(40ms).has_value());
    auto ms = MsSince(start);
    EXPECT_GE(ms, 39);
    EXPECT_LT(ms, 1000);
    EXPECT_FALSE(ch.closed());
    EXPECT_EQ(ch.waiting_receivers(), 0u) << "timed-out waiter must unlink itself";
    start = Clock::now();
    EXPECT_FALSE(ch.recv_until(Clock::now() + 20ms).has_value());
    EXPECT_GE(MsSince(start), 19);
    // The channel still works after timeouts.
    EXPECT_TRUE(ch.send(3));
    EXPECT_EQ(ch.recv_for(0ms), std::optional<int>(3));
  });
}

TEST_P(Channel, SendForTimesOutAndKeepsTheValue) {
  co::Channel<std::unique_ptr<int>> ch;  // unbuffered, move-only
  RunAll([&] {
    auto p = std::make_unique<int>(9);
    auto start = Clock::now();
    EXPECT_FALSE(ch.send_for(std::move(p), 40ms));
    auto ms = MsSince(start);
    EXPECT_GE(ms, 39);
    EXPECT_LT(ms, 1000);
    ASSERT_NE(p, nullptr) << "a failed send must not consume the value";
    EXPECT_EQ(*p, 9);
    EXPECT_EQ(ch.waiting_senders(), 0u);
    EXPECT_FALSE(ch.send_until(std::move(p), Clock::now() - 1s));
    ASSERT_NE(p, nullptr);
    // A receiver arriving within the timeout gets the value.
    Spawn([&] {
      co::this_task::sleep_for(10ms);
      auto v = ch.recv();
      ASSERT_TRUE(v.has_value());
      ASSERT_NE(*v, nullptr);
      EXPECT_EQ(**v, 9);
    });
    start = Clock::now();
    EXPECT_TRUE(ch.send_for(std::move(p), 2s));
    EXPECT_EQ(p, nullptr);
    EXPECT_LT(MsSince(start), 1000);
  });
}

TEST_P(Channel, RecvForGetsAValueBeforeTheDeadline) {
  co::Channel<int> ch;
  RunAll([&] {
    Spawn([&] {
      co::this_task::sleep_for(10ms);
      ch << 11;
    });
    auto start = Clock::now();
    EXPECT_EQ(ch.recv_for(2s), std::optional<int>(11));
    EXPECT_LT(MsSince(start), 1000);
    // Timeouts too large to represent mean "no deadline", not "expired".
    Spawn([&] {
      co::this_task::sleep_for(10ms);
      ch << 12;
      co::this_task::sleep_for(10ms);
      ch << 13;
    });
    EXPECT_EQ(ch.recv_for(std::chrono::hours::max()), std::optional<int>(12));
    EXPECT_EQ(ch.recv_until(Clock::time_point::max()), std::optional<int>(13));
  });
}

// Timed waiters racing with wakers: a value is delivered exactly when its
// send reports success, never to a receiver that already timed out. Both
// sides pause now and then, so both sides time out many times.
TEST_P(Channel, TimeoutsRacingWithWakersLoseNothing) {
  co::Channel<int> ch;
  constexpr int kSenders = 4, kReceivers = 4, kPerSender = 300;
  std::atomic<std::int64_t> sent_sum{0}, recv_sum{0}, sent_n{0}, recv_n{0};
  std::atomic<std::int64_t> send_timeouts{0}, recv_timeouts{0};
  RunAll([&] {
    co::WaitGroup senders, receivers;
    std::atomic<bool> stop{false};
    for (int s = 0; s < kSenders; ++s) {
      senders.add();
      Spawn([&, s] {
        for (int i = 1; i <= kPerSender; ++i) {
          int v = s * kPerSender + i;
          if (ch.send_for(std::move(v), std::chrono::microseconds(100 + 53 * (i % 7)))) {
            sent_sum += s * kPerSender + i;
            ++sent_n;
          } else {
            ++send_timeouts;
          }
          if (i % 50 == 0) co::this_task::sleep_for(2ms);
        }
        senders.done();
      });
    }
    for (int r = 0; r < kReceivers; ++r) {
      receivers.add();
      Spawn([&, r] {
        int got = 0;
        while (!stop.load()) {
          if (auto v = ch.recv_for(std::chrono::microseconds(100 + 41 * r))) {
            recv_sum += *v;
            ++recv_n;
            if (++got % 40 == 0) co::this_task::sleep_for(2ms);
          } else {
            ++recv_timeouts;
          }
        }
        receivers.done();
      });
    }
    senders.wait();
    stop = true;
    receivers.wait();
  });
  EXPECT_GT(sent_n.load(), 0);
  EXPECT_GT(send_timeouts.load(), 0) << "the test did not exercise sender timeouts";
  EXPECT_GT(recv_timeouts.load(), 0) << "the test did not exercise receiver timeouts";
  EXPECT_EQ(sent_n.load(), recv_n.load());
  EXPECT_EQ(sent_sum.load(), recv_sum.load());
  EXPECT_EQ(ch.waiting_senders() + ch.waiting_receivers(), 0u);
}

TEST_P(Channel, PlainThreadTalksToATask) {
  co::Channel<int> to_task;
  co::Channel<long> to_thread(1);
  std::optional<long> reply;
  std::thread th([&] {
    EXPECT_EQ(co::this_task::id(), 0u);
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(to_task.send(i));
    to_task.close();
    reply = to_thread.recv();  // blocks this thread until the task answers
  });
  RunAll([&] {
    long sum = 0;
    while (auto v = to_task.recv()) sum += *v;
    co::this_task::sleep_for(20ms);  // the thread is (likely) blocked in recv now
    EXPECT_TRUE(to_thread.send(sum));
  });
  th.join();
  EXPECT_EQ(reply, std::optional<long>(999L * 1000 / 2));
}

TEST_P(Channel, TaskWaitsForAPlainThreadWithTimeouts) {
  co::Channel<int> ch;
  std::atomic<bool> first_wait_over{false};
  std::thread th([&] {
    // Nothing is sent until the task's first wait has timed out, however
    // late the task starts (a sanitized build starts a task slowly).
    while (!first_wait_over.load()) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(10ms);  // the task is most likely in its second wait
    EXPECT_TRUE(ch.send_for(1, 2s));    // thread blocks until the task takes it
    EXPECT_FALSE(ch.send_for(2, 20ms)) << "nobody receives the second value";
  });
  RunAll([&] {
    EXPECT_FALSE(ch.recv_for(5ms).has_value());
    first_wait_over = true;
    EXPECT_EQ(ch.recv_for(2s), std::optional<int>(1));
  });
  th.join();
  EXPECT_EQ(ch.waiting_senders(), 0u);
}

COSCOPE_INSTANTIATE_WORKER_COUNTS(Channel);

// Outside any scheduler: plain threads block on the channel.
TEST(ChannelThreads, PlainThreadsOnly) {
  co::Channel<int> ch;
  std::atomic<long> sum{0};
  std::vector<std::thread> rx;
  for (int r = 0; r < 3; ++r) {
    rx.emplace_back([&] {
      while (auto v = ch.recv()) sum += *v;
    });
  }
  for (int i = 1; i <= 300; ++i) ASSERT_TRUE(ch.send(i));
  auto start = Clock::now();
  EXPECT_FALSE(ch.recv_for(0ms).has_value());
  ch.close();
  for (auto& t : rx) t.join();
  EXPECT_EQ(sum.load(), 300L * 301 / 2);
  EXPECT_LT(MsSince(start), 1000);

  co::Channel<int> idle;
  start = Clock::now();
  EXPECT_FALSE(idle.recv_for(30ms).has_value());
  EXPECT_GE(MsSince(start), 29);
}

// ~Scheduler unwinds a task parked in recv(): its destructors run and its
// waiter node leaves the channel, which stays usable.
TEST(ChannelUnwind, ParkedReceiverLeavesTheChannelWhenTheSchedulerDies) {
  co::Channel<int> ch;
  std::atomic<int> destroyed{0};
  struct Guard {
    std::atomic<int>* n;
    ~Guard() { ++*n; }
  };
  {
    co::Scheduler s;
    co::spawn(
        [&] {
          Guard g{&destroyed};
          (void)ch.recv();
          ADD_FAILURE() << "recv returned";
        },
        co::SpawnOptions{"rx", 0, &s});
    s.Start(1);
    ASSERT_TRUE(Eventually([&] { return ch.waiting_receivers() == 1; }));
    s.Stop();
  }
  EXPECT_EQ(destroyed.load(), 1);
  EXPECT_EQ(ch.waiting_receivers(), 0u);
  EXPECT_FALSE(ch.try_send(1));
}

}  // namespace
