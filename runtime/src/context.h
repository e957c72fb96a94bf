// Context: switching between a Processer's thread stack and a task's stack.
//
// The only file that knows Boost.Context is context.cpp. The rest of the
// runtime sees three operations:
//   start  - prepare a fresh task to run `entry(task)` on its stack;
//   resume - from the processer, run the task until it switches out;
//   suspend/finish - from the task, switch back to the processer that resumed it;
//   handoff - from a yielding task, switch straight to the next one.
// Every jump carries the task that jumps (or, from the processer, the task
// resumed), so whoever lands knows whose context handle it received.
// While a task is switched out, Task::saved holds its registers in our own
// documented layout (task.h) so debuggers never parse Boost's private frame.
#pragma once

namespace co {
namespace detail {

struct Task;
class Processer;

/// Builds the initial context on task->stack; task_main(task) (task.h) runs
/// on it at the first resume.
void context_start(Task* task) noexcept;

/// Processer side: switch into `task` (started or suspended). Returns when a
/// task switches back to the processer: `task`, or the last of the tasks it
/// handed off to (context_handoff). Returns that task.
Task* context_resume(Task* task) noexcept;

/// Task side: switch back to the processer. Returns when resumed again.
void context_suspend(Task* task) noexcept;

/// Task side: switch straight to `to`, a started task suspended on the same
/// processer, without passing through Processer::Run. `from` resumes later
/// from the processer or from another handoff.
void context_handoff(Processer* processer, Task* from, Task* to) noexcept;

/// Processer side, once per thread before its first resume.
void context_bind_thread(Processer* processer) noexcept;

/// Releases what context_start set up beyond the stack (sanitizer state).
void context_destroy(Task* task) noexcept;

/// Task side, last act of a task: switch back for good.
[[noreturn]] void context_finish(Task* task) noexcept;

}  // namespace detail
}  // namespace co
