// Processer: one worker thread's run loop (libgo's name, kept).
//
// Processer::Run picks the next ready task from the scheduling policy and
// switches into it with SwapIn; the task comes back through SwapOut when it
// yields, parks or finishes, and Run decides where it goes next (see the
// state machine at the top of processer.cpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "coscope/detail/park.h"
#include "task.h"

namespace co {
namespace detail {

class SchedulerCore;

/// An intrusive FIFO of tasks linked through Task::run_next. Not thread-safe.
struct TaskQueue {
  Task* head = nullptr;  ///< next to run
  Task* tail = nullptr;  ///< last queued
  std::size_t size = 0;  ///< number of tasks queued

  bool empty() const noexcept { return head == nullptr; }
  void PushBack(Task* t) noexcept {
    t->run_next = nullptr;
    if (tail != nullptr) {
      tail->run_next = t;
    } else {
      head = t;
    }
    tail = t;
    ++size;
  }
  Task* PopFront() noexcept {
    Task* t = head;
    if (t == nullptr) return nullptr;
    head = t->run_next;
    if (head == nullptr) tail = nullptr;
    t->run_next = nullptr;
    --size;
    return t;
  }
  /// Moves all of `other` to the back of this queue.
  void Append(TaskQueue& other) noexcept {
    if (other.empty()) return;
    if (tail != nullptr) {
      tail->run_next = other.head;
    } else {
      head = other.head;
    }
    tail = other.tail;
    size += other.size;
    other = TaskQueue{};
  }
};

/// How an idle processer is waiting (Processer::idle_mode).
enum class IdleMode : int {
  running = 0,   ///< executing tasks or looking for one
  sleeping = 1,  ///< blocked on wake_signal (a futex)
  polling = 2,   ///< blocked in the reactor as the scheduler's poller
};

class Processer;
/// This thread's processer. Initial-exec TLS: one %fs-relative load, not a
/// __tls_get_addr call, on every switch (libcoscope is loaded at start-up).
extern thread_local Processer* t_processer __attribute__((tls_model("initial-exec")));

class Processer {
 public:
  Processer(SchedulerCore* core, std::size_t index) noexcept : core(core), index(index) {}

  /// The loop: run tasks until the scheduler tells this processer to stop.
  void Run();
  /// Switches into `tk`; returns when `tk` switched out (yield, park, done).
  void SwapIn(Task* tk);
  /// Called on a task's stack: switches back to the processer that ran it.
  static void SwapOut(Task* tk);
  /// Called on the current task's stack by yield(): switches straight to the
  /// next local task when Run would do just that (see processer.cpp), else
  /// SwapOut. `tk` stays runnable either way.
  void Yield(Task* tk);
  /// Every kInboxRound-th round the policy looks at the inbox even when the
  /// local queue has work, so a yield on that round goes through Run.
  static constexpr std::uint64_t kInboxRound = 32;

  /// The processer whose loop runs on this thread, or nullptr.
  static Processer* Current() noexcept { return t_processer; }

  /// Queues a task made ready by another thread; wakes nothing by itself.
  void PushInbox(Task* t) noexcept;
  /// Moves every inbox task to `out`.
  void DrainInbox(TaskQueue& out) noexcept;
  /// Moves about half of the inbox to `out` (work stealing). Returns count.
  std::size_t StealInbox(TaskQueue& out) noexcept;
  bool InboxEmpty() const noexcept { return inbox_size.load(std::memory_order_seq_cst) == 0; }

  /// Wakes this processer if it is idle (futex or reactor).
  void Notify() noexcept;

  // ---- fields (read by the gdb toolkit) -------------------------------------
  SchedulerCore* core;             ///< the scheduler it works for
  std::size_t index;               ///< 0 .. workers-1
  long thread_id = 0;              ///< kernel thread id (gettid) while running
  Task* current = nullptr;         ///< the task it is running, or nullptr
  std::uint64_t switch_count = 0;  ///< switches into tasks so far
  std::uint64_t tick = 0;          ///< scheduling rounds, yield handoffs included (drives polling)
  TaskQueue local;                 ///< ready tasks only this processer touches
  SpinLock inbox_lock;             ///< guards inbox
  TaskQueue inbox;                 ///< ready tasks handed over by other threads
  std::atomic<std::size_t> inbox_size{0};     ///< inbox.size, readable without the lock
  std::atomic<int> idle_mode{0};              ///< an IdleMode
  std::atomic<std::uint32_t> wake_signal{0};  ///< futex word for IdleMode::sleeping
  void* return_context = nullptr;             ///< Boost.Context handle to switch back to Run
  void* tsan_fiber = nullptr;                 ///< ThreadSanitizer fiber of the thread
  ExceptionState thread_exceptions{};         ///< the thread's own while a task runs
  void* eh_globals = nullptr;  ///< the thread's __cxa_eh_globals (context_bind_thread)
  bool draining = false;       ///< ~Scheduler's unwinding pass: stop when empty
};

}  // namespace detail
}  // namespace co
