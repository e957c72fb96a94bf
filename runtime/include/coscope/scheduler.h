// Scheduler: N Processers (worker threads) running tasks.
//
//   co_sched.RunUntilNoTask();      // run on this thread until no task is left
//   co::SchedulerOptions options;
//   options.policy = co::SchedulingPolicyKind::work_stealing;
//   co::Scheduler s(options);
//   s.Start(4); ... s.Stop();       // long-running programs
//
// The scheduler owns the mechanism (processers, timers, the reactor, task
// lifetime); a SchedulingPolicy orders the ready tasks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace co {
namespace detail {
class SchedulerCore;
}
class LibgoScheduler;

/// How ready tasks are spread over processers.
enum class SchedulingPolicyKind {
  round_robin,    ///< new tasks dealt to processers in turn; no stealing
  work_stealing,  ///< idle processers take work queued on busy ones
};

struct SchedulerOptions {
  SchedulingPolicyKind policy = SchedulingPolicyKind::work_stealing;
};

class Scheduler {
 public:
  explicit Scheduler(const SchedulerOptions& options = {});
  /// Stops the workers if running, then unwinds every task still parked
  /// (their destructors run) and frees every task that never ran.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// The process-wide default scheduler, `co_sched`. Created on first use.
  static Scheduler& Default();

  /// libgo's Scheduler::Create(): a new scheduler with libgo's interface
  /// (coscope/libgo/scheduler.h: its Start() runs it until Stop()). Never
  /// destroyed: tasks may stay parked on it while the process exits.
  static LibgoScheduler* Create(const SchedulerOptions& options = {});

  /// Runs tasks on the calling thread alone until no task of this scheduler
  /// is left. Precondition: not started with Start(); not called from a task.
  void RunUntilNoTask();

  /// The most workers Start() accepts: far more threads than any machine has
  /// cores, and few enough that a mistaken count (SIZE_MAX, a negative int
  /// converted) fails at once instead of exhausting memory.
  static constexpr std::size_t kMaxWorkers = 4096;

  /// Starts `workers` processer threads (1 to kMaxWorkers; otherwise throws
  /// std::invalid_argument) that run tasks until Stop().
  /// Precondition: not running.
  void Start(std::size_t workers);
  /// Stops the processer threads after their current task yields or parks.
  /// Tasks that remain keep their state and run again after Start().
  void Stop();

  /// Blocks the calling thread (not a task) until no task of this scheduler
  /// is left. Precondition: started with Start().
  void WaitUntilNoTask();

  bool IsRunning() const noexcept;
  /// Tasks spawned on this scheduler and not yet finished.
  std::size_t LiveTaskCount() const noexcept;
  /// Processers of the current run (0 when neither running nor in RunUntilNoTask).
  std::size_t WorkerCount() const noexcept;

  /// The runtime's side of this scheduler (not part of the API).
  detail::SchedulerCore* core() const noexcept { return core_.get(); }

 private:
  std::unique_ptr<detail::SchedulerCore> core_;
};

}  // namespace co

/// The default scheduler, spelled as in libgo.
#define co_sched (::co::Scheduler::Default())
