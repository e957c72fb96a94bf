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
  Task* head = nullptr;      ///< next to run
  Task* tail = nullptr;      ///< last queued
  std::size_t size = 0;      ///< number of tasks queued
  Task* due_tail = nullptr;  ///< the last task PushDue queued, while it waits; else nullptr

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
    if (t == due_tail) due_tail = nullptr;
    t->run_next = nullptr;
    --size;
    return t;
  }
  /// Queues `t` ahead of the others but those PushDue queued before it and
  /// still waiting: tasks that came due run first, in the order they came.
  void PushDue(Task* t) noexcept {
    Task*& link = due_tail != nullptr ? due_tail->run_next : head;
    t->run_next = link;
    link = t;
    if (tail == due_tail) tail = t;
    due_tail = t;
    ++size;
  }
  /// Takes the front task off and puts `t` (not queued) at the back: what a
  /// PopFront and a PushBack(t) do, in fewer steps.
  void RotateFrontToBack(Task* t) noexcept {
    Task* front = head;
    if (front == due_tail) due_tail = nullptr;
    t->run_next = nullptr;
    if (front == tail) {
      head = t;
    } else {
      head = front->run_next;
      tail->run_next = t;
    }
    tail = t;
    front->run_next = nullptr;
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

/// Processer::watch_word, the stall watchdog's word in a processer: bits 0-1
/// say who may touch `local` (a LendState), bits 2-63 hold the switch_count
/// of a run the watchdog reported as a stall (0: none). See
/// stall_watchdog.cpp for the protocol.
enum class LendState : std::uint64_t {
  owned = 0,     ///< the owner's alone (always, but during a stall)
  deciding = 1,  ///< the watchdog is looking: the owner waits before touching it
  lent = 2,      ///< emptied into the inbox; the owner's new work goes there too
};
constexpr std::uint64_t kLendMask = 3;
constexpr int kReportShift = 2;

/// How an idle processer is waiting (Processer::idle_mode).
enum class IdleMode : int {
  running = 0,   ///< executing tasks or looking for one
  sleeping = 1,  ///< blocked on wake_signal (a futex)
  polling = 2,   ///< blocked in the reactor as the scheduler's poller
  spinning = 3,  ///< looking for work for a moment before it blocks: needs no wake
};

class Processer;
/// This thread's processer. Initial-exec TLS: one %fs-relative load, not a
/// __tls_get_addr call, on every switch (libcoscope is loaded at start-up).
extern thread_local constinit Processer* t_processer __attribute__((tls_model("initial-exec")));

class Processer {
 public:
  Processer(SchedulerCore* core, std::size_t index) noexcept
      : core(core), index(index), serial(NextSerial()) {}

  /// The loop: run tasks until the scheduler tells this processer to stop.
  void Run();
  /// Switches into `tk`; returns when `tk` switched out (yield, park, done).
  void SwapIn(Task* tk);
  /// Called on a task's stack: switches back to the processer that ran it.
  static void SwapOut(Task* tk);
  /// Called on the current task's stack by yield(): switches straight to the
  /// next local task when Run would do just that (see processer.cpp), else
  /// SwapOut; tk stays runnable. `return_address`: where tk's yield() returns.
  void Yield(Task* tk, const void* return_address);
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

  /// Called by a running task before it touches `local` (a task it wakes or
  /// spawns joins a queue): waits out a watchdog that is deciding, and says
  /// whether the queue is lent (then the task must go to the inbox). Pair
  /// with EndQueueOpInTask().
  bool BeginQueueOpInTask() noexcept {
    queue_busy.store(true, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);  // the watchdog's membarrier pairs with it
    if (__builtin_expect(watch_word.load(std::memory_order_acquire) == 0, 1)) return false;
    return (WaitNotDeciding() & kLendMask) == static_cast<std::uint64_t>(LendState::lent);
  }
  void EndQueueOpInTask() noexcept { queue_busy.store(false, std::memory_order_release); }

  /// The stall watchdog's view of `current` and `switch_count`, which only
  /// this processer's thread writes (plain stores, as atomics).
  Task* CurrentForWatchdog() const noexcept {
    return std::atomic_ref<Task*>(const_cast<Task*&>(current)).load(std::memory_order_acquire);
  }
  std::uint64_t SwitchCountForWatchdog() const noexcept {
    return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(switch_count))
        .load(std::memory_order_relaxed);
  }
  long ThreadIdForWatchdog() const noexcept {
    return std::atomic_ref<long>(const_cast<long&>(thread_id)).load(std::memory_order_relaxed);
  }

  // ---- fields (read by the gdb toolkit) -------------------------------------
  SchedulerCore* core;             ///< the scheduler it works for
  std::size_t index;               ///< 0 .. workers-1
  std::uint64_t serial;            ///< 1, 2, ... per processer created in the process
  long thread_id = 0;              ///< kernel thread id (gettid) while running
  Task* current = nullptr;         ///< the task it is running, or nullptr
  std::uint64_t switch_count = 0;  ///< switches into tasks so far
  std::uint64_t tick = 0;          ///< scheduling rounds, yield handoffs included (drives polling)
  TaskQueue local;                 ///< ready tasks only this processer touches
  /// The task a running task of this processer woke last while other
  /// processers were idle (a hand-off's partner, most often): it runs here
  /// next, as soon as the waker switches out; another processer takes it only
  /// after kStealGraceNs (policy_work_stealing.cpp). nullptr: none.
  std::atomic<Task*> runnext{nullptr};
  /// A thief's wait for another processer's runnext: which processer, which
  /// task, and since when (this processer's own, owner-only).
  const Processer* steal_watch = nullptr;
  const Task* steal_watch_task = nullptr;
  std::int64_t steal_watch_since_ns = 0;
  SpinLock inbox_lock;                                 ///< guards inbox
  TaskQueue inbox;                                     ///< ready tasks handed over by other threads
  std::atomic<std::size_t> inbox_size{0};              ///< inbox.size, readable without the lock
  std::atomic<IdleMode> idle_mode{IdleMode::running};  ///< how it waits when idle
  std::atomic<std::uint32_t> wake_signal{0};           ///< futex word for IdleMode::sleeping
  void* return_context = nullptr;      ///< Boost.Context handle to switch back to Run
  void* tsan_fiber = nullptr;          ///< ThreadSanitizer fiber of the thread
  ExceptionState thread_exceptions{};  ///< the thread's own while a task runs
  void* eh_globals = nullptr;          ///< the thread's __cxa_eh_globals (context_bind_thread)
  bool draining = false;               ///< ~Scheduler's unwinding pass: stop when empty
  /// Where the task that handed off last (Yield) returns to from yield():
  /// the return the CPU's return-address predictor expects of the task it
  /// handed off to (yield_entry.S). nullptr after a resume from Run.
  const void* yielder_return = nullptr;

  // ---- stall detection (stall_watchdog.h) -----------------------------------
  /// LendState | (switch_count of a reported stall << kReportShift).
  std::atomic<std::uint64_t> watch_word{0};
  /// Set while a running task touches `local` to queue a task (BeginQueueOpInTask).
  std::atomic<bool> queue_busy{false};
  /// The reported stall (valid while watch_word holds its report): its task's
  /// id and when the watchdog first saw the run (now_ns()).
  std::atomic<std::uint64_t> stall_task_id{0};
  std::atomic<std::int64_t> stall_since_ns{0};
  /// Written by the watchdog only, for debuggers. The watchdog's estimate of
  /// when `current` was swapped in (CLOCK_MONOTONIC ns, the first of its
  /// samples that saw it), valid while watch_switch_count == switch_count;
  /// 0 until the watchdog has looked.
  std::int64_t watch_since_ns = 0;
  std::uint64_t watch_switch_count = 0;  ///< switch_count at that sample
  std::int64_t watch_sample_ns = 0;      ///< the watchdog's last sample

 private:
  static std::uint64_t NextSerial() noexcept;
  /// Spins while the watchdog decides; returns watch_word then.
  std::uint64_t WaitNotDeciding() noexcept;
  /// Yield's hand-off to `next`, the front of `local` (processer.cpp).
  inline void RotateTo(Task* tk, Task* next, const void* return_address) noexcept;
  void HandOffTraced(Task* tk, Task* next, const void* return_address);
  /// Back in Run after `tk` ran while watch_word was set: takes the queue
  /// back and writes the end of a reported stall.
  void AfterWatched(const Task* tk) noexcept;
};

}  // namespace detail
}  // namespace co
