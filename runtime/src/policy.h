// SchedulingPolicy: the order in which ready tasks run (mechanism and policy
// are separate, as in Boost.Fiber's algorithm): the scheduler owns timers,
// parking and task lifetime; a policy only decides which processer queue a
// ready task joins and which task a processer runs next. Policies keep their
// state in themselves and in the processers' queues; no process-wide statics.
#pragma once

#include <memory>
#include <span>

#include "coscope/scheduler.h"
#include "processer.h"

namespace co {
namespace detail {

/// Why a task is being queued.
enum class ReadyReason {
  spawned,    ///< a new task
  woken,      ///< its wait ended (a wake, I/O)
  timed_out,  ///< its deadline passed (a sleep, a wait's timeout): it goes ahead of the queue
  yielded,    ///< it gave up its turn
};

class SchedulingPolicy {
 public:
  virtual ~SchedulingPolicy() = default;
  virtual const char* Name() const noexcept = 0;

  /// `task` became ready. `self` is the calling thread's processer when it
  /// works for this scheduler, else nullptr. Returns the processer to notify
  /// (nullptr: any idle one may run it; `self`: nobody needs waking).
  /// `others_idle`: some processer other than `self` is idle.
  virtual Processer* Enqueue(Task* task, ReadyReason why, Processer* self,
                             std::span<Processer* const> all, bool others_idle) = 0;
  /// The next task for `self` to run, or nullptr.
  virtual Task* Dequeue(Processer* self, std::span<Processer* const> all) = 0;
  /// Whether Dequeue(self) could find something (used before going idle).
  virtual bool HasWork(Processer* self, std::span<Processer* const> all) = 0;
  /// Whether Dequeue() would return a task now, including what it may take
  /// from another processer only after a wait (a spinning idle processer
  /// looks for this, SchedulerCore::SpinForWork). Sets up that wait.
  virtual bool HasWorkToTake(Processer* self, std::span<Processer* const> all) {
    return HasWork(self, all);
  }
  /// Whether processers take tasks from each other's inboxes (then the stall
  /// watchdog lends a stalled processer's queue to the others).
  virtual bool SharesInboxes() const noexcept { return false; }
};

/// Whether `p` (maybe the stale processer of an earlier run, already freed:
/// only its address is compared) is one of `all`.
inline bool is_current(const Processer* p, std::span<Processer* const> all) noexcept {
  for (const Processer* q : all) {
    if (q == p) return true;
  }
  return false;
}

std::unique_ptr<SchedulingPolicy> make_round_robin_policy();
std::unique_ptr<SchedulingPolicy> make_work_stealing_policy();

}  // namespace detail
}  // namespace co
