// Task: one coroutine.
//
// The layout is read by the gdb toolkit without calling code, so every field
// is a plain value with a comment; none of them needs libstdc++ internals to
// be read (the one atomic, wait_word, is only for the runtime's own use).
//
// Ownership: a Task belongs to exactly one place at a time - a run queue, the
// Processer running it, or the waiter list / timer that will wake it. Whoever
// holds it may write its fields; handing it over (enqueue, wake) publishes
// the writes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "coscope/detail/park.h"
#include "coscope/spawn.h"
#include "coscope/task_state.h"

namespace co {
namespace detail {

class Processer;
class SchedulerCore;
class TaskLocals;

/// Registers saved when a task switches out, in an order of our own (not
/// Boost.Context's): enough for a debugger to unwind the suspended stack.
/// All zero while the task runs or before it first ran. x86-64 only today.
struct SavedRegisters {
  std::uintptr_t pc;   ///< instruction pointer inside Context's switch-out
  std::uintptr_t sp;   ///< stack pointer at that instruction
  std::uintptr_t fp;   ///< frame pointer (rbp)
  std::uintptr_t rbx;  ///< callee-saved registers, as they were at `pc`
  std::uintptr_t r12;
  std::uintptr_t r13;
  std::uintptr_t r14;
  std::uintptr_t r15;
};

/// A task's stack: [base, base + size) usable, growing down from base + size.
struct StackSlab;

struct TaskStack {
  void* base;        ///< lowest usable address (nullptr: not allocated yet)
  std::size_t size;  ///< usable bytes; until allocated, the size asked for
  StackSlab* slab;   ///< the slab an unguarded stack was carved from (stack_pool.cpp)
  bool guarded;      ///< true: its own mapping, a PROT_NONE page just below base
};

/// A timer entry; each Task has one, used by sleep and timed waits.
struct TaskTimer {
  std::int64_t due_ns;     ///< steady clock (now_ns base); 0 when disarmed
  std::uint64_t epoch;     ///< the park it belongs to (WaitTicket::epoch)
  std::size_t heap_index;  ///< position in the TimerQueue heap, or npos
};

/// The C++ runtime's exception state of one task: what libstdc++ keeps per
/// thread in `__cxa_eh_globals` (<cxxabi.h> `__cxa_get_globals()`; layout from
/// libsupc++'s unwind-cxx.h): the stack of exceptions being handled (`throw;`,
/// std::current_exception()) and std::uncaught_exceptions(). Swapped with
/// the thread's at every switch (context.cpp), so each task has its own.
struct ExceptionState {
  void* caught_exceptions;           ///< __cxa_exception*: innermost handled exception
  unsigned int uncaught_exceptions;  ///< exceptions thrown and not yet caught
};

/// The alignment a callable may need to live inside its Task (a stricter one
/// goes to the heap): a pointer's, so that no padding precedes the buffer.
constexpr std::size_t kInlineClosureAlign = alignof(void*);

/// The longest name a task keeps (longer ones are cut), NUL excluded.
constexpr std::size_t kTaskNameMax = 31;

// The fields are ordered so that none leaves padding: a million parked tasks
// pay for every byte (docs/performance.md).
struct Task {
  // ---- identity -------------------------------------------------------------
  TaskId id;                 ///< unique, never reused, starts at 1
  const char* name;          ///< NUL-terminated, on the heap; nullptr when unnamed
  const char* created_file;  ///< file of the `go` / spawn() call
  int created_line;          ///< line of the `go` / spawn() call

  // ---- state ----------------------------------------------------------------
  TaskState state;                ///< see task_state.h
  WaitReason wait_reason;         ///< why it is parked (none while runnable)
  bool unwindable;                ///< park may throw ForcedUnwind at destruction
  bool unwind_requested;          ///< set by ~Scheduler to unwind a parked task
  const void* wait_object;        ///< channel, mutex, io_sentry, ... or nullptr
  std::int64_t wait_arg;          ///< fd, nfds, ... (meaning per WaitReason)
  std::int64_t wait_deadline_ns;  ///< when a timed park ends; 0: no deadline

  // ---- parking (see park.cpp for the protocol) ------------------------------
  /// (epoch << 2) | phase. Phases: 0 running (or woken), 1 parking (armed,
  /// still on its stack), 2 parked (off CPU), 3 woken by its timer.
  std::atomic<std::uint64_t> wait_word;
  SpinLock* unlock_after_switch;  ///< released by the Processer after SwapOut
  TaskTimer timer;                ///< sleep / timed-wait entry

  // ---- scheduling -----------------------------------------------------------
  SchedulerCore* scheduler;  ///< the scheduler that owns this task
  Processer* processer;      ///< processer running it, or that ran it last
  Task* run_next;            ///< link in a run queue
  Task* registry_prev;       ///< links in the task registry
  Task* registry_next;
  std::uint64_t switch_count;     ///< times it was swapped in
#if defined(__SANITIZE_THREAD__)  // every TU of a ThreadSanitizer build
  void* tsan_fiber;               ///< ThreadSanitizer fiber
#endif

  // ---- execution context ----------------------------------------------------
  void* context;  ///< Boost.Context handle; nullptr before first run
  TaskStack stack;
  SavedRegisters saved;       ///< for debuggers: where the task stopped
  ExceptionState exceptions;  ///< its exception state while switched out
  TaskLocals* locals;         ///< its co_cls values and last co_defer; nullptr until first used

  // ---- the callable ---------------------------------------------------------
  const ClosureOps* closure_ops;
  void* closure;       ///< points into inline_closure or to the heap
  bool unwind_thrown;  ///< ForcedUnwind was thrown into it (once is all it takes)
  /// A callable of at most this size and kInlineClosureAlign lives here.
  alignas(kInlineClosureAlign) unsigned char inline_closure[64];
};

/// The task's name, "" when it has none.
inline const char* task_name(const Task& task) noexcept {
  return task.name != nullptr ? task.name : "";
}

/// The first code a task runs on its own stack: the callable, then done.
[[noreturn]] void task_main(Task* task) noexcept;

/// Throws ForcedUnwind into the running task `task`, whose scheduler is being
/// destroyed; reports and aborts if an earlier one was swallowed.
[[noreturn]] void throw_forced_unwind(Task* task);
/// The report for a task that caught its ForcedUnwind and carried on; aborts.
[[noreturn]] void report_swallowed_unwind(const Task* task) noexcept;

/// Writes `#id "name" (created at file:line)` into buf; returns buf.
const char* describe_task(const Task* task, char* buf, std::size_t size) noexcept;

/// Frees a finished or abandoned task (stack back to the pool first).
void destroy_task(Task* task) noexcept;

/// Copies `name` (cut to kTaskNameMax bytes) to the heap for task->name;
/// false when malloc fails. An empty name allocates nothing.
bool set_task_name(Task* task, const char* name, std::size_t length) noexcept;

}  // namespace detail
}  // namespace co
