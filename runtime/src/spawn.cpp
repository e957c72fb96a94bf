// Spawning: allocate a Task, construct the callable in it, register it,
// queue it. The stack comes later, at the first SwapIn (stack_pool.h).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <typeinfo>

#include "context.h"
#include "coscope/spawn.h"
#include "debug/probes.h"
#include "debug/task_registry.h"
#include "debug/trace_log.h"
#include "scheduler_core.h"
#include "stack_overflow.h"
#include "task.h"
#include "task_memory.h"

namespace co {
namespace {

std::atomic<std::size_t> g_default_stack_size{128 * 1024};
std::atomic<TaskId> g_next_task_id{1};

// Refused at spawn, not when the stack is mapped: page rounding of a size
// near SIZE_MAX wraps to 0, and a failed mmap at the first run can only abort.
[[noreturn]] void throw_stack_size_too_large(std::size_t bytes, const char* what) {
  throw std::invalid_argument("coscope: " + std::string(what) + " of " + std::to_string(bytes) +
                              " bytes is larger than the maximum, " +
                              std::to_string(kMaxStackSize) + " bytes (1 TiB)");
}

}  // namespace

void set_default_stack_size(std::size_t bytes) {
  if (bytes > kMaxStackSize) throw_stack_size_too_large(bytes, "default stack size");
  if (bytes < 16 * 1024) bytes = 16 * 1024;
  g_default_stack_size.store(bytes, std::memory_order_relaxed);
}

std::size_t default_stack_size() noexcept {
  return g_default_stack_size.load(std::memory_order_relaxed);
}

namespace detail {
namespace {
// Starting a task is what needs the hooks and the gdb toolkit's auto-load
// entry: in a static link, this reference keeps the unit that refers to all
// of them (hooks/link_anchors.cpp).
extern "C" const char coscope_link_anchors;
__attribute__((used)) const void* const coscope_keep_link_anchors = &coscope_link_anchors;
}  // namespace

Task* allocate_task(std::size_t size, std::size_t align, void** storage) {
  void* mem = take_task_memory();
  Task* tk = ::new (mem) Task{};
  tk->timer.heap_index = TimerQueue::npos;
  if (size <= sizeof tk->inline_closure && align <= kInlineClosureAlign) {
    tk->closure = tk->inline_closure;
  } else {
    std::size_t a = align < alignof(std::max_align_t) ? alignof(std::max_align_t) : align;
    tk->closure = std::aligned_alloc(a, (size + a - 1) / a * a);
    if (tk->closure == nullptr) {
      tk->~Task();
      give_task_memory(mem);
      throw std::bad_alloc();
    }
  }
  *storage = tk->closure;
  return tk;
}

void abandon_task(Task* task) noexcept {
  destroy_task(task);
}

TaskId submit_task(Task* task, const ClosureOps* ops, const SpawnOptions& options, const char* file,
                   int line) {
  if (options.stack_size > kMaxStackSize) {
    ops->destroy(task->closure);
    abandon_task(task);
    throw_stack_size_too_large(options.stack_size, "stack_size");
  }
  if (!set_task_name(task, options.name.data(), options.name.size())) {
    ops->destroy(task->closure);
    abandon_task(task);
    throw std::bad_alloc();
  }
  task->closure_ops = ops;
  task->id = g_next_task_id.fetch_add(1, std::memory_order_relaxed);
  task->created_file = file;
  task->created_line = line;
  task->state = TaskState::runnable;
  // The size asked for; allocate_stack() replaces it with the size mapped.
  task->stack.size = options.stack_size != 0 ? options.stack_size : default_stack_size();
  SchedulerCore* core =
      options.scheduler != nullptr ? options.scheduler->core() : default_scheduler_core();
  task->scheduler = core;
  TaskId id = task->id;
  task_registry().Add(task);
  if (trace_on()) trace_created(task);
  COSCOPE_PROBE_TASK_STATE(task, probe_moment::created, TaskState::runnable);
  core->Submit(task);  // from here on the task may already run (and end)
  return id;
}

void task_main(Task* tk) noexcept {
  const char* what = nullptr;
  try {
    tk->closure_ops->invoke(tk->closure);
    // Returned normally after a ForcedUnwind was thrown into it: swallowed.
    if (tk->unwind_thrown) report_swallowed_unwind(tk);
  } catch (const ForcedUnwind&) {
    // The scheduler is being destroyed; the stack is unwound, nothing leaks.
  } catch (const std::exception& e) {
    what = e.what();
    char buf[512];
    std::fprintf(stderr, "coscope: uncaught exception in task %s: %s: %s\n",
                 describe_task(tk, buf, sizeof buf), typeid(e).name(), what);
    std::fflush(stderr);
    std::terminate();
  } catch (...) {
    char buf[512];
    std::fprintf(stderr, "coscope: uncaught exception in task %s: (not a std::exception)\n",
                 describe_task(tk, buf, sizeof buf));
    std::fflush(stderr);
    std::terminate();
  }
  tk->closure_ops->destroy(tk->closure);
  tk->state = TaskState::done;
  COSCOPE_PROBE_TASK_STATE(tk, probe_moment::running, TaskState::done);
  context_finish(tk);
}

}  // namespace detail
}  // namespace co
