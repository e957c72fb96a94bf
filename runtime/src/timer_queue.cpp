#include "timer_queue.h"

#include <limits>

namespace co {
namespace detail {

void TimerQueue::Push(Task* task) {
  heap_.push_back(task);
  task->timer.heap_index = heap_.size() - 1;
  SiftUp(heap_.size() - 1);
}

void TimerQueue::Remove(Task* task) noexcept {
  std::size_t i = task->timer.heap_index;
  if (i == npos || i >= heap_.size() || heap_[i] != task) return;
  task->timer.heap_index = npos;
  Task* last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  Place(i, last);
  SiftUp(i);
  SiftDown(last->timer.heap_index);
}

std::int64_t TimerQueue::NextDue() const noexcept {
  return heap_.empty() ? std::numeric_limits<std::int64_t>::max() : heap_.front()->timer.due_ns;
}

Task* TimerQueue::PopDue(std::int64_t now_ns) noexcept {
  if (heap_.empty() || heap_.front()->timer.due_ns > now_ns) return nullptr;
  Task* top = heap_.front();
  Remove(top);
  return top;
}

void TimerQueue::SiftUp(std::size_t i) noexcept {
  Task* t = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (heap_[parent]->timer.due_ns <= t->timer.due_ns) break;
    Place(i, heap_[parent]);
    i = parent;
  }
  Place(i, t);
}

void TimerQueue::SiftDown(std::size_t i) noexcept {
  Task* t = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1]->timer.due_ns < heap_[child]->timer.due_ns) ++child;
    if (heap_[child]->timer.due_ns >= t->timer.due_ns) break;
    Place(i, heap_[child]);
    i = child;
  }
  Place(i, t);
}

}  // namespace detail
}  // namespace co
