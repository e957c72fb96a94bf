// Values that belong to one task: the storage under libgo's coroutine-local
// storage (co_cls) and co_last_defer (coscope/libgo.h).
//
// Each value is found by a key, the address of some static object, and is
// created on first use. A task's values are destroyed when the task ends
// (with the task, outside its stack); outside a task the calling thread has
// its own set, destroyed when the thread exits.
#pragma once

#include <memory>
#include <unordered_map>
#include <utility>

namespace co {
namespace detail {

class TaskLocals {
 public:
  /// The value stored under `key`, made with T(args...) if there is none.
  /// Precondition: every use of `key` names the same T.
  template <class T, class... Args>
  T& get_or_create(const void* key, Args&&... args) {
    std::shared_ptr<void>& slot = values_[key];
    if (!slot) slot = std::make_shared<T>(std::forward<Args>(args)...);
    return *static_cast<T*>(slot.get());
  }

 private:
  // shared_ptr<void> remembers how to destroy the value it was made with.
  std::unordered_map<const void*, std::shared_ptr<void>> values_;
};

/// The running task's values, or the calling thread's outside a task.
TaskLocals& current_task_locals();

}  // namespace detail
}  // namespace co
