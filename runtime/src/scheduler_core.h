// SchedulerCore: the mechanism behind co::Scheduler.
//
// It owns the processers (worker threads), the timer queue, the idle waiter
// and the count of live tasks; the SchedulingPolicy orders ready tasks.
//
// Run modes:
//   stopped           - tasks may be spawned and woken; they wait in `pending`.
//   run_until_no_task - one processer on the caller's thread; Run returns when
//                       live_tasks reaches 0.
//   started           - Start(n) threads; run until Stop().
//
// Idle processers: while another processer still runs tasks and holds a
// hand-off's partner (Processer::runnext), a processer that runs out of
// work first spins for up to kSpinNs, looking for a task it
// may take (SchedulingPolicy::HasWorkToTake); a task made ready meanwhile
// needs no futex or eventfd wake. After that, the first to go idle takes the
// poller role and blocks in the idle waiter (with the next timer's deadline
// as timeout); the others sleep on a futex. Making a task ready notifies the processer the policy
// names, or any idle one: no periodic tick stands between a ready task and a CPU. A busy processer
// also fires due timers every kPollInterval rounds, so sleepers wake on time while every processer
// is busy.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "coscope/scheduler.h"
#include "idle_waiter.h"
#include "policy.h"
#include "processer.h"
#include "timer_queue.h"

namespace co {
namespace detail {

enum class RunMode : int { stopped = 0, run_until_no_task = 1, started = 2 };

class SchedulerCore {
 public:
  SchedulerCore(Scheduler* owner, const SchedulerOptions& options);
  ~SchedulerCore();

  // ---- task life ---------------------------------------------------------
  /// Queues a new task (spawn).
  void Submit(Task* task);
  /// Queues `task`, which the caller exclusively owns, for running.
  void MakeReady(Task* task, ReadyReason why);
  /// Releases a finished task (runs on the processer, after SwapIn).
  void Finish(Task* task) noexcept;

  // ---- timers --------------------------------------------------------------
  void ArmTimer(Task* task, std::int64_t due_ns, std::uint64_t epoch);
  void DisarmTimer(Task* task) noexcept;
  /// In the child of fork: no timers (they belong to the parent's tasks),
  /// an idle waiter of its own (idle_waiter.h).
  void ResetInChild() noexcept;
  /// Wakes the tasks whose timers are due. Returns how many.
  std::size_t FireTimers(std::int64_t now_ns);

  // ---- processer support ---------------------------------------------------
  /// Called by an idle processer: poll or sleep until there may be work.
  void Idle(Processer* p);
  /// Called by a busy processer now and then: fire due timers without blocking.
  void PollWhileBusy(Processer* p);
  /// True when `p` should leave its Run loop.
  bool ShouldStop(Processer* p) const noexcept;
  std::span<Processer* const> processers() const noexcept { return processer_list_; }
  /// Wakes one idle processer, if any (the stall watchdog, when it lent a
  /// stalled processer's queue).
  void NotifyIdleProcesser() noexcept { NotifyIdle(nullptr); }
  /// For the stall watchdog: keeps the processers installed while held;
  /// never waits (false: someone is starting or stopping the scheduler).
  bool TryLockProcessers() noexcept { return state_mutex_.try_lock(); }
  void UnlockProcessers() noexcept { state_mutex_.unlock(); }

  // ---- Scheduler API ---------------------------------------------------------
  void RunUntilNoTask();
  void Start(std::size_t workers);
  void Stop();
  void WaitUntilNoTask();

  // ---- fields (read by the gdb toolkit) --------------------------------------
  Scheduler* owner;  ///< the public object
  std::unique_ptr<SchedulingPolicy> policy;
  std::unique_ptr<IdleWaiter> idle_waiter;      ///< where the poller blocks
  std::atomic<RunMode> mode{RunMode::stopped};  ///< run mode
  std::atomic<std::size_t> live_tasks{0};       ///< spawned, not yet finished
  std::atomic<int> idle_processers{0};          ///< processers in Idle()
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> poller_busy{false};             ///< someone holds the poller role
  std::atomic<std::int64_t> poller_deadline_ns{0};  ///< when the poller wakes by itself
  SpinLock timer_lock;                              ///< guards timers
  TimerQueue timers;                                ///< sleeping / timed-waiting tasks
  std::atomic<std::size_t> timer_count{0};          ///< timers.size(), readable without the lock
  /// now_ns() at the last timer pass (guarded by timer_lock): a time the
  /// process has certainly reached, which a debugger reading a core file
  /// (where the clock cannot be read) counts due times from.
  std::int64_t last_timer_pass_ns = 0;
  std::uint64_t id = 0;  ///< 1, 2, ... in creation order (see scheduler_registry.h)
  SchedulerCore* registry_prev = nullptr;  ///< links in coscope_scheduler_registry
  SchedulerCore* registry_next = nullptr;
  /// The processers as a plain array (processers()), for debuggers; written
  /// under state_mutex_ when processers are installed or removed.
  Processer* const* processer_table = nullptr;
  std::size_t processer_count = 0;  ///< entries in processer_table; 0 while stopped

  static constexpr std::uint64_t kPollInterval = 64;
  /// How long an idle processer spins before it blocks (see the top).
  static constexpr std::int64_t kSpinNs = 20'000;

 private:
  void InstallProcessers(std::size_t n);
  void RemoveProcessers();
  void NotifyIdle(Processer* target) noexcept;
  /// The spin of Idle(): true once there is work to take (or a stop), false
  /// after kSpinNs (and no task it waits to take) or once no other processer
  /// runs tasks.
  bool SpinForWork(Processer* p, std::span<Processer* const> all);
  /// Whether any processer holds a runnext task (a hand-off going on).
  static bool AnyRunnext(std::span<Processer* const> all) noexcept;
  void UnwindAllTasks();

  std::vector<std::unique_ptr<Processer>> processers_;
  std::vector<Processer*> processer_list_;
  std::vector<std::thread> threads_;
  std::mutex state_mutex_;              ///< guards mode changes, pending_, threads_
  std::condition_variable no_task_cv_;  ///< signalled when live_tasks reaches 0
  std::atomic<int> no_task_waiters_{0};
  TaskQueue pending_;                     ///< ready while no processer exists
  std::atomic<int> foreign_enqueues_{0};  ///< MakeReady calls in flight from other threads
};

/// wake() for the timer pass: the park ends as timed out.
bool wake_by_timer(WaitTicket ticket) noexcept;

/// The scheduler a `go` without options uses.
SchedulerCore* default_scheduler_core();

}  // namespace detail
}  // namespace co
