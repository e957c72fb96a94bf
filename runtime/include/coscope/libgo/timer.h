// libgo's co_timer and co_timer_id: run a callback in a task at a time.
//
//   co_timer timer;
//   co_timer_id id = timer.ExpireAt(std::chrono::milliseconds(50), []{ ... });
//   id.StopTimer();   // true: cancelled before it ran
//
// Each ExpireAt spawns a task that waits on a channel until the due time; a
// StopTimer() sends on that channel, so a cancelled timer's task ends at once
// instead of sleeping until the due time. Whether the callback runs or the
// cancel wins is decided by one compare-and-swap on the timer's state.
// Destroying the co_timer cancels the timers it set that have not run.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "coscope/channel.h"
#include "coscope/spawn.h"

namespace co {

class LibgoTimer {
  enum class Phase { pending, fired, cancelled };

  struct Entry {
    std::atomic<Phase> phase{Phase::pending};
    Channel<bool> cancel{1};  ///< a StopTimer() wakes the waiting task early

    bool cancel_if_pending() {
      Phase expected = Phase::pending;
      if (!phase.compare_exchange_strong(expected, Phase::cancelled)) return false;
      cancel.try_send(true);
      return true;
    }
  };

 public:
  using func_t = std::function<void()>;

  /// Names one ExpireAt(); empty when default-constructed.
  class TimerId {
   public:
    TimerId() = default;
    explicit operator bool() const { return entry_ != nullptr; }
    /// Cancels the callback if it has not started: true if it never will.
    bool StopTimer() { return entry_ != nullptr && entry_->cancel_if_pending(); }

   private:
    friend class LibgoTimer;
    explicit TimerId(std::shared_ptr<Entry> entry) : entry_(std::move(entry)) {}
    std::shared_ptr<Entry> entry_;
  };

  /// Callbacks run in tasks of `scheduler` (nullptr: co_sched).
  explicit LibgoTimer(Scheduler* scheduler = nullptr) : scheduler_(scheduler) {}
  /// libgo's precision argument; coscope's timers have one precision.
  template <class Rep, class Period>
  explicit LibgoTimer(std::chrono::duration<Rep, Period>, Scheduler* scheduler = nullptr)
      : scheduler_(scheduler) {}
  LibgoTimer(const LibgoTimer&) = delete;
  LibgoTimer& operator=(const LibgoTimer&) = delete;
  ~LibgoTimer() {
    std::lock_guard<std::mutex> lock(entries_mutex_);
    for (const std::weak_ptr<Entry>& weak : entries_) {
      if (std::shared_ptr<Entry> entry = weak.lock()) entry->cancel_if_pending();
    }
  }

  /// Runs `fn` in a new task after `delay`.
  template <class Rep, class Period>
  TimerId ExpireAt(std::chrono::duration<Rep, Period> delay, func_t fn) {
    return ExpireAt(std::chrono::steady_clock::now() + delay, std::move(fn));
  }
  /// Runs `fn` in a new task at `when`.
  template <class Clock, class Duration>
  TimerId ExpireAt(std::chrono::time_point<Clock, Duration> when, func_t fn) {
    auto entry = std::make_shared<Entry>();
    remember(entry);
    SpawnOptions options;
    options.name = "co_timer";
    options.scheduler = scheduler_;
    spawn(
        [entry, when, fn = std::move(fn)] {
          bool cancelled = entry->cancel.recv_until(when).has_value();
          Phase expected = Phase::pending;
          if (!cancelled && entry->phase.compare_exchange_strong(expected, Phase::fired)) fn();
        },
        options);
    return TimerId(entry);
  }

 private:
  void remember(const std::shared_ptr<Entry>& entry) {
    std::lock_guard<std::mutex> lock(entries_mutex_);
    entries_.push_back(entry);
    if (entries_.size() < compact_at_) return;
    // Forget timers that have run or been cancelled; doubling the threshold
    // keeps the cost per ExpireAt constant.
    std::vector<std::weak_ptr<Entry>> live;
    for (std::weak_ptr<Entry>& weak : entries_) {
      std::shared_ptr<Entry> e = weak.lock();
      if (e && e->phase.load() == Phase::pending) live.push_back(std::move(weak));
    }
    entries_.swap(live);
    compact_at_ = 2 * entries_.size() + 16;
  }

  Scheduler* scheduler_;
  std::mutex entries_mutex_;
  std::vector<std::weak_ptr<Entry>> entries_;  ///< timers set here, some long done
  std::size_t compact_at_ = 16;
};

using co_timer = LibgoTimer;
using co_timer_id = LibgoTimer::TimerId;

}  // namespace co
