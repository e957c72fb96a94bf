// TimerQueue: the deadlines of sleeping and timed-waiting tasks.
//
// An indexed binary min-heap of Task* ordered by Task::timer.due_ns; each
// task records its heap position, so a task woken early (by a channel, an fd)
// removes its entry in O(log n) instead of leaving it to expire. Guarded by
// the owning scheduler's timer lock; not thread-safe by itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "task.h"

namespace co {
namespace detail {

class TimerQueue {
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  /// Adds `task` (timer.due_ns and timer.epoch already set).
  void Push(Task* task);
  /// Removes `task` if queued; no-op otherwise.
  void Remove(Task* task) noexcept;
  /// Earliest due time, or INT64_MAX when empty.
  std::int64_t NextDue() const noexcept;
  /// Pops the earliest task if it is due at `now_ns`, else nullptr.
  Task* PopDue(std::int64_t now_ns) noexcept;

  std::size_t size() const noexcept { return heap_.size(); }
  bool empty() const noexcept { return heap_.empty(); }
  /// The heap itself, read by debuggers and by ~Scheduler.
  const std::vector<Task*>& entries() const noexcept { return heap_; }

 private:
  void SiftUp(std::size_t i) noexcept;
  void SiftDown(std::size_t i) noexcept;
  void Place(std::size_t i, Task* t) noexcept {
    heap_[i] = t;
    t->timer.heap_index = i;
  }
  std::vector<Task*> heap_;
};

}  // namespace detail
}  // namespace co
