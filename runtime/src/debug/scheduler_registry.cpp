#include "scheduler_registry.h"

#include "scheduler_core.h"

co::detail::SchedulerRegistry coscope_scheduler_registry{1, {}, nullptr, 0, 1};

namespace co {
namespace detail {

SchedulerRegistry& scheduler_registry() noexcept {
  return coscope_scheduler_registry;
}

void SchedulerRegistry::Add(SchedulerCore* core) noexcept {
  lock.lock();
  core->id = next_id++;
  core->registry_prev = nullptr;
  core->registry_next = head;
  if (head != nullptr) head->registry_prev = core;
  head = core;
  ++count;
  lock.unlock();
}

void SchedulerRegistry::Remove(SchedulerCore* core) noexcept {
  lock.lock();
  if (core->registry_prev != nullptr) {
    core->registry_prev->registry_next = core->registry_next;
  } else {
    head = core->registry_next;
  }
  if (core->registry_next != nullptr) core->registry_next->registry_prev = core->registry_prev;
  core->registry_prev = core->registry_next = nullptr;
  --count;
  lock.unlock();
}

}  // namespace detail
}  // namespace co
