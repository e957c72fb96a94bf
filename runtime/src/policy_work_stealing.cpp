// Work stealing: a processer runs its own tasks first; an idle one takes
// about half of another's shareable queue (its inbox).
//
// The run queue a processer pops from (`local`) is touched by its owner only,
// so the common path needs no atomic operation. Work becomes stealable when
// it is queued while some processer is idle: it then goes to the owner's
// inbox and an idle processer is woken to take it. Rejected alternative: a
// Chase-Lev deque for `local`, which makes every pop pay a fence so that
// thieves can reach tasks that no idle processer is waiting for.
#include <atomic>

#include "coscope/detail/park.h"  // now_ns
#include "policy.h"

namespace co {
namespace detail {
namespace {

// A processer's runnext (processer.h) is another processer's to take only
// once the task it holds has waited there kStealGraceNs while its processer
// ran on: the time a waker takes to park and let its own processer run it
// (a channel hand-off takes ~100 ns). Go leaves a goroutine in its waker's
// runnext slot for 3 us in the same way (runqgrab). The thief measures the
// wait itself, so the waker's path reads no clock.
constexpr std::int64_t kStealGraceNs = 3'000;

// Whether `victim`'s runnext has waited its grace, as `self` saw it; starts
// `self`'s watch of it otherwise.
bool RunnextGraceOver(Processer* self, const Processer* victim) noexcept {
  const Task* waiting = victim->runnext.load(std::memory_order_acquire);
  if (waiting == nullptr) {
    if (self->steal_watch == victim) self->steal_watch = nullptr;  // its owner took it
    return false;
  }
  if (victim->idle_mode.load(std::memory_order_relaxed) != IdleMode::running) {
    return true;  // its processer is idle: nothing will take it there soon
  }
  // One watch at a time: restarting it for each holder in turn would never
  // let any grace end while two processers hold one.
  if (self->steal_watch != nullptr && self->steal_watch != victim) return false;
  const std::int64_t now = now_ns();
  if (self->steal_watch != victim || self->steal_watch_task != waiting) {
    self->steal_watch = victim;
    self->steal_watch_task = waiting;
    self->steal_watch_since_ns = now;
    return false;
  }
  return now - self->steal_watch_since_ns >= kStealGraceNs;
}

Task* TakeRunnextAfterGrace(Processer* self, Processer* victim) noexcept {
  if (!RunnextGraceOver(self, victim)) return nullptr;
  Task* waiting = victim->runnext.load(std::memory_order_acquire);
  if (waiting == nullptr ||
      !victim->runnext.compare_exchange_strong(waiting, nullptr, std::memory_order_acq_rel)) {
    return nullptr;
  }
  self->steal_watch = nullptr;
  return waiting;
}

class WorkStealingPolicy final : public SchedulingPolicy {
 public:
  const char* Name() const noexcept override { return "work_stealing"; }
  bool SharesInboxes() const noexcept override { return true; }

  Processer* Enqueue(Task* task, ReadyReason why, Processer* self, std::span<Processer* const> all,
                     bool others_idle) override {
    if (self != nullptr) {
      // An idle processer (the poller waking I/O waiters) keeps the first
      // task for itself - it runs it next, with no thread to wake - and
      // shares the rest.
      const bool keep_first = self->local.empty() &&
                              self->idle_mode.load(std::memory_order_relaxed) != IdleMode::running;
      if (others_idle && why == ReadyReason::woken && !keep_first && self->current != nullptr) {
        // A running task woke it: most often the partner of a hand-off,
        // best run here once the waker parks. The one it displaces is
        // shared at once.
        // seq_cst: before NotifyIdle reads the idle modes (SchedulerCore::Idle).
        if (Task* displaced = self->runnext.exchange(task, std::memory_order_seq_cst)) {
          self->PushInbox(displaced);
        }
        return nullptr;  // an idle processer watches it, in case the waker runs on
      }
      if (others_idle && why != ReadyReason::yielded && !keep_first) {
        self->PushInbox(task);
        return nullptr;  // an idle processer steals it
      }
      if (why == ReadyReason::timed_out) {
        self->local.PushDue(task);  // due now: ahead of the queue
      } else {
        self->local.PushBack(task);
      }
      return self;
    }
    Processer* target = is_current(task->processer, all)
                            ? task->processer
                            : all[next_.fetch_add(1, std::memory_order_relaxed) % all.size()];
    target->PushInbox(task);
    return nullptr;
  }

  Task* Dequeue(Processer* self, std::span<Processer* const> all) override {
    const bool inbox_round = self->tick % Processer::kInboxRound == 0;
    if (self->runnext.load(std::memory_order_relaxed) != nullptr) {
      Task* next = self->runnext.exchange(nullptr, std::memory_order_acq_rel);
      if (next != nullptr) {
        if (!inbox_round) return next;
        self->local.PushBack(next);  // now and then the queue goes first
      }
    }
    if ((inbox_round || self->local.empty()) && !self->InboxEmpty()) {
      self->DrainInbox(self->local);
    }
    if (Task* t = self->local.PopFront()) return t;
    const std::size_t n = all.size();
    const std::size_t start = self->tick % n;
    for (std::size_t i = 0; i < n; ++i) {
      Processer* victim = all[(start + i) % n];
      if (victim == self) continue;
      if (!victim->InboxEmpty() && victim->StealInbox(self->local) > 0) {
        return self->local.PopFront();
      }
      if (Task* t = TakeRunnextAfterGrace(self, victim)) return t;
    }
    return nullptr;
  }

  bool HasWork(Processer* self, std::span<Processer* const> all) override {
    if (!self->local.empty() || self->runnext.load(std::memory_order_acquire) != nullptr) {
      return true;
    }
    for (Processer* p : all) {
      if (!p->InboxEmpty()) return true;
    }
    return false;
  }

  bool HasWorkToTake(Processer* self, std::span<Processer* const> all) override {
    if (HasWork(self, all)) return true;
    bool ready = false;
    for (Processer* victim : all) {
      if (victim != self && RunnextGraceOver(self, victim)) ready = true;
    }
    return ready;
  }

 private:
  std::atomic<std::size_t> next_{0};  ///< where a foreign thread's task goes
};

}  // namespace

std::unique_ptr<SchedulingPolicy> make_work_stealing_policy() {
  return std::make_unique<WorkStealingPolicy>();
}

}  // namespace detail
}  // namespace co
