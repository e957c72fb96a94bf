// Where the running task's TaskLocals live: created on first use, freed by
// destroy_task (task.cpp).
#include "coscope/detail/task_locals.h"

#include "task.h"

namespace co {
namespace detail {

TaskLocals& current_task_locals() {
  Task* task = current_task();
  if (task == nullptr) {
    thread_local TaskLocals thread_locals;
    return thread_locals;
  }
  if (task->locals == nullptr) task->locals = new TaskLocals();
  return *task->locals;
}

}  // namespace detail
}  // namespace co
