// Round-robin: new tasks are dealt to processers in turn; a task that yields
// or wakes stays with the processer that ran it last. Nothing is stolen, so
// placement is predictable (and a long-running task delays its queue).
#include <atomic>

#include "policy.h"

namespace co {
namespace detail {
namespace {

class RoundRobinPolicy final : public SchedulingPolicy {
 public:
  const char* Name() const noexcept override { return "round_robin"; }

  Processer* Enqueue(Task* task, ReadyReason why, Processer* self, std::span<Processer* const> all,
                     bool /*others_idle*/) override {
    Processer* target;
    if (why == ReadyReason::spawned) {
      target = all[next_.fetch_add(1, std::memory_order_relaxed) % all.size()];
    } else {
      target = is_current(task->processer, all)
                   ? task->processer
                   : all[next_.fetch_add(1, std::memory_order_relaxed) % all.size()];
      if (self != nullptr && why == ReadyReason::yielded) target = self;
    }
    if (target == self && why == ReadyReason::timed_out) {
      self->local.PushDue(task);  // due now: ahead of the queue
    } else if (target == self) {
      self->local.PushBack(task);
    } else {
      target->PushInbox(task);
    }
    return target;
  }

  Task* Dequeue(Processer* self, std::span<Processer* const> /*all*/) override {
    // Look at the inbox now and then even when busy, so handed-over tasks
    // are not starved by tasks that keep yielding.
    if ((self->tick % Processer::kInboxRound == 0 || self->local.empty()) && !self->InboxEmpty()) {
      self->DrainInbox(self->local);
    }
    return self->local.PopFront();
  }

  bool HasWork(Processer* self, std::span<Processer* const> /*all*/) override {
    return !self->local.empty() || !self->InboxEmpty();
  }

 private:
  std::atomic<std::size_t> next_{0};  ///< the processer the next new task goes to
};

}  // namespace

std::unique_ptr<SchedulingPolicy> make_round_robin_policy() {
  return std::make_unique<RoundRobinPolicy>();
}

}  // namespace detail
}  // namespace co
