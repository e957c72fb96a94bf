// Spawning tasks: the `go` keyword and the function it stands for.
//
//   go []{ puts("hello"); };           // on co_sched, default stack
//   go foo;                            // any callable
//   co::SpawnOptions options;          // a name, a stack size, a scheduler
//   options.name = "reader";
//   options.stack_size = 64 << 10;
//   options.scheduler = &s;
//   co::spawn(fn, options);
//
// A task runs until its callable returns. An exception escaping the callable
// is reported on stderr with the task's id, name and creation site, then
// std::terminate() is called: errors are never swallowed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

namespace co {

class Scheduler;

/// A task's identity: unique in the process, never reused, starts at 1.
using TaskId = std::uint64_t;

/// Options for spawn(). Every field has a usable default.
struct SpawnOptions {
  std::string_view name{};         ///< shown by tracing and gdb; truncated to 31 bytes
  std::size_t stack_size = 0;      ///< 0: the default; at most kMaxStackSize
  Scheduler* scheduler = nullptr;  ///< nullptr: the default scheduler, co_sched
};

/// The largest stack a task may ask for: 1 TiB. Stacks are committed lazily,
/// so a large one costs address space, not memory; anything larger is a bug
/// (a negative number converted to size_t, a size in the wrong unit).
constexpr std::size_t kMaxStackSize = std::size_t{1} << 40;

/// Default stack size for tasks spawned without one (initially 128 KiB).
/// Stacks are committed lazily, so unused depth costs address space only.
/// Sizes below 16 KiB are raised to 16 KiB; sizes above kMaxStackSize throw
/// std::invalid_argument, as spawn() does for SpawnOptions::stack_size.
void set_default_stack_size(std::size_t bytes);
std::size_t default_stack_size() noexcept;

namespace detail {

struct Task;

/// Where a task's callable lives and how to run and destroy it.
struct ClosureOps {
  void (*invoke)(void* closure);
  void (*destroy)(void* closure) noexcept;
};

/// Allocates a task able to hold a closure of `size` bytes, aligned to
/// `align`; returns the task and, in *storage, where to construct it.
Task* allocate_task(std::size_t size, std::size_t align, void** storage);
/// Releases a task from allocate_task() whose closure was never constructed.
void abandon_task(Task* task) noexcept;
/// Completes the task and makes it runnable on its scheduler.
TaskId submit_task(Task* task, const ClosureOps* ops, const SpawnOptions& options, const char* file,
                   int line);

template <class F>
struct ClosureFor {
  static void invoke(void* p) { (*static_cast<F*>(p))(); }
  static void destroy(void* p) noexcept { static_cast<F*>(p)->~F(); }
  static constexpr ClosureOps ops{&invoke, &destroy};
};

template <class F>
TaskId spawn_at(F&& fn, const SpawnOptions& options, const char* file, int line) {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn&>, "a task's callable takes no arguments");
  void* storage = nullptr;
  Task* task = allocate_task(sizeof(Fn), alignof(Fn), &storage);
  try {
    ::new (storage) Fn(std::forward<F>(fn));
  } catch (...) {
    abandon_task(task);
    throw;
  }
  return submit_task(task, &ClosureFor<Fn>::ops, options, file, line);
}

/// An option written between `go` and the callable, as libgo's
/// `go co_stack(N) fn` (coscope/libgo.h).
struct GoStackSize {
  std::size_t bytes;
};
struct GoScheduler {
  Scheduler* scheduler;
};

/// What `go` expands to: remembers the call site, then takes any options and
/// the callable.
struct GoSite {
  const char* file;
  int line;
  SpawnOptions options{};
  GoSite operator-(GoStackSize stack) const {
    GoSite site = *this;
    site.options.stack_size = stack.bytes;
    return site;
  }
  GoSite operator-(GoScheduler target) const {
    GoSite site = *this;
    site.options.scheduler = target.scheduler;
    return site;
  }
  template <class F>
  TaskId operator-(F&& fn) const {
    return spawn_at(std::forward<F>(fn), options, file, line);
  }
};

}  // namespace detail

/// Spawns `fn` as a new task. Returns its id. Safe from any thread, inside or
/// outside a coroutine. Throws std::invalid_argument (and runs nothing) when
/// options.stack_size exceeds kMaxStackSize.
template <class F>
TaskId spawn(F&& fn, const SpawnOptions& options = {}, const char* file = __builtin_FILE(),
             int line = __builtin_LINE()) {
  return detail::spawn_at(std::forward<F>(fn), options, file, line);
}

}  // namespace co

/// `go CALLABLE;` spawns CALLABLE on co_sched, as libgo writes it (the
/// expansion ends in the operator that takes CALLABLE: no parentheses).
// NOLINTNEXTLINE(bugprone-macro-parentheses)
#define go ::co::detail::GoSite{__FILE__, __LINE__} -
