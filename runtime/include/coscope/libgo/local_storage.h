// libgo's coroutine-local storage: co_cls(type, args...) and co_cls_ref(type).
//
//   co_cls_ref(int) counter = co_cls(int, 7);   // once, anywhere
//   go [&]{ ++counter; };                       // each task its own int
//
// Every co_cls(...) in the source is one variable; a task (or, outside
// tasks, a thread) sees its own copy, made on first use. The arguments
// construct the copy of the task or thread that evaluates co_cls(...); any
// other task's copy is value-initialised, as in libgo. The copies live in the
// task's detail::TaskLocals and are destroyed when the task ends.
#pragma once

#include <utility>

#include "coscope/detail/task_locals.h"

namespace co {

template <class T>
class LibgoLocal {
 public:
  /// Makes the caller's copy from `args`; `key` identifies the variable.
  template <class... Args>
  explicit LibgoLocal(const void* key, Args&&... args) : key_(key) {
    (void)detail::current_task_locals().get_or_create<T>(key_, std::forward<Args>(args)...);
  }

  /// The calling task's copy.
  T& get() const { return detail::current_task_locals().get_or_create<T>(key_); }
  operator T&() const { return get(); }
  LibgoLocal& operator=(const T& value) {
    get() = value;
    return *this;
  }

 private:
  const void* key_;
};

}  // namespace co
