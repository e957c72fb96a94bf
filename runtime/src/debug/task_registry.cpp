#include "task_registry.h"

#include <cstring>

#include "coscope/introspect.h"
#include "scheduler_core.h"

co::detail::TaskRegistry coscope_task_registry{1, co::detail::TaskRegistry::kShards, {}};

namespace co {
namespace detail {

TaskRegistry& task_registry() noexcept {
  return coscope_task_registry;
}

void TaskRegistry::Add(Task* task) noexcept {
  Shard& shard = shards[task->id % kShards];
  shard.lock.lock();
  task->registry_prev = nullptr;
  task->registry_next = shard.head;
  if (shard.head != nullptr) shard.head->registry_prev = task;
  shard.head = task;
  // Atomic (under the lock) because Count() reads it without the lock.
  __atomic_store_n(&shard.count, shard.count + 1, __ATOMIC_RELAXED);
  shard.lock.unlock();
}

void TaskRegistry::Remove(Task* task) noexcept {
  Shard& shard = shards[task->id % kShards];
  shard.lock.lock();
  if (task->registry_prev != nullptr) {
    task->registry_prev->registry_next = task->registry_next;
  } else {
    shard.head = task->registry_next;
  }
  if (task->registry_next != nullptr) task->registry_next->registry_prev = task->registry_prev;
  task->registry_prev = task->registry_next = nullptr;
  __atomic_store_n(&shard.count, shard.count - 1, __ATOMIC_RELAXED);
  shard.lock.unlock();
}

std::size_t TaskRegistry::Count() const noexcept {
  std::size_t total = 0;
  for (const Shard& shard : shards) total += __atomic_load_n(&shard.count, __ATOMIC_RELAXED);
  return total;
}

}  // namespace detail

namespace {

// A snapshot is a look from outside, as a debugger's: a task may change its
// state and wait reason on its own thread while we read them (the registry
// lock only keeps it alive). The value read is one it had; ThreadSanitizer
// is told not to report these reads.
__attribute__((no_sanitize("thread"))) TaskInfo describe(const detail::Task& t) {
  TaskInfo info;
  info.id = t.id;
  info.name = task_name(t);
  info.state = t.state;
  info.wait_reason = t.wait_reason;
  info.created_file = t.created_file;
  info.created_line = t.created_line;
  info.scheduler = t.scheduler != nullptr ? t.scheduler->owner : nullptr;
  return info;
}

}  // namespace

std::vector<TaskInfo> snapshot_tasks() {
  std::vector<TaskInfo> out;
  out.reserve(detail::task_registry().Count());
  detail::task_registry().ForEach([&](const detail::Task& t) { out.push_back(describe(t)); });
  return out;
}

std::size_t live_task_count() noexcept {
  return detail::task_registry().Count();
}

}  // namespace co
