// Waiter lists shared by Channel, Mutex, ConditionVariable and WaitGroup.
//
// Public only because Channel<T> is a template; not a stable API.
//
// A Waiter is a node that lives on the waiting party's stack and is linked
// into the synchronisation object's WaitList while it waits. The waiting
// party is either a task (parked with detail::park) or, outside any
// coroutine, a plain thread (blocked on a ThreadParker: a std::mutex +
// std::condition_variable in the blocking function's frame). Both are woken
// the same way, so every primitive works from plain threads too.
//
// Protocol (object lock = the object's SpinLock, guarding its WaitList):
//
//   waiter:  lock; enlist(list, w); [release other locks, e.g. the Mutex of a
//            condition variable]; block(lock, list, w, ...) -> returns with the
//            lock held again; w.woken says whether a waker completed the
//            hand-off, otherwise the wait timed out (w is unlinked either way).
//   waker:   lock; Waiter* w = wake_front(list); if (w) { hand-off into *w };
//            unlock.
//
// Why the waiter re-takes the lock after waking, and the waker completes the
// hand-off after the wake: wake() decides, exactly once, whether the waker or
// the timer won. The waker learns the outcome before it touches the waiter's
// data, so a waiter that timed out never receives a value (or a mutex) it
// will not see: the waker skips it and tries the next one. The woken waiter
// reads the hand-off only after the waker has released the lock.
//
// Rejected: handing the data over before wake() and undoing it when wake()
// loses (needs T to be moved back, and the loser's data changes under it);
// letting the woken waiter read without the lock (it can run on another
// worker before the hand-off is written).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>

#include "coscope/detail/park.h"
#include "coscope/task_state.h"

namespace co {
namespace detail {

/// "Wait without a deadline" for block().
constexpr std::int64_t kNoDeadline = std::numeric_limits<std::int64_t>::max();

/// How a plain thread (no current task) blocks in place of park().
struct ThreadParker {
  std::mutex mu;               ///< guards `signaled`
  std::condition_variable cv;  ///< the thread sleeps here
  bool signaled = false;       ///< set by the waker that won
};

/// One waiting task or thread, linked into one WaitList while it waits.
struct Waiter {
  Waiter* prev = nullptr;          ///< towards the list's head; nullptr at the head
  Waiter* next = nullptr;          ///< towards the list's tail; nullptr at the tail
  WaitTicket ticket{};             ///< the parked task; ticket.task == nullptr: a thread
  ThreadParker* thread = nullptr;  ///< the blocked plain thread's parker, else nullptr
  bool linked = false;             ///< on a WaitList now (guarded by the object lock)
  bool woken = false;              ///< a waker won the wake-up and did the hand-off
};

/// A FIFO of Waiters: plain head/tail/count fields for debuggers.
struct WaitList {
  Waiter* head = nullptr;  ///< oldest waiter (woken first), nullptr when empty
  Waiter* tail = nullptr;  ///< newest waiter
  std::size_t count = 0;   ///< number of linked waiters

  bool empty() const noexcept { return head == nullptr; }

  void push_back(Waiter* w) noexcept {
    w->prev = tail;
    w->next = nullptr;
    if (tail) {
      tail->next = w;
    } else {
      head = w;
    }
    tail = w;
    w->linked = true;
    ++count;
  }

  void push_front(Waiter* w) noexcept {
    w->prev = nullptr;
    w->next = head;
    if (head) {
      head->prev = w;
    } else {
      tail = w;
    }
    head = w;
    w->linked = true;
    ++count;
  }

  void remove(Waiter* w) noexcept {
    if (w->prev) {
      w->prev->next = w->next;
    } else {
      head = w->next;
    }
    if (w->next) {
      w->next->prev = w->prev;
    } else {
      tail = w->prev;
    }
    w->prev = w->next = nullptr;
    w->linked = false;
    --count;
  }

