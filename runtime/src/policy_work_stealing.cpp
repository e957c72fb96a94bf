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

#include "policy.h"

namespace co {
namespace detail {
namespace {

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
      if (others_idle && why != ReadyReason::yielded && !keep_first) {
        self->PushInbox(task);
        return nullptr;  // an idle processer steals it
      }
      self->local.PushBack(task);
      return self;
    }
    Processer* target = is_current(task->processer, all)
                            ? task->processer
                            : all[next_.fetch_add(1, std::memory_order_relaxed) % all.size()];
    target->PushInbox(task);
    return nullptr;
  }

  Task* Dequeue(Processer* self, std::span<Processer* const> all) override {
    if ((self->tick % Processer::kInboxRound == 0 || self->local.empty()) && !self->InboxEmpty()) {
      self->DrainInbox(self->local);
    }
    if (Task* t = self->local.PopFront()) return t;
    const std::size_t n = all.size();
    const std::size_t start = self->tick % n;
    for (std::size_t i = 0; i < n; ++i) {
      Processer* victim = all[(start + i) % n];
      if (victim == self || victim->InboxEmpty()) continue;
      if (victim->StealInbox(self->local) > 0) return self->local.PopFront();
    }
    return nullptr;
  }

  bool HasWork(Processer* self, std::span<Processer* const> all) override {
    if (!self->local.empty()) return true;
    for (Processer* p : all) {
      if (!p->InboxEmpty()) return true;
    }
    return false;
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
