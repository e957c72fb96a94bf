// libgo's scheduler interface: co_sched, and what co::Scheduler::Create()
// returns. Its Start() runs the scheduler until Stop().
//
// libgo's Scheduler::Start(min, max) turns the calling thread into a worker
// and returns only after Stop(), which a task may call. co::Scheduler::Start
// returns at once and must not be stopped from its own tasks, so co_sched
// (coscope/libgo.h) names this wrapper of co::Scheduler::Default() instead,
// and Scheduler::Create() wraps each new scheduler in one.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "coscope/scheduler.h"
#include "coscope/this_task.h"

namespace co {

class LibgoScheduler {
 public:
  explicit LibgoScheduler(Scheduler& scheduler) : scheduler_(scheduler) {}
  LibgoScheduler(const LibgoScheduler&) = delete;
  LibgoScheduler& operator=(const LibgoScheduler&) = delete;

  /// Runs the scheduler on `min_threads` workers (< 1: one per core) and
  /// blocks until Stop(). `max_threads` is accepted and ignored: coscope
  /// never adds workers (a blocked one is replaced by parking, not threads).
  void Start(int min_threads = 1, int max_threads = 0) {
    (void)max_threads;
    unsigned workers =
        min_threads >= 1 ? static_cast<unsigned>(min_threads) : std::thread::hardware_concurrency();
    scheduler_.Start(workers > 0 ? workers : 1);
    {
      std::unique_lock<std::mutex> lock(stop_mutex_);
      stopped_cv_.wait(lock, [this] { return stop_requested_; });
    }
    scheduler_.Stop();
  }
  /// Start() on a thread of its own; returns at once.
  void goStart(int min_threads = 1, int max_threads = 0) {
    std::thread([this, min_threads, max_threads] { Start(min_threads, max_threads); }).detach();
  }
  /// Ends Start(): its workers stop after their current task yields or parks.
  /// Callable from anywhere, a task included. As in libgo, for good.
  void Stop() {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stop_requested_ = true;
    stopped_cv_.notify_all();
  }
  bool IsStop() {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    return stop_requested_;
  }
  /// libgo moves its timers to a thread of their own; coscope's timers are
  /// always served by the processers (and their idle wait). No effect.
  void UseAloneTimerThread() {}

  /// Tasks spawned on this scheduler and not yet finished.
  std::uint32_t TaskCount() const { return static_cast<std::uint32_t>(scheduler_.LiveTaskCount()); }
  bool IsEmpty() const { return scheduler_.LiveTaskCount() == 0; }
  /// True when called from a task (of any scheduler).
  bool IsCoroutine() const { return this_task::id() != 0; }
  /// The calling task's id, 0 outside a task.
  std::uint64_t GetCurrentTaskID() const { return this_task::id(); }

  Scheduler& scheduler() const { return scheduler_; }

  /// co_sched: the wrapper of co::Scheduler::Default().
  static LibgoScheduler& Default() {
    // Never destroyed, as the scheduler it wraps.
    static LibgoScheduler* instance = new LibgoScheduler(Scheduler::Default());
    return *instance;
  }

 private:
  Scheduler& scheduler_;
  std::mutex stop_mutex_;
  std::condition_variable stopped_cv_;
  bool stop_requested_ = false;
};

namespace detail {

/// The scheduler `go co_scheduler(s)` names: s may be what
/// Scheduler::Create() returned, co_sched, or a co::Scheduler (* or &).
inline GoScheduler go_scheduler(LibgoScheduler* scheduler) {
  return GoScheduler{&scheduler->scheduler()};
}
inline GoScheduler go_scheduler(LibgoScheduler& scheduler) {
  return GoScheduler{&scheduler.scheduler()};
}
inline GoScheduler go_scheduler(Scheduler* scheduler) {
  return GoScheduler{scheduler};
}
inline GoScheduler go_scheduler(Scheduler& scheduler) {
  return GoScheduler{&scheduler};
}

}  // namespace detail
}  // namespace co