  Waiter* pop_front() noexcept {
    Waiter* w = head;
    if (w) remove(w);
    return w;
  }
};

/// True if `deadline_ns` (now_ns base) has passed: a timed wait becomes a try.
inline bool expired(std::int64_t deadline_ns) noexcept {
  return deadline_ns != kNoDeadline && deadline_ns <= now_ns();
}

/// Converts a relative timeout to a block() deadline. Timeouts beyond ~31
/// years mean "no deadline" (also keeps the arithmetic far from overflow).
template <class Rep, class Period>
std::int64_t deadline_after(const std::chrono::duration<Rep, Period>& d) {
  std::int64_t now = now_ns();
  if (std::chrono::duration<double>(d).count() > 1e9) return kNoDeadline;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  if (ns <= 0) return now;
  if (ns >= kNoDeadline - now) return kNoDeadline;
  return now + ns;
}

/// Converts an absolute time point to a block() deadline.
template <class Clock, class Duration>
std::int64_t deadline_at(const std::chrono::time_point<Clock, Duration>& tp) {
  auto now = Clock::now();
  if (tp <= now) return now_ns();  // also keeps tp - now from overflowing
  return deadline_after(tp - now);
}

/// With the object lock held: links `w` at the back of `list`, armed for the
/// calling task (prepare_park) or, outside a coroutine, for the calling thread.
/// `at_front`: queue ahead of the others (a waiter re-queueing after it lost
/// a race keeps its place).
inline void enlist(WaitList& list, Waiter& w, bool at_front = false) noexcept {
  if (current_task() != nullptr) w.ticket = prepare_park();
  w.woken = false;
  if (at_front) {
    list.push_front(&w);
  } else {
    list.push_back(&w);
  }
}

/// Called with the object lock held and `w` enlisted. Waits until a waker
/// takes `w` (w.woken) or `deadline_ns` (now_ns base; kNoDeadline: never)
/// passes. Returns with the lock held again and `w` unlinked; the result is
/// w.woken. If park() throws ForcedUnwind, `w` is unlinked, the lock is NOT
/// held, and the exception propagates. Callers check for an already expired
/// deadline before enlist() (see expired()), so a task is never armed in vain.
inline bool block(SpinLock& lock, WaitList& list, Waiter& w, WaitReason reason, const void* object,
                  std::int64_t deadline_ns) {
  if (w.ticket.task != nullptr) {
    if (deadline_ns != kNoDeadline) arm_timer(w.ticket, deadline_ns);
    try {
      park(TaskState::sys_block, reason, object, 0, &lock);
    } catch (...) {  // ForcedUnwind: leave the object consistent
      lock.lock();
      if (w.linked) list.remove(&w);
      lock.unlock();
      throw;
    }
  } else {
    ThreadParker parker;
    w.thread = &parker;  // no waker can see `w` before we unlock
    lock.unlock();
    std::unique_lock<std::mutex> g(parker.mu);
    if (deadline_ns == kNoDeadline) {
      parker.cv.wait(g, [&] { return parker.signaled; });
    } else {
      auto until =
          std::chrono::steady_clock::now() + std::chrono::nanoseconds(deadline_ns - now_ns());
      parker.cv.wait_until(g, until, [&] { return parker.signaled; });
    }
    g.unlock();
  }
  lock.lock();
  // Still linked: nobody took us, the deadline passed. Unlinked but not woken:
  // a waker popped us and lost the race to the timer; it skipped us.
  if (w.linked) list.remove(&w);
  w.thread = nullptr;
  return w.woken;
}

/// With the object lock held: pops waiters from the front until one is woken
/// (its task made runnable, or its thread signalled) and returns it with
/// `woken` set, or nullptr when the list runs out. Waiters whose timer won
/// are dropped. The caller completes the hand-off into the returned waiter
/// before it releases the lock, and must not touch it after that.
inline Waiter* wake_front(WaitList& list) noexcept {
  while (Waiter* w = list.pop_front()) {
    if (w->ticket.task != nullptr) {
      if (!wake(w->ticket)) continue;  // timed out (or being unwound): skip
    } else {
      std::lock_guard<std::mutex> g(w->thread->mu);
      w->thread->signaled = true;
      w->thread->cv.notify_one();  // under mu: the parker outlives the call
    }
    w->woken = true;
    return w;
  }
  return nullptr;
}

}  // namespace detail
}  // namespace co
