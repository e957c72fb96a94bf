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

  /// ForEach for a signal handler, which must not wait for a lock that the
  /// code it interrupted may hold: a shard whose lock stays taken for a short
  /// spin is skipped. Returns false if one was.
  template <class Fn>
  bool ForEachTryLocked(Fn&& fn) noexcept {
    bool all = true;
    for (Shard& shard : shards) {
      int tries = 0;
      while (!shard.lock.try_lock() && ++tries < kTryLockSpins) {
      }
      if (tries == kTryLockSpins) {
        all = false;
        continue;
      }
      for (Task* t = shard.head; t != nullptr; t = t->registry_next) fn(*t);
      shard.lock.unlock();
    }
    return all;
  }
  static constexpr int kTryLockSpins = 1 << 20;
};

TaskRegistry& task_registry() noexcept;

}  // namespace detail
}  // namespace co

/// The registry, under a C name a debugger can find without knowing C++ mangling.
extern "C" co::detail::TaskRegistry coscope_task_registry;
