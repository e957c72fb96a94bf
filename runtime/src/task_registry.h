// The task registry: every live Task of the process, in one place.
//
// Like Go's allgs, it exists so that a debugger can list all tasks by reading
// memory only: start at the global `coscope_task_registry`, walk each shard's
// doubly linked list through Task::registry_next. The shards only spread lock
// contention; a task's shard is its id modulo kShards.
#pragma once

#include <cstddef>
#include <cstdint>

#include "coscope/detail/park.h"
#include "task.h"

namespace co {
namespace detail {

struct TaskRegistry {
  static constexpr std::size_t kShards = 16;
  struct alignas(64) Shard {
    SpinLock lock;      ///< guards head and the links of the tasks in this shard
    Task* head;         ///< most recently added task of this shard
    std::size_t count;  ///< tasks in this shard
  };
  std::uint32_t version;      ///< layout version for debuggers (bumped on change)
  std::uint32_t shard_count;  ///< kShards, for debuggers
  Shard shards[kShards];

  void Add(Task* task) noexcept;
  void Remove(Task* task) noexcept;
  std::size_t Count() const noexcept;

  /// Calls fn(const Task&) for each task, one shard locked at a time.
  template <class Fn>
  void ForEach(Fn&& fn) {
    for (Shard& shard : shards) {
      shard.lock.lock();
      for (Task* t = shard.head; t != nullptr; t = t->registry_next) fn(*t);
      shard.lock.unlock();
    }
  }
};

TaskRegistry& task_registry() noexcept;

}  // namespace detail
}  // namespace co

/// The registry, under a C name a debugger can find without knowing C++ mangling.
extern "C" co::detail::TaskRegistry coscope_task_registry;
